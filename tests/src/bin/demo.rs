//! `demo`: frontdoor on the emulator, end to end, for a person to watch. Starts moto on
//! loopback, builds the seed scenario (hub: VPC, three subnets, execute-api endpoint in two,
//! internal NLB, IP target group, VPC link, `public-pets` with a hand-made `/health`; spoke B
//! `private-cats`, spoke C `private-dogs`), then runs the real `target-sync` and `route-sync`
//! binaries under a local Lambda Runtime API. Prints the targets, the public route tree and
//! the SSM parameters, and stops everything it started.
#![allow(clippy::print_stdout, clippy::unwrap_used)] // a terminal program; setup failures panic with the SDK error

use std::time::{Duration, Instant};

use aws_sdk_apigateway::types::EndpointType;

use frontdoor_tests::pets::{self, Pets, ACCOUNT_B};
use frontdoor_tests::runtime_api::{Answer, FunctionProcess, RuntimeApi};
use frontdoor_tests::{aws_env, endpoint_ips, event, registered, Emulator, Hub};

#[tokio::main]
async fn main() {
    let started = Instant::now();
    let binary = sibling("target-sync");
    let route_binary = sibling("route-sync");
    println!("==> starting the emulator (moto) on 127.0.0.1");
    let emulator = Emulator::start();
    let sdk = emulator.sdk_config().await;
    println!(
        "==> building the seed: hub (VPC, endpoint, NLB, target group, VPC link, public-pets),"
    );
    println!(
        "    spoke {ACCOUNT_B} private-cats, spoke {} private-dogs",
        pets::ACCOUNT_C
    );
    let pets = pets::seed(&emulator).await;
    let hub = pets.hub.clone();
    println!("    endpoint      {}", hub.vpce_id);
    println!("    target group  {}", hub.target_group_arn);
    show(&sdk, &hub, "before frontdoor").await;

    // Each event is handed to the function only after the change it reports: a warm
    // function polls at once, and an event queued early would be taken before the change.
    let api = RuntimeApi::start(vec![event("schedule.json", &hub.vpce_id)]);
    let mut env = aws_env(&emulator.endpoint_url());
    env.extend([
        ("FRONTDOOR_VPC_ENDPOINT_ID", hub.vpce_id.clone()),
        ("FRONTDOOR_TARGET_GROUP_ARN", hub.target_group_arn.clone()),
    ]);
    println!("==> running target-sync under a local Lambda Runtime API");
    let function = FunctionProcess::spawn(&binary, &api, &env);
    answer(&api, &function, "scheduled sweep");
    show(&sdk, &hub, "after the sweep").await;

    println!("==> the endpoint moves from subnet b to subnet c (ModifyVpcEndpoint)");
    aws_sdk_ec2::Client::new(&sdk)
        .modify_vpc_endpoint()
        .vpc_endpoint_id(&hub.vpce_id)
        .remove_subnet_ids(&hub.subnet_ids[1])
        .add_subnet_ids(&hub.subnet_ids[2])
        .send()
        .await
        .unwrap();
    api.push(event("ec2-modify-vpc-endpoint.json", &hub.vpce_id));
    answer(&api, &function, "CloudTrail ModifyVpcEndpoint");
    show(&sdk, &hub, "after the move").await;
    drop(function);

    println!("==> spoke {ACCOUNT_B} also tags private-birds expose=true, but its policy lets any endpoint in");
    let allow_all = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*"}]})
    .to_string();
    pets::private_api(
        &pets.b,
        "private-birds",
        EndpointType::Private,
        Some(&allow_all),
        &[("expose", "true")],
        &["/birds"],
    )
    .await;

    println!("==> spoke {ACCOUNT_B} exposes private-shop in proxy mode (expose:mode=proxy, expose:paths=/shop): two public resources whatever its size");
    pets::private_api(
        &pets.b,
        "private-shop",
        EndpointType::Private,
        Some(&pets::seed_policy(&hub.vpce_id)),
        &[
            ("expose", "true"),
            ("expose:mode", "proxy"),
            ("expose:paths", "/shop"),
        ],
        &["/shop", "/shop/items", "/shop/items/{id}", "/shop/cart"],
    )
    .await;

    println!("==> the hub governs its routes: a Lambda authorizer and 100 rps (burst 50) on each; spoke {ACCOUNT_B} asks 20 rps for private-cats (expose:rate)");
    let authorizer = aws_sdk_apigateway::Client::new(&sdk)
        .create_authorizer()
        .rest_api_id(&pets.public_api_id)
        .name("hub-auth")
        .r#type(aws_sdk_apigateway::types::AuthorizerType::Token)
        .identity_source("method.request.header.Authorization")
        .authorizer_uri("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:hub-auth/invocations")
        .send()
        .await
        .unwrap()
        .id()
        .unwrap_or_default()
        .to_string();
    pets.tag(&pets.b, &pets.cats, &[("expose:rate", "20")])
        .await;

    println!("==> running route-sync: a scheduled sweep over both spoke accounts");
    let api = RuntimeApi::start(vec![event("schedule.json", "")]);
    let mut env = aws_env(&emulator.endpoint_url());
    env.extend([
        ("FRONTDOOR_VPC_ENDPOINT_ID", hub.vpce_id.clone()),
        ("FRONTDOOR_PUBLIC_API_ID", pets.public_api_id.clone()),
        ("FRONTDOOR_VPC_LINK_ID", pets.vpc_link_id.clone()),
        (
            "FRONTDOOR_ALLOWED_ACCOUNTS",
            format!("{ACCOUNT_B},{}", pets::ACCOUNT_C),
        ),
        ("FRONTDOOR_AUTHORIZER_ID", authorizer),
        ("FRONTDOOR_THROTTLE_RATE", "100".into()),
        ("FRONTDOOR_THROTTLE_BURST", "50".into()),
    ]);
    let function = FunctionProcess::spawn(&route_binary, &api, &env);
    answer(&api, &function, "scheduled sweep");
    routes(&pets).await;

    println!(
        "==> spoke {} removes private-dogs' expose tag (CloudTrail UntagResource)",
        pets::ACCOUNT_C
    );
    pets.untag(&pets.c, &pets.dogs, &["expose"]).await;
    api.push(pets::api_event(
        "UntagResource",
        pets::ACCOUNT_C,
        &pets.dogs,
    ));
    answer(&api, &function, "UntagResource");
    routes(&pets).await;
    drop(function);
    drop(emulator);
    println!(
        "==> done in {:.1} s; emulator and function stopped",
        started.elapsed().as_secs_f64()
    );
}

