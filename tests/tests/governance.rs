//! Governance (issue 15): the hub's route policy (authorizer, API key, throttle) on every
//! route frontdoor makes, a policy change applied in place with one deployment, spoke tags
//! held within the hub's bounds (written as a hostile spoke would try them), hand-made
//! routes untouched, and the VPC link V2 integration shape. On the emulator, with launcher
//! patches 14 (UpdateMethod, authorizer checks), 15 (`integrationTarget`) and 16 (removing a
//! stage's method setting) teaching it what AWS does.
#![allow(clippy::unwrap_used)] // scenario helpers panic the test on a failed setup call

use std::collections::BTreeMap;

use aws_sdk_apigateway::types::{AuthorizerType, Method};
use frontdoor_tests::pets::{hub_account, seed, Pets};
use frontdoor_tests::scenario::status_in;
use frontdoor_tests::Emulator;
use shared::governance::{
    API_KEY_REQUIRED, AUTHORIZATION_SCOPES, AUTHORIZER_ID, INTEGRATION_TARGET_ARN,
    PUBLIC_ROUTE_ACCOUNTS, THROTTLE_BURST, THROTTLE_MAX_BURST, THROTTLE_MAX_RATE, THROTTLE_RATE,
};
use shared::routes::{reconcile, Report, Scope};
use shared::{App, RouteSyncConfig};

/// The seed's frontdoor routes (the hand-made `/health` is not one).
const ROUTES: [(&str, &str); 3] = [("/cats", "GET"), ("/cats/{id}", "GET"), ("/dogs", "GET")];

async fn world() -> (Emulator, Pets) {
    let emulator = Emulator::start();
    let pets = seed(&emulator).await;
    (emulator, pets)
}

async fn sweep(app: &App<RouteSyncConfig>) -> Report {
    let scope = Scope {
        sweep: true,
        ..Scope::default()
    };
    reconcile(app, &scope).await.unwrap()
}

/// An authorizer on the public API, as the hub team makes it.
async fn authorizer(p: &Pets, kind: AuthorizerType) -> String {
    let gw = aws_sdk_apigateway::Client::new(&p.hub_sdk);
    let create = gw
        .create_authorizer()
        .rest_api_id(&p.public_api_id)
        .name("hub")
        .r#type(kind.clone())
        .identity_source("method.request.header.Authorization");
    let create = match kind {
        AuthorizerType::CognitoUserPools => create.provider_arns(
            "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_pets",
        ),
        _ => create.authorizer_uri(
            "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:auth/invocations",
        ),
    };
    create.send().await.unwrap().id().unwrap().to_string()
}

/// The public API's methods by `(path, verb)`.
async fn methods(p: &Pets) -> BTreeMap<(String, String), Method> {
    p.public_methods().await
}

/// The public stage's per-method throttles: key -> (rate, burst).
async fn throttles(p: &Pets) -> BTreeMap<String, (f64, i32)> {
    p.stage_settings()
        .await
        .into_iter()
        .map(|(k, s)| (k, (s.throttling_rate_limit(), s.throttling_burst_limit())))
        .collect()
}

fn key(path: &str, verb: &str) -> (String, String) {
    (path.to_string(), verb.to_string())
}

fn setting(path: &str, verb: &str) -> String {
    shared::governance::method_setting_key(path, verb)
}

async fn status(p: &Pets, name: &str) -> String {
    status_in(&p.published().await, name).unwrap_or_default()
}

