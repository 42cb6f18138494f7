//! Issue 22: what AWS would do differently. The public stage's deployment is observed, not
//! assumed: a stage pointed at an older deployment (a rollback by hand, a stack update) is
//! deployed again by the next sweep, once, and the sweep after writes nothing.
#![allow(clippy::unwrap_used)] // scenario helpers panic the test on a failed setup call

use frontdoor_tests::scenario::Scenario;

#[tokio::test]
async fn a_stage_pointed_at_an_older_deployment_is_deployed_again_once() {
    // GIVEN the seed routed, with the deployment that made the stage noted
    let s = Scenario::start().await;
    let gw = aws_sdk_apigateway::Client::new(&s.pets.hub_sdk);
    let stage = || async {
        gw.get_stage()
            .rest_api_id(&s.pets.public_api_id)
            .stage_name("prd")
            .send()
            .await
            .unwrap()
    };
    s.sweep().await;
    // (an older deployment: made by hand while GET /dogs was missing from the tree)
    let dogs_id = frontdoor_tests::pets::resource_ids(&s.pets.hub_sdk, &s.pets.public_api_id).await
        ["/dogs"]
        .clone();
    let dogs_method = gw
        .get_method()
        .rest_api_id(&s.pets.public_api_id)
        .resource_id(&dogs_id)
        .http_method("GET")
        .send()
        .await
        .unwrap();
    gw.delete_method()
        .rest_api_id(&s.pets.public_api_id)
        .resource_id(&dogs_id)
        .http_method("GET")
        .send()
        .await
        .unwrap();
    let older = gw
        .create_deployment()
        .rest_api_id(&s.pets.public_api_id)
        .description("older: without GET /dogs")
        .send()
        .await
        .unwrap()
        .id()
        .unwrap()
        .to_string();
    // (and the working tree put back as frontdoor made it)
    let i = dogs_method.method_integration().unwrap();
    gw.put_method()
        .rest_api_id(&s.pets.public_api_id)
        .resource_id(&dogs_id)
        .http_method("GET")
        .authorization_type("NONE")
        .send()
        .await
        .unwrap();
    gw.put_integration()
        .rest_api_id(&s.pets.public_api_id)
        .resource_id(&dogs_id)
        .http_method("GET")
        .set_type(i.r#type().cloned())
        .integration_http_method("GET")
        .uri(i.uri().unwrap())
        .set_connection_type(i.connection_type().cloned())
        .connection_id(i.connection_id().unwrap())
        .set_request_parameters(i.request_parameters().cloned())
        .send()
        .await
        .unwrap();
    // WHEN someone points the stage at the older deployment (a rollback by hand)
    gw.update_stage()
        .rest_api_id(&s.pets.public_api_id)
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
    assert_eq!(stage().await.deployment_id(), Some(older.as_str()));
    // THEN the next sweep sees the stage serves less than frontdoor made and deploys, once
    let report = s.sweep().await;
    assert_eq!(report.deployments, 1, "{report:?}");
    let now = stage().await.deployment_id().unwrap().to_string();
    assert_ne!(now, older);
    let served = gw
        .get_deployment()
        .rest_api_id(&s.pets.public_api_id)
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
