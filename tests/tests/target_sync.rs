//! Target sync against moto: the real SDK clients over loopback, the hub's real resources.
#![allow(clippy::unwrap_used)] // scenario helpers panic the test on a failed setup call

use std::collections::BTreeSet;

use frontdoor_tests::{
    endpoint_ips, event, on_443, registered, seed_hub, target_sync_app, Emulator, Hub,
};
use shared::entry::{target_sync_payload, Outcome};
use shared::targets::{self, Plan, Report};
use shared::{App, TargetSyncConfig};

struct Scenario {
    _emulator: Emulator,
    sdk: aws_config::SdkConfig,
    hub: Hub,
    app: App<TargetSyncConfig>,
}

async fn scenario() -> Scenario {
    let emulator = Emulator::start();
    let sdk = emulator.sdk_config().await;
    let hub = seed_hub(&sdk).await;
    let app = target_sync_app(&sdk, &hub);
    Scenario {
        _emulator: emulator,
        sdk,
        hub,
        app,
    }
}

impl Scenario {
    async fn run(&self, file: &str) -> Outcome<Report> {
        target_sync_payload(&self.app, &event(file, &self.hub.vpce_id))
            .await
            .unwrap()
    }

    async fn sweep(&self) -> Report {
        match self.run("schedule.json").await {
            Outcome::Reconciled(report) => report,
            other => panic!("expected a reconcile, got {other:?}"),
        }
    }

    async fn registered(&self) -> BTreeSet<String> {
        registered(&self.sdk, &self.hub.target_group_arn).await
    }

    async fn endpoint_targets(&self) -> BTreeSet<String> {
        on_443(&endpoint_ips(&self.sdk, &self.hub.vpce_id).await)
    }

    async fn owned(&self) -> BTreeSet<String> {
        let observed = targets::observe(&self.app).await.unwrap();
        observed.owned.iter().map(|t| t.to_string()).collect()
    }

    fn elbv2(&self) -> aws_sdk_elasticloadbalancingv2::Client {
        aws_sdk_elasticloadbalancingv2::Client::new(&self.sdk)
    }

    fn ec2(&self) -> aws_sdk_ec2::Client {
        aws_sdk_ec2::Client::new(&self.sdk)
    }

    async fn register_by_hand(&self, ip: &str, port: i32) {
        self.elbv2()
            .register_targets()
            .target_group_arn(&self.hub.target_group_arn)
            .targets(target(ip, port))
            .send()
            .await
            .unwrap();
    }

    fn writes_so_far(&self) -> u64 {
        self.app.clients.calls.snapshot().writes()
    }
}

fn target(ip: &str, port: i32) -> aws_sdk_elasticloadbalancingv2::types::TargetDescription {
    aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
        .id(ip)
        .port(port)
        .build()
}

#[tokio::test]
async fn initial_fill_registers_every_endpoint_ip_with_two_writes() {
    // GIVEN a hub whose endpoint has two ENIs and an empty target group
    let s = scenario().await;
    let want = s.endpoint_targets().await;
    assert_eq!(want.len(), 2);

    // WHEN the sweep runs
    let report = s.sweep().await;

    // THEN both IPs are targets on 443, owned, with one registry write and one registration
    assert_eq!(s.registered().await, want);
    assert_eq!(
        report.registered.iter().cloned().collect::<BTreeSet<_>>(),
        want
    );
    assert_eq!(report.writes, 2, "{report:?}");
    assert_eq!(
        s.app.clients.calls.snapshot().write_ops(),
        vec!["PutParameter", "RegisterTargets"]
    );
    assert_eq!(s.owned().await, want);
}

#[tokio::test]
async fn second_run_makes_zero_writes() {
    // GIVEN a filled group
    let s = scenario().await;
    s.sweep().await;
    let before = s.app.clients.calls.snapshot();

    // WHEN the sweep runs again
    let report = s.sweep().await;

    // THEN nothing is written, and the observation costs four reads
    let spent = s.app.clients.calls.snapshot().since(&before);
    assert_eq!(spent.writes(), 0, "{spent:?}");
    assert_eq!(report.writes, 0);
    assert_eq!(report.kept.len(), 2);
    assert_eq!(spent.reads(), 4, "{spent:?}");
}

#[tokio::test]
async fn owned_target_deregistered_by_hand_comes_back() {
    // GIVEN a filled group, then someone deregisters one of frontdoor's targets
    let s = scenario().await;
    s.sweep().await;
    let victim = s.registered().await.into_iter().next().unwrap();
    let (ip, _) = victim.rsplit_once(':').unwrap();
    s.elbv2()
        .deregister_targets()
        .target_group_arn(&s.hub.target_group_arn)
        .targets(target(ip, 443))
        .send()
        .await
        .unwrap();
    assert!(!s.registered().await.contains(&victim));

    // WHEN the sweep runs
    let report = s.sweep().await;

    // THEN it is back, with one write (no registry change: it was owned all along)
    assert!(s.registered().await.contains(&victim));
    assert_eq!(report.registered, vec![victim]);
    assert_eq!(report.writes, 1);
}

