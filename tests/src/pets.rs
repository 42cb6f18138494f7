//! The seed scenario of DESIGN.md: hub 123456789012 with `public-pets` (a hand-made
//! `/health`), spoke B 222222222222 with `private-cats` (`/cats`, `/cats/{id}`, `/owners`),
//! spoke C 333333333333 with `private-dogs` (`/dogs`, `/owners`), seed-style policies and
//! tags; plus helpers to read the public API back.

use std::collections::{BTreeMap, BTreeSet};

use aws_config::SdkConfig;
use aws_sdk_apigateway::types::{
    EndpointConfiguration, EndpointType, IntegrationType, Method, MethodSetting,
};
use serde_json::json;
use shared::{App, RouteSyncConfig};

use crate::{seed_hub, Emulator, Hub};

/// The hub account, as `route-sync`'s own.
pub fn hub_account() -> shared::ids::AccountId {
    shared::ids::AccountId::parse(crate::HUB_ACCOUNT).expect("account id")
}

/// Spoke B.
pub const ACCOUNT_B: &str = "222222222222";
/// Spoke C.
pub const ACCOUNT_C: &str = "333333333333";

/// Everything the seed made.
pub struct Pets {
    /// The hub's network resources.
    pub hub: Hub,
    /// The hub's configuration.
    pub hub_sdk: SdkConfig,
    /// Spoke B's configuration.
    pub b: SdkConfig,
    /// Spoke C's configuration.
    pub c: SdkConfig,
    /// The public API.
    pub public_api_id: String,
    /// The REST VPC link.
    pub vpc_link_id: String,
    /// private-cats (B).
    pub cats: String,
    /// private-dogs (C).
    pub dogs: String,
}

/// The seed-style policy: Allow invoke, Deny unless through `vpce`.
pub fn seed_policy(vpce: &str) -> String {
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*"},
        {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*",
         "Condition": {"StringNotEquals": {"aws:SourceVpce": vpce}}}]})
    .to_string()
}

