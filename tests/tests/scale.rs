//! Organisation scale (issue 14, part 1): spoke reads run concurrently, bounded per account
//! and overall, and the plan is the very plan a sequential read gives.
#![allow(clippy::unwrap_used)] // scenario helpers panic the test on a failed setup call

use aws_sdk_apigateway::types::EndpointType;
use frontdoor_tests::pets::{hub_account, private_api, seed, seed_policy, ACCOUNT_B, ACCOUNT_C};
use frontdoor_tests::Emulator;
use shared::routes::{self, desired::Context, Scope};
use shared::{App, RouteSyncConfig};

/// Ten more spoke accounts, three APIs each: two exposed (one route each), one not.
const ACCOUNTS: usize = 10;

#[tokio::test]
async fn concurrent_reads_make_the_same_plan_as_sequential_ones() {
    // GIVEN the seed and ten more spokes
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
    let app = |spokes: &str, per_account: &str| {
        let allowed = accounts.join(",");
        let config = RouteSyncConfig::from_lookup(|name| match name {
            "FRONTDOOR_VPC_ENDPOINT_ID" => Some(pets.hub.vpce_id.clone()),
            "FRONTDOOR_PUBLIC_API_ID" => Some(pets.public_api_id.clone()),
            "FRONTDOOR_VPC_LINK_ID" => Some(pets.vpc_link_id.clone()),
            "FRONTDOOR_ALLOWED_ACCOUNTS" => Some(allowed.clone()),
            "FRONTDOOR_SPOKE_CONCURRENCY" => Some(spokes.to_string()),
            "FRONTDOOR_ACCOUNT_CONCURRENCY" => Some(per_account.to_string()),
            _ => None,
        })
        .unwrap();
        App::new(config, &pets.hub_sdk).in_account(hub_account())
    };
    let sequential = app("1", "1");
    let concurrent = app("8", "2");
    let sweep = Scope {
        sweep: true,
        apis: Default::default(),
    };

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
