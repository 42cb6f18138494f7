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
    assert!(text.contains("[hand-made; open]"), "{text}");
    assert!(
        text.contains("hub policy:") && text.contains("vpc link     V1 (legacy)"),
        "{text}"
    );
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

/// A self-signed certificate for api.example.com, valid 2026-01-01 to 2036-01-01 (made once
/// with Python's `cryptography`; a test fixture, not a secret).
const TEST_CERTIFICATE: &str = "-----BEGIN CERTIFICATE-----
MIIBQTCB6KADAgECAgID6DAKBggqhkjOPQQDAjAaMRgwFgYDVQQDDA9hcGkuZXhh
bXBsZS5jb20wHhcNMjYwMTAxMDAwMDAwWhcNMzYwMTAxMDAwMDAwWjAaMRgwFgYD
VQQDDA9hcGkuZXhhbXBsZS5jb20wWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAASS
Wjtmldl5mpnF8ZsHbOwqNHOC0YuTexuNQMqcTYmbbfSduCrQ/GJ6K9WOEecO+gN8
iyG7ZCZvhIB6GijVuFODox4wHDAaBgNVHREEEzARgg9hcGkuZXhhbXBsZS5jb20w
CgYIKoZIzj0EAwIDSAAwRQIgBaeQqulHRpT0jJgFfYBZFR6n0X33+sD3UcSGiG6d
8s8CIQCgwBEwhdwncWEnq1JYAnyKsVIf/DseSeY+p0/2qCWpsw==
-----END CERTIFICATE-----\n";
/// Its key.
const TEST_KEY: &str = "-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIC6u9pQW1H25y6yc5KL9k5oEgxL0pCIRoKPkDgL/mJPCoAoGCCqGSM49
AwEHoUQDQgAEklo7ZpXZeZqZxfGbB2zsKjRzgtGLk3sbjUDKnE2Jm230nbgq0Pxi
eivVjhHnDvoDfIshu2Qmb4SAehoo1bhTgw==
-----END EC PRIVATE KEY-----\n";

