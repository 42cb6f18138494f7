//! Proof under faults: injected AWS errors, event storms, concurrency, crashes. Bounded by
//! default (fixed seeds, a few minutes in all); `FRONTDOOR_FULL=1` runs the full sizes
//! (`./scripts/reliability`). Each suite prints its figures; RELIABILITY.md has the table.
#![allow(clippy::unwrap_used)] // scenario helpers panic the test on a failed setup call

use std::collections::{BTreeMap, BTreeSet};

use frontdoor_tests::faults::{Exchange, Fault, FaultProxy, Service};
use frontdoor_tests::pets::{api_event, seed, sqs_batch, Pets, ACCOUNT_B, ACCOUNT_C};
use frontdoor_tests::{
    endpoint_ips, event, on_443, registered, sdk_config_at, target_sync_app, Emulator,
};
use shared::entry::{route_sync_payload, target_sync_payload, Outcome};
use shared::{App, RouteSyncConfig, TargetSyncConfig};

fn full() -> bool {
    std::env::var_os("FRONTDOOR_FULL").is_some()
}

/// How many runs of one suite go at once (`FRONTDOOR_PARALLEL`, default 10 full and 4
/// bounded). Each run has its own emulator, proxy and clients, so they share nothing; most of
/// a fault run is the SDK's adaptive retry waiting out injected throttling (the production
/// retry configuration, kept), which overlaps well even on 2 cores.
fn parallel() -> usize {
    std::env::var("FRONTDOOR_PARALLEL")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(if full() { 10 } else { 4 })
}

/// Runs `run(i)` for each item, at most [`parallel`] at once, outputs in item order. They
/// share this task: their time is spent waiting on their emulators and on retry backoff, and
/// a run that panics fails the test with its own message.
async fn each_in_parallel<I, T, F, Fut>(items: I, run: F) -> Vec<T>
where
    I: IntoIterator,
    F: Fn(I::Item) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    use futures::stream::{self, StreamExt};
    stream::iter(items)
        .map(run)
        .buffered(parallel())
        .collect()
        .await
}

/// A target someone registered by hand; it must survive everything.
const FOREIGN: &str = "10.0.9.9";

/// The seed's expected public routes: (path, verb) -> integration uri or MOCK.
fn expected_routes(p: &Pets) -> BTreeMap<(String, String), String> {
    let url = |api: &str| format!("https://{api}.execute-api.us-east-1.amazonaws.com/prd");
    [
        (("/cats", "GET"), format!("{}/cats", url(&p.cats))),
        (
            ("/cats/{id}", "GET"),
            format!("{}/cats/{{id}}", url(&p.cats)),
        ),
        (("/dogs", "GET"), format!("{}/dogs", url(&p.dogs))),
        (("/health", "GET"), "MOCK".to_string()),
    ]
    .into_iter()
    .map(|((a, b), c)| ((a.to_string(), b.to_string()), c))
    .collect()
}

struct World {
    emulator: Emulator,
    pets: Pets,
}

async fn world() -> World {
    // Starting the server blocks until it answers: off the runtime's two workers.
    let emulator = tokio::task::spawn_blocking(Emulator::start).await.unwrap();
    let pets = seed(&emulator).await;
    aws_sdk_elasticloadbalancingv2::Client::new(&pets.hub_sdk)
        .register_targets()
        .target_group_arn(&pets.hub.target_group_arn)
        .targets(
            aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                .id(FOREIGN)
                .port(443)
                .build(),
        )
        .send()
        .await
        .unwrap();
    World { emulator, pets }
}

/// One spoke of these suites exposes a 200-route API (100 resources): more than the default
/// share of one account (a quarter of 300), so its share is the whole quota here.
const ONE_BIG_TENANT: &[(&str, &str)] = &[("FRONTDOOR_ACCOUNT_RESOURCE_QUOTA", "300")];