#[tokio::test]
async fn every_frontdoor_route_carries_the_hub_policy_and_the_hand_made_one_does_not() {
    // GIVEN a hub with a Lambda authorizer, API keys required and a default throttle
    let (_emulator, p) = world().await;
    let auth = authorizer(&p, AuthorizerType::Token).await;
    let app = p.app_with(&[
        (AUTHORIZER_ID, &auth),
        (API_KEY_REQUIRED, "true"),
        (THROTTLE_RATE, "100"),
        (THROTTLE_BURST, "50"),
    ]);
    // WHEN route-sync sweeps
    sweep(&app).await;
    // THEN every route it made carries them
    let live = methods(&p).await;
    let stage = throttles(&p).await;
    for (path, verb) in ROUTES {
        let m = &live[&key(path, verb)];
        assert_eq!(m.authorization_type(), Some("CUSTOM"), "{verb} {path}");
        assert_eq!(m.authorizer_id(), Some(auth.as_str()), "{verb} {path}");
        assert_eq!(m.api_key_required(), Some(true), "{verb} {path}");
        assert_eq!(
            stage.get(&setting(path, verb)),
            Some(&(100.0, 50)),
            "{verb} {path}"
        );
    }
    // AND the hand-made /health is exactly as the hub team made it
    let health = &live[&key("/health", "GET")];
    assert_eq!(health.authorization_type(), Some("NONE"));
    assert_eq!(health.api_key_required(), Some(false));
    assert!(!stage.contains_key(&setting("/health", "GET")), "{stage:?}");
    // AND a second sweep writes nothing
    let again = sweep(&app).await;
    assert_eq!(again.writes, 0, "{again:?}");
}

#[tokio::test]
async fn a_policy_change_updates_the_routes_in_place_with_one_deployment() {
    // GIVEN routes made under one policy
    let (_emulator, p) = world().await;
    let auth = authorizer(&p, AuthorizerType::Token).await;
    let first = p.app_with(&[
        (AUTHORIZER_ID, &auth),
        (API_KEY_REQUIRED, "true"),
        (THROTTLE_RATE, "100"),
        (THROTTLE_BURST, "50"),
    ]);
    sweep(&first).await;
    let ids = frontdoor_tests::pets::resource_ids(&p.hub_sdk, &p.public_api_id).await;
    // WHEN the hub drops API keys and raises the throttle
    let second = p.app_with(&[
        (AUTHORIZER_ID, &auth),
        (THROTTLE_RATE, "200"),
        (THROTTLE_BURST, "100"),
    ]);
    let report = sweep(&second).await;
    // THEN each route is updated where it stands, and the API deployed once
    let calls = second.clients.calls.snapshot();
    assert_eq!(calls.of("UpdateMethod"), 3, "{calls:?}");
    for op in [
        "PutMethod",
        "DeleteMethod",
        "CreateResource",
        "DeleteResource",
        "PutIntegration",
    ] {
        assert_eq!(calls.of(op), 0, "{op}: {calls:?}");
    }
    assert_eq!(calls.of("CreateDeployment"), 1, "{calls:?}");
    assert_eq!(report.methods_governed, 3, "{report:?}");
    assert_eq!(report.throttles_changed, 3, "{report:?}");
    assert_eq!(
        frontdoor_tests::pets::resource_ids(&p.hub_sdk, &p.public_api_id).await,
        ids,
        "no resource was replaced"
    );
    let live = methods(&p).await;
    let stage = throttles(&p).await;
    for (path, verb) in ROUTES {
        assert_eq!(live[&key(path, verb)].api_key_required(), Some(false));
        assert_eq!(live[&key(path, verb)].authorization_type(), Some("CUSTOM"));
        assert_eq!(stage.get(&setting(path, verb)), Some(&(200.0, 100)));
    }
    // WHEN the hub governs nothing any more
    let open = p.app();
    let report = sweep(&open).await;
    // THEN the routes are open and their throttles gone (a throttle needs no deployment;
    // the method change does: still one)
    assert_eq!(report.deployments, 1, "{report:?}");
    let live = methods(&p).await;
    for (path, verb) in ROUTES {
        assert_eq!(live[&key(path, verb)].authorization_type(), Some("NONE"));
    }
    assert!(throttles(&p).await.is_empty());
    assert_eq!(sweep(&open).await.writes, 0);
}

