//! Route sync under AWS's own limits, one tenant at a time (issue 11). Each scenario is one
//! "Why" of the issue, against the emulator taught AWS's answer (tests/README.md, launcher
//! patches 6-13): sibling variables, the resource quota, registry records past 4096
//! characters, a spoke whose role cannot be assumed, the deployed snapshot, AWS_IAM
//! methods, the private-url alias, a disabled default endpoint, a refused deployment.
#![allow(clippy::unwrap_used)] // scenario helpers panic the test on a failed setup call

use std::collections::BTreeMap;

use aws_sdk_apigateway::types::{EndpointType, IntegrationType, Op, PatchOperation};
use frontdoor_tests::event;
use frontdoor_tests::pets::{
    add_resource, api_event, deploy, private_api, resource_ids, seed_policy, sqs_batch, ACCOUNT_B,
    ACCOUNT_C,
};
use frontdoor_tests::scenario::Scenario;
use serde_json::json;
use shared::entry::{route_sync_payload, Outcome};
use shared::routes::StatusKind;

async fn scenario() -> Scenario {
    Scenario::start().await
}

/// What this suite asks of a scenario beyond the shared harness.
trait Limits {
    async fn record_parameters(&self, account: &str, api: &str) -> BTreeMap<String, String>;
    fn gw_b(&self) -> aws_sdk_apigateway::Client;
}

impl Limits for Scenario {
    /// Registry parameters of one API: name -> value.
    async fn record_parameters(&self, account: &str, api: &str) -> BTreeMap<String, String> {
        let ssm = aws_sdk_ssm::Client::new(&self.pets.hub_sdk);
        let base = format!("/frontdoor/registry/apis/{account}/{api}");
        let mut out = BTreeMap::new();
        let mut pages = ssm
            .get_parameters_by_path()
            .path("/frontdoor/registry/apis")
            .recursive(true)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for p in page.unwrap().parameters() {
                let name = p.name().unwrap_or_default();
                if name == base || name.starts_with(&format!("{base}/")) {
                    out.insert(name.to_string(), p.value().unwrap_or_default().to_string());
                }
            }
        }
        out
    }

    fn gw_b(&self) -> aws_sdk_apigateway::Client {
        aws_sdk_apigateway::Client::new(&self.pets.b)
    }
}

fn tagged() -> Vec<(&'static str, &'static str)> {
    vec![("expose", "true")]
}

async fn spoke_api(
    s: &Scenario,
    account_sdk: &aws_config::SdkConfig,
    name: &str,
    paths: &[&str],
) -> String {
    let policy = seed_policy(&s.pets.hub.vpce_id);
    private_api(
        account_sdk,
        name,
        EndpointType::Private,
        Some(&policy),
        &tagged(),
        paths,
    )
    .await
}

#[tokio::test]
async fn sibling_variables_are_a_conflict_and_the_innocent_api_in_the_batch_is_routed() {
    // GIVEN B exposes /items/{id}
    let s = scenario().await;
    let b_items = spoke_api(&s, &s.pets.b, "items-b", &["/items/{id}"]).await;
    s.sweep().await;
    // AND C exposes /items/{itemId} (AWS: 400 "A sibling ({id}) ... only one is allowed")
    // and /stock, while an innocent B API exposes /toys, in one SQS batch
    let c_items = spoke_api(&s, &s.pets.c, "items-c", &["/items/{itemId}", "/stock"]).await;
    let toys = spoke_api(&s, &s.pets.b, "toys", &["/toys"]).await;
    let before = s.writes().len();

    // WHEN the batch is reconciled
    let report = s
        .run(&sqs_batch(&[
            api_event("TagResource", ACCOUNT_C, &c_items),
            api_event("TagResource", ACCOUNT_B, &toys),
        ]))
        .await;

    // THEN the newcomer gets the sibling conflict, found before any write, and keeps /stock
    assert_eq!(
        s.status("items-c").await.as_deref(),
        Some("conflict: /items/{itemId} beside /items/{id}")
    );
    let routes = s.pets.public_routes().await;
    assert!(routes.contains_key(&("/stock".into(), "GET".into())));
    assert!(!routes.keys().any(|(p, _)| p == "/items/{itemId}"));
    // AND the innocent API in the same batch is routed in the same run
    assert!(routes.contains_key(&("/toys".into(), "GET".into())));
    assert_eq!(s.status("toys").await.as_deref(), Some("exposed"));
    assert_eq!(report.deployments, 1);
    // AND B keeps its route
    assert!(routes[&("/items/{id}".to_string(), "GET".to_string())].contains(&b_items));
    let ops = s.writes()[before..].to_vec();
    assert_eq!(
        ops.iter().filter(|o| *o == "CreateResource").count(),
        2,
        "/stock and /toys only: {ops:?}"
    );
}