fn sibling(name: &str) -> std::path::PathBuf {
    let path = std::env::current_exe().unwrap().with_file_name(name);
    assert!(
        path.exists(),
        "{} is missing: build it first (cargo build --workspace --bins)",
        path.display()
    );
    path
}

async fn routes(pets: &Pets) {
    println!(
        "--- public API {} (public-pets), stage prd",
        pets.public_api_id
    );
    let governed = governance(pets).await;
    for ((path, verb), target) in pets.public_routes().await {
        let owner = if target == "MOCK" {
            "hand-made".to_string()
        } else {
            target
        };
        let policy = governed
            .get(&(path.clone(), verb.clone()))
            .cloned()
            .unwrap_or_default();
        println!("    {verb:<6} {path:<14} -> {owner}  [{policy}]");
    }
    println!("--- SSM parameters");
    for (name, value) in pets.published().await {
        println!("    {name:<42} {value}");
    }
}

/// Each public route's authorization and stage throttle, as `open` or `authorizer {id}`
/// and `, {rate} rps, burst {burst}`.
async fn governance(pets: &Pets) -> std::collections::BTreeMap<(String, String), String> {
    let settings = pets.stage_settings().await;
    let mut out = std::collections::BTreeMap::new();
    for ((path, verb), m) in pets.public_methods().await {
        let mut text = match (m.authorization_type(), m.authorizer_id()) {
            (Some("CUSTOM"), Some(id)) => format!("authorizer {id}"),
            (Some("NONE") | None, _) => "open".to_string(),
            (Some(other), _) => other.to_string(),
        };
        if let Some(s) = settings.get(&shared::governance::method_setting_key(&path, &verb)) {
            text.push_str(&format!(
                ", {} rps, burst {}",
                s.throttling_rate_limit(),
                s.throttling_burst_limit()
            ));
        }
        out.insert((path, verb), text);
    }
    out
}

fn answer(api: &RuntimeApi, function: &FunctionProcess, what: &str) {
    match api.answer(Duration::from_secs(60)) {
        Some(Answer::Response { body, .. }) => println!("    {what}: {body}"),
        other => panic!("{what}: {other:?}\nlogs:\n{}", function.logs().join("\n")),
    }
}

async fn show(sdk: &aws_config::SdkConfig, hub: &Hub, when: &str) {
    let ips = endpoint_ips(sdk, &hub.vpce_id).await;
    let targets = registered(sdk, &hub.target_group_arn).await;
    println!("--- {when}");
    println!("    endpoint IPs  {}", list(ips.iter()));
    println!("    targets       {}", list(targets.iter()));
}

fn list<'a>(items: impl Iterator<Item = &'a String>) -> String {
    let v: Vec<&str> = items.map(String::as_str).collect();
    if v.is_empty() {
        "(none)".into()
    } else {
        v.join("  ")
    }
}
