//! Hostile input: every file under `events/hostile/` goes through both Lambda handlers
//! (error policy included). Each must end as a permanent drop or a refusal: answered Ok (no
//! retry loop), nothing written, no panic.

use frontdoor_tests::pets::seed;
use frontdoor_tests::{target_sync_app, workspace_root, Emulator};
use lambda_runtime::{Context, LambdaEvent};
use shared::entry::{route_sync, target_sync, Outcome};

#[tokio::test]
async fn every_hostile_event_is_dropped_or_refused_with_no_write() {
    let emulator = Emulator::start();
    let pets = seed(&emulator).await;
    let routes = pets.app();
    let targets = target_sync_app(&pets.hub_sdk, &pets.hub);
    let mut files: Vec<_> = std::fs::read_dir(workspace_root().join("events/hostile"))
        .expect("events/hostile")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    files.sort();
    assert!(files.len() >= 20, "corpus too small: {}", files.len());
    let mut handled = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read");
        let payload: serde_json::Value =
            serde_json::from_str(&text).expect("corpus files are JSON");
        let name = file
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();

        let t = target_sync(&targets, LambdaEvent::new(payload.clone(), hub_context()))
            .await
            .unwrap_or_else(|e| panic!("{name}: target-sync returned Err (a retry): {e}"));
        assert!(
            matches!(t, Outcome::Dropped { .. } | Outcome::Ignored { .. }),
            "{name}: target-sync {t:?}"
        );
        let r = route_sync(&routes, LambdaEvent::new(payload, hub_context()))
            .await
            .unwrap_or_else(|e| panic!("{name}: route-sync returned Err (a retry): {e}"));
        match r {
            Outcome::Dropped { .. } | Outcome::Ignored { .. } => {}
            Outcome::Reconciled(report) => {
                assert_eq!(report.writes, 0, "{name}: {report:?}");
                assert!(
                    report.events_refused + report.events_dropped > 0 || report.apis > 0,
                    "{name}"
                );
            }
        }
        handled += 1;
    }
    assert_eq!(handled, files.len());
    assert_eq!(targets.clients.calls.snapshot().writes(), 0);
    assert_eq!(routes.clients.calls.snapshot().writes(), 0);
    println!("hostile corpus: {handled} files, 100% dropped or refused, 0 writes");
}

/// An invocation of the hub's function, as Lambda names it (the hub's own schedule counts;
/// a foreign account's does not).
fn hub_context() -> Context {
    let mut context = Context::default();
    context.invoked_function_arn =
        "arn:aws:lambda:us-east-1:123456789012:function:frontdoor-route-sync".into();
    context
}