/// A private API as a spoke team would make it: resources with GET methods (MOCK
/// integrations), deployed to `prd`. A PRIVATE API lists the endpoints its policy names in
/// `endpointConfiguration.vpcEndpointIds`, as a team that follows the README does (that
/// is what gives it the `{api-id}-{vpce-id}` alias).
pub async fn private_api(
    sdk: &SdkConfig,
    name: &str,
    kind: EndpointType,
    policy: Option<&str>,
    tags: &[(&str, &str)],
    paths: &[&str],
) -> String {
    let gw = aws_sdk_apigateway::Client::new(sdk);
    let endpoints: Vec<String> = match (&kind, policy) {
        (EndpointType::Private, Some(p)) => p
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .filter(|w| w.starts_with("vpce-"))
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    let mut create = gw
        .create_rest_api()
        .name(name)
        .endpoint_configuration(
            EndpointConfiguration::builder()
                .types(kind)
                .set_vpc_endpoint_ids(Some(endpoints).filter(|e| !e.is_empty()))
                .build(),
        )
        .set_policy(policy.map(str::to_string));
    for (k, v) in tags {
        create = create.tags(*k, *v);
    }
    let api = create.send().await.expect("CreateRestApi");
    let id = api.id().expect("id").to_string();
    for path in paths {
        add_resource(sdk, &id, path, "GET").await;
    }
    deploy(sdk, &id).await;
    id
}

/// Adds `path` (creating parents) with `verb` and a MOCK integration.
pub async fn add_resource(sdk: &SdkConfig, api: &str, path: &str, verb: &str) {
    let gw = aws_sdk_apigateway::Client::new(sdk);
    let mut ids = resource_ids(sdk, api).await;
    let mut at = String::new();
    for segment in path.trim_start_matches('/').split('/') {
        let parent = if at.is_empty() {
            "/".to_string()
        } else {
            at.clone()
        };
        at = format!("{at}/{segment}");
        if !ids.contains_key(&at) {
            let r = gw
                .create_resource()
                .rest_api_id(api)
                .parent_id(&ids[&parent])
                .path_part(segment)
                .send()
                .await
                .expect("CreateResource");
            ids.insert(at.clone(), r.id().expect("id").to_string());
        }
    }
    let mut put = gw
        .put_method()
        .rest_api_id(api)
        .resource_id(&ids[&at])
        .http_method(verb)
        .authorization_type("NONE");
    for p in shared::paths::parameters(path) {
        put = put.request_parameters(format!("method.request.path.{p}"), true);
    }
    put.send().await.expect("PutMethod");
    gw.put_integration()
        .rest_api_id(api)
        .resource_id(&ids[&at])
        .http_method(verb)
        .r#type(IntegrationType::Mock)
        .send()
        .await
        .expect("PutIntegration");
}

/// Deploys `api` to `prd`.
pub async fn deploy(sdk: &SdkConfig, api: &str) {
    aws_sdk_apigateway::Client::new(sdk)
        .create_deployment()
        .rest_api_id(api)
        .stage_name("prd")
        .send()
        .await
        .expect("CreateDeployment");
}

/// Path -> resource id.
pub async fn resource_ids(sdk: &SdkConfig, api: &str) -> BTreeMap<String, String> {
    aws_sdk_apigateway::Client::new(sdk)
        .get_resources()
        .rest_api_id(api)
        .limit(500)
        .send()
        .await
        .expect("GetResources")
        .items()
        .iter()
        .map(|r| {
            (
                r.path().unwrap_or_default().to_string(),
                r.id().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Builds the seed scenario.
pub async fn seed(emulator: &Emulator) -> Pets {
    let hub_sdk = emulator.sdk_config().await;
    let hub = seed_hub(&hub_sdk).await;
    let b = emulator.account_sdk_config(ACCOUNT_B).await;
    let c = emulator.account_sdk_config(ACCOUNT_C).await;
    let gw = aws_sdk_apigateway::Client::new(&hub_sdk);
    let link = gw
        .create_vpc_link()
        .name("frontdoor")
        .target_arns(&hub.nlb_arn)
        .send()
        .await
        .expect("CreateVpcLink");
    let public_api_id = public_api(&hub_sdk, "public-pets").await;
    let policy = seed_policy(&hub.vpce_id);
    let cats = private_api(
        &b,
        "private-cats",
        EndpointType::Private,
        Some(&policy),
        &[("expose", "true"), ("expose:paths", "/cats")],
        &["/cats", "/cats/{id}", "/owners"],
    )
    .await;
    let dogs = private_api(
        &c,
        "private-dogs",
        EndpointType::Private,
        Some(&policy),
        &[("expose", "true"), ("expose:paths", "/dogs")],
        &["/dogs", "/owners"],
    )
    .await;
    Pets {
        hub,
        hub_sdk,
        b,
        c,
        public_api_id,
        vpc_link_id: link.id().expect("id").to_string(),
        cats,
        dogs,
    }
}

impl Pets {
    /// `route-sync`'s app for the hub.
    pub fn app(&self) -> App<RouteSyncConfig> {
        self.app_with(&[])
    }

    /// route-sync's app with more variables (`(name, value)`), e.g. the governance ones.
    pub fn app_with(&self, more: &[(&str, &str)]) -> App<RouteSyncConfig> {
        let config = RouteSyncConfig::from_lookup(|name| match name {
            "FRONTDOOR_VPC_ENDPOINT_ID" => Some(self.hub.vpce_id.clone()),
            "FRONTDOOR_PUBLIC_API_ID" => Some(self.public_api_id.clone()),
            "FRONTDOOR_VPC_LINK_ID" => Some(self.vpc_link_id.clone()),
            other => more
                .iter()
                .find(|(n, _)| *n == other)
                .map(|(_, v)| v.to_string())
                .or_else(|| match other {
                    "FRONTDOOR_ALLOWED_ACCOUNTS" => Some(format!("{ACCOUNT_B},{ACCOUNT_C}")),
                    // Suites about behaviour run unpaced; the pacing suite turns it on.
                    "FRONTDOOR_WRITE_PACING" => Some("off".into()),
                    _ => None,
                }),
        })
        .expect("route-sync config");
        App::new(config, &self.hub_sdk).in_account(hub_account())
    }

    /// The public API's methods (integrations embedded) by `(path, verb)`.
    pub async fn public_methods(&self) -> BTreeMap<(String, String), Method> {
        let gw = aws_sdk_apigateway::Client::new(&self.hub_sdk);
        let page = gw
            .get_resources()
            .rest_api_id(&self.public_api_id)
            .embed("methods")
            .limit(500)
            .send()
            .await
            .expect("GetResources");
        let mut out = BTreeMap::new();
        for r in page.items() {
            for (verb, m) in r.resource_methods().into_iter().flatten() {
                let key = (r.path().unwrap_or_default().to_string(), verb.clone());
                out.insert(key, m.clone());
            }
        }
        out
    }

    /// The public API's routes: `(path, verb)` -> integration uri (or `MOCK`).
    pub async fn public_routes(&self) -> BTreeMap<(String, String), String> {
        self.public_methods()
            .await
            .into_iter()
            .map(|(key, m)| {
                let target = m
                    .method_integration()
                    .and_then(|i| i.uri().map(str::to_string))
                    .filter(|u| !u.is_empty())
                    .unwrap_or_else(|| "MOCK".into());
                (key, target)
            })
            .collect()
    }

    /// The public stage's per-method settings by key (`~1cats/GET`); none before the first
    /// deployment.
    pub async fn stage_settings(&self) -> BTreeMap<String, MethodSetting> {
        aws_sdk_apigateway::Client::new(&self.hub_sdk)
            .get_stage()
            .rest_api_id(&self.public_api_id)
            .stage_name("prd")
            .send()
            .await
            .ok()
            .and_then(|s| s.method_settings().cloned())
            .unwrap_or_default()
            .into_iter()
            .collect()
    }

    /// The public API's resource paths.
    pub async fn public_paths(&self) -> BTreeSet<String> {
        resource_ids(&self.hub_sdk, &self.public_api_id)
            .await
            .into_keys()
            .collect()
    }

    /// Every parameter under `/frontdoor/apis/`, name -> value.
    pub async fn published(&self) -> BTreeMap<String, String> {
        let ssm = aws_sdk_ssm::Client::new(&self.hub_sdk);
        let mut out = BTreeMap::new();
        let mut pages = ssm
            .get_parameters_by_path()
            .path("/frontdoor/apis")
            .recursive(true)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for p in page.expect("GetParametersByPath").parameters() {
                out.insert(
                    p.name().unwrap_or_default().to_string(),
                    p.value().unwrap_or_default().to_string(),
                );
            }
        }
        out
    }

    /// Tags a spoke API (through the launcher's REST API tag patch).
    pub async fn tag(&self, sdk: &SdkConfig, api: &str, tags: &[(&str, &str)]) {
        let mut call = aws_sdk_apigateway::Client::new(sdk)
            .tag_resource()
            .resource_arn(format!("arn:aws:apigateway:us-east-1::/restapis/{api}"));
        for (k, v) in tags {
            call = call.tags(*k, *v);
        }
        call.send().await.expect("TagResource");
    }

    /// Removes tags from a spoke API.
    pub async fn untag(&self, sdk: &SdkConfig, api: &str, keys: &[&str]) {
        let mut call = aws_sdk_apigateway::Client::new(sdk)
            .untag_resource()
            .resource_arn(format!("arn:aws:apigateway:us-east-1::/restapis/{api}"));
        for k in keys {
            call = call.tag_keys(*k);
        }
        call.send().await.expect("UntagResource");
    }
}

/// The public API writes the floor counts: resources, methods, integrations, deployments.
pub const PUBLIC_API_WRITES: [&str; 6] = [
    "CreateResource",
    "PutMethod",
    "PutIntegration",
    "DeleteMethod",
    "DeleteResource",
    "CreateDeployment",
];

/// How many of `ops` (operation names, as `Calls::sequence` holds them) wrote to the public API.
pub fn public_writes(ops: &[String]) -> usize {
    ops.iter()
        .filter(|op| PUBLIC_API_WRITES.contains(&op.as_str()))
        .count()
}

/// A CloudTrail API Gateway event for `api` in `account`.
pub fn api_event(call: &str, account: &str, api: &str) -> serde_json::Value {
    json!({
        "version": "0", "id": format!("{call}-{api}"), "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.apigateway", "account": account, "time": "2026-11-24T12:00:00Z",
        "region": "us-east-1", "resources": [],
        "detail": {"eventName": call, "eventSource": "apigateway.amazonaws.com",
                   "requestParameters": {"restApiId": api}, "recipientAccountId": account}
    })
}

/// An SQS batch carrying `events`.
pub fn sqs_batch(events: &[serde_json::Value]) -> serde_json::Value {
    json!({"Records": events.iter().enumerate().map(|(i, e)| json!({
        "messageId": format!("m{i}"), "body": e.to_string(), "eventSource": "aws:sqs"
    })).collect::<Vec<_>>()})
}

/// A wide private API built in few calls: `/{base}` with `count` children `/{base}/r{i}`,
/// each with every verb of `verbs` (MOCK integrations), deployed to each of `stages`. A
/// team's large API, for the budget suites (1,200 methods = 300 resources x 4 verbs).
#[allow(clippy::too_many_arguments)]
pub async fn wide_api(
    sdk: &SdkConfig,
    name: &str,
    policy: &str,
    tags: &[(&str, &str)],
    base: &str,
    count: usize,
    verbs: &[&str],
    stages: &[&str],
) -> String {
    let gw = aws_sdk_apigateway::Client::new(sdk);
    let vpce: Vec<String> = policy
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| w.starts_with("vpce-"))
        .map(str::to_string)
        .collect();
    let mut create = gw
        .create_rest_api()
        .name(name)
        .endpoint_configuration(
            EndpointConfiguration::builder()
                .types(EndpointType::Private)
                .set_vpc_endpoint_ids(Some(vpce))
                .build(),
        )
        .policy(policy);
    for (k, v) in tags {
        create = create.tags(*k, *v);
    }
    let api = create.send().await.expect("CreateRestApi");
    let id = api.id().expect("id").to_string();
    let root = resource_ids(sdk, &id).await["/"].clone();
    let parent = gw
        .create_resource()
        .rest_api_id(&id)
        .parent_id(&root)
        .path_part(base)
        .send()
        .await
        .expect("CreateResource");
    let parent = parent.id().expect("id").to_string();
    for i in 0..count {
        let r = gw
            .create_resource()
            .rest_api_id(&id)
            .parent_id(&parent)
            .path_part(format!("r{i:04}"))
            .send()
            .await
            .expect("CreateResource");
        let rid = r.id().expect("id");
        for verb in verbs {
            gw.put_method()
                .rest_api_id(&id)
                .resource_id(rid)
                .http_method(*verb)
                .authorization_type("NONE")
                .send()
                .await
                .expect("PutMethod");
            gw.put_integration()
                .rest_api_id(&id)
                .resource_id(rid)
                .http_method(*verb)
                .r#type(IntegrationType::Mock)
                .send()
                .await
                .expect("PutIntegration");
        }
    }
    for stage in stages {
        gw.create_deployment()
            .rest_api_id(&id)
            .stage_name(*stage)
            .send()
            .await
            .expect("CreateDeployment");
    }
    id
}

/// `extra` more cells beside the seed's public API (each a regional REST API with `/health`,
/// deployed to `prd`) and the custom domain `domain` in `ROUTING_RULE_THEN_BASE_PATH_MAPPING`
/// mode (launcher patch 20): every cell's id, the public API's first.
pub async fn add_cells(pets: &Pets, extra: usize, domain: &str) -> Vec<String> {
    let gw = aws_sdk_apigateway::Client::new(&pets.hub_sdk);
    let mut ids = vec![pets.public_api_id.clone()];
    for i in 1..=extra {
        let id = public_api(&pets.hub_sdk, &format!("public-cell-{i}")).await;
        deploy(&pets.hub_sdk, &id).await;
        ids.push(id);
    }
    gw.create_domain_name()
        .domain_name(domain)
        .regional_certificate_arn("arn:aws:acm:us-east-1:123456789012:certificate/x")
        .routing_mode(aws_sdk_apigateway::types::RoutingMode::RoutingRuleThenBasePathMapping)
        .send()
        .await
        .expect("CreateDomainName");
    ids
}

/// A regional REST API in the hub with the template's hand-made `GET /health`: the public
/// API, or a cell.
async fn public_api(sdk: &SdkConfig, name: &str) -> String {
    let api = aws_sdk_apigateway::Client::new(sdk)
        .create_rest_api()
        .name(name)
        .endpoint_configuration(
            EndpointConfiguration::builder()
                .types(EndpointType::Regional)
                .build(),
        )
        .send()
        .await
        .expect("CreateRestApi");
    let id = api.id().expect("id").to_string();
    add_resource(sdk, &id, "/health", "GET").await;
    id
}

/// A TOKEN authorizer on REST API `api`, as the hub team makes it (on the public API, and
/// on each cell's API: an authorizer belongs to one REST API).
pub async fn token_authorizer(sdk: &aws_config::SdkConfig, api: &str) -> String {
    aws_sdk_apigateway::Client::new(sdk)
        .create_authorizer()
        .rest_api_id(api)
        .name("hub")
        .r#type(aws_sdk_apigateway::types::AuthorizerType::Token)
        .identity_source("method.request.header.Authorization")
        .authorizer_uri("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:auth/invocations")
        .send()
        .await
        .expect("create an authorizer")
        .id()
        .expect("an authorizer id")
        .to_string()
}
