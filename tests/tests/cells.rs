//! Issue 23: cells. Several public REST APIs behind one custom domain; each exposed API is
//! placed in one cell (sticky, APIs sharing a first segment together, the first cell with
//! room), the domain's routing rules send each other cell's first segments there, and no
//! cell's failure or tenant reaches another's. On the emulator, with launcher patches 20-21
//! (routing mode and routing rules).
#![allow(clippy::unwrap_used)] // scenario helpers panic the test on a failed setup call

use std::collections::BTreeMap;

use aws_sdk_apigateway::types::EndpointType;
use aws_sdk_apigatewayv2::types::{
    RoutingRuleAction, RoutingRuleActionInvokeApi, RoutingRuleCondition, RoutingRuleMatchBasePaths,
};
use frontdoor_tests::pets::{add_cells, private_api, resource_ids, seed_policy};
use frontdoor_tests::scenario::{status_in, Scenario};
use shared::routes::{self, Report, Scope};
use shared::{App, RouteSyncConfig};

const DOMAIN: &str = "api.example.com";

fn sweep() -> Scope {
    Scope {
        sweep: true,
        ..Scope::default()
    }
}

/// The seed, `extra` more cells (each a regional REST API with `/health`, deployed to
/// `prd`), the domain in `ROUTING_RULE_THEN_BASE_PATH_MAPPING` mode, and route-sync over
/// them with `quota` resources per cell.
struct Cells {
    s: Scenario,
    ids: Vec<String>,
    app: App<RouteSyncConfig>,
}

impl Cells {
    async fn start(extra: usize, quota: usize) -> Cells {
        Self::start_with(extra, quota, &[]).await
    }

    /// As [`Cells::start`], with more variables for route-sync.
    async fn start_with(extra: usize, quota: usize, more: &[(&str, &str)]) -> Cells {
        let s = Scenario::start().await;
        let ids = add_cells(&s.pets, extra, DOMAIN).await;
        let cells = ids.join(",");
        let quota = quota.to_string();
        let vars: Vec<(&str, &str)> = [
            ("FRONTDOOR_CELLS", cells.as_str()),
            ("FRONTDOOR_PUBLIC_DOMAIN", DOMAIN),
            ("FRONTDOOR_RESOURCE_QUOTA", quota.as_str()),
            ("FRONTDOOR_ACCOUNT_RESOURCE_QUOTA", "100"),
        ]
        .into_iter()
        .chain(more.iter().copied())
        .collect();
        let app = s.pets.app_with(&vars);
        Cells { s, ids, app }
    }

    async fn sweep(&self) -> Report {
        routes::reconcile(&self.app, &sweep()).await.unwrap()
    }

    async fn paths(&self, cell: usize) -> Vec<String> {
        resource_ids(&self.s.pets.hub_sdk, &self.ids[cell])
            .await
            .into_keys()
            .collect()
    }

    /// frontdoor's rules (priorities from `FIRST_RULE_PRIORITY`): base path -> (api id,
    /// priority, rule id).
    async fn rules(&self) -> BTreeMap<String, (String, i32, String, bool)> {
        self.all_rules()
            .await
            .into_iter()
            .filter(|(_, (_, p, _, _))| *p >= shared::routes::cells::FIRST_RULE_PRIORITY as i32)
            .collect()
    }

    /// Every rule of the domain: (base path, (api id, priority, rule id)).
    async fn all_rules(&self) -> Vec<(String, (String, i32, String, bool))> {
        let v2 = aws_sdk_apigatewayv2::Client::new(&self.s.pets.hub_sdk);
        let page = v2
            .list_routing_rules()
            .domain_name(DOMAIN)
            .send()
            .await
            .unwrap();
        page.routing_rules()
            .iter()
            .map(|r| {
                let base = r.conditions()[0].match_base_paths().unwrap().any_of()[0].clone();
                let invoke = r.actions()[0].invoke_api().unwrap();
                (
                    base,
                    (
                        invoke.api_id().unwrap().to_string(),
                        r.priority().unwrap(),
                        r.routing_rule_id().unwrap().to_string(),
                        invoke.strip_base_path().unwrap_or(false),
                    ),
                )
            })
            .collect()
    }

