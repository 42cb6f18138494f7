//! Issue 20: no tenant can stall, starve or impersonate another. Each test is an attack by a
//! hostile (or merely huge) spoke against a victim, on the emulator: the victim's routes,
//! URLs and statuses come through, every run is Ok, and a further sweep writes nothing.
#![allow(clippy::unwrap_used)] // scenario helpers panic the test on a failed setup call

use std::collections::BTreeSet;

use aws_sdk_apigateway::types::EndpointType;
use frontdoor_tests::fifo::RouteQueue;
use frontdoor_tests::org::Org;
use frontdoor_tests::pets::{add_resource, api_event, private_api, resource_ids, seed_policy};
use frontdoor_tests::pets::{ACCOUNT_B, ACCOUNT_C};
use frontdoor_tests::scenario::{status_in, Scenario};
use shared::routes::{self, Budget, Deploy, Scope};

/// The mapping every frontdoor integration carries (DESIGN.md, "Every integration pins its
/// private API"). AWS picks a private API behind an execute-api endpoint by `Host` or by
/// `x-apigw-api-id` ("Invoking a private API using endpoint-specific public DNS hostnames",
/// API Gateway developer guide) and does not say which wins when both are present.
const PIN: &str = "integration.request.header.x-apigw-api-id";

/// The writes to the public API's routes (the deployment aside).
const PUBLIC_WRITES: [&str; 6] = [
    "CreateResource",
    "PutMethod",
    "PutIntegration",
    "UpdateMethod",
    "DeleteMethod",
    "DeleteResource",
];

/// `https://{api-id}.execute-api...` -> `{api-id}`.
fn api_of_uri(uri: &str) -> &str {
    uri.trim_start_matches("https://")
        .split('.')
        .next()
        .unwrap_or_default()
}