impl World {
    async fn apps_at(&self, url: &str) -> (App<TargetSyncConfig>, App<RouteSyncConfig>) {
        let sdk = sdk_config_at(url).await;
        let targets = target_sync_app(&sdk, &self.pets.hub);
        let routes = App::new(self.pets.app_with(ONE_BIG_TENANT).config, &sdk)
            .in_account(frontdoor_tests::pets::hub_account());
        (targets, routes)
    }

    /// Writes that reach AWS in one fault-free route sweep through a proxy.
    async fn writes_of_one_sweep(&self) -> usize {
        let proxy = FaultProxy::start(&self.emulator.endpoint_url(), 0, 0.0);
        let (_, routes) = self.apps_at(&proxy.endpoint_url()).await;
        route_sync_payload(&routes, &event("schedule.json", ""))
            .await
            .unwrap();
        proxy.log().iter().filter(|x| x.write).count()
    }

    /// A route sweep through a proxy that lets `k` writes through and refuses everything
    /// after, as if the process died: the proxy (to lift the crash), the app, the outcome.
    async fn sweep_cut_after(
        &self,
        k: usize,
    ) -> (
        FaultProxy,
        App<RouteSyncConfig>,
        shared::Result<Outcome<shared::routes::Report>>,
    ) {
        let proxy = FaultProxy::start(&self.emulator.endpoint_url(), k as u64, 0.0);
        let (_, routes) = self.apps_at(&proxy.endpoint_url()).await;
        proxy.crash_after_writes(Some(k));
        let crashed = route_sync_payload(&routes, &event("schedule.json", "")).await;
        (proxy, routes, crashed)
    }

    /// A further route sweep through `routes` writes nothing.
    async fn assert_next_sweep_writes_nothing(routes: &App<RouteSyncConfig>, label: &str) {
        let before = routes.clients.calls.snapshot();
        route_sync_payload(routes, &event("schedule.json", ""))
            .await
            .unwrap();
        assert_eq!(
            routes.clients.calls.snapshot().since(&before).writes(),
            0,
            "{label}"
        );
    }

    /// One route sweep through `routes`, then one target sweep straight to the emulator.
    async fn sweep_both(&self, routes: &App<RouteSyncConfig>) {
        route_sync_payload(routes, &event("schedule.json", ""))
            .await
            .unwrap();
        let targets = target_sync_app(&self.pets.hub_sdk, &self.pets.hub);
        target_sync_payload(&targets, &event("schedule.json", &self.pets.hub.vpce_id))
            .await
            .unwrap();
    }

    /// The whole end state matches the fault-free one; nothing foreign was touched.
    async fn assert_converged(&self, label: &str) {
        assert_eq!(
            self.pets.public_routes().await,
            expected_routes(&self.pets),
            "{label}: routes"
        );
        let mut want = on_443(&endpoint_ips(&self.pets.hub_sdk, &self.pets.hub.vpce_id).await);
        want.insert(format!("{FOREIGN}:443"));
        assert_eq!(
            registered(&self.pets.hub_sdk, &self.pets.hub.target_group_arn).await,
            want,
            "{label}: targets"
        );
        let published = self.pets.published().await;
        for name in ["private-cats", "private-dogs"] {
            assert_eq!(
                published
                    .get(&format!("/frontdoor/apis/{name}/status"))
                    .map(String::as_str),
                Some("exposed"),
                "{label}: {name}"
            );
        }
        let paths = self.pets.public_paths().await;
        assert_eq!(
            paths.len(),
            5,
            "{label}: no duplicate or stray resources: {paths:?}"
        );
    }