    /// The cell a registry record names (`None`: the first).
    async fn recorded_cell(&self, account: &str, api: &str) -> Option<String> {
        let ssm = aws_sdk_ssm::Client::new(&self.s.pets.hub_sdk);
        let name = format!("/frontdoor/registry/apis/{account}/{api}");
        let value = ssm.get_parameter().name(&name).send().await.unwrap();
        let record: routes::Record =
            shared::registry::decode(&name, value.parameter().unwrap().value().unwrap()).unwrap();
        record.cell
    }

    async fn expose(&self, sdk: &aws_config::SdkConfig, name: &str, paths: &[&str]) -> String {
        let policy = seed_policy(&self.s.pets.hub.vpce_id);
        let first = paths[0];
        private_api(
            sdk,
            name,
            EndpointType::Private,
            Some(&policy),
            &[("expose", "true"), ("expose:paths", first)],
            paths,
        )
        .await
    }
}

#[tokio::test]
async fn a_newcomer_goes_to_the_next_cell_with_room_sticks_there_and_shares_its_first_segment() {
    // GIVEN two cells of 6 resources; the seed's cats (2) and dogs (1) fill the first to 5
    let c = Cells::start(1, 6).await;
    c.sweep().await;
    assert!(c.paths(0).await.contains(&"/dogs".to_string()));
    // WHEN B exposes a shop of 3 resources (no room left in the first cell)
    let shop = c
        .expose(&c.s.pets.b, "shop", &["/shop", "/shop/items", "/shop/cart"])
        .await;
    let report = c.sweep().await;
    // THEN it is placed in the second cell, recorded there, reached by one rule
    assert_eq!(c.status("shop").await.as_deref(), Some("exposed"));
    assert_eq!(report.deployments, 1, "only the changed cell deploys");
    let second = c.paths(1).await;
    assert!(second.contains(&"/shop/items".to_string()), "{second:?}");
    assert!(!c.paths(0).await.iter().any(|p| p.starts_with("/shop")));
    assert_eq!(
        c.recorded_cell(frontdoor_tests::pets::ACCOUNT_B, &shop)
            .await,
        Some(c.ids[1].clone())
    );
    let rules = c.rules().await;
    assert_eq!(rules.keys().collect::<Vec<_>>(), ["shop"]);
    let strips: Vec<bool> = c.all_rules().await.iter().map(|(_, r)| r.3).collect();
    assert_eq!(strips, [false], "the full path is passed on to the cell");
    assert_eq!(rules["shop"].0, c.ids[1]);
    let published = c.s.pets.published().await;
    assert_eq!(
        published
            .get("/frontdoor/apis/shop/url")
            .map(String::as_str),
        Some("https://api.example.com")
    );
    // WHEN C exposes /shop/gifts: its first segment lives in the second cell
    c.expose(&c.s.pets.c, "gifts", &["/shop/gifts"]).await;
    c.sweep().await;
    // THEN it joins it there, with no second rule
    assert_eq!(c.status("gifts").await.as_deref(), Some("exposed"));
    assert!(c.paths(1).await.contains(&"/shop/gifts".to_string()));
    assert_eq!(c.rules().await.len(), 1);
    // WHEN the first cell has room again (dogs leaves)
    c.s.pets
        .untag(&c.s.pets.c, &c.s.pets.dogs, &["expose"])
        .await;
    c.sweep().await;
    // THEN nothing moves, and a further sweep writes nothing
    assert!(c.paths(1).await.contains(&"/shop/items".to_string()));
    let before = c.app.clients.calls.snapshot();
    let again = c.sweep().await;
    let writes = c.app.clients.calls.snapshot().since(&before).write_ops();
    assert!(writes.is_empty(), "a no-op sweep wrote {writes:?}");
    assert_eq!(again.deployments, 0);
}