#[tokio::test]
async fn tags_outside_the_hubs_bounds_are_refused_and_say_why() {
    // GIVEN a hub with an authorizer, a maximum throttle, and spoke C (dogs) allowed public
    // routes
    let (_emulator, p) = world().await;
    let auth = authorizer(&p, AuthorizerType::Token).await;
    let app = p.app_with(&[
        (AUTHORIZER_ID, &auth),
        (THROTTLE_MAX_RATE, "500"),
        (THROTTLE_MAX_BURST, "200"),
        (PUBLIC_ROUTE_ACCOUNTS, frontdoor_tests::pets::ACCOUNT_C),
    ]);
    // WHEN spoke B asks for more than the maximum, and C asks for no authorizer
    p.tag(&p.b, &p.cats, &[("expose:rate", "100000")]).await;
    p.tag(&p.c, &p.dogs, &[("expose:auth", "none")]).await;
    sweep(&app).await;
    // THEN B's API is refused with the reason, and gets no route
    let cats = status(&p, "private-cats").await;
    assert!(
        cats.starts_with("refused")
            && cats.contains("expose:rate 100000 is above the hub's maximum of 500"),
        "{cats}"
    );
    let live = methods(&p).await;
    assert!(!live.contains_key(&key("/cats", "GET")), "{live:?}");
    // AND C's routes are open, as the hub allows for C
    assert_eq!(
        live[&key("/dogs", "GET")].authorization_type(),
        Some("NONE")
    );
    assert_eq!(status(&p, "private-dogs").await, "exposed");

    // WHEN B, not on the hub's list, asks for no authorizer instead
    p.untag(&p.b, &p.cats, &["expose:rate"]).await;
    p.tag(&p.b, &p.cats, &[("expose:auth", "none")]).await;
    sweep(&app).await;
    // THEN it is refused, naming the account and the hub's list
    let cats = status(&p, "private-cats").await;
    assert!(
        cats.contains("account 222222222222 may not publish routes without the hub's authorizer")
            && cats.contains(PUBLIC_ROUTE_ACCOUNTS),
        "{cats}"
    );

    // WHEN B asks for a rate alone, the hub setting no default to fill the burst from
    p.untag(&p.b, &p.cats, &["expose:auth"]).await;
    p.tag(&p.b, &p.cats, &[("expose:rate", "300")]).await;
    sweep(&app).await;
    // THEN it is refused: the burst is not filled up to the hub's maximum
    let cats = status(&p, "private-cats").await;
    assert!(
        cats.contains("expose:rate needs expose:burst too"),
        "{cats}"
    );

    // WHEN B asks for both within bounds
    p.tag(&p.b, &p.cats, &[("expose:burst", "100")]).await;
    sweep(&app).await;
    // THEN its routes carry the authorizer and its throttle
    let live = methods(&p).await;
    let stage = throttles(&p).await;
    for path in ["/cats", "/cats/{id}"] {
        assert_eq!(live[&key(path, "GET")].authorization_type(), Some("CUSTOM"));
        assert_eq!(stage.get(&setting(path, "GET")), Some(&(300.0, 100)));
    }
    // AND dogs, which asked for none, have no throttle of their own
    assert!(!stage.contains_key(&setting("/dogs", "GET")), "{stage:?}");
    assert_eq!(status(&p, "private-cats").await, "exposed");
}

#[tokio::test]
async fn a_throttle_tag_removed_or_a_route_gone_takes_its_stage_setting_with_it() {
    // GIVEN cats throttled by its tag
    let (_emulator, p) = world().await;
    let app = p.app();
    p.tag(
        &p.b,
        &p.cats,
        &[("expose:rate", "40"), ("expose:burst", "20")],
    )
    .await;
    sweep(&app).await;
    assert_eq!(
        throttles(&p).await.get(&setting("/cats", "GET")),
        Some(&(40.0, 20))
    );
    // WHEN the tag goes
    p.untag(&p.b, &p.cats, &["expose:rate", "expose:burst"])
        .await;
    let report = sweep(&app).await;
    // THEN the settings go, with no deployment (stage settings need none)
    assert!(throttles(&p).await.is_empty());
    assert_eq!(
        (report.throttles_changed, report.deployments),
        (2, 0),
        "{report:?}"
    );
    // WHEN it is tagged again and then stops being exposed
    p.tag(
        &p.b,
        &p.cats,
        &[("expose:rate", "40"), ("expose:burst", "20")],
    )
    .await;
    sweep(&app).await;
    p.untag(&p.b, &p.cats, &["expose"]).await;
    sweep(&app).await;
    // THEN its routes and their settings are gone
    assert!(throttles(&p).await.is_empty());
    assert!(!methods(&p).await.contains_key(&key("/cats", "GET")));
}