#[tokio::test]
async fn subnet_change_moves_targets_and_hand_registered_ones_survive() {
    // GIVEN a filled group plus two hand-made targets: another IP, and an endpoint IP on 8443
    let s = scenario().await;
    s.sweep().await;
    s.register_by_hand("10.0.9.9", 443).await;
    let old = s.endpoint_targets().await;

    // WHEN the endpoint leaves subnet b for subnet c and CloudTrail says so
    s.ec2()
        .modify_vpc_endpoint()
        .vpc_endpoint_id(&s.hub.vpce_id)
        .remove_subnet_ids(&s.hub.subnet_ids[1])
        .add_subnet_ids(&s.hub.subnet_ids[2])
        .send()
        .await
        .unwrap();
    let new = s.endpoint_targets().await;
    assert_ne!(old, new, "the emulator moved the ENIs (launcher patch 2)");
    let Outcome::Reconciled(report) = s.run("ec2-modify-vpc-endpoint.json").await else {
        panic!("expected a reconcile");
    };

    // THEN the group is the new IPs plus the hand-made target; the old IP was deregistered
    let mut want = new.clone();
    want.insert("10.0.9.9:443".into());
    assert_eq!(s.registered().await, want);
    assert_eq!(report.registered.len(), 1);
    assert_eq!(report.deregistered.len(), 1);
    assert_eq!(report.foreign, vec!["10.0.9.9:443".to_string()]);
    assert_eq!(
        s.app.clients.calls.snapshot().write_ops(),
        vec![
            "PutParameter",
            "RegisterTargets",
            "PutParameter",
            "RegisterTargets",
            "DeregisterTargets",
            "PutParameter"
        ],
        "fill: registry + register; move: widen registry, register, deregister, narrow registry"
    );
    assert_eq!(s.owned().await, new);
}

#[tokio::test]
async fn hand_registered_endpoint_ip_is_kept_but_never_adopted() {
    // GIVEN someone registered one of the endpoint's IPs by hand before frontdoor ran
    let s = scenario().await;
    let ips = endpoint_ips(&s.sdk, &s.hub.vpce_id).await;
    let theirs = ips.iter().next().unwrap().clone();
    s.register_by_hand(&theirs, 443).await;

    // WHEN the sweep runs
    let report = s.sweep().await;

    // THEN frontdoor registers only the other IP and owns only that one
    assert_eq!(s.registered().await, on_443(&ips));
    assert_eq!(report.registered.len(), 1);
    assert!(!s.owned().await.contains(&format!("{theirs}:443")));
}

#[tokio::test]
async fn endpoint_with_no_ips_changes_nothing() {
    // GIVEN a filled group, then the endpoint loses every subnet
    let s = scenario().await;
    s.sweep().await;
    let filled = s.registered().await;
    s.ec2()
        .modify_vpc_endpoint()
        .vpc_endpoint_id(&s.hub.vpce_id)
        .remove_subnet_ids(&s.hub.subnet_ids[0])
        .remove_subnet_ids(&s.hub.subnet_ids[1])
        .send()
        .await
        .unwrap();
    let writes = s.writes_so_far();

    // WHEN CloudTrail reports the change
    let Outcome::Reconciled(report) = s.run("ec2-modify-vpc-endpoint.json").await else {
        panic!("expected a reconcile");
    };

    // THEN nothing is written and the reason is reported
    assert_eq!(s.writes_so_far(), writes);
    assert_eq!(s.registered().await, filled);
    assert!(
        report
            .refused
            .as_deref()
            .unwrap_or("")
            .contains("no network interfaces"),
        "{report:?}"
    );
}

#[tokio::test]
async fn deleted_endpoint_changes_nothing() {
    // GIVEN a filled group, then the endpoint is deleted
    let s = scenario().await;
    s.sweep().await;
    let filled = s.registered().await;
    s.ec2()
        .delete_vpc_endpoints()
        .vpc_endpoint_ids(&s.hub.vpce_id)
        .send()
        .await
        .unwrap();
    let writes = s.writes_so_far();

    // WHEN CloudTrail reports the deletion
    let Outcome::Reconciled(report) = s.run("ec2-delete-vpc-endpoints.json").await else {
        panic!("expected a reconcile");
    };

    // THEN the targets stay and the report says why
    assert_eq!(s.writes_so_far(), writes);
    assert_eq!(s.registered().await, filled);
    let reason = report.refused.unwrap_or_default();
    assert!(
        reason.contains("not available") || reason.contains("not found"),
        "{reason}"
    );
}

#[tokio::test]
async fn event_for_another_endpoint_makes_no_call() {
    let s = scenario().await;
    let outcome = s.run("ec2-modify-other-vpc-endpoint.json").await;
    assert!(matches!(outcome, Outcome::Ignored { .. }), "{outcome:?}");
    assert_eq!(s.app.clients.calls.snapshot().attempts(), 0);
}