#[tokio::test]
async fn a_live_api_that_grows_a_first_segment_gets_its_rule_in_the_same_run() {
    // GIVEN B's shop placed in the second cell, its private API also serving /market
    let c = Cells::start(1, 6).await;
    c.sweep().await;
    let shop = c
        .expose(&c.s.pets.b, "shop", &["/shop", "/shop/items", "/market"])
        .await;
    c.sweep().await;
    assert!(c.paths(1).await.contains(&"/shop/items".to_string()));
    // WHEN it exposes /market as well
    c.s.pets
        .tag(&c.s.pets.b, &shop, &[("expose:paths", "/shop /market")])
        .await;
    c.sweep().await;
    // THEN /market is made in its cell and routed there in that same run
    assert!(c.paths(1).await.contains(&"/market".to_string()));
    let rules = c.rules().await;
    assert_eq!(rules.keys().collect::<Vec<_>>(), ["market", "shop"]);
    assert_eq!(rules["market"].0, c.ids[1]);
}

#[tokio::test]
async fn a_newcomer_is_refused_only_when_no_cell_has_room() {
    // GIVEN two cells of 7 resources, the first at 5 after the seed, the second at 2
    let c = Cells::start(1, 7).await;
    c.sweep().await;
    // WHEN B exposes 5 resources (fits the second cell) and C then 5 more (fits none)
    c.expose(
        &c.s.pets.b,
        "big",
        &["/big", "/big/a", "/big/b", "/big/c", "/big/d"],
    )
    .await;
    c.expose(
        &c.s.pets.c,
        "huge",
        &["/huge", "/huge/a", "/huge/b", "/huge/c", "/huge/d"],
    )
    .await;
    c.sweep().await;
    // THEN the first is placed, the second refused with why, and nothing of it is made
    assert_eq!(c.status("big").await.as_deref(), Some("exposed"));
    let huge = c.status("huge").await.unwrap_or_default();
    assert!(
        huge.starts_with("refused: no room: none of the 2 cells"),
        "{huge}"
    );
    for cell in 0..2 {
        assert!(!c.paths(cell).await.iter().any(|p| p.starts_with("/huge")));
    }
    assert!(!c.rules().await.contains_key("huge"));
}

#[tokio::test]
async fn a_hostile_spoke_cannot_claim_a_first_segment_that_lives_in_another_cell() {
    // GIVEN B's shop placed in the second cell
    let c = Cells::start(1, 6).await;
    c.sweep().await;
    c.expose(&c.s.pets.b, "shop", &["/shop", "/shop/items", "/shop/cart"])
        .await;
    c.sweep().await;
    // WHEN C exposes an API whose paths span /dogs (first cell) and /shop (second)
    let policy = seed_policy(&c.s.pets.hub.vpce_id);
    private_api(
        &c.s.pets.c,
        "spanner",
        EndpointType::Private,
        Some(&policy),
        &[
            ("expose", "true"),
            ("expose:paths", "/dogs/more /shop/evil"),
        ],
        &["/dogs/more", "/shop/evil"],
    )
    .await;
    c.sweep().await;
    // THEN it is served by one cell only: the path in the other is a conflict, and the
    // shop's cell and rule are untouched
    let status = c.status("spanner").await.unwrap_or_default();
    assert!(
        status.contains("/shop/evil is under /shop, which lives in cell"),
        "{status}"
    );
    assert!(!c.paths(0).await.contains(&"/shop/evil".to_string()));
    assert!(!c.paths(1).await.contains(&"/shop/evil".to_string()));
    assert_eq!(c.rules().await["shop"].0, c.ids[1]);
}

#[tokio::test]
async fn a_deployment_refused_in_one_cell_leaves_the_other_deploying() {
    // GIVEN B's shop in the second cell, and someone's hand-made method without an
    // integration there (AWS refuses such a deployment: launcher patch 10)
    let c = Cells::start(1, 6).await;
    c.sweep().await;
    c.expose(&c.s.pets.b, "shop", &["/shop", "/shop/items", "/shop/cart"])
        .await;
    c.sweep().await;
    let gw = aws_sdk_apigateway::Client::new(&c.s.pets.hub_sdk);
    let health = resource_ids(&c.s.pets.hub_sdk, &c.ids[1]).await["/health"].clone();
    gw.put_method()
        .rest_api_id(&c.ids[1])
        .resource_id(&health)
        .http_method("POST")
        .authorization_type("NONE")
        .send()
        .await
        .unwrap();
    // WHEN both cells change: the shop leaves, and C exposes /birds in the first cell
    c.s.pets
        .untag(&c.s.pets.b, &c.shop_id().await, &["expose"])
        .await;
    c.expose(&c.s.pets.c, "birds", &["/birds"]).await;
    let report = c.sweep().await;
    // THEN the first cell deploys, the second's deployment is refused and stays owed
    assert_eq!(report.deployments, 1, "{report:?}");
    assert_eq!(report.deployments_refused, 1, "{report:?}");
    assert_eq!(c.status("birds").await.as_deref(), Some("exposed"));
    let shop = c.status("shop").await.unwrap_or_default();
    assert!(
        shop.is_empty() || shop.starts_with("pending deployment"),
        "{shop}"
    );
}