#[tokio::test]
async fn a_cognito_authorizer_carries_the_hubs_scopes() {
    let (_emulator, p) = world().await;
    let auth = authorizer(&p, AuthorizerType::CognitoUserPools).await;
    let app = p.app_with(&[
        (AUTHORIZER_ID, &auth),
        (AUTHORIZATION_SCOPES, "pets/read pets/write"),
    ]);
    sweep(&app).await;
    let live = methods(&p).await;
    let m = &live[&key("/dogs", "GET")];
    assert_eq!(m.authorization_type(), Some("COGNITO_USER_POOLS"));
    assert_eq!(m.authorization_scopes(), ["pets/read", "pets/write"]);
    // WHEN the hub narrows the scopes, THEN each method is patched, not replaced
    let narrower = p.app_with(&[(AUTHORIZER_ID, &auth), (AUTHORIZATION_SCOPES, "pets/read")]);
    sweep(&narrower).await;
    assert_eq!(narrower.clients.calls.snapshot().of("UpdateMethod"), 3);
    assert_eq!(
        methods(&p).await[&key("/dogs", "GET")].authorization_scopes(),
        ["pets/read"]
    );
}

#[tokio::test]
async fn a_policy_that_cannot_apply_writes_nothing() {
    // GIVEN a hub whose authorizer id names nothing on the public API, and one that asks
    // for scopes on a Lambda authorizer
    let (_emulator, p) = world().await;
    let token = authorizer(&p, AuthorizerType::Token).await;
    for (vars, says) in [
        (
            vec![(AUTHORIZER_ID, "nosuch1")],
            "is not an authorizer of the public API",
        ),
        (
            vec![
                (AUTHORIZER_ID, token.as_str()),
                (AUTHORIZATION_SCOPES, "pets/read"),
            ],
            "needs a COGNITO_USER_POOLS authorizer",
        ),
    ] {
        let app = p.app_with(&vars);
        // WHEN route-sync runs
        let err = reconcile(
            &app,
            &Scope {
                sweep: true,
                ..Scope::default()
            },
        )
        .await
        .unwrap_err();
        // THEN it fails as a configuration error (no retry), naming the variable, and
        // writes nothing: no route without the governance the hub asked for
        assert!(!err.is_transient(), "{err}");
        assert!(
            err.to_string().contains(AUTHORIZER_ID) && err.to_string().contains(says),
            "{err}"
        );
        assert_eq!(app.clients.calls.snapshot().writes(), 0);
    }
    assert!(!methods(&p).await.contains_key(&key("/dogs", "GET")));
}

#[tokio::test]
async fn with_a_vpc_link_v2_routes_carry_the_integration_target() {
    // GIVEN routes made through the V1 link
    let (_emulator, p) = world().await;
    sweep(&p.app()).await;
    // WHEN the hub moves to a V2 link that targets the NLB
    let v2 = p.app_with(&[(INTEGRATION_TARGET_ARN, &p.hub.nlb_arn)]);
    sweep(&v2).await;
    // THEN every integration is rewritten in place with the target
    assert_eq!(v2.clients.calls.snapshot().of("PutIntegration"), 3);
    assert_eq!(v2.clients.calls.snapshot().of("PutMethod"), 0);
    let live = methods(&p).await;
    for (path, verb) in ROUTES {
        let i = live[&key(path, verb)].method_integration().unwrap();
        assert_eq!(i.connection_type().map(|c| c.as_str()), Some("VPC_LINK"));
        assert_eq!(i.connection_id(), Some(p.vpc_link_id.as_str()));
        assert_eq!(
            i.integration_target(),
            Some(p.hub.nlb_arn.as_str()),
            "{verb} {path}"
        );
    }
    assert_eq!(sweep(&v2).await.writes, 0);
    let _ = hub_account();
}

