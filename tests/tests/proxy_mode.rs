//! Issue 21: proxy mode and a custom domain. A proxied subtree is two public resources
//! whatever the private API's size, claims every path under it against other owners either
//! way round, switches modes with one deployment, and a bad `expose:mode` is refused; a
//! custom domain makes every published URL and changing it rewrites them in one sweep.
#![allow(clippy::unwrap_used)] // scenario helpers panic the test on a failed setup call

use aws_sdk_apigateway::types::EndpointType;
use frontdoor_tests::pets::{private_api, seed_policy, ACCOUNT_B, ACCOUNT_C};
use frontdoor_tests::scenario::{status_in, Scenario};
use shared::routes::{self, Scope};

fn sweep() -> Scope {
    Scope {
        sweep: true,
        ..Scope::default()
    }
}

fn key(path: &str, verb: &str) -> (String, String) {
    (path.to_string(), verb.to_string())
}

const SHOP: [&str; 5] = [
    "/shop",
    "/shop/items",
    "/shop/items/{id}",
    "/shop/cart",
    "/shop/cart/lines/{line}",
];

#[tokio::test]
async fn a_proxied_subtree_is_two_resources_whatever_the_private_apis_size() {
    // GIVEN B's shop API (5 resources) exposed in proxy mode
    let s = Scenario::start().await;
    let policy = seed_policy(&s.pets.hub.vpce_id);
    let shop = private_api(
        &s.pets.b,
        "shop",
        EndpointType::Private,
        Some(&policy),
        &[
            ("expose", "true"),
            ("expose:mode", "proxy"),
            ("expose:paths", "/shop"),
        ],
        &SHOP,
    )
    .await;
    let before = s.pets.public_paths().await;
    // WHEN swept
    s.sweep().await;
    // THEN the public API has /shop and /shop/{proxy+}, each ANY to the same private path,
    // the greedy part mapped through and the private API pinned
    let methods = s.pets.public_methods().await;
    let new: Vec<_> = s
        .pets
        .public_paths()
        .await
        .difference(&before)
        .filter(|p| p.starts_with("/shop"))
        .cloned()
        .collect();
    assert_eq!(new, ["/shop", "/shop/{proxy+}"]);
    let base = format!("https://{shop}.execute-api.us-east-1.amazonaws.com/prd");
    let root = methods[&key("/shop", "ANY")].method_integration().unwrap();
    assert_eq!(root.uri(), Some(format!("{base}/shop").as_str()));
    assert_eq!(root.http_method(), Some("ANY"));
    let greedy = methods[&key("/shop/{proxy+}", "ANY")]
        .method_integration()
        .unwrap();
    assert_eq!(
        greedy.uri(),
        Some(format!("{base}/shop/{{proxy}}").as_str())
    );
    let params = greedy.request_parameters().cloned().unwrap_or_default();
    assert_eq!(
        params["integration.request.path.proxy"],
        "method.request.path.proxy"
    );
    assert_eq!(
        params["integration.request.header.x-apigw-api-id"],
        format!("'{shop}'")
    );
    assert_eq!(s.status("shop").await.as_deref(), Some("exposed"));
    // AND a further sweep writes nothing
    let n = s.writes().len();
    s.sweep().await;
    assert_eq!(s.writes()[n..].to_vec(), Vec::<String>::new());

    // WHEN the hub sets a default throttle
    use shared::governance::{method_setting_key, ANY_VERBS, THROTTLE_BURST, THROTTLE_RATE};
    let throttled = s
        .pets
        .app_with(&[(THROTTLE_RATE, "25"), (THROTTLE_BURST, "50")]);
    routes::reconcile(&throttled, &sweep()).await.unwrap();
    // THEN each ANY method's throttle is under ANY and under every verb it answers
    let settings = s.pets.stage_settings().await;
    for path in ["/shop", "/shop/{proxy+}"] {
        for verb in std::iter::once("ANY").chain(ANY_VERBS) {
            let k = method_setting_key(path, verb);
            let setting = settings
                .get(&k)
                .unwrap_or_else(|| panic!("{k}: {settings:?}"));
            assert_eq!(setting.throttling_rate_limit(), 25.0, "{k}");
        }
    }
    let again = routes::reconcile(&throttled, &sweep()).await.unwrap();
    assert_eq!(again.writes, 0, "{again:?}");
    // AND when the hub drops it, every one of them goes
    routes::reconcile(&s.app, &sweep()).await.unwrap();
    let settings = s.pets.stage_settings().await;
    assert!(
        !settings.keys().any(|k| k.starts_with("~1shop")),
        "{settings:?}"
    );
}

