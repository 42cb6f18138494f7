//! One writer on real Lambda (issue 13): route-sync consumes an SQS FIFO queue with one
//! message group, and coalesces deployments through one deduplicated "deploy" message
//! instead of reserved concurrency. The queue and a loop that drains it as Lambda's event
//! source mapping does are in `frontdoor_tests::fifo` (tests/README.md).
#![allow(clippy::unwrap_used)] // scenario helpers panic the test on a failed setup call

use aws_sdk_apigateway::types::EndpointType;
use frontdoor_tests::fifo::RouteQueue;
use frontdoor_tests::pets::{api_event, private_api, seed, seed_policy, ACCOUNT_B, ACCOUNT_C};
use frontdoor_tests::{event, Emulator};

#[tokio::test]
async fn fifty_apis_tagged_at_once_are_all_live_with_at_most_two_deployments() {
    // GIVEN the seed, its route queue, and 50 new APIs in spoke B
    let emulator = Emulator::start();
    let pets = seed(&emulator).await;
    let queue = RouteQueue::create(&pets.hub_sdk).await;
    let mut app = pets.app();
    app.config.route_queue_url = Some(queue.url.clone());
    let policy = seed_policy(&pets.hub.vpce_id);
    let mut apis = Vec::new();
    for i in 0..50 {
        let path = format!("/svc-{i:02}");
        let id = private_api(
            &pets.b,
            &format!("svc-{i:02}"),
            EndpointType::Private,
            Some(&policy),
            &[("expose", "true")],
            &[&path],
        )
        .await;
        apis.push((path, id));
    }

    // WHEN all 50 are tagged at once (EventBridge puts 50 events on the queue)
    for (_, id) in &apis {
        queue.send(&api_event("TagResource", ACCOUNT_B, id)).await;
    }
    let reports = queue.drain(&app, 40).await;

    // THEN every route is live
    let routes = pets.public_routes().await;
    for (path, id) in &apis {
        let target = routes.get(&(path.clone(), "GET".to_string()));
        assert!(target.is_some_and(|t| t.contains(id)), "{path}");
    }
    // AND the batches before the deploy message deployed nothing; it deployed once
    let deployments = app.clients.calls.snapshot().of("CreateDeployment");
    assert!(deployments <= 2, "{deployments} deployments");
    assert_eq!(deployments, 1);
    let batches = reports.len();
    let enqueued: usize = reports.iter().map(|r| r.deployments_enqueued).sum();
    assert!(
        batches >= 6,
        "50 events are at least 5 batches of 10, then the deploy message"
    );
    assert!(enqueued >= 1);
    // AND nothing reached the dead-letter queue
    assert_eq!(queue.dead_letters().await, 0);
    println!(
        "fifo: 50 APIs tagged at once -> {batches} batches, {enqueued} deploy messages asked \
         (deduplicated), {deployments} CreateDeployment, 0 dead letters"
    );
}

#[tokio::test]
async fn a_storm_of_1000_events_is_one_deployment() {
    let emulator = Emulator::start();
    let pets = seed(&emulator).await;
    let queue = RouteQueue::create(&pets.hub_sdk).await;
    let mut app = pets.app();
    app.config.route_queue_url = Some(queue.url.clone());

    // WHEN 1000 distinct events about the seed's APIs and sweeps arrive (EventBridge gives
    // each its own id, so content-based deduplication keeps them all)
    let mut storm = Vec::new();
    for i in 0..1000 {
        let mut e = match i % 4 {
            0 => api_event("TagResource", ACCOUNT_B, &pets.cats),
            1 => api_event("CreateDeployment", ACCOUNT_C, &pets.dogs),
            2 => api_event("UpdateStage", ACCOUNT_B, &pets.cats),
            _ => event("schedule.json", ""),
        };
        e["id"] = format!("storm-{i}").into();
        storm.push(e);
    }
    queue.send_all(&storm).await;
    let reports = queue.drain(&app, 150).await;

    // THEN the seed is live, deployed once, and nothing is left or dead
    let routes = pets.public_routes().await;
    assert!(routes.contains_key(&("/cats".into(), "GET".into())));
    assert!(routes.contains_key(&("/dogs".into(), "GET".into())));
    let deployments = app.clients.calls.snapshot().of("CreateDeployment");
    assert_eq!(deployments, 1, "{} batches", reports.len());
    assert_eq!(queue.dead_letters().await, 0);
    println!(
        "fifo: storm of 1000 events -> {} batches, {deployments} CreateDeployment",
        reports.len()
    );
}

#[tokio::test]
async fn from_the_queue_a_refused_deployment_leaves_the_waiting_apis_pending() {
    use frontdoor_tests::pets::resource_ids;
    // GIVEN the route queue, and a hand-made POST /health with no integration (AWS refuses
    // to deploy the stage: 400 "No integration defined for method")
    let emulator = Emulator::start();
    let pets = seed(&emulator).await;
    let queue = RouteQueue::create(&pets.hub_sdk).await;
    let mut app = pets.app();
    app.config.route_queue_url = Some(queue.url.clone());
    let gw = aws_sdk_apigateway::Client::new(&pets.hub_sdk);
    let ids = resource_ids(&pets.hub_sdk, &pets.public_api_id).await;
    gw.put_method()
        .rest_api_id(&pets.public_api_id)
        .resource_id(&ids["/health"])
        .http_method("POST")
        .authorization_type("NONE")
        .send()
        .await
        .unwrap();
    let status = |published: &std::collections::BTreeMap<String, String>, name: &str| {
        frontdoor_tests::scenario::status_in(published, name).unwrap_or_default()
    };

    // WHEN both seed APIs are tagged: their batch writes and enqueues the deploy message,
    // whose batch is refused
    queue
        .send_all(&[
            api_event("TagResource", ACCOUNT_B, &pets.cats),
            api_event("TagResource", ACCOUNT_C, &pets.dogs),
        ])
        .await;
    let reports = queue.drain(&app, 10).await;

    // THEN both say so, though the deploy message's batch wrote neither
    let published = pets.published().await;
    for name in ["private-cats", "private-dogs"] {
        assert_eq!(
            status(&published, name),
            "pending deployment: No integration defined for method",
            "{reports:?}"
        );
    }
    assert_eq!(queue.dead_letters().await, 0);

    // WHEN the method gets its integration and the next sweep comes through the queue
    gw.put_integration()
        .rest_api_id(&pets.public_api_id)
        .resource_id(&ids["/health"])
        .http_method("POST")
        .r#type(aws_sdk_apigateway::types::IntegrationType::Mock)
        .send()
        .await
        .unwrap();
    queue.send(&event("schedule.json", "")).await;
    queue.drain(&app, 10).await;
    // THEN the owed deployment is made and both turn exposed
    let published = pets.published().await;
    for name in ["private-cats", "private-dogs"] {
        assert_eq!(status(&published, name), "exposed");
    }
    assert_eq!(app.clients.calls.snapshot().of("CreateDeployment"), 2);
}