    /// Every frontdoor-made public method and resource is in some registry record.
    async fn assert_registry_covers(&self, label: &str) {
        let app = self.pets.app_with(ONE_BIG_TENANT);
        let observed = shared::routes::observe(&app, &shared::routes::Scope::default())
            .await
            .unwrap();
        let claimed = observed.claimed_methods();
        let made = observed.created_resources();
        for r in &observed.public {
            if r.path == "/" || r.path == "/health" {
                continue;
            }
            assert!(
                made.contains(&r.path),
                "{label}: resource {} made but not recorded",
                r.path
            );
            for verb in r.methods.keys() {
                assert!(
                    claimed.contains(&(r.path.clone(), verb.clone())),
                    "{label}: {verb} {} not recorded",
                    r.path
                );
            }
        }
    }
}

/// Runs a handler like Lambda's async invoke: the first try plus up to two retries on Err.
/// Returns how many tries failed.
async fn with_lambda_retries<F, Fut, T>(mut run: F) -> usize
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, shared::Error>>,
{
    let mut failed = 0;
    for _ in 0..3 {
        match run().await {
            Ok(_) => return failed,
            Err(e) => {
                assert!(e.is_transient(), "a fault must never look permanent: {e}");
                failed += 1;
            }
        }
    }
    failed
}

/// The target group membership through the proxy's record of writes that reached AWS:
/// returns how many times a deregistration left it empty.
fn empty_group_events(log: &[Exchange], initial: &BTreeSet<String>) -> usize {
    let mut members = initial.clone();
    let mut empties = 0;
    for x in log {
        let reached = !matches!(
            x.fault,
            Some(Fault::ResetBefore | Fault::Throttle | Fault::InternalError | Fault::Unavailable)
        );
        if x.service != Service::Elbv2 || !reached {
            continue;
        }
        let ids: Vec<String> = x
            .body
            .split('&')
            .filter(|kv| kv.starts_with("Targets.member.") && kv.contains(".Id="))
            .filter_map(|kv| kv.split_once('=').map(|(_, v)| v.to_string()))
            .collect();
        match x.action.as_str() {
            "RegisterTargets" => members.extend(ids),
            "DeregisterTargets" => {
                for id in ids {
                    members.remove(&id);
                }
                if members.is_empty() {
                    empties += 1;
                }
            }
            _ => {}
        }
    }
    empties
}

/// What one seeded fault run saw.
#[derive(Debug, Default)]
struct FaultRun {
    requests: usize,
    faults: usize,
    retried: bool,
    needed_sweep: bool,
    empties: usize,
}