#[tokio::test]
async fn past_the_configured_quota_an_api_is_refused_whole_before_writing() {
    // GIVEN a public API of 5 resources after the seed (/, /health, /cats, /cats/{id}, /dogs)
    // and a quota of 8
    let mut s = scenario().await;
    s.app.config.resource_quota = 8;
    s.sweep().await;
    // WHEN a newcomer needs 4 more
    spoke_api(&s, &s.pets.b, "big", &["/big/a", "/big/b", "/big/c"]).await;
    let before = s.writes().len();
    let report = s.sweep().await;

    // THEN it is refused whole, with no public write, and the run is Ok
    let status = s.status("big").await.unwrap();
    assert!(
        status.starts_with("refused: the public API's resource quota (8)"),
        "{status}"
    );
    assert_eq!(report.resources_created, 0);
    let ops = s.writes()[before..].to_vec();
    assert!(!ops.iter().any(|o| o == "CreateResource"), "{ops:?}");
    assert!(!s.pets.public_paths().await.contains("/big"));
    // AND a second sweep writes nothing
    let before = s.writes().len();
    s.sweep().await;
    assert_eq!(s.writes()[before..].to_vec(), Vec::<String>::new());
}

#[tokio::test]
async fn limit_exceeded_from_aws_is_the_same_refusal_and_what_was_made_is_removed() {
    // GIVEN AWS enforces 8 resources while frontdoor is configured with 300
    let s = scenario().await;
    s.sweep().await;
    s.emulator.settings(&json!({"resource_quota": 8}));
    spoke_api(&s, &s.pets.b, "big", &["/big/a", "/big/b", "/big/c"]).await;
    let innocent = spoke_api(&s, &s.pets.c, "small", &["/small"]).await;
    let before = s.app.clients.calls.snapshot();

    // WHEN the sweep meets 429 LimitExceededException "Maximum number of Resources..."
    let report = s.sweep().await;

    // THEN the run is Ok, the API is refused, and nothing made for it remains
    let status = s.status("big").await.unwrap();
    assert!(
        status.starts_with("refused: the public API's resource quota"),
        "{status}"
    );
    let paths = s.pets.public_paths().await;
    assert!(!paths.iter().any(|p| p.starts_with("/big")), "{paths:?}");
    // AND the API ordered before it in the same run converged
    assert!(paths.contains("/small"), "{paths:?}");
    assert!(
        s.pets.public_routes().await[&("/small".to_string(), "GET".to_string())]
            .contains(&innocent)
    );
    assert_eq!(report.deployments, 1);
    // AND the quota answer was not retried as throttling
    let calls = s.app.clients.calls.snapshot().since(&before);
    let create = calls
        .per_operation
        .iter()
        .find(|((_, op), _)| op == "CreateResource")
        .map(|(_, c)| *c)
        .unwrap();
    assert_eq!(create.attempts, create.calls, "{calls:?}");
    // AND a second sweep writes nothing (AWS's quota was learned)
    let before = s.writes().len();
    s.sweep().await;
    assert_eq!(s.writes()[before..].to_vec(), Vec::<String>::new());
}

