//! Issue 22: what AWS would do differently. The public stage's deployment is observed, not
//! assumed: a stage pointed at an older deployment (a rollback by hand, a stack update) is
//! deployed again by the next sweep, once, and the sweep after writes nothing.
#![allow(clippy::unwrap_used)] // scenario helpers panic the test on a failed setup call

use frontdoor_tests::scenario::Scenario;

#[tokio::test]
async fn a_stage_pointed_at_an_older_deployment_is_deployed_again_once() {
    // GIVEN an older deployment of the public API, made by hand before frontdoor routed
    // anything (only the hand-made /health), then the seed routed
    let s = Scenario::start().await;
    let gw = aws_sdk_apigateway::Client::new(&s.pets.hub_sdk);
    let api = s.pets.public_api_id.as_str();
    let older = gw
        .create_deployment()
        .rest_api_id(api)
        .stage_name("old")
        .description("older: before frontdoor's routes")
        .send()
        .await
        .unwrap()
        .id()
        .unwrap()
        .to_string();
    s.sweep().await;
    let deployed = || async {
        gw.get_stage()
            .rest_api_id(api)
            .stage_name("prd")
            .send()
            .await
            .unwrap()
            .deployment_id()
            .unwrap()
            .to_string()
    };
    // WHEN someone points the stage at the older deployment (a rollback by hand)
    gw.update_stage()
        .rest_api_id(api)
        .stage_name("prd")
        .patch_operations(
            aws_sdk_apigateway::types::PatchOperation::builder()
                .op(aws_sdk_apigateway::types::Op::Replace)
                .path("/deploymentId")
                .value(&older)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(deployed().await, older);
    // THEN the next sweep sees the stage serves less than frontdoor made and deploys, once
    let report = s.sweep().await;
    assert_eq!(report.deployments, 1, "{report:?}");
    let now = deployed().await;
    assert_ne!(now, older);
    let served = gw
        .get_deployment()
        .rest_api_id(api)
        .deployment_id(&now)
        .embed("apisummary")
        .send()
        .await
        .unwrap();
    assert!(
        served
            .api_summary()
            .and_then(|m| m.get("/dogs"))
            .is_some_and(|v| v.contains_key("GET")),
        "{served:?}"
    );
    // AND the sweep after that writes nothing
    let before = s.writes().len();
    s.sweep().await;
    assert_eq!(s.writes()[before..].to_vec(), Vec::<String>::new());
}