#[tokio::test]
async fn a_proxied_subtree_and_another_owners_route_beneath_it_conflict_either_way() {
    // GIVEN C owns GET /market/fish (mirrored)
    let s = Scenario::start().await;
    let policy = seed_policy(&s.pets.hub.vpce_id);
    let fish = private_api(
        &s.pets.c,
        "fish",
        EndpointType::Private,
        Some(&policy),
        &[("expose", "true")],
        &["/market/fish"],
    )
    .await;
    s.sweep().await;
    // WHEN B proxies /market (its /market/{proxy+} would take GET /market/fish... or not:
    // API Gateway prefers the more specific, and either way one of them loses requests)
    let market = private_api(
        &s.pets.b,
        "market",
        EndpointType::Private,
        Some(&policy),
        &[
            ("expose", "true"),
            ("expose:mode", "proxy"),
            ("expose:paths", "/market"),
        ],
        &["/market/veg"],
    )
    .await;
    // AND B also proxies /deli first, and then C mirrors /deli/cheese beneath it
    let deli = private_api(
        &s.pets.b,
        "deli",
        EndpointType::Private,
        Some(&policy),
        &[
            ("expose", "true"),
            ("expose:mode", "proxy"),
            ("expose:paths", "/deli"),
        ],
        &["/deli/ham"],
    )
    .await;
    s.sweep().await;
    let cheese = private_api(
        &s.pets.c,
        "cheese",
        EndpointType::Private,
        Some(&policy),
        &[("expose", "true")],
        &["/deli/cheese"],
    )
    .await;
    s.sweep().await;
    // THEN the newcomer is the one in conflict, each time, naming the owner
    let market_status = s.status("market").await.unwrap_or_default();
    assert!(
        market_status.starts_with("conflict: /market/{proxy+} overlaps ")
            && market_status.contains(&format!("{ACCOUNT_C}/{fish}")),
        "{market_status}"
    );
    let cheese_status = s.status("cheese").await.unwrap_or_default();
    assert!(
        cheese_status.starts_with("conflict: /deli/cheese overlaps ")
            && cheese_status.contains(&format!("{ACCOUNT_B}/{deli}")),
        "{cheese_status}"
    );
    let routes = s.pets.public_routes().await;
    assert!(routes[&key("/market/fish", "GET")].contains(&fish));
    assert!(routes[&key("/deli/{proxy+}", "ANY")].contains(&deli));
    assert!(!routes.values().any(|u| u.contains(&cheese)));
    // (B keeps what conflicts with nobody: ANY /market, C's parent, takes no request of C's)
    assert!(!routes.contains_key(&key("/market/{proxy+}", "ANY")));
    assert!(routes[&key("/market", "ANY")].contains(&market));
    let n = s.writes().len();
    s.sweep().await;
    assert_eq!(s.writes()[n..].to_vec(), Vec::<String>::new());
}

#[tokio::test]
async fn a_live_api_switches_mode_and_back_with_one_deployment_each() {
    // GIVEN B's cats mirrored (/cats, /cats/{id})
    let s = Scenario::start().await;
    s.sweep().await;
    // WHEN B switches to proxy mode for /cats
    s.pets
        .tag(
            &s.pets.b,
            &s.pets.cats,
            &[("expose:mode", "proxy"), ("expose:paths", "/cats")],
        )
        .await;
    let report = s.sweep().await;
    // THEN one deployment, and the cats routes are the two proxies (the mirrored
    // /cats/{id} made way for its sibling /cats/{proxy+})
    assert_eq!(report.deployments, 1, "{report:?}");
    let routes = s.pets.public_routes().await;
    let cats: Vec<_> = routes
        .keys()
        .filter(|(p, _)| p.starts_with("/cats"))
        .cloned()
        .collect();
    assert_eq!(cats, [key("/cats", "ANY"), key("/cats/{proxy+}", "ANY")]);
    assert_eq!(s.status("private-cats").await.as_deref(), Some("exposed"));
    let n = s.writes().len();
    s.sweep().await;
    assert_eq!(s.writes()[n..].to_vec(), Vec::<String>::new());
    // WHEN it switches back
    s.pets
        .tag(&s.pets.b, &s.pets.cats, &[("expose:mode", "mirror")])
        .await;
    let report = s.sweep().await;
    // THEN one deployment, and the mirrored routes are back
    assert_eq!(report.deployments, 1, "{report:?}");
    let routes = s.pets.public_routes().await;
    assert!(routes.contains_key(&key("/cats/{id}", "GET")), "{routes:?}");
    assert!(!routes.contains_key(&key("/cats/{proxy+}", "ANY")));
    let n = s.writes().len();
    s.sweep().await;
    assert_eq!(s.writes()[n..].to_vec(), Vec::<String>::new());
}

