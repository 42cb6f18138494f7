//! The `frontdoor` binary against the emulator's seed scenario: plan, apply, status.

use std::process::Command;

use frontdoor_tests::pets::{seed, Pets, ACCOUNT_B, ACCOUNT_C};
use frontdoor_tests::{aws_env, Emulator};
use serde_json::Value;

fn frontdoor(emulator: &Emulator, pets: &Pets, args: &[&str]) -> (bool, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_frontdoor"))
        .args(args)
        .env_clear()
        .envs(aws_env(&emulator.endpoint_url()))
        .env("FRONTDOOR_VPC_ENDPOINT_ID", &pets.hub.vpce_id)
        .env("FRONTDOOR_TARGET_GROUP_ARN", &pets.hub.target_group_arn)
        .env("FRONTDOOR_PUBLIC_API_ID", &pets.public_api_id)
        .env("FRONTDOOR_VPC_LINK_ID", &pets.vpc_link_id)
        .env(
            "FRONTDOOR_ALLOWED_ACCOUNTS",
            format!("{ACCOUNT_B},{ACCOUNT_C}"),
        )
        .output()
        .expect("run frontdoor");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.success(),
        json,
        format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)),
    )
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn plan_writes_nothing_apply_converges_status_shows_it() {
    // GIVEN the seed scenario
    let emulator = Emulator::start();
    let pets = seed(&emulator).await;

    // WHEN planned
    let (ok, plan, text) = frontdoor(&emulator, &pets, &["plan", "--json"]);
    assert!(ok, "{text}");
    // THEN it is the very plan the Lambdas would apply (grouped by API, parents first),
    // and nothing was written
    assert_eq!(
        strings(&plan["route_plan"]["create_resources"]),
        vec!["/cats", "/cats/{id}", "/dogs"]
    );
    assert_eq!(strings(&plan["target_plan"]["register"]).len(), 2);
    assert!(pets.published().await.is_empty());
    let (ok, again, _) = frontdoor(&emulator, &pets, &["plan", "--json"]);
    assert!(ok);
    assert_eq!(again, plan, "a plan is a value: the same twice");

    // WHEN applied
    let (ok, _, text) = frontdoor(&emulator, &pets, &["apply", "--json"]);
    assert!(ok, "{text}");

    // THEN status shows both APIs exposed, the route tree with owners, healthy-or-new targets,
    // and no drift
    let (ok, status, text) = frontdoor(&emulator, &pets, &["status", "--json"]);
    assert!(ok, "{text}");
    let apis = status["apis"].as_array().cloned().unwrap_or_default();
    assert_eq!(apis.len(), 2, "{status}");
    assert!(apis.iter().all(|a| a["status"] == "exposed"), "{status}");
    let health = status["public_routes"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["path"] == "/health").cloned())
        .unwrap_or_default();
    assert_eq!(health["owner"], "hand-made");
    assert_eq!(status["targets"].as_array().map(Vec::len), Some(2));
    assert_eq!(status["route_drift"]["noop"], true, "{status}");
    assert_eq!(status["target_drift"]["noop"], true, "{status}");

    // AND the text form reads as a tree
    let (ok, _, text) = frontdoor(&emulator, &pets, &["status"]);
    assert!(ok);
    assert!(text.contains("GET    /cats"), "{text}");
    assert!(text.contains("[hand-made]"), "{text}");
}

#[test]
fn missing_configuration_names_the_variables_and_what_to_do() {
    let out = Command::new(env!("CARGO_BIN_EXE_frontdoor"))
        .arg("plan")
        .env_clear()
        .output()
        .expect("run frontdoor");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("FRONTDOOR_VPC_ENDPOINT_ID: is not set"),
        "{err}"
    );
    assert!(err.contains("see --help"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
}

#[test]
fn unreachable_endpoint_says_which() {
    let out = Command::new(env!("CARGO_BIN_EXE_frontdoor"))
        .args([
            "plan",
            "--vpc-endpoint-id",
            "vpce-0123456789abcdef0",
            "--target-group-arn",
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/x/0123456789abcdef",
        ])
        .env_clear()
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "x")
        .env("AWS_SECRET_ACCESS_KEY", "y")
        .output()
        .expect("run frontdoor");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot reach http://127.0.0.1:9"), "{err}");
}
