//! The README's first command, as a test: the demo's output is checked, not only its exit.

use std::process::Command;
use std::time::Instant;

#[test]
fn demo_prints_targets_route_tree_and_urls_then_stops() {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_demo"))
        .output()
        .expect("run the demo (build the functions first: cargo build --workspace --bins)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for want in [
        "targets       10.0.1.4:443  10.0.2.4:443",
        "targets       10.0.1.4:443  10.0.3.4:443",
        "GET    /cats          -> https://",
        "GET    /dogs          -> https://",
        "GET    /health        -> hand-made  [open]",
        "==> the hub governs its routes",
        "ANY    /shop/{proxy+} -> https://",
        "OPTIONS /shop/{proxy+} -> https://",
        "/frontdoor/apis/private-shop/status        exposed",
        "/frontdoor/apis/private-cats/status        exposed",
        "/frontdoor/apis/private-birds/status       refused: the resource policy is not restricted",
        "==> spoke 333333333333 removes private-dogs' expose tag",
        "emulator and function stopped",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    // The targets followed the move: printed after it, the old subnet's IP gone.
    let after_move = text
        .split("--- after the move")
        .nth(1)
        .and_then(|rest| rest.lines().find(|l| l.trim_start().starts_with("targets")))
        .unwrap_or_default();
    assert_eq!(
        after_move.split_whitespace().collect::<Vec<_>>(),
        ["targets", "10.0.1.4:443", "10.0.3.4:443"],
        "{text}"
    );
    // A governed route: the hub's authorizer, and the rate private-cats asked for within the
    // hub's bounds (its burst: the hub's default).
    let cats = text
        .lines()
        .find(|l| l.trim_start().starts_with("GET    /cats          ->"))
        .unwrap_or_default();
    assert!(
        cats.contains("[authorizer ") && cats.ends_with(", 20 rps, burst 50]"),
        "{cats}\n{text}"
    );
    let dogs = text
        .lines()
        .find(|l| l.trim_start().starts_with("GET    /dogs          ->"))
        .unwrap_or_default();
    assert!(dogs.ends_with(", 100 rps, burst 50]"), "{dogs}\n{text}");
    assert!(
        !text.contains("/owners"),
        "/owners must stay private:\n{text}"
    );
    assert!(
        started.elapsed().as_secs() < 120,
        "the demo took {:?}",
        started.elapsed()
    );
}