#[tokio::test]
async fn a_callers_header_cannot_pick_another_private_api() {
    // GIVEN the seed, swept: B's cats and C's dogs are routed
    let s = Scenario::start().await;
    s.sweep().await;
    // THEN every integration frontdoor made pins its own private API with a static value,
    // which API Gateway sends whatever header the caller set
    let methods = s.pets.public_methods().await;
    let mut pinned = 0;
    for ((path, verb), m) in &methods {
        let Some(i) = m.method_integration() else {
            continue;
        };
        let uri = i.uri().unwrap_or_default();
        if !uri.contains(".execute-api.") {
            continue; // hand-made (/health)
        }
        let params = i.request_parameters().cloned().unwrap_or_default();
        assert_eq!(
            params.get(PIN).map(String::as_str),
            Some(format!("'{}'", api_of_uri(uri)).as_str()),
            "{verb} {path}: {params:?}"
        );
        pinned += 1;
    }
    assert!(pinned >= 2, "{methods:?}");

    // WHEN someone re-points the pin of GET /cats at C's private API (by hand, or a rollback)
    let gw = aws_sdk_apigateway::Client::new(&s.pets.hub_sdk);
    let cats = &methods[&("/cats".to_string(), "GET".to_string())];
    let i = cats.method_integration().unwrap();
    let id = resource_ids(&s.pets.hub_sdk, &s.pets.public_api_id).await["/cats"].clone();
    gw.put_integration()
        .rest_api_id(&s.pets.public_api_id)
        .resource_id(&id)
        .http_method("GET")
        .set_type(i.r#type().cloned())
        .integration_http_method("GET")
        .uri(i.uri().unwrap())
        .set_connection_type(i.connection_type().cloned())
        .connection_id(i.connection_id().unwrap())
        .request_parameters(PIN, format!("'{}'", s.pets.dogs))
        .send()
        .await
        .unwrap();

    // THEN the next sweep repairs it in place, one PutIntegration and nothing deleted
    let before = s.writes().len();
    let report = s.sweep().await;
    let ops = s.writes()[before..].to_vec();
    assert_eq!(report.integrations_updated, 1, "{ops:?}");
    assert!(
        !ops.iter()
            .any(|o| o == "DeleteMethod" || o == "DeleteResource"),
        "{ops:?}"
    );
    let repaired = s.pets.public_methods().await;
    let params = repaired[&("/cats".to_string(), "GET".to_string())]
        .method_integration()
        .and_then(|i| i.request_parameters().cloned())
        .unwrap_or_default();
    assert_eq!(params[PIN], format!("'{}'", s.pets.cats));
    // AND the sweep after that writes nothing
    let before = s.writes().len();
    s.sweep().await;
    assert_eq!(s.writes()[before..].to_vec(), Vec::<String>::new());
}

const ORG_ACCOUNTS: usize = 20;
const ORG_APIS: usize = 10;

#[tokio::test]
async fn an_organisation_waiting_on_one_deployment_fits_ssm_and_is_routed() {
    // GIVEN 20 more spoke accounts with 10 exposed APIs each (200 APIs: the list of APIs
    // waiting on the first deployment needs ~5,800 characters, over SSM's 4,096)
    let world = Org::start(ORG_ACCOUNTS, ORG_APIS).await;
    let queue = RouteQueue::create(&world.pets.hub_sdk).await;
    let url = queue.url.clone();
    let app = world.app(&[("FRONTDOOR_ROUTE_QUEUE_URL", url.as_str())]);

    // WHEN the first sweep runs from the queue (it writes every route and enqueues the
    // deployment)
    let report = routes::reconcile_with(&app, &sweep(), Deploy::Enqueue, &Budget::unlimited())
        .await
        .unwrap();
    assert_eq!(report.deployments_enqueued, 1, "{report:?}");
    // THEN every registry value is within a standard parameter's 4,096 characters, and the
    // owed marker's list was split over several of them
    let sizes = world.registry_sizes().await;
    let over: Vec<_> = sizes.iter().filter(|(_, n)| **n > 4096).collect();
    assert!(over.is_empty(), "{over:?}");
    let parts = sizes
        .keys()
        .filter(|n| n.starts_with("/frontdoor/registry/deployment-owed/g"))
        .count();
    assert!(parts >= 2, "{sizes:?}");

    // (and a part an earlier crash left behind, which no marker names)
    aws_sdk_ssm::Client::new(&world.pets.hub_sdk)
        .put_parameter()
        .name("/frontdoor/registry/deployment-owed/g99-0")
        .value("{\"version\":1,\"items\":[]}")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();

    // WHEN the "deploy" message is handled
    let reports = queue.drain(&app, 5).await;
    // THEN it deployed once, and every API of the organisation is exposed
    assert_eq!(reports.iter().map(|r| r.deployments).sum::<usize>(), 1);
    let published = world.pets.published().await;
    for a in 0..ORG_ACCOUNTS {
        for i in 0..ORG_APIS {
            let name = Org::name(a, i);
            assert_eq!(
                status_in(&published, &name).as_deref(),
                Some("exposed"),
                "{name}"
            );
        }
    }
    // AND the marker, its parts and the stray part are gone
    let sizes = world.registry_sizes().await;
    assert!(
        !sizes.keys().any(|n| n.contains("deployment-owed")),
        "{sizes:?}"
    );
    // AND a further sweep writes nothing
    let again = routes::reconcile(&app, &sweep()).await.unwrap();
    assert_eq!(again.writes, 0, "{again:?}");
}

fn sweep() -> Scope {
    Scope {
        sweep: true,
        apis: Default::default(),
        owed: false,
    }
}

/// Adds a stage `name` deployed from `api`'s current tree.
async fn stage(sdk: &aws_config::SdkConfig, api: &str, name: &str) {
    aws_sdk_apigateway::Client::new(sdk)
        .create_deployment()
        .rest_api_id(api)
        .stage_name(name)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_huge_stage_flip_cannot_hold_back_another_teams_small_change() {
    // GIVEN B's large API (60 methods) exposed on stage prd, beside C's dogs
    let s = Scenario::start().await;
    let policy = seed_policy(&s.pets.hub.vpce_id);
    let paths: Vec<String> = (0..60).map(|i| format!("/huge/r{i:02}")).collect();
    let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    let huge = private_api(
        &s.pets.b,
        "huge",
        EndpointType::Private,
        Some(&policy),
        &[("expose", "true"), ("expose:stage", "prd")],
        &refs,
    )
    .await;
    stage(&s.pets.b, &huge, "blue").await;
    let queue = RouteQueue::create(&s.pets.hub_sdk).await;
    let url = queue.url.clone();
    let app = s
        .pets
        .app_with(&[("FRONTDOOR_ROUTE_QUEUE_URL", url.as_str())]);
    routes::reconcile(&app, &sweep()).await.unwrap();
    let victim_before = s.pets.public_routes().await;

    // WHEN B flips to stage blue (60 integrations to rewrite) and, at the same moment, C
    // adds /dogs/toys to its API and redeploys
    s.pets
        .tag(&s.pets.b, &huge, &[("expose:stage", "blue")])
        .await;
    add_resource(&s.pets.c, &s.pets.dogs, "/dogs/toys", "GET").await;
    frontdoor_tests::pets::deploy(&s.pets.c, &s.pets.dogs).await;
    queue
        .send_all(&[
            api_event("TagResource", ACCOUNT_B, &huge),
            api_event("CreateDeployment", ACCOUNT_C, &s.pets.dogs),
        ])
        .await;
    // AND each invocation's budget lets it make 12 writes (as a short timeout at AWS's
    // rates would)
    let mut reports = Vec::new();
    for _ in 0..30 {
        let before = app.clients.calls.snapshot();
        let Some(report) = queue
            .drain_within(&app, 1, || Budget::counted(12, 100))
            .await
            .pop()
        else {
            break;
        };
        let calls = app.clients.calls.snapshot().since(&before);
        let public: u64 = PUBLIC_WRITES.iter().map(|op| calls.of(op)).sum();
        reports.push((report, public));
    }

    // THEN every run was Ok and made progress; C's change was routed by the first run
    assert!(reports.len() >= 5, "{reports:?}");
    let (first, _) = &reports[0];
    assert!(
        first.statuses.keys().any(|a| a.ends_with(&s.pets.dogs)),
        "{first:?}"
    );
    assert!(first.apis_deferred >= 1, "{first:?}");
    // AND B's flip converged over several runs, each within its budget: 12 units of work
    // plus the first, which always goes (a method with its integration is one unit)
    for (r, public) in &reports {
        assert!(*public <= 14, "{public} public writes: {r:?}");
    }
    let routes_now = s.pets.public_routes().await;
    let blue = routes_now
        .iter()
        .filter(|((p, _), uri)| p.starts_with("/huge/") && uri.contains("/blue/"))
        .count();
    assert_eq!(blue, 60, "{routes_now:?}");
    assert!(routes_now.contains_key(&("/dogs/toys".to_string(), "GET".to_string())));
    // AND the victim's other routes are as they were
    for (key, uri) in victim_before
        .iter()
        .filter(|((p, _), _)| p.starts_with("/dogs"))
    {
        assert_eq!(routes_now.get(key), Some(uri), "{key:?}");
    }
    let published = s.pets.published().await;
    assert_eq!(status_in(&published, "huge").as_deref(), Some("exposed"));
    assert_eq!(
        status_in(&published, "private-dogs").as_deref(),
        Some("exposed")
    );
    // AND the registry holds no owed deployment, and a further sweep writes nothing
    let again = routes::reconcile(&app, &sweep()).await.unwrap();
    assert_eq!(again.writes, 0, "{again:?}");
}

#[tokio::test]
async fn a_released_name_and_path_wait_out_the_hold_before_another_account_gets_them() {
    // GIVEN B's private-cats exposed at /cats, and C's API asking for the same name and path
    let mut s = Scenario::start().await;
    s.sweep().await;
    let policy = seed_policy(&s.pets.hub.vpce_id);
    let impostor = private_api(
        &s.pets.c,
        "impostor",
        EndpointType::Private,
        Some(&policy),
        &[("expose", "true"), ("expose:name", "private-cats")],
        &["/cats"],
    )
    .await;
    s.sweep().await;
    let url = "/frontdoor/apis/private-cats/url";
    let victims_url = s.pets.published().await[url].clone();

    // WHEN B un-exposes its API for a minute (two sweeps while it is away)
    s.pets.untag(&s.pets.b, &s.pets.cats, &["expose"]).await;
    s.sweep().await;
    let report = s.sweep().await;

    // THEN C gets neither the name nor the path: its status says whose and until when, and
    // no URL under the name points at C
    let status = report
        .statuses
        .iter()
        .find(|(a, _)| a.ends_with(&impostor))
        .map(|(_, s)| s.to_string())
        .unwrap();
    assert!(
        status.starts_with("conflict: name private-cats held for 222222222222 until "),
        "{status}"
    );
    let published = s.pets.published().await;
    assert!(!published.contains_key(url), "{published:?}");
    let routes = s.pets.public_routes().await;
    assert!(
        !routes.values().any(|uri| uri.contains(&impostor)),
        "{routes:?}"
    );
    // AND nothing is written while the hold lasts
    let before = s.writes().len();
    s.sweep().await;
    assert_eq!(s.writes()[before..].to_vec(), Vec::<String>::new());

    // WHEN B comes back within the hold
    s.pets
        .tag(&s.pets.b, &s.pets.cats, &[("expose", "true")])
        .await;
    s.sweep().await;
    // THEN it has its name, path and URL back, exactly as before
    assert_eq!(s.pets.published().await[url], victims_url);
    assert_eq!(s.status("private-cats").await.as_deref(), Some("exposed"));

    // WHEN B leaves again and the hold is over (0 s: the operator turned it off)
    s.pets.untag(&s.pets.b, &s.pets.cats, &["expose"]).await;
    s.sweep().await;
    s.app.config.release_hold = std::time::Duration::ZERO;
    s.sweep().await;
    s.sweep().await;
    // THEN the name and the path are C's, on purpose
    let published = s.pets.published().await;
    assert!(
        published[url].contains(&s.pets.public_api_id),
        "{published:?}"
    );
    let routes = s.pets.public_routes().await;
    assert!(
        routes[&("/cats".to_string(), "GET".to_string())].contains(&impostor),
        "{routes:?}"
    );
}

#[tokio::test]
async fn a_greedy_account_is_held_to_its_share_and_cannot_fill_the_registry() {
    // GIVEN the seed exposed, a share of 6 resources and 3 tracked APIs per account
    let mut s = Scenario::start().await;
    s.app.config.account_resource_quota = 6;
    s.app.config.account_api_quota = 3;
    s.sweep().await;
    let victim_routes = s.pets.public_routes().await;
    let victim_published = s.pets.published().await;
    let policy = seed_policy(&s.pets.hub.vpce_id);
    // WHEN B (which already holds /cats and /cats/{id}) exposes a deep API
    private_api(
        &s.pets.b,
        "greedy",
        EndpointType::Private,
        Some(&policy),
        &[("expose", "true")],
        &["/g/a/b/c/d"],
    )
    .await;
    s.sweep().await;
    // THEN it is refused naming the share, with nothing written for it
    let status = s.status("greedy").await.unwrap_or_default();
    assert!(
        status.starts_with("refused: its account's share of the public API (6 resources"),
        "{status}"
    );
    assert!(!s
        .pets
        .public_paths()
        .await
        .iter()
        .any(|p| p.starts_with("/g")));

    // WHEN B exposes three more (it has 2 tracked: cats and greedy)
    for i in 0..3 {
        private_api(
            &s.pets.b,
            &format!("filler-{i}"),
            EndpointType::Private,
            Some(&policy),
            &[("expose", "true")],
            &[&format!("/filler{i}")],
        )
        .await;
    }
    let report = s.sweep().await;
    // THEN the two past the API share have no record and no parameter at all
    assert_eq!(report.apis_over_share, 2, "{report:?}");
    let published = s.pets.published().await;
    let fillers: BTreeSet<&str> = published
        .keys()
        .filter(|k| k.contains("/filler-"))
        .map(|k| k.split('/').nth(3).unwrap_or_default())
        .collect();
    assert_eq!(fillers.len(), 1, "{published:?}");
    // AND C's routes and parameters are byte-identical, and a further sweep writes nothing
    let routes = s.pets.public_routes().await;
    for (key, uri) in victim_routes
        .iter()
        .filter(|((p, _), _)| p.starts_with("/dogs"))
    {
        assert_eq!(routes.get(key), Some(uri));
    }
    let published = s.pets.published().await;
    for (k, v) in victim_published
        .iter()
        .filter(|(k, _)| k.contains("private-dogs"))
    {
        assert_eq!(published.get(k), Some(v), "{k}");
    }
    let before = s.writes().len();
    let again = s.sweep().await;
    assert_eq!(s.writes()[before..].to_vec(), Vec::<String>::new());
    assert_eq!(again.apis_over_share, 2);
}

#[tokio::test]
async fn a_parent_cannot_shadow_another_teams_variable_route() {
    // GIVEN B's API owns GET /users/{id}
    let s = Scenario::start().await;
    let policy = seed_policy(&s.pets.hub.vpce_id);
    let users = private_api(
        &s.pets.b,
        "users",
        EndpointType::Private,
        Some(&policy),
        &[("expose", "true")],
        &["/users/{id}"],
    )
    .await;
    s.sweep().await;
    let before = s.pets.public_routes().await;
    // WHEN C exposes /users/me/x, whose parent /users/me would take GET /users/me from B
    // (API Gateway picks the most specific resource, and /users/me would have no GET)
    private_api(
        &s.pets.c,
        "shadow",
        EndpointType::Private,
        Some(&policy),
        &[("expose", "true")],
        &["/users/me/x", "/shadow"],
    )
    .await;
    s.sweep().await;
    // THEN C is told whose route it would shadow, /users/me is never made, C keeps /shadow
    let status = s.status("shadow").await.unwrap_or_default();
    assert!(
        status.starts_with(&format!(
            "conflict: /users/me/x overlaps {ACCOUNT_B}/{users}'s /users/{{id}}"
        )),
        "{status}"
    );
    let paths = s.pets.public_paths().await;
    assert!(
        !paths.iter().any(|p| p.starts_with("/users/me")),
        "{paths:?}"
    );
    assert!(paths.contains("/shadow"), "{paths:?}");
    // AND B's route is as it was, and a further sweep writes nothing
    let after = s.pets.public_routes().await;
    let key = ("/users/{id}".to_string(), "GET".to_string());
    assert_eq!(after.get(&key), before.get(&key));
    let n = s.writes().len();
    s.sweep().await;
    assert_eq!(s.writes()[n..].to_vec(), Vec::<String>::new());
}

#[tokio::test]
async fn an_event_for_an_account_the_run_did_not_reach_is_carried_over() {
    // GIVEN the seed exposed; then both spokes change at once (C adds /dogs/toys)
    let s = Scenario::start().await;
    s.sweep().await;
    add_resource(&s.pets.c, &s.pets.dogs, "/dogs/toys", "GET").await;
    frontdoor_tests::pets::deploy(&s.pets.c, &s.pets.dogs).await;
    let batch = frontdoor_tests::pets::sqs_batch(&[
        api_event("CreateDeployment", ACCOUNT_B, &s.pets.cats),
        api_event("CreateDeployment", ACCOUNT_C, &s.pets.dogs),
    ]);
    // WHEN the run's read budget lets only its first account start (a short deadline)
    let cut = shared::entry::route_sync_payload_within(&s.app, &batch, &Budget::from_fn(|| false))
        .await
        .unwrap();
    // THEN C's API is carried over, not dropped: the owed marker names it
    let shared::entry::Outcome::Reconciled(report) = cut else {
        panic!("{cut:?}")
    };
    assert_eq!(report.apis_deferred, 1, "{report:?}");
    assert!(!s.pets.public_paths().await.contains("/dogs/toys"));
    // AND the next run of any kind (here: an unrelated event) reads it and routes it
    let next = s
        .run(&api_event("CreateDeployment", ACCOUNT_B, &s.pets.cats))
        .await;
    assert_eq!(next.apis_deferred, 0, "{next:?}");
    assert!(s.pets.public_paths().await.contains("/dogs/toys"));
    let before = s.writes().len();
    s.sweep().await;
    assert_eq!(s.writes()[before..].to_vec(), Vec::<String>::new());
}

/// Removes `path` (and what is under it) from a spoke's private API and redeploys stage prd.
async fn remove_resource(sdk: &aws_config::SdkConfig, api: &str, path: &str) {
    let id = resource_ids(sdk, api).await[path].clone();
    aws_sdk_apigateway::Client::new(sdk)
        .delete_resource()
        .rest_api_id(api)
        .resource_id(id)
        .send()
        .await
        .unwrap();
    frontdoor_tests::pets::deploy(sdk, api).await;
}

#[tokio::test]
async fn a_path_a_team_drops_and_a_name_it_renames_away_from_wait_out_the_hold() {
    // GIVEN B's private-cats exposed (/cats, /cats/{id}), and C waiting for /cats/{id} and
    // for the name private-cats
    let s = Scenario::start().await;
    s.sweep().await;
    let policy = seed_policy(&s.pets.hub.vpce_id);
    let waiting = private_api(
        &s.pets.c,
        "waiting",
        EndpointType::Private,
        Some(&policy),
        &[("expose", "true"), ("expose:name", "private-cats")],
        &["/cats/{id}"],
    )
    .await;
    s.sweep().await;
    // WHEN B, still exposed, deploys without /cats/{id} (a slip) and renames to house-cats
    remove_resource(&s.pets.b, &s.pets.cats, "/cats/{id}").await;
    s.pets
        .tag(&s.pets.b, &s.pets.cats, &[("expose:name", "house-cats")])
        .await;
    s.sweep().await;
    let report = s.sweep().await;
    // THEN C gets neither the path nor the name: both are held for B's account
    let status = report
        .statuses
        .iter()
        .find(|(a, _)| a.ends_with(&waiting))
        .map(|(_, s)| s.to_string())
        .unwrap();
    assert!(
        status.starts_with(&format!(
            "conflict: name private-cats held for {ACCOUNT_B} until "
        )) || status.starts_with(&format!(
            "conflict: /cats/{{id}} held for {ACCOUNT_B} until "
        )),
        "{status}"
    );
    let routes = s.pets.public_routes().await;
    assert!(
        !routes.values().any(|uri| uri.contains(&waiting)),
        "{routes:?}"
    );
    let published = s.pets.published().await;
    assert!(
        !published.contains_key("/frontdoor/apis/private-cats/url"),
        "{published:?}"
    );
    assert_eq!(
        status_in(&published, "house-cats").as_deref(),
        Some("exposed")
    );
    // AND nothing is written while the hold lasts
    let before = s.writes().len();
    s.sweep().await;
    assert_eq!(s.writes()[before..].to_vec(), Vec::<String>::new());
}

#[tokio::test]
async fn a_hand_made_resource_and_another_teams_route_are_never_mounted_over() {
    // GIVEN the seed exposed, and the hub team's hand-made /admin (no methods) above a
    // hand-made /admin/{proxy+}
    let s = Scenario::start().await;
    s.sweep().await;
    let gw = aws_sdk_apigateway::Client::new(&s.pets.hub_sdk);
    let root = resource_ids(&s.pets.hub_sdk, &s.pets.public_api_id).await["/"].clone();
    let admin = gw
        .create_resource()
        .rest_api_id(&s.pets.public_api_id)
        .parent_id(root)
        .path_part("admin")
        .send()
        .await
        .unwrap();
    let proxy = gw
        .create_resource()
        .rest_api_id(&s.pets.public_api_id)
        .parent_id(admin.id().unwrap())
        .path_part("{proxy+}")
        .send()
        .await
        .unwrap();
    gw.put_method()
        .rest_api_id(&s.pets.public_api_id)
        .resource_id(proxy.id().unwrap())
        .http_method("ANY")
        .authorization_type("NONE")
        .send()
        .await
        .unwrap();
    gw.put_integration()
        .rest_api_id(&s.pets.public_api_id)
        .resource_id(proxy.id().unwrap())
        .http_method("ANY")
        .r#type(aws_sdk_apigateway::types::IntegrationType::Mock)
        .send()
        .await
        .unwrap();
    let before = s.pets.public_routes().await;
    let policy = seed_policy(&s.pets.hub.vpce_id);
    // WHEN C asks for GET /admin, and C mounts another API under B's /cats
    let grab = private_api(
        &s.pets.c,
        "grab",
        EndpointType::Private,
        Some(&policy),
        &[("expose", "true")],
        &["/admin"],
    )
    .await;
    let mount = private_api(
        &s.pets.c,
        "squat",
        EndpointType::Private,
        Some(&policy),
        &[("expose", "true"), ("expose:prefix", "/cats/c")],
        &["/x"],
    )
    .await;
    s.sweep().await;
    // THEN each is told what holds it, and nothing is written on or under either
    assert_eq!(
        s.status("grab").await.as_deref(),
        Some("conflict: /admin owned by a hand-made route")
    );
    let squat = s.status("squat").await.unwrap_or_default();
    assert_eq!(
        squat,
        format!(
            "conflict: /cats/c/x is under mount /cats/c, which meets {ACCOUNT_B}/{}'s /cats",
            s.pets.cats
        )
    );
    let after = s.pets.public_routes().await;
    assert_eq!(after, before);
    assert!(!after
        .values()
        .any(|u| u.contains(&grab) || u.contains(&mount)));
    // AND B still grows under its own route, and a further sweep writes nothing
    add_resource(&s.pets.b, &s.pets.cats, "/cats/c", "GET").await;
    frontdoor_tests::pets::deploy(&s.pets.b, &s.pets.cats).await;
    s.sweep().await;
    let routes = s.pets.public_routes().await;
    assert!(
        routes[&("/cats/c".to_string(), "GET".to_string())].contains(&s.pets.cats),
        "{routes:?}"
    );
    let n = s.writes().len();
    s.sweep().await;
    assert_eq!(s.writes()[n..].to_vec(), Vec::<String>::new());
}

#[tokio::test]
async fn an_unreadable_spoke_is_held_to_the_hubs_throttle_default_and_lowered_maximum() {
    use shared::governance::{
        THROTTLE_BURST, THROTTLE_MAX_BURST, THROTTLE_MAX_RATE, THROTTLE_RATE,
    };
    // GIVEN C's dogs throttled at its own 400/200, B's cats with no throttle
    let s = Scenario::start().await;
    s.pets
        .tag(
            &s.pets.c,
            &s.pets.dogs,
            &[("expose:rate", "400"), ("expose:burst", "200")],
        )
        .await;
    s.sweep().await;
    let key = |p: &str| shared::governance::method_setting_key(p, "GET");
    let settings = s.pets.stage_settings().await;
    assert_eq!(settings[&key("/dogs")].throttling_rate_limit(), 400.0);
    // WHEN C makes itself unreadable (its role can no longer be assumed), and the hub sets
    // a default of 20/10 and lowers its maximum to 100/50
    s.emulator
        .settings(&serde_json::json!({"deny_assume_role": [ACCOUNT_C]}));
    let governed = s.pets.app_with(&[
        (THROTTLE_RATE, "20"),
        (THROTTLE_BURST, "10"),
        (THROTTLE_MAX_RATE, "100"),
        (THROTTLE_MAX_BURST, "50"),
    ]);
    let report = routes::reconcile(&governed, &sweep()).await.unwrap();
    assert_eq!(report.accounts_skipped, 1, "{report:?}");
    // THEN C's routes, kept as they are otherwise, are lowered to the maximum, and B's get
    // the default
    let settings = s.pets.stage_settings().await;
    let dogs = &settings[&key("/dogs")];
    assert_eq!(
        (dogs.throttling_rate_limit(), dogs.throttling_burst_limit()),
        (100.0, 50)
    );
    let cats = &settings[&key("/cats")];
    assert_eq!(
        (cats.throttling_rate_limit(), cats.throttling_burst_limit()),
        (20.0, 10)
    );
    // AND the next sweep writes nothing
    let again = routes::reconcile(&governed, &sweep()).await.unwrap();
    assert_eq!(again.writes, 0, "{again:?}");
}

#[tokio::test]
async fn a_limit_exceeded_on_one_teams_method_is_not_learned_as_the_quota() {
    use frontdoor_tests::faults::{FaultProxy, Scripted};
    // GIVEN the seed, and route-sync talking to AWS through a proxy
    let s = Scenario::start().await;
    let proxy = FaultProxy::start(&s.emulator.endpoint_url(), 7, 0.0);
    let sdk = frontdoor_tests::sdk_config_at(&proxy.endpoint_url()).await;
    let app = shared::App::new(s.pets.app().config, &sdk)
        .in_account(frontdoor_tests::pets::hub_account());
    routes::reconcile(&app, &sweep()).await.unwrap();
    let victim_routes = s.pets.public_routes().await;
    // WHEN C exposes an API whose integration AWS answers with a LimitExceededException
    // that reads like the resource quota's
    let policy = seed_policy(&s.pets.hub.vpce_id);
    let poison = private_api(
        &s.pets.c,
        "poison",
        EndpointType::Private,
        Some(&policy),
        &[("expose", "true")],
        &["/poison"],
    )
    .await;
    proxy.script(Scripted {
        method: "PUT",
        path_contains: "/integration".into(),
        body_contains: poison.clone(),
        status: 429,
        code: "LimitExceededException",
        message: "Maximum number of Resources for this API has been reached".into(),
    });
    let report = routes::reconcile(&app, &sweep()).await.unwrap();
    // THEN only that API is refused, naming the call AWS refused
    let status = report
        .statuses
        .iter()
        .find(|(a, _)| a.ends_with(&poison))
        .map(|(_, s)| s.to_string())
        .unwrap_or_default();
    assert!(
        status.starts_with("refused: AWS refused PutIntegration: "),
        "{status}"
    );
    // AND nothing was learned as the quota
    let learned = aws_sdk_ssm::Client::new(&s.pets.hub_sdk)
        .get_parameter()
        .name("/frontdoor/registry/resource-quota")
        .send()
        .await;
    assert!(learned.is_err(), "{learned:?}");
    // AND another team's newcomer is still routed, the victims' routes are as they were
    let newcomer = private_api(
        &s.pets.b,
        "newcomer",
        EndpointType::Private,
        Some(&policy),
        &[("expose", "true")],
        &["/fresh"],
    )
    .await;
    routes::reconcile(&app, &sweep()).await.unwrap();
    let routes_now = s.pets.public_routes().await;
    assert!(
        routes_now[&("/fresh".to_string(), "GET".to_string())].contains(&newcomer),
        "{routes_now:?}"
    );
    for (key, uri) in &victim_routes {
        assert_eq!(routes_now.get(key), Some(uri), "{key:?}");
    }
    assert!(!routes_now.contains_key(&("/poison".to_string(), "GET".to_string())));
}