/// One seeded run: the seed scenario, a hand-registered target, 30% faults on both handlers
/// with Lambda's retries, then one fault-free sweep; asserts the end state.
async fn fault_run(seed: u64) -> FaultRun {
    // GIVEN the seed scenario, a hand-registered target, and 30% faults
    let w = world().await;
    let proxy = FaultProxy::start(&w.emulator.endpoint_url(), seed, 0.3);
    let (targets, routes) = w.apps_at(&proxy.endpoint_url()).await;
    let vpce = w.pets.hub.vpce_id.clone();
    let modify = event("ec2-modify-vpc-endpoint.json", &vpce);
    let sweep = event("schedule.json", "");
    // WHEN the events arrive with Lambda's retries
    let t_fail = with_lambda_retries(|| target_sync_payload(&targets, &modify)).await;
    let r_fail = with_lambda_retries(|| route_sync_payload(&routes, &sweep)).await;
    // AND then one sweep (faults over)
    proxy.set_rate(0.0);
    target_sync_payload(&targets, &event("schedule.json", &vpce))
        .await
        .unwrap();
    route_sync_payload(&routes, &event("schedule.json", ""))
        .await
        .unwrap();
    // THEN the end state is the fault-free one, and nothing foreign moved
    w.assert_converged(&format!("seed {seed}")).await;
    w.assert_registry_covers(&format!("seed {seed}")).await;
    let log = proxy.log();
    FaultRun {
        requests: log.len(),
        faults: log.iter().filter(|x| x.fault.is_some()).count(),
        retried: t_fail > 0 || r_fail > 0,
        needed_sweep: t_fail == 3 || r_fail == 3,
        empties: empty_group_events(&log, &[FOREIGN.to_string()].into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_faults_at_30_percent_lose_nothing_and_touch_nothing_foreign() {
    let runs: u64 = if full() { 100 } else { 8 };
    let started = std::time::Instant::now();
    let all = each_in_parallel(0..runs, fault_run).await;
    let sum = |f: fn(&FaultRun) -> usize| all.iter().map(f).sum::<usize>();
    let empties = sum(|r| r.empties);
    assert_eq!(empties, 0, "the target group went empty");
    println!(
        "faults: {runs} runs ({} at once, {:.0} s), {} requests, {} faults injected, {} runs needed a Lambda retry, \
         {} needed the sweep, {runs}/{runs} converged, 0 foreign touched, 0 lost, {empties} empty-group moments",
        parallel(),
        started.elapsed().as_secs_f64(),
        sum(|r| r.requests),
        sum(|r| r.faults),
        sum(|r| usize::from(r.retried)),
        sum(|r| usize::from(r.needed_sweep)),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storm_of_duplicated_reordered_events_converges_with_few_deployments() {
    let total = if full() { 1000 } else { 300 };
    let w = world().await;
    let app = w.pets.app_with(ONE_BIG_TENANT);
    let kinds = [
        "CreateDeployment",
        "TagResource",
        "UpdateStage",
        "CreateStage",
    ];
    let mut rng: u64 = 0x5eed_0001;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let events: Vec<_> = (0..total)
        .map(|i| {
            let call = kinds[(next() % 4) as usize];
            if next() % 2 == 0 {
                api_event(call, ACCOUNT_B, &w.pets.cats)
            } else {
                let mut e = api_event(call, ACCOUNT_C, &w.pets.dogs);
                e["id"] = serde_json::json!(format!("dup-{}", i % 7));
                e
            }
        })
        .collect();
    let mut batches = 0;
    let mut changed = 0;
    let mut at = 0;
    while at < events.len() {
        let size = 1 + (next() % 100) as usize;
        let batch = &events[at..(at + size).min(events.len())];
        at += batch.len();
        batches += 1;
        match route_sync_payload(&app, &sqs_batch(batch)).await.unwrap() {
            Outcome::Reconciled(r) if r.writes > 0 => changed += 1,
            _ => {}
        }
    }
    let deployments = app.clients.calls.snapshot().of("CreateDeployment");
    assert!(
        deployments as usize <= changed,
        "{deployments} deployments for {changed} changing batches"
    );
    let targets = target_sync_app(&w.pets.hub_sdk, &w.pets.hub);
    target_sync_payload(&targets, &event("schedule.json", &w.pets.hub.vpce_id))
        .await
        .unwrap();
    w.assert_converged("storm").await;
    println!("storm: {total} events in {batches} batches (1-100), {changed} batches changed something, {deployments} deployments, end state = clean pass");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_concurrent_route_syncs_leave_one_complete_state() {
    let w = world().await;
    let apps: Vec<_> = (0..8).map(|_| w.pets.app_with(ONE_BIG_TENANT)).collect();
    let sweep = event("schedule.json", "");
    let runs = apps.iter().map(|app| route_sync_payload(app, &sweep));
    let results = futures::future::join_all(runs).await;
    let failed = results.iter().filter(|r| r.is_err()).count();
    for r in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(r.is_transient(), "a race must never look permanent: {r}");
    }
    // A racing writer that lost is retried by its queue: one more sweep.
    w.sweep_both(&apps[0]).await;
    w.assert_converged("concurrency").await;
    w.assert_registry_covers("concurrency").await;
    let deployments: u64 = apps
        .iter()
        .map(|a| a.clients.calls.snapshot().of("CreateDeployment"))
        .sum();
    println!("concurrency: 8 route-syncs at once, {failed} failed and were retried, {deployments} deployments, no duplicate resources");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_after_every_k_writes_converges_and_never_forgets() {
    // The fault-free seed reconcile makes this many writes through the proxy.
    let n = world().await.writes_of_one_sweep().await;
    let ks: Vec<usize> = if full() {
        (0..n).collect()
    } else {
        (0..n).step_by(3).collect()
    };
    each_in_parallel(ks.clone(), move |k| async move {
        // GIVEN a run that dies after k writes
        let w = world().await;
        let (proxy, routes, crashed) = w.sweep_cut_after(k).await;
        assert!(
            crashed
                .as_ref()
                .map_or_else(|e| e.is_transient(), |_| k >= n),
            "k={k}: {crashed:?}"
        );
        // THEN the registry already covers everything made
        w.assert_registry_covers(&format!("k={k} after the crash"))
            .await;
        // WHEN the next run comes (the retry or the sweep)
        proxy.crash_after_writes(None);
        w.sweep_both(&routes).await;
        // THEN it converges, and a further sweep writes nothing
        w.assert_converged(&format!("k={k}")).await;
        World::assert_next_sweep_writes_nothing(&routes, &format!("k={k}")).await;
    })
    .await;
    println!("crash: route sync of {n} writes cut after k in {ks:?}: all converged, registry never behind");
}

/// An API of 200 routes (100 resources with GET and POST) in spoke B, deployed, exposed.
async fn with_many_routes(w: &World) -> String {
    use frontdoor_tests::pets::{add_resource, deploy, private_api, seed_policy};
    let policy = seed_policy(&w.pets.hub.vpce_id);
    let paths: Vec<String> = (0..100).map(|i| format!("/many/item-{i:03}")).collect();
    let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    let api = private_api(
        &w.pets.b,
        "many",
        aws_sdk_apigateway::types::EndpointType::Private,
        Some(&policy),
        &[("expose", "true")],
        &refs,
    )
    .await;
    for p in &paths {
        add_resource(&w.pets.b, &api, p, "POST").await;
    }
    deploy(&w.pets.b, &api).await;
    api
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_inside_a_200_route_record_never_forgets_an_owned_route() {
    // The fault-free first sweep of the seed plus a 200-route API: its record is split over
    // several parameters, widened before and narrowed after (tests/README.md).
    let n = {
        let w = world().await;
        with_many_routes(&w).await;
        w.writes_of_one_sweep().await
    };
    // The widening at the start, the middle, and the narrowing at the end (each k once: the
    // two ranges meet at the end).
    let ks: Vec<usize> = if full() {
        let ks: BTreeSet<usize> = (0..n).step_by(7).chain(n.saturating_sub(12)..n).collect();
        ks.into_iter().collect()
    } else {
        [0, 2, n / 2, n - 5, n - 2]
            .into_iter()
            .filter(|k| *k < n)
            .collect()
    };
    each_in_parallel(ks.clone(), move |k| async move {
        // GIVEN a run that dies after k writes
        let w = world().await;
        let api = with_many_routes(&w).await;
        let (proxy, routes, crashed) = w.sweep_cut_after(k).await;
        assert!(crashed.is_err(), "k={k}: {crashed:?}");
        // THEN every public method and resource frontdoor made is in the registry
        w.assert_registry_covers(&format!("200 routes, k={k} after the crash"))
            .await;
        // WHEN the next run comes, THEN the API is routed whole and a further run writes
        // nothing
        proxy.crash_after_writes(None);
        route_sync_payload(&routes, &event("schedule.json", ""))
            .await
            .unwrap();
        let live = w.pets.public_routes().await;
        let many = live.values().filter(|uri| uri.contains(&api)).count();
        assert_eq!(many, 200, "k={k}");
        World::assert_next_sweep_writes_nothing(&routes, &format!("k={k}")).await;
    })
    .await;
    println!("crash: a 200-route API's sweep of {n} writes cut after k in {ks:?}: all converged, registry never behind");
}
