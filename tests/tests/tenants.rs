//! Tenant boundaries (issue 12), each test written as a hostile spoke would try it: taking
//! another team's published name, shadowing its routes, slipping an unsafe policy past the
//! pre-flight, and starting sweeps from a foreign schedule.
#![allow(clippy::unwrap_used)] // scenario helpers panic the test on a failed setup call

use std::collections::BTreeMap;

use aws_sdk_apigateway::types::EndpointType;
use frontdoor_tests::pets::{private_api, seed_policy, ACCOUNT_C};
use frontdoor_tests::scenario::Scenario;
use serde_json::{json, Value};
use shared::entry::{route_sync_payload, Outcome};
use shared::routes::Report;

/// The seed, swept once: the victims are live before the attacker moves.
async fn scenario() -> Scenario {
    let s = Scenario::start().await;
    s.sweep().await;
    s
}

/// The attacker's moves, and what the victim has.
trait Attacker {
    async fn attacker(&self, name: &str, tags: &[(&str, &str)], paths: &[&str]) -> String;
    async fn attacker_with_policy(
        &self,
        name: &str,
        tags: &[(&str, &str)],
        paths: &[&str],
        policy: &str,
    ) -> String;
}

impl Attacker for Scenario {
    /// A private API in spoke C (the attacker), safe by the seed policy, deployed.
    async fn attacker(&self, name: &str, tags: &[(&str, &str)], paths: &[&str]) -> String {
        let policy = seed_policy(&self.pets.hub.vpce_id);
        self.attacker_with_policy(name, tags, paths, &policy).await
    }

    async fn attacker_with_policy(
        &self,
        name: &str,
        tags: &[(&str, &str)],
        paths: &[&str],
        policy: &str,
    ) -> String {
        let mut all = vec![("expose", "true")];
        all.extend_from_slice(tags);
        private_api(
            &self.pets.c,
            name,
            EndpointType::Private,
            Some(policy),
            &all,
            paths,
        )
        .await
    }
}

fn victims_parameters(published: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    published
        .iter()
        .filter(|(n, _)| n.starts_with("/frontdoor/apis/private-cats/"))
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect()
}

fn status_of(report: &Report, account: &str, api: &str) -> String {
    report
        .statuses
        .get(&format!("{account}/{api}"))
        .map(ToString::to_string)
        .unwrap_or_default()
}

#[tokio::test]
async fn a_spoke_cannot_take_another_teams_published_name() {
    let s = scenario().await;
    let victim = victims_parameters(&s.pets.published().await);
    assert_eq!(victim.len(), 3, "{victim:?}");

    // WHEN spoke C claims private-cats three ways: the exact name, and an API named so that
    // it normalises to it; and two expose:name values that normalise to it
    let exact = s
        .attacker("evil-1", &[("expose:name", "private-cats")], &["/evil1"])
        .await;
    let by_api_name = s.attacker("private cats", &[], &["/evil2"]).await;
    let spaced = s
        .attacker("evil-3", &[("expose:name", "private cats")], &["/evil3"])
        .await;
    let slashed = s
        .attacker("evil-4", &[("expose:name", "private/cats")], &["/evil4"])
        .await;
    let report = s.sweep().await;

    // THEN the victim's parameters are untouched
    let published = s.pets.published().await;
    assert_eq!(victims_parameters(&published), victim);
    // AND the claimants get a name conflict (logged, counted, in `frontdoor status`), or a
    // refusal for a name that is not valid as given, published under nothing
    let owner = format!("222222222222/{}", s.pets.cats);
    for api in [&exact, &by_api_name] {
        assert_eq!(
            status_of(&report, ACCOUNT_C, api),
            format!("conflict: name private-cats owned by {owner}")
        );
    }
    for api in [&spaced, &slashed] {
        assert!(
            status_of(&report, ACCOUNT_C, api).starts_with("refused: expose:name"),
            "{report:?}"
        );
    }
    // WHEN the attackers un-expose, and sweeps repeat
    for api in [&exact, &by_api_name, &spaced, &slashed] {
        s.pets.untag(&s.pets.c, api, &["expose"]).await;
    }
    s.sweep().await;
    let before = s.writes().len();
    s.sweep().await;
    // THEN the victim's parameters are still untouched, and nothing flaps
    assert_eq!(victims_parameters(&s.pets.published().await), victim);
    assert_eq!(s.writes()[before..].to_vec(), Vec::<String>::new());
}

