//! Route sync against moto: hub 123456789012, spokes 222222222222 and 333333333333 in one
//! server, the real SDK clients, the seed scenario first.
#![allow(clippy::unwrap_used)] // scenario helpers panic the test on a failed setup call

use std::collections::BTreeMap;

use aws_sdk_apigateway::types::EndpointType;
use frontdoor_tests::pets::{
    add_resource, api_event, deploy, private_api, public_writes, seed_policy, sqs_batch, ACCOUNT_B,
    ACCOUNT_C,
};
use frontdoor_tests::scenario::{status_in, Scenario};
use shared::entry::{route_sync_payload, Outcome};

async fn scenario() -> Scenario {
    Scenario::start().await
}

fn url(api: &str) -> String {
    format!("https://{api}.execute-api.us-east-1.amazonaws.com/prd")
}

fn route(path: &str, verb: &str) -> (String, String) {
    (path.to_string(), verb.to_string())
}

fn count(ops: &[String], op: &str) -> usize {
    ops.iter().filter(|o| *o == op).count()
}

#[tokio::test]
async fn seed_scenario_exposes_cats_and_dogs_at_the_floor_and_keeps_health() {
    // GIVEN the seed scenario
    let s = scenario().await;

    // WHEN the sweep runs
    let report = s.sweep().await;

    // THEN the public API serves /cats, /cats/{id}, /dogs over the VPC link, keeps /health,
    // and /owners stays private
    let routes = s.pets.public_routes().await;
    let cats = url(&s.pets.cats);
    let dogs = url(&s.pets.dogs);
    let want: BTreeMap<_, _> = [
        (route("/cats", "GET"), format!("{cats}/cats")),
        (route("/cats/{id}", "GET"), format!("{cats}/cats/{{id}}")),
        (route("/dogs", "GET"), format!("{dogs}/dogs")),
        (route("/health", "GET"), "MOCK".to_string()),
    ]
    .into();
    assert_eq!(routes, want);
    // AND the writes are the floor: 3 resources + 3 methods + 3 integrations + 1 deployment
    let ops = s.writes();
    assert_eq!(public_writes(&ops), 10, "{ops:?}");
    assert_eq!(count(&ops, "CreateDeployment"), 1);
    assert_eq!(report.resources_created, 3);
    // AND SSM has the stable URLs and statuses
    let published = s.pets.published().await;
    assert_eq!(
        status_in(&published, "private-cats").as_deref(),
        Some("exposed")
    );
    assert_eq!(
        status_in(&published, "private-dogs").as_deref(),
        Some("exposed")
    );
    assert_eq!(
        published["/frontdoor/apis/private-cats/private-url"],
        format!(
            "https://{}-{}.execute-api.us-east-1.amazonaws.com/prd",
            s.pets.cats, s.pets.hub.vpce_id
        )
    );
    assert_eq!(
        published["/frontdoor/apis/private-dogs/url"],
        format!(
            "https://{}.execute-api.us-east-1.amazonaws.com/prd",
            s.pets.public_api_id
        )
    );
}