#[tokio::test]
async fn malformed_events_are_dropped_with_a_reason_and_no_call() {
    let s = scenario().await;
    for payload in [
        serde_json::json!("not an object"),
        serde_json::json!({"source": "aws.ec2", "detail-type": "AWS API Call via CloudTrail", "detail": {"eventName": "ModifyVpcEndpoint"}}),
        serde_json::json!({"source": "aws.s3", "detail-type": "Object Created", "detail": {}}),
    ] {
        // WHEN the handler gets it (through the Lambda edge's error policy)
        let err = target_sync_payload(&s.app, &payload).await.unwrap_err();
        // THEN it is permanent (answered Ok + Dropped by the edge, not retried)
        assert!(!err.is_transient(), "{payload}: {err}");
        assert_eq!(err.kind(), "BadEvent");
    }
    assert_eq!(s.app.clients.calls.snapshot().attempts(), 0);
}

#[tokio::test]
async fn missing_target_group_is_permanent_and_writes_nothing() {
    // GIVEN a config naming a target group that does not exist
    let s = scenario().await;
    let mut config = s.app.config.clone();
    config.target_group_arn = shared::ids::TargetGroupArn::parse(
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/gone/0123456789abcdef",
    )
    .unwrap();
    let app = App::new(config, &s.sdk).in_account(frontdoor_tests::pets::hub_account());

    // WHEN the sweep runs
    let err = target_sync_payload(&app, &event("schedule.json", &s.hub.vpce_id))
        .await
        .unwrap_err();

    // THEN AWS's error is kept, it is permanent, and nothing was written
    assert!(!err.is_transient(), "{err}");
    assert_eq!(err.aws_code(), Some("TargetGroupNotFound"), "{err}");
    assert_eq!(app.clients.calls.snapshot().writes(), 0);
}

#[tokio::test]
async fn unreachable_aws_is_transient() {
    // GIVEN an emulator that has gone away
    let s = scenario().await;
    let sdk = s.sdk.clone();
    drop(s);
    let hub = Hub {
        vpc_id: String::new(),
        nlb_arn: String::new(),
        subnet_ids: vec![],
        vpce_id: "vpce-0123456789abcdef0".into(),
        target_group_arn:
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/x/0123456789abcdef"
                .into(),
    };
    let app = target_sync_app(&sdk, &hub);

    // WHEN the sweep runs
    let err = target_sync_payload(&app, &event("schedule.json", &hub.vpce_id))
        .await
        .unwrap_err();

    // THEN the error is transient, so Lambda retries the invocation
    assert!(err.is_transient(), "{err}");
    let diagnostic: lambda_runtime::Diagnostic = err.into();
    assert_eq!(diagnostic.error_type, "frontdoor.Transient.Aws");
}

#[tokio::test]
async fn a_crash_after_any_write_never_loses_a_target() {
    // GIVEN a filled group, then the endpoint moves (a plan of 4 writes)
    let s = scenario().await;
    s.sweep().await;
    s.ec2()
        .modify_vpc_endpoint()
        .vpc_endpoint_id(&s.hub.vpce_id)
        .remove_subnet_ids(&s.hub.subnet_ids[0])
        .add_subnet_ids(&s.hub.subnet_ids[2])
        .send()
        .await
        .unwrap();
    let want = s.endpoint_targets().await;
    let full = targets::diff(&targets::observe(&s.app).await.unwrap());
    assert_eq!(steps(&full), 4);

    // WHEN a run stops after its first k writes (a crash), then a sweep runs
    for k in 0..=4 {
        let observed = targets::observe(&s.app).await.unwrap();
        let plan = targets::diff(&observed);
        targets::apply(&s.app, &first(&plan, k)).await.unwrap();
        // THEN at every point the registry covers every target frontdoor registered
        let owned = s.owned().await;
        for t in s.registered().await {
            assert!(owned.contains(&t), "k={k}: {t} registered but not owned");
        }
    }
    s.sweep().await;
    // AND the sweep converges
    assert_eq!(s.registered().await, want);
    assert_eq!(s.owned().await, want);
    let before = s.writes_so_far();
    s.sweep().await;
    assert_eq!(s.writes_so_far(), before);
}

fn steps(plan: &Plan) -> usize {
    usize::from(plan.registry_before.is_some())
        + usize::from(!plan.register.is_empty())
        + usize::from(!plan.deregister.is_empty())
        + usize::from(plan.registry_after.is_some())
}

/// The plan cut after its first `k` writes, in apply order.
fn first(plan: &Plan, k: usize) -> Plan {
    let mut cut = plan.clone();
    let mut budget = k;
    let mut keep = |present: bool| -> bool {
        if present && budget > 0 {
            budget -= 1;
            true
        } else {
            false
        }
    };
    if !keep(cut.registry_before.is_some()) {
        cut.registry_before = None;
    }
    if !keep(!cut.register.is_empty()) {
        cut.register.clear();
    }
    if !keep(!cut.deregister.is_empty()) {
        cut.deregister.clear();
    }
    if !keep(cut.registry_after.is_some()) {
        cut.registry_after = None;
    }
    cut
}