#[tokio::test]
async fn a_bad_mode_or_a_proxied_root_without_a_prefix_is_refused() {
    let s = Scenario::start().await;
    s.sweep().await;
    let routes_before = s.pets.public_routes().await;
    // WHEN C asks for a mode that is not one, and B proxies its whole API without a prefix
    s.pets
        .tag(&s.pets.c, &s.pets.dogs, &[("expose:mode", "PROXY")])
        .await;
    let policy = seed_policy(&s.pets.hub.vpce_id);
    private_api(
        &s.pets.b,
        "whole",
        EndpointType::Private,
        Some(&policy),
        &[("expose", "true"), ("expose:mode", "proxy")],
        &["/whole"],
    )
    .await;
    s.sweep().await;
    // THEN each is refused with its reason, and nothing of theirs changes
    let published = s.pets.published().await;
    let dogs = status_in(&published, "private-dogs").unwrap_or_default();
    assert!(
        dogs.starts_with(r#"refused: expose:mode "PROXY" is not mirror or proxy"#),
        "{dogs}"
    );
    assert_eq!(
        status_in(&published, "whole").as_deref(),
        Some("refused: proxy mode proxies the private root only under an expose:prefix")
    );
    let routes = s.pets.public_routes().await;
    assert!(!routes.keys().any(|(p, _)| p.starts_with("/whole")));
    assert_eq!(
        routes.get(&key("/cats", "GET")),
        routes_before.get(&key("/cats", "GET"))
    );
}

#[tokio::test]
async fn a_custom_domain_makes_every_url_and_a_new_one_rewrites_them_in_one_sweep() {
    // GIVEN the seed exposed, one API under a prefix
    let s = Scenario::start().await;
    s.pets
        .tag(&s.pets.c, &s.pets.dogs, &[("expose:prefix", "/kennel")])
        .await;
    let on = |domain: &str| s.pets.app_with(&[("FRONTDOOR_PUBLIC_DOMAIN", domain)]);
    // WHEN swept with the domain api.example.com
    let app = on("api.example.com");
    routes::reconcile(&app, &sweep()).await.unwrap();
    // THEN every url is on it, with the mount
    let published = s.pets.published().await;
    assert_eq!(
        published["/frontdoor/apis/private-cats/url"],
        "https://api.example.com"
    );
    assert_eq!(
        published["/frontdoor/apis/private-dogs/url"],
        "https://api.example.com/kennel"
    );
    // WHEN the domain changes
    let app = on("pets.example.org");
    let report = routes::reconcile(&app, &sweep()).await.unwrap();
    // THEN one sweep rewrites every url, and nothing on the public API
    let published = s.pets.published().await;
    assert_eq!(
        published["/frontdoor/apis/private-dogs/url"],
        "https://pets.example.org/kennel"
    );
    assert_eq!(
        published["/frontdoor/apis/private-cats/url"],
        "https://pets.example.org"
    );
    assert_eq!(report.deployments, 0, "{report:?}");
    let again = routes::reconcile(&app, &sweep()).await.unwrap();
    assert_eq!(again.writes, 0, "{again:?}");
}

/// A TOKEN authorizer on the public API, as the hub team makes it.
async fn authorizer(s: &Scenario) -> String {
    frontdoor_tests::pets::token_authorizer(&s.pets.hub_sdk, &s.pets.public_api_id).await
}

#[tokio::test]
async fn a_preflight_beside_a_governed_any_is_open_unless_the_hub_governs_preflights() {
    use shared::governance::{AUTHORIZER_ID, GOVERN_PREFLIGHT};
    // GIVEN the hub's authorizer on every route, and B's shop proxied
    let s = Scenario::start().await;
    let auth = authorizer(&s).await;
    let policy = seed_policy(&s.pets.hub.vpce_id);
    let shop = private_api(
        &s.pets.b,
        "shop",
        EndpointType::Private,
        Some(&policy),
        &[
            ("expose", "true"),
            ("expose:mode", "proxy"),
            ("expose:paths", "/shop"),
        ],
        &SHOP,
    )
    .await;
    let governed = s.pets.app_with(&[(AUTHORIZER_ID, &auth)]);
    routes::reconcile(&governed, &sweep()).await.unwrap();
    // THEN each ANY carries the authorizer, and an open OPTIONS beside it goes to the same
    // private path (a browser's preflight carries no credentials)
    let methods = s.pets.public_methods().await;
    for path in ["/shop", "/shop/{proxy+}"] {
        let any = &methods[&key(path, "ANY")];
        assert_eq!(any.authorization_type(), Some("CUSTOM"), "{path}");
        let options = &methods[&key(path, "OPTIONS")];
        assert_eq!(options.authorization_type(), Some("NONE"), "{path}");
        assert_eq!(options.api_key_required(), Some(false), "{path}");
        assert_eq!(
            options.method_integration().and_then(|i| i.uri()),
            any.method_integration().and_then(|i| i.uri()),
            "{path}"
        );
    }
    assert!(methods[&key("/shop", "OPTIONS")]
        .method_integration()
        .and_then(|i| i.uri())
        .unwrap()
        .contains(&shop));
    let again = routes::reconcile(&governed, &sweep()).await.unwrap();
    assert_eq!(again.writes, 0, "{again:?}");
    // WHEN the hub governs preflights too
    let strict = s
        .pets
        .app_with(&[(AUTHORIZER_ID, &auth), (GOVERN_PREFLIGHT, "true")]);
    let report = routes::reconcile(&strict, &sweep()).await.unwrap();
    // THEN the open OPTIONS go (ANY answers OPTIONS, with the authorizer), in one deployment
    assert_eq!(report.deployments, 1, "{report:?}");
    let methods = s.pets.public_methods().await;
    assert!(!methods.contains_key(&key("/shop", "OPTIONS")));
    assert!(!methods.contains_key(&key("/shop/{proxy+}", "OPTIONS")));
    let again = routes::reconcile(&strict, &sweep()).await.unwrap();
    assert_eq!(again.writes, 0, "{again:?}");
}

/// What the public stage serves: `(path, verb)` of its deployment's `apiSummary`.
async fn served(s: &Scenario) -> std::collections::BTreeSet<(String, String)> {
    let gw = aws_sdk_apigateway::Client::new(&s.pets.hub_sdk);
    let stage = gw
        .get_stage()
        .rest_api_id(&s.pets.public_api_id)
        .stage_name("prd")
        .send()
        .await
        .unwrap();
    let deployment = gw
        .get_deployment()
        .rest_api_id(&s.pets.public_api_id)
        .deployment_id(stage.deployment_id().unwrap())
        .embed("apisummary")
        .send()
        .await
        .unwrap();
    deployment
        .api_summary()
        .into_iter()
        .flat_map(|m| m.iter())
        .flat_map(|(path, verbs)| verbs.keys().map(move |v| (path.clone(), v.clone())))
        .collect()
}

#[tokio::test]
async fn a_mode_switch_cut_short_by_its_budget_never_leaves_the_stage_serving_neither() {
    use shared::routes::{Budget, Deploy};
    // GIVEN B's cats mirrored and live
    let s = Scenario::start().await;
    s.sweep().await;
    let mirrored = [key("/cats", "GET"), key("/cats/{id}", "GET")];
    let proxied = [key("/cats", "ANY"), key("/cats/{proxy+}", "ANY")];
    // WHEN B switches to proxy mode and each run may make one unit of work (as a short
    // deadline under load would allow)
    s.pets
        .tag(
            &s.pets.b,
            &s.pets.cats,
            &[("expose:mode", "proxy"), ("expose:paths", "/cats")],
        )
        .await;
    let mut runs = 0;
    for _ in 0..20 {
        runs += 1;
        let report =
            routes::reconcile_with(&s.app, &sweep(), Deploy::Now, &Budget::counted(1, 100))
                .await
                .unwrap();
        // THEN after every run the stage serves all of one mode or all of the other
        let live = served(&s).await;
        let old = mirrored.iter().all(|k| live.contains(k));
        let new = proxied.iter().all(|k| live.contains(k));
        assert!(old || new, "run {runs} left the stage serving {live:?}");
        if report.writes == 0 && new {
            break;
        }
    }
    // AND it converged to the proxy, and the next sweep writes nothing
    let live = served(&s).await;
    assert!(proxied.iter().all(|k| live.contains(k)), "{live:?}");
    assert!(!live.contains(&key("/cats/{id}", "GET")), "{live:?}");
    assert!(runs > 2, "the budget never cut a run ({runs} runs)");
    let again = s.sweep().await;
    assert_eq!(again.writes, 0, "{again:?}");
}