#[tokio::test]
async fn an_api_of_200_routes_is_recorded_over_several_parameters_each_within_4096() {
    // GIVEN an API of 100 resources with GET and POST each (200 routes), in an account whose
    // share of the public API has room for it
    let mut s = scenario().await;
    s.app.config.account_resource_quota = 300;
    let policy = seed_policy(&s.pets.hub.vpce_id);
    let paths: Vec<String> = (0..100).map(|i| format!("/many/item-{i:03}")).collect();
    let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    let api = private_api(
        &s.pets.b,
        "many",
        EndpointType::Private,
        Some(&policy),
        &tagged(),
        &refs,
    )
    .await;
    for p in &paths {
        add_resource(&s.pets.b, &api, p, "POST").await;
    }
    deploy(&s.pets.b, &api).await;

    // WHEN it is exposed (the emulator refuses SSM values over 4096, as AWS does)
    let report = s.sweep().await;

    // THEN it is routed whole and its record is split, each part within the limit
    assert_eq!(s.status("many").await.as_deref(), Some("exposed"));
    assert_eq!(report.methods_put, 200 + 3);
    let parts = s.record_parameters(ACCOUNT_B, &api).await;
    assert!(parts.len() >= 2, "{:?}", parts.keys());
    assert!(parts.values().all(|v| v.len() <= 4096));
    println!("a 200-route API's record: {} parameters", parts.len());
    // AND a second sweep writes nothing
    let before = s.writes().len();
    s.sweep().await;
    assert_eq!(s.writes()[before..].to_vec(), Vec::<String>::new());
    // AND un-exposing (with no release hold, so no record of the release is kept) removes
    // every part
    s.app.config.release_hold = std::time::Duration::ZERO;
    s.pets.untag(&s.pets.b, &api, &["expose"]).await;
    s.sweep().await;
    assert!(s.record_parameters(ACCOUNT_B, &api).await.is_empty());
    assert!(!s.pets.public_paths().await.contains("/many"));
}

#[tokio::test]
async fn a_spoke_whose_role_cannot_be_assumed_is_skipped_and_the_others_converge() {
    // GIVEN the seed exposed
    let s = scenario().await;
    s.sweep().await;
    let routes_before = s.pets.public_routes().await;
    let published_before = s.pets.published().await;
    let dogs_record = s.record_parameters(ACCOUNT_C, &s.pets.dogs).await;
    // AND spoke C's role can no longer be assumed (stack deleted, trust wrong: STS 403
    // AccessDenied), while spoke B tags a new API
    s.emulator
        .settings(&json!({"deny_assume_role": [ACCOUNT_C]}));
    let birds = spoke_api(&s, &s.pets.b, "birds", &["/birds"]).await;

    // WHEN a fresh function (no cached credentials) sweeps
    let app = s.pets.app();
    let report = match route_sync_payload(&app, &event("schedule.json", "")).await {
        Ok(Outcome::Reconciled(r)) => r,
        other => panic!("the sweep must succeed: {other:?}"),
    };

    // THEN C is skipped and counted, its routes, record and parameters exactly as they were
    assert_eq!(report.accounts_skipped, 1);
    let routes = s.pets.public_routes().await;
    for (key, target) in routes_before
        .iter()
        .filter(|(_, t)| t.contains(&s.pets.dogs))
    {
        assert_eq!(routes.get(key), Some(target));
    }
    assert_eq!(
        s.record_parameters(ACCOUNT_C, &s.pets.dogs).await,
        dogs_record
    );
    let published = s.pets.published().await;
    for (name, value) in published_before
        .iter()
        .filter(|(n, _)| n.contains("private-dogs"))
    {
        assert_eq!(published.get(name), Some(value), "{name}");
    }
    // AND B converged in the same run
    assert!(routes[&("/birds".to_string(), "GET".to_string())].contains(&birds));
    assert_eq!(report.deployments, 1);
}