#[tokio::test]
async fn a_spoke_that_makes_itself_unreadable_still_gets_the_hubs_authorizer() {
    // GIVEN open routes for both spokes
    let (emulator, p) = world().await;
    sweep(&p.app()).await;
    // WHEN spoke C breaks the hub's read access (its role can no longer be assumed) and the
    // hub then requires its authorizer
    emulator.settings(&serde_json::json!({"deny_assume_role": [frontdoor_tests::pets::ACCOUNT_C]}));
    let auth = authorizer(&p, AuthorizerType::Token).await;
    let governed = p.app_with(&[(AUTHORIZER_ID, &auth)]);
    let report = sweep(&governed).await;
    // THEN C's routes, kept as they are otherwise (its account is skipped), carry the
    // authorizer too: unreadable is not a way out of the hub's policy
    assert_eq!(report.accounts_skipped, 1, "{report:?}");
    let live = methods(&p).await;
    for (path, verb) in ROUTES {
        assert_eq!(
            live[&key(path, verb)].authorization_type(),
            Some("CUSTOM"),
            "{verb} {path}"
        );
    }
    assert_eq!(report.deployments, 1);
    // AND the next sweep writes nothing
    assert_eq!(sweep(&governed).await.writes, 0);
}

#[tokio::test]
async fn stage_settings_someone_else_made_are_kept_and_new_ones_keep_the_stage_logging() {
    // GIVEN a stage whose operators log and meter every method (`*/*`)
    let (_emulator, p) = world().await;
    sweep(&p.app()).await;
    let gw = aws_sdk_apigateway::Client::new(&p.hub_sdk);
    let patch = |path: &str, value: &str| {
        aws_sdk_apigateway::types::PatchOperation::builder()
            .op(aws_sdk_apigateway::types::Op::Replace)
            .path(path)
            .value(value)
            .build()
    };
    gw.update_stage()
        .rest_api_id(&p.public_api_id)
        .stage_name("prd")
        .patch_operations(patch("/*/*/metrics/enabled", "true"))
        .patch_operations(patch("/*/*/logging/loglevel", "INFO"))
        .send()
        .await
        .unwrap();
    // WHEN the hub sets a default throttle
    let throttled = p.app_with(&[(THROTTLE_RATE, "100"), (THROTTLE_BURST, "50")]);
    sweep(&throttled).await;
    // THEN each new per-method setting carries the stage's metrics and logging, not AWS's
    // defaults (off)
    let stage = p.stage_settings().await;
    let dogs = &stage[&setting("/dogs", "GET")];
    assert!(dogs.metrics_enabled(), "{dogs:?}");
    assert_eq!(dogs.logging_level(), Some("INFO"), "{dogs:?}");
    // WHEN an operator enables caching on /cats and the hub drops the default throttle
    gw.update_stage()
        .rest_api_id(&p.public_api_id)
        .stage_name("prd")
        .patch_operations(patch(
            &format!("/{}/caching/enabled", setting("/cats", "GET")),
            "true",
        ))
        .send()
        .await
        .unwrap();
    sweep(&p.app()).await;
    // THEN settings that hold only frontdoor's throttle (and the copied logging) go... but
    // the one with the operator's caching stays
    let left = throttles(&p).await;
    assert!(left.contains_key(&setting("/cats", "GET")), "{left:?}");
    assert!(!left.contains_key(&setting("/dogs", "GET")), "{left:?}");
}
