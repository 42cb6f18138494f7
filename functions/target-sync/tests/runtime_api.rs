//! The built `target-sync` binary under a Lambda Runtime API, against the emulator: cold
//! start from the environment, a sample event from `events/`, the answer and the logs.

use std::path::Path;
use std::time::Duration;

use frontdoor_tests::runtime_api::{Answer, FunctionProcess, RuntimeApi};
use frontdoor_tests::{aws_env, endpoint_ips, event, on_443, registered, seed_hub, Emulator};

const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn binary_reconciles_a_cloudtrail_event_and_logs_json_with_request_ids() {
    // GIVEN the hub on the emulator and the binary started as Lambda would start it
    let emulator = Emulator::start();
    let sdk = emulator.sdk_config().await;
    let hub = seed_hub(&sdk).await;
    let api = RuntimeApi::start(vec![
        event("ec2-modify-vpc-endpoint.json", &hub.vpce_id),
        serde_json::json!({"not": "an event"}),
    ]);
    let mut env = aws_env(&emulator.endpoint_url());
    env.extend([
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".into()),
        ("FRONTDOOR_VPC_ENDPOINT_ID", hub.vpce_id.clone()),
        ("FRONTDOOR_TARGET_GROUP_ARN", hub.target_group_arn.clone()),
    ]);
    let function = FunctionProcess::spawn(Path::new(env!("CARGO_BIN_EXE_target-sync")), &api, &env);

    // WHEN it takes the CloudTrail event, then a malformed one
    let first = api
        .answer(ANSWER_TIMEOUT)
        .expect("an answer to the first event");
    let second = api
        .answer(ANSWER_TIMEOUT)
        .expect("an answer to the second event");

    // THEN the first reconciled: the endpoint's IPs are targets
    let Answer::Response { request_id, body } = first else {
        panic!(
            "expected a response, got {first:?}; logs: {:#?}",
            function.logs()
        );
    };
    assert_eq!(request_id, "req-1");
    assert_eq!(body["outcome"], "reconciled", "{body}");
    let want = on_443(&endpoint_ips(&sdk, &hub.vpce_id).await);
    assert_eq!(registered(&sdk, &hub.target_group_arn).await, want);

    // AND the malformed one is answered Ok with a reason (permanent: not retried)
    let Answer::Response { body, .. } = second else {
        panic!("expected a response, got {second:?}");
    };
    assert_eq!(body["outcome"], "dropped", "{body}");
    assert_eq!(body["kind"], "BadEvent", "{body}");

    // AND every log line is JSON, and every line inside an invocation carries its request id
    let logs = function.logs();
    let summary = logs
        .iter()
        .find(|l| l.contains("target sync done"))
        .unwrap_or_else(|| panic!("no summary line in {logs:#?}"));
    for line in &logs {
        let parsed: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        if line.contains("target sync done") || line.contains("dropped") {
            assert!(
                line.contains("\"requestId\":\"req-"),
                "no request id: {line}"
            );
            assert!(parsed.get("fields").is_some(), "{line}");
        }
    }
    // AND the reconcile's metrics went out as an EMF line
    let emf: serde_json::Value = logs
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v.get("_aws").is_some() && v.get("TargetsRegistered").is_some())
        .unwrap_or_else(|| panic!("no EMF line in {logs:#?}"));
    assert_eq!(
        emf["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "frontdoor"
    );
    assert_eq!(emf["TargetsRegistered"], 2.0);
    let summary: serde_json::Value = serde_json::from_str(summary).unwrap_or_default();
    assert_eq!(summary["fields"]["registered"], 2, "{summary}");
    assert_eq!(summary["fields"]["writes"], 2, "{summary}");
}

#[tokio::test]
async fn binary_with_bad_config_exits_at_cold_start_naming_every_variable() {
    // GIVEN no FRONTDOOR_* variables at all
    let api = RuntimeApi::start(vec![serde_json::json!({})]);
    let env = [
        ("AWS_REGION", "us-east-1".to_string()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".into()),
    ];
    let mut function =
        FunctionProcess::spawn(Path::new(env!("CARGO_BIN_EXE_target-sync")), &api, &env);

    // WHEN it starts, THEN it exits before taking an event (Lambda: Runtime.ExitError)
    let mut exited = false;
    for _ in 0..200 {
        if function.exited() {
            exited = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(exited, "still running; logs: {:#?}", function.logs());
    assert_eq!(api.answer(Duration::from_millis(100)), None);

    // AND one JSON line names both missing variables
    let logs = function.logs();
    let line = logs
        .iter()
        .find(|l| l.contains("cold start failed"))
        .unwrap_or_else(|| panic!("no cold start line in {logs:#?}"));
    let parsed: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
    let message = parsed["fields"]["error"].as_str().unwrap_or_default();
    assert!(
        message.contains("FRONTDOOR_VPC_ENDPOINT_ID: is not set"),
        "{line}"
    );
    assert!(
        message.contains("FRONTDOOR_TARGET_GROUP_ARN: is not set"),
        "{line}"
    );
}