#[tokio::test]
async fn routes_follow_what_the_stage_deployed_not_the_working_tree() {
    let s = scenario().await;
    s.sweep().await;
    // GIVEN cats adds /cats/toys and deletes /cats/{id} without deploying
    add_resource(&s.pets.b, &s.pets.cats, "/cats/toys", "GET").await;
    let ids = resource_ids(&s.pets.b, &s.pets.cats).await;
    s.gw_b()
        .delete_resource()
        .rest_api_id(&s.pets.cats)
        .resource_id(&ids["/cats/{id}"])
        .send()
        .await
        .unwrap();
    // WHEN a sweep runs
    let before = s.writes().len();
    s.sweep().await;
    // THEN nothing changes: the stage still serves /cats/{id} and not /cats/toys
    assert_eq!(s.writes()[before..].to_vec(), Vec::<String>::new());
    let routes = s.pets.public_routes().await;
    assert!(routes.contains_key(&("/cats/{id}".into(), "GET".into())));
    assert!(!routes.contains_key(&("/cats/toys".into(), "GET".into())));
    // WHEN the team deploys
    deploy(&s.pets.b, &s.pets.cats).await;
    s.sweep().await;
    // THEN the routes follow the new deployment
    let routes = s.pets.public_routes().await;
    assert!(!routes.contains_key(&("/cats/{id}".into(), "GET".into())));
    assert!(routes.contains_key(&("/cats/toys".into(), "GET".into())));
}

#[tokio::test]
async fn aws_iam_methods_are_skipped_and_named_in_the_status() {
    let s = scenario().await;
    // GIVEN cats serves POST /cats with AWS_IAM, deployed
    let ids = resource_ids(&s.pets.b, &s.pets.cats).await;
    let gw = s.gw_b();
    gw.put_method()
        .rest_api_id(&s.pets.cats)
        .resource_id(&ids["/cats"])
        .http_method("POST")
        .authorization_type("AWS_IAM")
        .send()
        .await
        .unwrap();
    gw.put_integration()
        .rest_api_id(&s.pets.cats)
        .resource_id(&ids["/cats"])
        .http_method("POST")
        .r#type(IntegrationType::Mock)
        .send()
        .await
        .unwrap();
    deploy(&s.pets.b, &s.pets.cats).await;
    // WHEN swept
    s.sweep().await;
    // THEN its other routes are live, POST is not, and the status says why
    let routes = s.pets.public_routes().await;
    assert!(routes.contains_key(&("/cats".into(), "GET".into())));
    assert!(!routes.contains_key(&("/cats".into(), "POST".into())));
    assert_eq!(
        s.status("private-cats").await.as_deref(),
        Some("exposed; skipped: POST /cats (AWS_IAM)")
    );
}

#[tokio::test]
async fn private_url_only_with_the_hub_endpoint_and_a_disabled_default_endpoint_is_refused() {
    let s = scenario().await;
    let gw_c = aws_sdk_apigateway::Client::new(&s.pets.c);
    // GIVEN dogs does not list the hub endpoint (no {api-id}-{vpce-id} alias exists)
    gw_c.update_rest_api()
        .rest_api_id(&s.pets.dogs)
        .patch_operations(
            PatchOperation::builder()
                .op(Op::Remove)
                .path("/endpointConfiguration/vpcEndpointIds")
                .value(&s.pets.hub.vpce_id)
                .build(),
        )
        .send()
        .await
        .unwrap();
    // AND cats switches off its default execute-api endpoint
    s.gw_b()
        .update_rest_api()
        .rest_api_id(&s.pets.cats)
        .patch_operations(
            PatchOperation::builder()
                .op(Op::Replace)
                .path("/disableExecuteApiEndpoint")
                .value("true")
                .build(),
        )
        .send()
        .await
        .unwrap();
    // WHEN swept
    let report = s.sweep().await;
    let published = s.pets.published().await;
    // THEN dogs is routed with a url and no private-url
    assert!(published.contains_key("/frontdoor/apis/private-dogs/url"));
    assert!(!published.contains_key("/frontdoor/apis/private-dogs/private-url"));
    // AND cats is refused, saying why, with no route
    let cats = s.status("private-cats").await.unwrap();
    assert!(
        cats.starts_with("refused:") && cats.contains("execute-api endpoint"),
        "{cats}"
    );
    assert!(!s.pets.public_paths().await.contains("/cats"));
    assert_eq!(
        shared::routes::diff::count(&report.statuses, StatusKind::Refused),
        1
    );
}

