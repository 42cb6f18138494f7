//! Organisation scale (issue 14, part 1): spoke reads run concurrently, bounded per account
//! and overall, and the plan is the very plan a sequential read gives.
#![allow(clippy::unwrap_used)] // scenario helpers panic the test on a failed setup call

use aws_sdk_apigateway::types::EndpointType;
use frontdoor_tests::pets::{hub_account, private_api, seed, seed_policy, ACCOUNT_B, ACCOUNT_C};
use frontdoor_tests::Emulator;
use shared::routes::{self, desired::Context, Deploy, Scope};
use shared::{App, RouteSyncConfig};

/// Ten more spoke accounts, three APIs each: two exposed (one route each), one not.
const ACCOUNTS: usize = 10;

struct World {
    _emulator: Emulator,
    pets: frontdoor_tests::pets::Pets,
    accounts: Vec<String>,
}

/// The seed and ten more spokes.
async fn world() -> World {
    let emulator = Emulator::start();
    let pets = seed(&emulator).await;
    let policy = seed_policy(&pets.hub.vpce_id);
    let mut accounts = vec![ACCOUNT_B.to_string(), ACCOUNT_C.to_string()];
    for a in 0..ACCOUNTS {
        let account = format!("4444444444{a:02}");
        let sdk = emulator.account_sdk_config(&account).await;
        for i in 0..3 {
            let tags: &[(&str, &str)] = if i < 2 { &[("expose", "true")] } else { &[] };
            let path = format!("/a{a:02}-{i}");
            private_api(
                &sdk,
                &format!("api-{a:02}-{i}"),
                EndpointType::Private,
                Some(&policy),
                tags,
                &[&path],
            )
            .await;
        }
        accounts.push(account);
    }
    World {
        _emulator: emulator,
        pets,
        accounts,
    }
}

impl World {
    fn app(&self, spokes: &str, per_account: &str) -> App<RouteSyncConfig> {
        let (pets, accounts) = (&self.pets, &self.accounts);
        let allowed = accounts.join(",");
        let config = RouteSyncConfig::from_lookup(|name| match name {
            "FRONTDOOR_VPC_ENDPOINT_ID" => Some(pets.hub.vpce_id.clone()),
            "FRONTDOOR_PUBLIC_API_ID" => Some(pets.public_api_id.clone()),
            "FRONTDOOR_VPC_LINK_ID" => Some(pets.vpc_link_id.clone()),
            "FRONTDOOR_ALLOWED_ACCOUNTS" => Some(allowed.clone()),
            "FRONTDOOR_SPOKE_CONCURRENCY" => Some(spokes.to_string()),
            "FRONTDOOR_ACCOUNT_CONCURRENCY" => Some(per_account.to_string()),
            "FRONTDOOR_WRITE_PACING" => Some("off".into()),
            _ => None,
        })
        .unwrap();
        App::new(config, &pets.hub_sdk).in_account(hub_account())
    }
}

fn sweep() -> Scope {
    Scope {
        sweep: true,
        apis: Default::default(),
        owed: false,
    }
}

#[tokio::test]
async fn concurrent_reads_make_the_same_plan_as_sequential_ones() {
    // GIVEN the seed and ten more spokes
    let w = world().await;
    let sequential = w.app("1", "1");
    let concurrent = w.app("8", "2");
    let sweep = sweep();

    // WHEN both observe and plan the first sweep
    let seen_one_by_one = routes::observe(&sequential, &sweep).await.unwrap();
    let seen_at_once = routes::observe(&concurrent, &sweep).await.unwrap();
    // THEN they saw the same world and plan the same writes, in the same order
    assert_eq!(seen_one_by_one, seen_at_once);
    let ctx = Context::from_app(&concurrent);
    let plan = routes::plan(&seen_at_once, &ctx);
    assert_eq!(routes::plan(&seen_one_by_one, &ctx), plan);
    assert_eq!(plan.put_methods().count(), 2 * ACCOUNTS + 3);
    // AND after the concurrent app applies it, a sequential sweep plans nothing
    let report = routes::reconcile(&concurrent, &sweep).await.unwrap();
    assert_eq!(report.deployments, 1);
    let again = routes::plan(&routes::observe(&sequential, &sweep).await.unwrap(), &ctx);
    assert!(again.is_noop(), "{again:?}");
}

#[tokio::test]
async fn a_sweep_that_runs_out_of_time_resumes_where_it_stopped() {
    // GIVEN 12 spoke accounts and a budget that lets a sweep start 4 of them
    let w = world().await;
    let app = w.app("2", "2");
    let budget = || {
        let started = std::sync::atomic::AtomicUsize::new(1);
        routes::Budget::from_fn(move || {
            started.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 4
        })
    };
    let exposed = |routes: &std::collections::BTreeMap<(String, String), String>| {
        routes.keys().filter(|(p, _)| p.starts_with("/a")).count()
    };
    // WHEN three sweeps run out of time in turn
    let mut deferred = Vec::new();
    let mut live = Vec::new();
    for _ in 0..3 {
        let report = routes::reconcile_with(&app, &sweep(), Deploy::Now, &budget())
            .await
            .unwrap();
        deferred.push(report.accounts_deferred);
        live.push(exposed(&w.pets.public_routes().await));
    }
    // THEN each covered the next third of the world, nothing it did not read was removed,
    // and the third sweep reached every account
    assert_eq!(deferred, vec![8, 4, 0]);
    // (B and C, the seed's, sort first: the ten new accounts fill in over the three sweeps)
    assert_eq!(live, vec![4, 12, 20]);
    // AND an unlimited sweep afterwards has nothing left to do
    let again = routes::reconcile(&app, &sweep()).await.unwrap();
    assert_eq!(again.writes, 0, "{again:?}");
}
