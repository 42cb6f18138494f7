//! Test fixtures of the route suites: the hub's context and the seed's private-cats, as
//! plain values for the pure steps (desired, diff). Test builds only.
#![allow(clippy::unwrap_used)] // fixed, valid literals

use super::desired::Context;
use super::{PrivateApi, PrivateResource};
use crate::ids::{AccountId, ApiId, ApiRef, SsmPrefix, VpceId};
use std::collections::BTreeMap;

pub(crate) const HUB: &str = "vpce-0a1b2c3d4e5f60718";

pub(crate) fn ctx() -> Context {
    Context {
        hub_endpoint: VpceId::parse(HUB).unwrap(),
        vpc_link_id: "vl0001".into(),
        region: "us-east-1".into(),
        public_api_id: ApiId::parse("pub0000000").unwrap(),
        public_stage: "prd".into(),
        ssm_prefix: SsmPrefix::parse("/frontdoor").unwrap(),
        resource_quota: 300,
        account_resource_quota: 75,
        account_api_quota: 50,
        release_hold: std::time::Duration::from_secs(24 * 3600),
        // 2026-12-01T00:00:00Z
        now: 1_796_083_200,
        policy: crate::governance::Policy::default(),
        integration_target: None,
        route_mode: crate::config::RouteMode::Mirror,
        public_domain: None,
        cell: None,
        foreign_segments: BTreeMap::new(),
    }
}

pub(crate) fn seed_policy() -> String {
    serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*"},
        {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*",
         "Condition": {"StringNotEquals": {"aws:SourceVpce": HUB}}}]})
    .to_string()
}

/// private-cats of the seed: /cats, /cats/{id}, /owners.
pub(crate) fn cats(tags: &[(&str, &str)]) -> PrivateApi {
    PrivateApi {
        api: ApiRef {
            account: AccountId::parse("222222222222").unwrap(),
            api: ApiId::parse("cats000000").unwrap(),
        },
        name: "private-cats".into(),
        tags: tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        endpoint_types: vec!["PRIVATE".into()],
        vpc_endpoint_ids: vec![HUB.into()],
        disable_execute_api_endpoint: false,
        policy: Some(seed_policy()),
        stages: [("prd".to_string(), "dep1".to_string())].into(),
        deployed: Some(deployed(&[
            ("/", ""),
            ("/cats", "GET"),
            ("/cats/{id}", "GET"),
            ("/owners", "GET"),
        ])),
    }
}

/// A deployment snapshot: `(path, "VERB VERB")`, every method `NONE`; a bare parent
/// (no verbs) is left out, as `apiSummary` leaves it out.
pub(crate) fn deployed(paths: &[(&str, &str)]) -> Vec<PrivateResource> {
    paths
        .iter()
        .filter(|(_, m)| !m.trim().is_empty())
        .map(|(p, m)| PrivateResource {
            path: p.to_string(),
            methods: m
                .split_whitespace()
                .map(|v| (v.to_string(), "NONE".to_string()))
                .collect(),
        })
        .collect()
}