#[tokio::test]
async fn a_route_that_would_shadow_another_owners_route_is_a_conflict() {
    let s = scenario().await;
    // GIVEN B owns /files/{proxy+} and /users/{id}, and someone hand-made /admin/{proxy+}
    let policy = seed_policy(&s.pets.hub.vpce_id);
    let files = private_api(
        &s.pets.b,
        "files",
        EndpointType::Private,
        Some(&policy),
        &[("expose", "true")],
        &["/files/{proxy+}", "/users/{id}"],
    )
    .await;
    frontdoor_tests::pets::add_resource(
        &s.pets.hub_sdk,
        &s.pets.public_api_id,
        "/admin/{proxy+}",
        "ANY",
    )
    .await;
    s.sweep().await;
    let before_routes = s.pets.public_routes().await;

    // WHEN C exposes /files/secret, /users/me, /shop (fine), a prefix under /admin, and a
    // greedy path at the root
    let sneaky = s
        .attacker("sneaky", &[], &["/files/secret", "/users/me", "/shop"])
        .await;
    let under_admin = s
        .attacker("under-admin", &[("expose:prefix", "/admin")], &["/panel"])
        .await;
    let catch_all = s.attacker("catch-all", &[], &["/{proxy+}"]).await;
    let report = s.sweep().await;

    // THEN none of them takes a request meant for another owner
    let routes = s.pets.public_routes().await;
    for (key, target) in &before_routes {
        assert_eq!(routes.get(key), Some(target), "{key:?} changed");
    }
    for path in ["/files/secret", "/users/me", "/admin/panel", "/{proxy+}"] {
        assert!(!routes.keys().any(|(p, _)| p == path), "{path} routed");
    }
    // AND each conflict names what it overlaps
    let sneaky_status = status_of(&report, ACCOUNT_C, &sneaky);
    assert!(
        sneaky_status.starts_with("conflict: /files/secret overlaps 222222222222/")
            && sneaky_status.ends_with("'s /files/{proxy+}"),
        "{sneaky_status}"
    );
    assert!(sneaky_status.contains(&files) || sneaky_status.contains("222222222222"));
    assert_eq!(
        status_of(&report, ACCOUNT_C, &under_admin),
        "conflict: /admin/panel overlaps a hand-made route's /admin/{proxy+}"
    );
    assert!(status_of(&report, ACCOUNT_C, &catch_all).starts_with("conflict: /{proxy+} overlaps"));
    // AND the newcomer keeps its paths that shadow nothing
    assert!(routes.contains_key(&("/shop".into(), "GET".into())));
    let before = s.writes().len();
    s.sweep().await;
    assert_eq!(s.writes()[before..].to_vec(), Vec::<String>::new());
}

#[tokio::test]
async fn the_pre_flight_reads_policies_as_iam_does() {
    let s = scenario().await;
    let hub = s.pets.hub.vpce_id.clone();
    let allow = json!({"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*"});
    let deny = |extra: Value, resource: &str| {
        let mut condition = json!({"StringNotEquals": {"aws:SourceVpce": hub}});
        if let (Some(c), Some(e)) = (condition.as_object_mut(), extra.as_object()) {
            c.extend(e.clone());
        }
        json!({"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke",
               "Resource": resource, "Condition": condition})
    };
    let policy = |statements: Vec<Value>| {
        json!({"Version": "2012-10-17", "Statement": statements}).to_string()
    };
    // Accepted by the old shape check although other endpoints get in.
    let time_limited = policy(vec![
        allow.clone(),
        deny(
            json!({"DateGreaterThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}),
            "execute-api:/*",
        ),
    ]);
    let other_api = policy(vec![
        allow.clone(),
        deny(
            json!({}),
            "arn:aws:execute-api:us-east-1:333333333333:zzzzzzzzzz/*",
        ),
    ]);
    let wildcard_action = policy(vec![
        json!({"Effect": "Allow", "Principal": "*", "Action": "execute-api:Inv*", "Resource": "execute-api:/*"}),
    ]);
    // Refused by the old shape check although safe: the console's form, pretty-printed.
    let console = serde_json::to_string_pretty(&json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*/*/*"},
        deny(json!({}), "execute-api:/*/*/*")]}))
    .unwrap();

    let mut ids = BTreeMap::new();
    for (name, p, path) in [
        ("time-limited", &time_limited, "/t1"),
        ("other-api", &other_api, "/t2"),
        ("wildcard", &wildcard_action, "/t3"),
        ("console", &console, "/t4"),
    ] {
        let id = s.attacker_with_policy(name, &[], &[path], p).await;
        ids.insert(name, id);
    }
    let report = s.sweep().await;
    for name in ["time-limited", "other-api", "wildcard"] {
        let status = status_of(&report, ACCOUNT_C, &ids[name]);
        assert!(
            status.starts_with("refused: the resource policy"),
            "{name}: {status}"
        );
    }
    assert_eq!(status_of(&report, ACCOUNT_C, &ids["console"]), "exposed");
    let routes = s.pets.public_routes().await;
    assert!(routes.contains_key(&("/t4".into(), "GET".into())));
    for path in ["/t1", "/t2", "/t3"] {
        assert!(!routes.keys().any(|(p, _)| p == path), "{path}");
    }
}

#[tokio::test]
async fn a_scheduled_event_from_another_account_starts_no_sweep() {
    let s = scenario().await;
    let before = s.app.clients.calls.snapshot();
    let foreign: Value = serde_json::from_str(
        &std::fs::read_to_string(
            frontdoor_tests::workspace_root().join("events/hostile/schedule-foreign-account.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let outcome = route_sync_payload(&s.app, &foreign).await.unwrap();
    assert!(matches!(outcome, Outcome::Ignored { .. }), "{outcome:?}");
    let calls = s.app.clients.calls.snapshot().since(&before);
    assert_eq!(calls.reads() + calls.writes(), 0, "{calls:?}");
}