#[tokio::test]
async fn a_deployment_aws_refuses_stays_owed_and_is_paid_once_it_can_be() {
    let s = scenario().await;
    // GIVEN someone hand-made POST /health with no integration (AWS: CreateDeployment 400
    // "No integration defined for method")
    let hub_gw = aws_sdk_apigateway::Client::new(&s.pets.hub_sdk);
    let ids = resource_ids(&s.pets.hub_sdk, &s.pets.public_api_id).await;
    hub_gw
        .put_method()
        .rest_api_id(&s.pets.public_api_id)
        .resource_id(&ids["/health"])
        .http_method("POST")
        .authorization_type("NONE")
        .send()
        .await
        .unwrap();

    // WHEN the seed is swept
    let report = s.sweep().await;

    // THEN the run is Ok, counted, and the routed APIs are pending with AWS's words
    assert_eq!(report.deployments, 0);
    assert_eq!(report.deployments_refused, 1);
    assert_eq!(
        s.status("private-cats").await.as_deref(),
        Some("pending deployment: No integration defined for method")
    );
    // AND a sweep that still cannot deploy writes nothing new
    let before = s.writes().len();
    s.sweep().await;
    let ops = s.writes()[before..].to_vec();
    assert!(ops.iter().all(|o| o == "CreateDeployment"), "{ops:?}");

    // WHEN the hand-made method gets its integration
    hub_gw
        .put_integration()
        .rest_api_id(&s.pets.public_api_id)
        .resource_id(&ids["/health"])
        .http_method("POST")
        .r#type(IntegrationType::Mock)
        .send()
        .await
        .unwrap();
    let report = s.sweep().await;
    // THEN the owed deployment is made and the statuses turn exposed
    assert_eq!(report.deployments, 1);
    assert_eq!(s.status("private-cats").await.as_deref(), Some("exposed"));
    assert_eq!(s.status("private-dogs").await.as_deref(), Some("exposed"));
    let before = s.writes().len();
    s.sweep().await;
    assert_eq!(s.writes()[before..].to_vec(), Vec::<String>::new());
}

#[tokio::test]
async fn one_unreadable_registry_record_freezes_that_api_and_the_others_converge() {
    // GIVEN the seed exposed, then private-dogs' registry record garbled by hand
    let s = scenario().await;
    s.sweep().await;
    let routes_before = s.pets.public_routes().await;
    let base = format!("/frontdoor/registry/apis/{ACCOUNT_C}/{}", s.pets.dogs);
    aws_sdk_ssm::Client::new(&s.pets.hub_sdk)
        .put_parameter()
        .name(&base)
        .value("{not a record")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .unwrap();
    // AND spoke B tags a new API
    let birds = private_api(
        &s.pets.b,
        "birds",
        EndpointType::Private,
        Some(&seed_policy(&s.pets.hub.vpce_id)),
        &[("expose", "true")],
        &["/birds"],
    )
    .await;

    // WHEN a sweep runs
    let report = s.sweep().await;

    // THEN it succeeds: dogs is refused, saying why, and left exactly as it was
    let dogs = report.statuses[&format!("{ACCOUNT_C}/{}", s.pets.dogs)].to_string();
    assert!(dogs.contains("registry record cannot be read"), "{dogs}");
    let routes = s.pets.public_routes().await;
    assert_eq!(
        routes.get(&("/dogs".into(), "GET".into())),
        routes_before.get(&("/dogs".into(), "GET".into()))
    );
    assert_eq!(
        s.record_parameters(ACCOUNT_C, &s.pets.dogs).await[&base],
        "{not a record"
    );
    // AND the others converged in the same run
    assert!(routes[&("/birds".to_string(), "GET".to_string())].contains(&birds));
    assert_eq!(report.deployments, 1);
}
