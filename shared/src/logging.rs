//! The functions' log lines, as Lambda's log-level filtering needs them: JSON (with
//! `AWS_LAMBDA_LOG_FORMAT=JSON`) carrying a `level` and an RFC 3339 `timestamp`. Lambda
//! gives a line without a valid timestamp the level INFO ("Log-level filtering", Lambda
//! Developer Guide), so the runtime's default subscriber, which leaves the time out, would
//! see its WARN and ERROR lines dropped once the application log level is WARN.

use std::str::FromStr;

use tracing_subscriber::filter::{EnvFilter, LevelFilter};

/// Installs the subscriber once, at cold start: the level from `AWS_LAMBDA_LOG_LEVEL` (set by
/// Lambda from the function's logging config) or `RUST_LOG`, INFO by default.
pub fn init() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|l| LevelFilter::from_str(&l).ok())
        .unwrap_or(LevelFilter::INFO);
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let collector = tracing_subscriber::fmt()
        .with_target(false)
        .with_env_filter(
            EnvFilter::builder()
                .with_default_directive(level.into())
                .from_env_lossy(),
        )
        .with_writer(std::io::stdout);
    // Ignore "already set": a test or an embedding program may have installed one.
    let _ = if json {
        collector.json().try_init()
    } else {
        collector.try_init()
    };
}