/// The doctor on a healthy deployment, then on one broken in eight ways.
#[tokio::test]
async fn doctor_says_ok_on_a_healthy_deployment_and_names_each_fault() {
    use frontdoor_tests::fifo::RouteQueue;
    // GIVEN the seed deployed as the stack would: a trail, the hub bus admitting both
    // spokes, the FIFO route queue, both functions' sweeps done
    let emulator = Emulator::start();
    let pets = seed(&emulator).await;
    emulator.create_bucket("frontdoor-trail");
    let ct = aws_sdk_cloudtrail::Client::new(&pets.hub_sdk);
    ct.create_trail()
        .name("frontdoor")
        .s3_bucket_name("frontdoor-trail")
        .send()
        .await
        .unwrap();
    ct.start_logging().name("frontdoor").send().await.unwrap();
    let events = aws_sdk_eventbridge::Client::new(&pets.hub_sdk);
    events
        .create_event_bus()
        .name("frontdoor-hub")
        .send()
        .await
        .unwrap();
    for account in [ACCOUNT_B, ACCOUNT_C] {
        events
            .put_permission()
            .event_bus_name("frontdoor-hub")
            .action("events:PutEvents")
            .principal(account)
            .statement_id(format!("spoke-{account}"))
            .send()
            .await
            .unwrap();
    }
    let queue = RouteQueue::create(&pets.hub_sdk).await;
    let doctor = |args: &[&str]| {
        let mut all = vec![
            "doctor",
            "--hub-bus",
            "frontdoor-hub",
            "--public-domain",
            "api.example.com",
            "--api-key-required",
            "true",
            "--route-queue-url",
        ];
        all.push(&queue.url);
        all.extend_from_slice(args);
        frontdoor(&emulator, &pets, &all)
    };
    let (ok, _, text) = frontdoor(&emulator, &pets, &["apply"]);
    assert!(ok, "{text}");
    // (and the custom domain, mapped at its root to the public stage, which AWS takes only
    // once the stage exists: "Invalid stage identifier specified" before)
    let gw = aws_sdk_apigateway::Client::new(&pets.hub_sdk);
    let certificate = aws_sdk_acm::Client::new(&pets.hub_sdk)
        .import_certificate()
        .certificate(aws_sdk_acm::primitives::Blob::new(TEST_CERTIFICATE))
        .private_key(aws_sdk_acm::primitives::Blob::new(TEST_KEY))
        .send()
        .await
        .unwrap();
    gw.create_domain_name()
        .domain_name("api.example.com")
        .regional_certificate_arn(certificate.certificate_arn().unwrap())
        .endpoint_configuration(
            aws_sdk_apigateway::types::EndpointConfiguration::builder()
                .types(aws_sdk_apigateway::types::EndpointType::Regional)
                .build(),
        )
        .security_policy(aws_sdk_apigateway::types::SecurityPolicy::Tls12)
        .send()
        .await
        .unwrap();
    gw.create_base_path_mapping()
        .domain_name("api.example.com")
        .rest_api_id(&pets.public_api_id)
        .stage("prd")
        .send()
        .await
        .unwrap();
    // (and, as the hub requires API keys, a usage plan with the public stage)
    let plan = gw
        .create_usage_plan()
        .name("frontdoor")
        .api_stages(
            aws_sdk_apigateway::types::ApiStage::builder()
                .api_id(&pets.public_api_id)
                .stage("prd")
                .build(),
        )
        .send()
        .await
        .unwrap();

    // WHEN the doctor looks
    let (ok, report, text) = doctor(&["--json"]);
    // THEN every check is ok
    let results = |report: &Value| -> std::collections::BTreeMap<String, String> {
        report["doctor"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| {
                (
                    f["check"].as_str().unwrap_or_default().to_string(),
                    f["result"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    };
    assert!(ok, "{text}");
    let healthy = results(&report);
    assert_eq!(healthy.len(), 11, "{healthy:?}");
    assert!(healthy.values().all(|r| r == "ok"), "{text}");
    let (_, _, lines) = doctor(&[]);
    println!("doctor on the healthy demo world:\n{lines}");

    // WHEN eight things break: the trail stops, the bus forgets spoke C, C's role cannot be
    // assumed, a target is deregistered by hand, a deployment is owed, an event is dead,
    // the domain loses its mapping, the usage plan goes
    ct.stop_logging().name("frontdoor").send().await.unwrap();
    events
        .remove_permission()
        .event_bus_name("frontdoor-hub")
        .statement_id(format!("spoke-{ACCOUNT_C}"))
        .send()
        .await
        .unwrap();
    emulator.settings(&serde_json::json!({"deny_assume_role": [ACCOUNT_C]}));
    let elbv2 = aws_sdk_elasticloadbalancingv2::Client::new(&pets.hub_sdk);
    elbv2
        .deregister_targets()
        .target_group_arn(&pets.hub.target_group_arn)
        .targets(
            aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                .id("10.0.1.4")
                .port(443)
                .build(),
        )
        .send()
        .await
        .unwrap();
    aws_sdk_ssm::Client::new(&pets.hub_sdk)
        .put_parameter()
        .name("/frontdoor/registry/deployment-owed")
        .value(r#"{"version":1,"items":"owed-by-test"}"#)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .unwrap();
    queue
        .send_to_dead_letters(&serde_json::json!({"poison": true}))
        .await;
    gw.delete_usage_plan()
        .usage_plan_id(plan.id().unwrap())
        .send()
        .await
        .unwrap();
    gw.delete_base_path_mapping()
        .domain_name("api.example.com")
        .base_path("(none)")
        .send()
        .await
        .unwrap();

    // THEN the doctor fails, naming each, and the rest stay ok
    let (ok, report, text) = doctor(&["--json"]);
    assert!(!ok, "{text}");
    let broken = results(&report);
    for check in [
        "trail",
        "hub bus policy",
        "spoke 333333333333",
        "targets",
        "public stage",
        "route queue",
        "custom domain",
        "usage plan",
    ] {
        assert_eq!(
            broken.get(check).map(String::as_str),
            Some("fail"),
            "{check}: {text}"
        );
    }
    for check in ["spoke 222222222222", "endpoint", "vpc link"] {
        assert_eq!(
            broken.get(check).map(String::as_str),
            Some("ok"),
            "{check}: {text}"
        );
    }
    let (_, _, lines) = doctor(&[]);
    println!("doctor on the broken world:\n{lines}");
}

/// A VPC link V2: the doctor reads its status from API Gateway's V2 API.
#[tokio::test]
async fn doctor_reads_a_v2_links_status() {
    let emulator = Emulator::start();
    let pets = seed(&emulator).await;
    let link = aws_sdk_apigatewayv2::Client::new(&pets.hub_sdk)
        .create_vpc_link()
        .name("frontdoor-v2")
        .set_subnet_ids(Some(pets.hub.subnet_ids.clone()))
        .send()
        .await
        .unwrap();
    let id = link.vpc_link_id().unwrap().to_string();
    // The doctor on this link: whether it passed, and its "vpc link" finding.
    let link_doctor = || {
        let (ok, report, text) = frontdoor(
            &emulator,
            &pets,
            &[
                "doctor",
                "--json",
                "--vpc-link-id",
                &id,
                "--integration-target-arn",
                &pets.hub.nlb_arn,
            ],
        );
        let finding = report["doctor"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["check"] == "vpc link")
            .cloned()
            .unwrap_or_default();
        let detail = finding["detail"].as_str().unwrap_or_default().to_string();
        (
            ok,
            finding["result"].as_str().unwrap_or_default().to_string(),
            detail,
            text,
        )
    };
    let (_, result, detail, text) = link_doctor();
    assert_eq!(result, "ok", "{text}");
    assert!(detail.starts_with(&format!("V2 {id} AVAILABLE")), "{text}");
    // WHEN AWS marks it INACTIVE (60 days without traffic)
    emulator.settings(&serde_json::json!({"vpc_link_v2_status": {&id: ["INACTIVE", ""]}}));
    // THEN the doctor fails, saying what it means and what to do
    let (ok, result, detail, text) = link_doctor();
    assert!(!ok, "{text}");
    assert_eq!(result, "fail", "{text}");
    assert!(
        detail.contains("INACTIVE (no traffic for 60 days"),
        "{text}"
    );
}

/// `export`: one exposed API's contract, cut from the public stage's OpenAPI 3 export.
#[tokio::test]
async fn export_prints_one_apis_routes_as_openapi_3() {
    let emulator = Emulator::start();
    let pets = seed(&emulator).await;
    let (ok, _, text) = frontdoor(&emulator, &pets, &["apply"]);
    assert!(ok, "{text}");
    // WHEN private-cats is exported
    let (ok, doc, text) = frontdoor(&emulator, &pets, &["export", "private-cats"]);
    assert!(ok, "{text}");
    // THEN it has /cats and /cats/{id}, not /dogs (another API's) nor /health (hand-made),
    // on the public stage's URL
    let paths: Vec<&String> = doc["paths"]
        .as_object()
        .map(|p| p.keys().collect())
        .unwrap_or_default();
    assert_eq!(paths, ["/cats", "/cats/{id}"], "{text}");
    assert_eq!(doc["openapi"], "3.0.1");
    assert_eq!(
        doc["servers"][0]["url"],
        format!(
            "https://{}.execute-api.us-east-1.amazonaws.com/prd",
            pets.public_api_id
        )
    );
    // AND it is OpenAPI 3 by a validator from the registry (openapi-spec-validator)
    let file = std::env::temp_dir().join(format!("frontdoor-export-{}.json", std::process::id()));
    std::fs::write(&file, serde_json::to_string(&doc).unwrap()).unwrap();
    let check = Command::new(frontdoor_tests::python())
        .args([
            "-c",
            "import json,sys; from openapi_spec_validator import validate; validate(json.load(open(sys.argv[1]))); print('valid')",
        ])
        .arg(&file)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&file);
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    // AND a name that is not exposed is a clear error
    let (ok, _, text) = frontdoor(&emulator, &pets, &["export", "private-birds"]);
    assert!(!ok);
    assert!(
        text.contains("no exposed API publishes under the name private-birds"),
        "{text}"
    );
    // AND --all writes one file per exposed API
    let dir = std::env::temp_dir().join(format!("frontdoor-exports-{}", std::process::id()));
    let (ok, _, text) = frontdoor(
        &emulator,
        &pets,
        &["export", "--all", dir.to_str().unwrap()],
    );
    assert!(ok, "{text}");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    files.sort();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(files, ["private-cats.json", "private-dogs.json"]);
}

/// Cells (issue 23): `plan` shows where each API and first segment goes and the rules to
/// make, `apply` places them, `status` names each API's cell, and `doctor` checks every
/// cell and rule, naming a rule someone deleted.
#[tokio::test]
async fn cells_are_planned_placed_shown_and_examined() {
    use aws_sdk_apigateway::types::EndpointType;
    use frontdoor_tests::pets::{add_cells, private_api, seed_policy};
    // GIVEN the seed applied in the first of two cells behind api.example.com (6 resources
    // per cell: the seed fills the first to 5), then B's shop of 3 resources
    let emulator = Emulator::start();
    let pets = seed(&emulator).await;
    let ids = add_cells(&pets, 1, "api.example.com").await;
    let cells = ids.join(",");
    let run = |command: &str| {
        let args = [
            command,
            "--json",
            "--cells",
            &cells,
            "--public-domain",
            "api.example.com",
            "--resource-quota",
            "6",
            "--account-resource-quota",
            "100",
        ];
        frontdoor(&emulator, &pets, &args)
    };
    let (ok, _, text) = run("apply");
    assert!(ok, "{text}");
    private_api(
        &pets.b,
        "shop",
        EndpointType::Private,
        Some(&seed_policy(&pets.hub.vpce_id)),
        &[("expose", "true"), ("expose:paths", "/shop")],
        &["/shop", "/shop/items", "/shop/cart"],
    )
    .await;
    // WHEN planned: THEN the shop goes to the second cell, with one rule for /shop
    let (ok, plan, text) = run("plan");
    assert!(ok, "{text}");
    assert_eq!(plan["first_segments"]["shop"], ids[1].as_str(), "{plan}");
    assert_eq!(plan["first_segments"]["cats"], ids[0].as_str(), "{plan}");
    assert_eq!(
        plan["routing_rules"]["create"]["shop"]["cell"],
        ids[1].as_str(),
        "{plan}"
    );
    // WHEN applied: THEN status names each API's cell
    let (ok, _, text) = run("apply");
    assert!(ok, "{text}");
    let (ok, status, text) = run("status");
    assert!(ok, "{text}");
    let cell_of = |name: &str| {
        status["apis"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["name"] == name)
            .map(|a| a["cell"].clone())
            .unwrap_or_default()
    };
    assert_eq!(cell_of("shop"), ids[1].as_str(), "{status}");
    assert_eq!(cell_of("private-cats"), ids[0].as_str(), "{status}");
    // WHEN the doctor looks: THEN the second cell and the rules are ok
    let results = |report: &Value| -> std::collections::BTreeMap<String, (String, String)> {
        report["doctor"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| {
                let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
                (s("check"), (s("result"), s("detail")))
            })
            .collect()
    };
    let (_, report, text) = run("doctor");
    let found = results(&report);
    assert_eq!(found[&format!("cell {}", ids[1])].0, "ok", "{text}");
    assert_eq!(found["routing rules"].0, "ok", "{text}");
    // WHEN someone deletes frontdoor's rule: THEN the doctor names it
    let v2 = aws_sdk_apigatewayv2::Client::new(&pets.hub_sdk);
    let rules = v2
        .list_routing_rules()
        .domain_name("api.example.com")
        .send()
        .await
        .unwrap();
    for rule in rules.routing_rules() {
        v2.delete_routing_rule()
            .domain_name("api.example.com")
            .routing_rule_id(rule.routing_rule_id().unwrap())
            .send()
            .await
            .unwrap();
    }
    let (ok, report, text) = run("doctor");
    assert!(!ok, "{text}");
    let (result, detail) = &results(&report)["routing rules"];
    assert_eq!(result, "fail");
    assert!(
        detail.contains("/shop: its recorded rule is gone"),
        "{detail}"
    );
}
