//! The functions' log lines, as Lambda's log-level filtering needs them: JSON (with
//! `AWS_LAMBDA_LOG_FORMAT=JSON`) carrying a `level` and an RFC 3339 `timestamp`. Lambda
//! gives a line without a valid timestamp the level INFO ("Log-level filtering", Lambda
//! Developer Guide), so the runtime's default subscriber, which leaves the time out, would
//! see its WARN and ERROR lines dropped once the application log level is WARN.

use std::str::FromStr;

use tracing_subscriber::filter::{LevelFilter, Targets};

/// Installs the subscriber once, at cold start: the level from `AWS_LAMBDA_LOG_LEVEL` (set by
/// Lambda from the function's logging config), else `RUST_LOG` (a level, or `target=level`
/// directives), INFO by default.
///
/// A `Targets` filter, not `EnvFilter`: the same directives without span and field
/// matching, which frontdoor never uses and whose regex engine is a large part of a binary.
pub fn init() {
    let lambda_level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .ok()
        .and_then(|l| LevelFilter::from_str(&l).ok());
    let filter = match (lambda_level, std::env::var("RUST_LOG").ok()) {
        (Some(level), _) => Targets::new().with_default(level),
        (None, Some(directives)) => Targets::from_str(&directives)
            .unwrap_or_else(|_| Targets::new().with_default(LevelFilter::INFO)),
        (None, None) => Targets::new().with_default(LevelFilter::INFO),
    };
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let fmt = tracing_subscriber::fmt::layer()
        .with_target(false)
        .with_writer(std::io::stdout);
    // Ignore "already set": a test or an embedding program may have installed one.
    let subscriber = tracing_subscriber::registry().with(filter);
    let _ = if json {
        subscriber.with(fmt.json()).try_init()
    } else {
        subscriber.with(fmt).try_init()
    };
    // Release builds abort on a panic (Cargo.toml): say so as an ERROR line, with the
    // level and timestamp Lambda's filtering needs, before the process is gone.
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |panic| {
        tracing::error!(%panic, "panicked; the process stops and Lambda starts a new one");
        default(panic);
    }));
}