#[tokio::test]
async fn a_routing_rule_frontdoor_did_not_make_is_left_alone() {
    // GIVEN a hand-made rule sending /legacy to the second cell, and one on /shop
    let c = Cells::start(1, 6).await;
    let v2 = aws_sdk_apigatewayv2::Client::new(&c.s.pets.hub_sdk);
    for (base, priority) in [("legacy", 10), ("shop", 20)] {
        v2.create_routing_rule()
            .domain_name(DOMAIN)
            .priority(priority)
            .actions(
                RoutingRuleAction::builder()
                    .invoke_api(
                        RoutingRuleActionInvokeApi::builder()
                            .api_id(&c.ids[1])
                            .stage("prd")
                            .strip_base_path(true)
                            .build(),
                    )
                    .build(),
            )
            .conditions(
                RoutingRuleCondition::builder()
                    .match_base_paths(RoutingRuleMatchBasePaths::builder().any_of(base).build())
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    let hand_made = c.all_rules().await;
    // WHEN frontdoor places B's shop in the second cell and sweeps twice
    c.sweep().await;
    c.expose(&c.s.pets.b, "shop", &["/shop", "/shop/items", "/shop/cart"])
        .await;
    c.sweep().await;
    c.sweep().await;
    // THEN both hand-made rules are exactly as they were; frontdoor's own rule for /shop
    // sits at a priority above them (an operator's rule wins) and is the only one added
    let rules = c.all_rules().await;
    for rule in &hand_made {
        assert!(rules.contains(rule), "{rule:?} untouched");
    }
    assert_eq!(rules.len(), 3, "{rules:?}");
    let ours = c.rules().await;
    assert_eq!(ours.keys().collect::<Vec<_>>(), ["shop"]);
}

impl Cells {
    async fn status(&self, name: &str) -> Option<String> {
        status_in(&self.s.pets.published().await, name)
    }

    async fn shop_id(&self) -> String {
        let gw = aws_sdk_apigateway::Client::new(&self.s.pets.b);
        gw.get_rest_apis()
            .send()
            .await
            .unwrap()
            .items()
            .iter()
            .find(|a| a.name() == Some("shop"))
            .and_then(|a| a.id())
            .unwrap()
            .to_string()
    }
}

#[tokio::test]
async fn a_rule_quota_aws_enforces_below_the_configured_one_refuses_a_segment_not_the_run() {
    // GIVEN three cells of 6 resources, FRONTDOOR_ROUTING_RULE_QUOTA at its default (50)
    // while AWS grants this domain one rule
    let c = Cells::start(2, 6).await;
    c.s.emulator
        .settings(&serde_json::json!({"routing_rule_quota": 1}));
    c.sweep().await;
    // WHEN two APIs land in the second and third cells, each needing a rule
    c.expose(&c.s.pets.b, "shop", &["/shop", "/shop/items", "/shop/cart"])
        .await;
    c.expose(&c.s.pets.c, "mall", &["/mall", "/mall/a", "/mall/b"])
        .await;
    let before = c.app.clients.calls.snapshot();
    let first = routes::reconcile(&c.app, &sweep()).await;
    // THEN AWS's LimitExceededException (429) ends neither this run nor the next: one rule
    // is made, the other segment waits (logged), and the quota's answer is not retried as
    // throttling would be
    assert!(first.is_ok(), "{first:?}");
    assert_eq!(c.rules().await.len(), 1);
    let calls = c.app.clients.calls.snapshot().since(&before);
    assert_eq!(calls.of("CreateRoutingRule"), 2);
    assert_eq!(
        calls.attempts_of("CreateRoutingRule"),
        2,
        "no retry of the quota"
    );
    let again = routes::reconcile(&c.app, &sweep()).await;
    assert!(again.is_ok(), "{again:?}");
    assert_eq!(c.rules().await.len(), 1);
}

#[tokio::test]
async fn rule_writes_stop_when_the_runs_publishing_time_is_spent_and_the_next_run_goes_on() {
    // GIVEN three cells of 6 resources and two newcomers, each needing a rule in its own cell
    let c = Cells::start(2, 6).await;
    c.sweep().await;
    c.expose(&c.s.pets.b, "shop", &["/shop", "/shop/items", "/shop/cart"])
        .await;
    c.expose(&c.s.pets.c, "mall", &["/mall", "/mall/a", "/mall/b"])
        .await;
    // WHEN a run's publishing share is already spent (a counted budget: only the first unit
    // of each phase goes, as when the deadline is near)
    let spent = routes::Budget::counted(1000, 0);
    let cut = routes::reconcile_with(&c.app, &sweep(), routes::Deploy::Now, &spent).await;
    // THEN it ends Ok having made one rule, and the next run makes the other
    assert!(cut.is_ok(), "{cut:?}");
    assert_eq!(c.rules().await.len(), 1);
    c.sweep().await;
    assert_eq!(c.rules().await.keys().collect::<Vec<_>>(), ["mall", "shop"]);
}

/// A TOKEN authorizer on `api`, as the hub team makes it on each cell's API.
async fn authorizer_on(c: &Cells, api: &str) -> String {
    frontdoor_tests::pets::token_authorizer(&c.s.pets.hub_sdk, api).await
}

/// The authorizer ids on `api`'s methods under `prefix`.
async fn authorizers_under(c: &Cells, api: &str, prefix: &str) -> Vec<Option<String>> {
    let page = aws_sdk_apigateway::Client::new(&c.s.pets.hub_sdk)
        .get_resources()
        .rest_api_id(api)
        .embed("methods")
        .limit(500)
        .send()
        .await
        .unwrap();
    page.items()
        .iter()
        .filter(|r| r.path().unwrap_or("").starts_with(prefix))
        .flat_map(|r| r.resource_methods().into_iter().flat_map(|m| m.values()))
        .map(|m| m.authorizer_id().map(str::to_string))
        .collect()
}

/// The hub stack's record of cell `name` (template `Cell{name}Record`).
async fn record_cell(c: &Cells, name: &str, value: &str) {
    aws_sdk_ssm::Client::new(&c.s.pets.hub_sdk)
        .put_parameter()
        .name(format!("/frontdoor/registry/cells/{name}"))
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_cell_the_stack_records_waits_for_its_authorizer_takes_newcomers_then_keeps_them() {
    // GIVEN the hub as the template makes it with Cells=b: the first cell configured, cell
    // b recorded by the stack with its authorizer still empty (CellAuthorizers not given),
    // and an authorizer on every route
    let c = Cells::start(1, 6).await;
    let first_auth = authorizer_on(&c, &c.ids[0]).await;
    let app = c.s.pets.app_with(&[
        ("FRONTDOOR_CELLS", c.ids[0].as_str()),
        ("FRONTDOOR_PUBLIC_DOMAIN", DOMAIN),
        ("FRONTDOOR_RESOURCE_QUOTA", "6"),
        ("FRONTDOOR_ACCOUNT_RESOURCE_QUOTA", "100"),
        ("FRONTDOOR_AUTHORIZER_ID", first_auth.as_str()),
    ]);
    record_cell(&c, "b", &format!("{}:", c.ids[1])).await;
    let named = routes::named_cells(&app).await.unwrap().unwrap();
    assert_eq!(named.cells.len(), 1);
    assert_eq!(named.waiting_cells[0].name, "b");
    let report = routes::reconcile(&app, &sweep()).await.unwrap();
    assert_eq!(report.cells_waiting, 1, "the CellsWaiting metric");
    // WHEN B exposes a shop of 3 resources, which the first cell (5 of 6) cannot take
    c.expose(&c.s.pets.b, "shop", &["/shop", "/shop/items", "/shop/cart"])
        .await;
    routes::reconcile(&app, &sweep()).await.unwrap();
    // THEN nothing goes to the waiting cell: the shop is refused, no rule is made
    let status = c.status("shop").await.unwrap_or_default();
    assert!(
        status.starts_with("refused:") && status.contains("resource quota (6)"),
        "{status}"
    );
    assert!(!c.paths(1).await.iter().any(|p| p.starts_with("/shop")));
    assert!(c.rules().await.is_empty());
    // WHEN the record names an authorizer that is not on b's API (say, the first cell's,
    // pasted into CellAuthorizers)
    record_cell(&c, "b", &format!("{}:{first_auth}", c.ids[1])).await;
    // THEN b still waits, and the run goes on for the first cell: a record never stops it
    let named = routes::named_cells(&app).await.unwrap().unwrap();
    assert_eq!(named.cells.len(), 1);
    assert!(
        named.waiting_cells[0]
            .waits_for
            .contains("an authorizer it can use"),
        "{:?}",
        named.waiting_cells
    );
    routes::reconcile(&app, &sweep()).await.unwrap();
    // WHEN the hub team makes b's authorizer and the stack records it: no new function
    // configuration, the next run reads it
    let b_auth = authorizer_on(&c, &c.ids[1]).await;
    record_cell(&c, "b", &format!("{}:{b_auth}", c.ids[1])).await;
    routes::reconcile(&app, &sweep()).await.unwrap();
    // THEN the shop lives in b, governed by b's own authorizer, reached by one rule
    assert_eq!(c.status("shop").await.as_deref(), Some("exposed"));
    let governed = authorizers_under(&c, &c.ids[1], "/shop").await;
    assert!(!governed.is_empty());
    assert!(
        governed
            .iter()
            .all(|a| a.as_deref() == Some(b_auth.as_str())),
        "{governed:?}"
    );
    assert_eq!(c.rules().await.keys().collect::<Vec<_>>(), ["shop"]);
    // WHEN an update of the stack drops b's authorizer again (CellAuthorizers replaced)
    record_cell(&c, "b", &format!("{}:", c.ids[1])).await;
    let before = app.clients.calls.snapshot();
    let report = routes::reconcile(&app, &sweep()).await.unwrap();
    // THEN the shop stays where it lives, as it is: the first cell does not take it in, and
    // its rule stays; operators see it (ApisInIdleCells, its alarm)
    assert_eq!((report.cells_waiting, report.apis_in_idle_cells), (1, 1));
    assert!(!c.paths(0).await.iter().any(|p| p.starts_with("/shop")));
    assert!(c.paths(1).await.contains(&"/shop/items".to_string()));
    assert_eq!(c.rules().await.keys().collect::<Vec<_>>(), ["shop"]);
    let writes = app.clients.calls.snapshot().since(&before).write_ops();
    assert!(writes.is_empty(), "{writes:?}");
}

#[tokio::test]
async fn one_account_cannot_use_up_the_domains_routing_rules() {
    // GIVEN two cells of 20 resources, the first filled to 19 (the seed's 5 and C's big API
    // of 14), and each account allowed 2 routing rules
    let c = Cells::start_with(1, 20, &[("FRONTDOOR_ACCOUNT_RULE_QUOTA", "2")]).await;
    let big: Vec<String> = std::iter::once("/big".to_string())
        .chain((1..14).map(|i| format!("/big/r{i}")))
        .collect();
    let big: Vec<&str> = big.iter().map(String::as_str).collect();
    c.expose(&c.s.pets.c, "big", &big).await;
    c.sweep().await;
    assert_eq!(c.status("big").await.as_deref(), Some("exposed"));
    assert!(c.rules().await.is_empty(), "the first cell needs no rule");
    // WHEN B, hostile or merely eager, exposes four small APIs, each under a first segment
    // of its own (so each needs a rule to the second cell), and C exposes one
    for name in ["s1", "s2", "s3", "s4"] {
        let (first, second) = (format!("/{name}"), format!("/{name}/a"));
        c.expose(&c.s.pets.b, name, &[&first, &second]).await;
    }
    c.expose(&c.s.pets.c, "t1", &["/t1", "/t1/a"]).await;
    c.sweep().await;
    // THEN B holds its two rules and no more, its other two are refused for want of room (a
    // rule is part of a cell's room), though the second cell has resources to spare, and C
    // still gets its rule: the domain's rules are not one team's to take
    let rules = c.rules().await;
    let b_rules: Vec<&String> = rules.keys().filter(|s| s.starts_with('s')).collect();
    assert_eq!(b_rules.len(), 2, "{rules:?}");
    assert!(rules.contains_key("t1"), "{rules:?}");
    let mut refused = Vec::new();
    for name in ["s1", "s2", "s3", "s4"] {
        let status = c.status(name).await.unwrap_or_default();
        if status.starts_with("refused: no room") {
            refused.push(name);
        } else {
            assert_eq!(status, "exposed", "{name}");
        }
    }
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert_eq!(c.status("t1").await.as_deref(), Some("exposed"));
}

#[tokio::test]
async fn a_cell_in_the_middle_that_starts_to_wait_moves_nothing_of_the_cells_after_it() {
    // GIVEN three cells of 8 resources, the two named ones from the stack's records, B's
    // shop placed in b and C's market in c (each too big for the room left before it)
    let c = Cells::start(2, 8).await;
    let app = c.s.pets.app_with(&[
        ("FRONTDOOR_CELLS", c.ids[0].as_str()),
        ("FRONTDOOR_PUBLIC_DOMAIN", DOMAIN),
        ("FRONTDOOR_RESOURCE_QUOTA", "8"),
        ("FRONTDOOR_ACCOUNT_RESOURCE_QUOTA", "100"),
    ]);
    record_cell(&c, "b", &format!("{}:", c.ids[1])).await;
    record_cell(&c, "c", &format!("{}:", c.ids[2])).await;
    routes::reconcile(&app, &sweep()).await.unwrap();
    let five = |name: &str| -> Vec<String> {
        ["", "/a", "/b", "/c", "/d"]
            .iter()
            .map(|s| format!("/{name}{s}"))
            .collect()
    };
    let (shop, market) = (five("shop"), five("market"));
    let shop: Vec<&str> = shop.iter().map(String::as_str).collect();
    let market: Vec<&str> = market.iter().map(String::as_str).collect();
    c.expose(&c.s.pets.b, "shop", &shop).await;
    routes::reconcile(&app, &sweep()).await.unwrap();
    c.expose(&c.s.pets.c, "market", &market).await;
    routes::reconcile(&app, &sweep()).await.unwrap();
    assert!(c.paths(1).await.contains(&"/shop/a".to_string()));
    assert!(c.paths(2).await.contains(&"/market/a".to_string()));
    let rules = c.rules().await;
    assert_eq!(rules["shop"].0, c.ids[1]);
    assert_eq!(rules["market"].0, c.ids[2]);
    // WHEN b's record turns unusable: b waits, and c is now the second cell in use
    record_cell(&c, "b", "not an api id").await;
    let before = app.clients.calls.snapshot();
    routes::reconcile(&app, &sweep()).await.unwrap();
    // THEN nothing moves and nothing is written: b's shop stays as it is, c's market and
    // both rules too
    let writes = app.clients.calls.snapshot().since(&before).write_ops();
    assert!(writes.is_empty(), "{writes:?}");
    assert_eq!(c.status("shop").await.as_deref(), Some("exposed"));
    assert_eq!(c.status("market").await.as_deref(), Some("exposed"));
    assert_eq!(c.rules().await, rules);
    // WHEN b comes back
    record_cell(&c, "b", &format!("{}:", c.ids[1])).await;
    let before = app.clients.calls.snapshot();
    routes::reconcile(&app, &sweep()).await.unwrap();
    // THEN again nothing to write
    let writes = app.clients.calls.snapshot().since(&before).write_ops();
    assert!(writes.is_empty(), "{writes:?}");
    assert_eq!(c.rules().await, rules);
}