#[tokio::test]
async fn integrations_carry_the_vpc_link_and_path_parameters() {
    let s = scenario().await;
    s.sweep().await;
    let gw = aws_sdk_apigateway::Client::new(&s.pets.hub_sdk);
    let ids = frontdoor_tests::pets::resource_ids(&s.pets.hub_sdk, &s.pets.public_api_id).await;
    let integration = gw
        .get_integration()
        .rest_api_id(&s.pets.public_api_id)
        .resource_id(&ids["/cats/{id}"])
        .http_method("GET")
        .send()
        .await
        .unwrap();
    assert_eq!(
        integration.connection_id(),
        Some(s.pets.vpc_link_id.as_str())
    );
    assert_eq!(
        integration.connection_type().map(|c| c.as_str()),
        Some("VPC_LINK")
    );
    assert_eq!(integration.r#type().map(|t| t.as_str()), Some("HTTP_PROXY"));
    assert_eq!(
        integration.request_parameters().unwrap()["integration.request.path.id"],
        "method.request.path.id"
    );
}

#[tokio::test]
async fn a_second_sweep_makes_zero_writes() {
    let s = scenario().await;
    s.sweep().await;
    let before = s.app.clients.calls.snapshot();
    let report = s.sweep().await;
    let spent = s.app.clients.calls.snapshot().since(&before);
    assert_eq!(spent.writes(), 0, "{:?}", spent.write_ops());
    assert_eq!(report.deployments, 0);
}

#[tokio::test]
async fn stage_deployment_of_a_new_resource_is_followed() {
    // GIVEN the exposed seed, then cats adds /cats/{id}/toys and deploys
    let s = scenario().await;
    s.sweep().await;
    add_resource(&s.pets.b, &s.pets.cats, "/cats/{id}/toys", "GET").await;
    deploy(&s.pets.b, &s.pets.cats).await;
    let before = s.writes().len();

    // WHEN the CreateDeployment event arrives
    s.run(&api_event("CreateDeployment", ACCOUNT_B, &s.pets.cats))
        .await;

    // THEN the public API gains it with 1 resource + 1 method + 1 integration + 1 deployment
    let routes = s.pets.public_routes().await;
    assert!(
        routes.contains_key(&route("/cats/{id}/toys", "GET")),
        "{routes:?}"
    );
    let ops = s.writes()[before..].to_vec();
    assert_eq!(public_writes(&ops), 4, "{ops:?}");
}

#[tokio::test]
async fn un_expose_removes_routes_and_parameters_and_redeploys_once() {
    let s = scenario().await;
    s.sweep().await;
    let before = s.writes().len();

    // WHEN cats' expose tag is removed
    s.pets.untag(&s.pets.b, &s.pets.cats, &["expose"]).await;
    s.run(&api_event("UntagResource", ACCOUNT_B, &s.pets.cats))
        .await;

    // THEN cats' routes and parameters are gone; dogs and /health are untouched
    let routes = s.pets.public_routes().await;
    assert!(
        !routes.keys().any(|(p, _)| p.starts_with("/cats")),
        "{routes:?}"
    );
    assert!(routes.contains_key(&route("/dogs", "GET")));
    assert!(routes.contains_key(&route("/health", "GET")));
    assert!(!s
        .pets
        .public_paths()
        .await
        .iter()
        .any(|p| p.starts_with("/cats")));
    let published = s.pets.published().await;
    assert!(
        !published.keys().any(|k| k.contains("private-cats")),
        "{published:?}"
    );
    let ops = s.writes()[before..].to_vec();
    assert_eq!(count(&ops, "CreateDeployment"), 1, "{ops:?}");
}

#[tokio::test]
async fn deleted_api_loses_its_routes() {
    let s = scenario().await;
    s.sweep().await;
    aws_sdk_apigateway::Client::new(&s.pets.c)
        .delete_rest_api()
        .rest_api_id(&s.pets.dogs)
        .send()
        .await
        .unwrap();
    s.run(&api_event("DeleteRestApi", ACCOUNT_C, &s.pets.dogs))
        .await;
    let routes = s.pets.public_routes().await;
    assert!(!routes.contains_key(&route("/dogs", "GET")), "{routes:?}");
    assert!(routes.contains_key(&route("/cats", "GET")));
    assert!(!s
        .pets
        .published()
        .await
        .keys()
        .any(|k| k.contains("private-dogs")));
}

#[tokio::test]
async fn second_claimant_conflicts_then_takes_over_when_the_first_leaves() {
    // GIVEN the exposed seed, and a second API in C that also wants /cats
    let mut s = scenario().await;
    s.sweep().await;
    let policy = seed_policy(&s.pets.hub.vpce_id);
    let rival = private_api(
        &s.pets.c,
        "rival-cats",
        EndpointType::Private,
        Some(&policy),
        &[("expose", "true"), ("expose:paths", "/cats")],
        &["/cats"],
    )
    .await;

    // WHEN it is reconciled
    s.run(&api_event("CreateDeployment", ACCOUNT_C, &rival))
        .await;

    // THEN cats keeps /cats and the rival's status names the owner
    let routes = s.pets.public_routes().await;
    assert_eq!(
        routes[&route("/cats", "GET")],
        format!("{}/cats", url(&s.pets.cats))
    );
    let published = s.pets.published().await;
    assert_eq!(
        status_in(&published, "rival-cats"),
        Some(format!(
            "conflict: /cats owned by {ACCOUNT_B}/{}",
            s.pets.cats
        ))
    );
    assert!(!published.contains_key("/frontdoor/apis/rival-cats/url"));

    // WHEN cats leaves and the sweep runs
    s.pets.untag(&s.pets.b, &s.pets.cats, &["expose"]).await;
    s.sweep().await;

    // THEN the rival, of another account, waits out the release hold (DESIGN.md, "Claims
    // change hands only on purpose")
    let status = status_in(&s.pets.published().await, "rival-cats").unwrap_or_default();
    assert!(
        status.starts_with(&format!("conflict: /cats held for {ACCOUNT_B} until ")),
        "{status}"
    );

    // WHEN the hold is over (the operator set it to 0 s) and the sweep runs
    s.app.config.release_hold = std::time::Duration::ZERO;
    s.sweep().await;

    // THEN the rival has /cats
    let routes = s.pets.public_routes().await;
    assert_eq!(
        routes[&route("/cats", "GET")],
        format!("{}/cats", url(&rival))
    );
    assert_eq!(
        status_in(&s.pets.published().await, "rival-cats").as_deref(),
        Some("exposed")
    );
}

#[tokio::test]
async fn hand_made_route_is_never_taken() {
    let s = scenario().await;
    let policy = seed_policy(&s.pets.hub.vpce_id);
    let api = private_api(
        &s.pets.b,
        "health-grabber",
        EndpointType::Private,
        Some(&policy),
        &[("expose", "true"), ("expose:paths", "/health")],
        &["/health"],
    )
    .await;
    s.run(&api_event("CreateDeployment", ACCOUNT_B, &api)).await;
    let routes = s.pets.public_routes().await;
    assert_eq!(routes[&route("/health", "GET")], "MOCK");
    assert_eq!(
        status_in(&s.pets.published().await, "health-grabber").as_deref(),
        Some("conflict: /health owned by a hand-made route")
    );
}

#[tokio::test]
async fn unsafe_apis_are_refused_with_their_reason_and_get_no_routes() {
    let s = scenario().await;
    let hub = s.pets.hub.vpce_id.clone();
    let allow_all = serde_json::json!({"Statement": [{"Effect": "Allow", "Principal": "*",
        "Action": "execute-api:Invoke", "Resource": "*"}]})
    .to_string();
    let other_endpoint = seed_policy("vpce-0ffffffffffffffff");
    let good = seed_policy(&hub);
    let cases: [(&str, EndpointType, Option<&str>, &str); 4] = [
        (
            "no-policy",
            EndpointType::Private,
            None,
            "refused: the API has no resource policy",
        ),
        (
            "allow-all",
            EndpointType::Private,
            Some(&allow_all),
            "refused: the resource policy is not restricted",
        ),
        (
            "other-endpoint",
            EndpointType::Private,
            Some(&other_endpoint),
            "refused: the resource policy is not restricted",
        ),
        (
            "regional",
            EndpointType::Regional,
            Some(&good),
            "refused: the API is REGIONAL, not PRIVATE",
        ),
    ];
    let mut events = Vec::new();
    for (name, kind, policy, _) in &cases {
        let path = format!("/{name}");
        let id = private_api(
            &s.pets.b,
            name,
            kind.clone(),
            *policy,
            &[("expose", "true")],
            &[&path],
        )
        .await;
        events.push(api_event("CreateDeployment", ACCOUNT_B, &id));
    }
    s.run(&sqs_batch(&events)).await;
    let published = s.pets.published().await;
    for (name, _, _, want) in &cases {
        let status = status_in(&published, name).unwrap_or_default();
        assert!(status.starts_with(want), "{name}: {status}");
        assert!(!published.contains_key(&format!("/frontdoor/apis/{name}/url")));
    }
    assert_eq!(public_writes(&s.writes()), 0, "{:?}", s.writes());
}

#[tokio::test]
async fn unknown_account_is_refused_without_a_spoke_call() {
    let s = scenario().await;
    let outcome = route_sync_payload(
        &s.app,
        &api_event("CreateDeployment", "999999999999", "abcdef0123"),
    )
    .await
    .unwrap();
    assert!(matches!(outcome, Outcome::Ignored { .. }), "{outcome:?}");
    assert_eq!(s.app.clients.calls.snapshot().attempts(), 0);
}

#[tokio::test]
async fn duplicated_and_reordered_batch_deploys_exactly_once() {
    let s = scenario().await;
    let cats = api_event("CreateDeployment", ACCOUNT_B, &s.pets.cats);
    let dogs = api_event("CreateDeployment", ACCOUNT_C, &s.pets.dogs);
    let batch = sqs_batch(&[
        dogs.clone(),
        cats.clone(),
        dogs.clone(),
        cats.clone(),
        cats,
        dogs,
    ]);
    let report = s.run(&batch).await;
    assert_eq!(report.apis, 2);
    assert_eq!(count(&s.writes(), "CreateDeployment"), 1);
    assert_eq!(public_writes(&s.writes()), 10);
}

#[tokio::test]
async fn hostile_tag_values_are_refused_with_no_public_write() {
    let s = scenario().await;
    s.sweep().await;
    let before = s.writes().len();
    for (tag, value) in [
        ("expose:paths", "/cats/../owners"),
        ("expose:prefix", "/x/{id}"),
        ("expose:paths", "/\u{202e}cats"),
    ] {
        s.pets.tag(&s.pets.c, &s.pets.dogs, &[(tag, value)]).await;
        s.run(&api_event("TagResource", ACCOUNT_C, &s.pets.dogs))
            .await;
        let status = s.status("private-dogs").await.unwrap_or_default();
        assert!(
            status.starts_with(&format!("refused: {tag}")),
            "{tag}={value}: {status}"
        );
        s.pets.untag(&s.pets.c, &s.pets.dogs, &[tag]).await;
    }
    // The first refusal removed dogs' routes (refused APIs get nothing but a status).
    let ops = s.writes()[before..].to_vec();
    assert_eq!(
        count(&ops, "CreateResource") + count(&ops, "PutMethod"),
        0,
        "{ops:?}"
    );
    assert!(!s
        .pets
        .public_routes()
        .await
        .contains_key(&route("/dogs", "GET")));
}

#[tokio::test]
async fn shared_parent_is_removed_only_when_no_api_needs_it() {
    // GIVEN cats and dogs mounted side by side under /v1 (each mount is its team's whole
    // subtree; /v1 is shared structure)
    let s = scenario().await;
    s.pets
        .tag(&s.pets.b, &s.pets.cats, &[("expose:prefix", "/v1/b")])
        .await;
    s.pets
        .tag(&s.pets.c, &s.pets.dogs, &[("expose:prefix", "/v1/c")])
        .await;
    s.sweep().await;
    let paths = s.pets.public_paths().await;
    assert!(
        paths.contains("/v1/b/cats") && paths.contains("/v1/c/dogs"),
        "{paths:?}"
    );
    let published = s.pets.published().await;
    assert!(published["/frontdoor/apis/private-cats/url"].ends_with("/prd/v1/b"));

    // WHEN cats leaves, THEN /v1 stays for dogs
    s.pets.untag(&s.pets.b, &s.pets.cats, &["expose"]).await;
    s.sweep().await;
    let paths = s.pets.public_paths().await;
    assert!(
        paths.contains("/v1") && paths.contains("/v1/c/dogs") && !paths.contains("/v1/b/cats"),
        "{paths:?}"
    );

    // WHEN dogs leaves too, THEN /v1 goes, and /health stays
    s.pets.untag(&s.pets.c, &s.pets.dogs, &["expose"]).await;
    s.sweep().await;
    let paths = s.pets.public_paths().await;
    assert_eq!(paths.into_iter().collect::<Vec<_>>(), vec!["/", "/health"]);
}

#[tokio::test]
async fn a_run_that_wrote_and_failed_before_deploying_is_deployed_by_the_next() {
    // GIVEN a run that got as far as the public API writes, then died (simulated by
    // applying its plan without the deployment and the steps after it)
    let s = scenario().await;
    let scope = shared::routes::Scope {
        sweep: true,
        apis: Default::default(),
        owed: false,
    };
    let observed = shared::routes::observe(&s.app, &scope).await.unwrap();
    let ctx = shared::routes::desired::Context::from_app(&s.app);
    let mut plan = shared::routes::plan(&observed, &ctx);
    plan.deploy = false;
    for group in plan.apis.values_mut() {
        group.record_after = None;
        group.parameters_put.clear();
        group.status_parameter = None;
    }
    shared::routes::apply(
        &s.app,
        &observed,
        &plan,
        shared::routes::Deploy::Now,
        &shared::routes::Budget::unlimited(),
    )
    .await
    .unwrap();
    assert_eq!(count(&s.writes(), "CreateDeployment"), 0);

    // WHEN the next sweep finds the routes already in place
    let before = s.writes().len();
    let report = s.sweep().await;

    // THEN it deploys anyway (the registry said a deployment was owed), once
    let ops = s.writes()[before..].to_vec();
    assert_eq!(count(&ops, "CreateDeployment"), 1, "{ops:?}");
    assert_eq!(report.methods_put, 0);
    // AND the sweep after that deploys nothing
    let before = s.writes().len();
    s.sweep().await;
    assert_eq!(count(&s.writes()[before..], "CreateDeployment"), 0);
}
