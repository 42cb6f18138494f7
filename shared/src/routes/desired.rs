//! Pure. What each private API asks of the front door: its opt-in tags read (untrusted),
//! its pre-flight checked, and the public routes it would get from what its stage has
//! deployed. Computed once per reconcile ([`desired`]) and handed to the diff.

use std::collections::BTreeMap;

use super::paths::{self, shown};
use super::{Integration, Observed, PrivateApi};
use crate::clients::App;
use crate::config::RouteSyncConfig;
use aws_sdk_apigateway::types::{ConnectionType, IntegrationType};

use crate::governance::{self, Governed, MethodAuth, Policy};
use crate::ids::ApiRef;
use crate::ids::{ApiId, SsmPrefix, VpceId};
use crate::{policy, urls};

/// The opt-in tag.
pub const TAG_EXPOSE: &str = "expose";
/// Private stage to route to.
pub const TAG_STAGE: &str = "expose:stage";
/// Space-separated private resource paths.
pub const TAG_PATHS: &str = "expose:paths";
/// Public mount prefix.
pub const TAG_PREFIX: &str = "expose:prefix";
/// Name for the SSM parameters.
pub const TAG_NAME: &str = "expose:name";

/// Settings of the hub that shape every route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    /// The hub endpoint policies must be bound to.
    pub hub_endpoint: VpceId,
    /// The VPC link integrations go through.
    pub vpc_link_id: String,
    /// The region (for URLs).
    pub region: String,
    /// The public API.
    pub public_api_id: ApiId,
    /// Its stage.
    pub public_stage: String,
    /// Root of the parameters.
    pub ssm_prefix: SsmPrefix,
    /// Resources the public API may hold (API Gateway's per-API quota, 300 by default).
    pub resource_quota: usize,
    /// The most public resources one spoke account's APIs may hold.
    pub account_resource_quota: usize,
    /// The most exposed APIs of one spoke account frontdoor tracks.
    pub account_api_quota: usize,
    /// How long a name or path an API released stays its account's.
    pub release_hold: std::time::Duration,
    /// This run's time, in seconds since the epoch (the diff itself reads no clock).
    pub now: u64,
    /// The hub's route policy.
    pub policy: Policy,
    /// The load balancer a VPC link V2 sends to.
    pub integration_target: Option<String>,
}

impl Context {
    /// From the function's config and its clients' region.
    pub fn from_app(app: &App<RouteSyncConfig>) -> Self {
        let c = &app.config;
        Context {
            hub_endpoint: c.vpc_endpoint_id.clone(),
            vpc_link_id: c.vpc_link_id.clone(),
            region: app.clients.region.clone(),
            public_api_id: c.public_api_id.clone(),
            public_stage: c.public_stage.clone(),
            ssm_prefix: c.ssm_prefix.clone(),
            resource_quota: c.resource_quota,
            account_resource_quota: c.account_resource_quota,
            account_api_quota: c.account_api_quota,
            release_hold: c.release_hold,
            now: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            policy: c.governance.clone(),
            integration_target: c.integration_target.clone(),
        }
    }
}

/// What every API in scope asks for, by API (deleted APIs ask for nothing).
pub type Desired = BTreeMap<ApiRef, Intent>;

/// The intent of every API observed in scope.
pub fn desired(observed: &Observed, ctx: &Context) -> Desired {
    observed
        .apis
        .iter()
        .filter_map(|(api, found)| {
            Some((
                api.clone(),
                intent(found.as_ref()?, ctx, &observed.hub_auth),
            ))
        })
        .collect()
}

/// What an API asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exposure {
    /// Not opted in (no `expose=true`), or gone: it should have nothing.
    NotExposed,
    /// Opted in but unsafe or malformed: nothing but a status.
    Refused(String),
    /// Opted in and safe: these routes.
    Wanted(Wanted),
}

/// A safe API's routes and URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// `(public path, verb)` -> integration.
    pub routes: BTreeMap<(String, String), Integration>,
    /// Public base URL.
    pub url: String,
    /// Its `expose:prefix` mount: the whole subtree is its own (no other team's route may
    /// be made inside it).
    pub mount: Option<String>,
    /// Private alias URL, when the API lists the hub endpoint (only then does AWS make
    /// the `{api-id}-{vpce-id}` alias).
    pub private_url: Option<String>,
    /// Deployed methods that are not routed, each `VERB /path (why)`.
    pub skipped: Vec<String>,
    /// What its routes carry: authorization, API key, throttle.
    pub governed: Governed,
}

/// An API's SSM name and what it asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    /// `expose:name` or the API's name, made safe for SSM; `None` if neither is usable.
    pub name: Option<String>,
    /// What it asks for.
    pub exposure: Exposure,
}

/// The name its parameters are published under: `expose:name`, else the API's name, made
/// safe for SSM.
///
/// An `expose:name` that is not already a valid name gives none: a hostile value such as
/// `private/cats` must not publish (even a refusal) under the `private-cats` it normalises
/// to. The API's own name is normalised (AWS allows spaces and more in it).
pub fn published_name(api: &PrivateApi) -> Option<String> {
    match api.tags.get(TAG_NAME) {
        Some(raw) => urls::ssm_name(raw).filter(|n| n == raw.trim()),
        None => urls::ssm_name(&api.name),
    }
}

/// Reads one API's tags and facts into what it asks for; `hub` is what the hub's policy
/// gives its routes.
pub fn intent(api: &PrivateApi, ctx: &Context, hub: &MethodAuth) -> Intent {
    let name = published_name(api);
    if api.tags.get(TAG_EXPOSE).map(|v| v.trim()) != Some("true") {
        return Intent {
            name,
            exposure: Exposure::NotExposed,
        };
    }
    let exposure = match wanted(api, ctx, hub) {
        Ok(w) => Exposure::Wanted(w),
        Err(reason) => Exposure::Refused(reason),
    };
    Intent { name, exposure }
}

fn wanted(api: &PrivateApi, ctx: &Context, hub: &MethodAuth) -> Result<Wanted, String> {
    if let Some(raw) = api.tags.get(TAG_NAME) {
        if urls::ssm_name(raw).as_deref() != Some(raw.trim()) {
            return Err(format!(
                "expose:name {} must be letters, digits, - _ . (at most 64)",
                shown(raw)
            ));
        }
    }
    if !api.endpoint_types.iter().any(|t| t == "PRIVATE") {
        return Err(format!(
            "the API is {}, not PRIVATE",
            api.endpoint_types
                .first()
                .map(String::as_str)
                .unwrap_or("of unknown type")
        ));
    }
    if api.disable_execute_api_endpoint {
        return Err(
            "the API disables its default execute-api endpoint, which the route calls".into(),
        );
    }
    policy::check(
        api.policy.as_deref(),
        &policy::Target {
            hub: &ctx.hub_endpoint,
            region: &ctx.region,
            account: api.api.account.as_str(),
            api_id: api.api.api.as_str(),
        },
    )?;
    let governed = governance::governed(&api.tags, &api.api.account, &ctx.policy, hub)?;
    let stage = chosen_stage(api)?;
    let Some(deployed) = &api.deployed else {
        return Err(format!("the deployment of stage {stage} cannot be read"));
    };
    let selected = selected_paths(api, deployed)?;
    let mount = match api.tags.get(TAG_PREFIX).map(|p| p.trim()) {
        None | Some("") => None,
        Some(p) => {
            paths::validate(p, false).map_err(|e| format!("expose:prefix: {e}"))?;
            if p == "/" {
                None
            } else {
                Some(p.to_string())
            }
        }
    };
    let base = urls::invoke_url(&api.api.api, &ctx.region, &stage);
    let mut routes = BTreeMap::new();
    let mut skipped = Vec::new();
    for resource in deployed {
        if !selected
            .iter()
            .any(|root| paths::is_within(&resource.path, root))
        {
            continue;
        }
        // The private root is mounted only under a prefix: mirrored, it would claim the
        // public API's own root.
        let public = match (&mount, resource.path.as_str()) {
            (None, "/") => continue,
            (Some(m), "/") => m.clone(),
            (Some(m), p) => format!("{m}{p}"),
            (None, p) => p.to_string(),
        };
        if paths::validate(&resource.path, true).is_err()
            || paths::depth(&public) > paths::MAX_SEGMENTS
        {
            return Err(format!(
                "resource {} cannot be mirrored",
                shown(&resource.path)
            ));
        }
        let request_parameters = paths::parameters(&resource.path)
            .into_iter()
            .map(|p| {
                (
                    format!("integration.request.path.{p}"),
                    format!("method.request.path.{p}"),
                )
            })
            .chain([pinned_api_id(&api.api.api)])
            .collect();
        for (verb, authorization) in &resource.methods {
            // The caller's SigV4 signature names the public host; the private API would
            // refuse it, so the route could never work.
            if authorization == "AWS_IAM" {
                skipped.push(format!("{verb} {} (AWS_IAM)", resource.path));
                continue;
            }
            routes.insert(
                (public.clone(), verb.clone()),
                Integration {
                    kind: Some(IntegrationType::HttpProxy),
                    http_method: verb.clone(),
                    uri: format!(
                        "{base}{}",
                        paths::uri_suffix(&resource.path).trim_end_matches('/')
                    ),
                    connection_type: Some(ConnectionType::VpcLink),
                    connection_id: ctx.vpc_link_id.clone(),
                    integration_target: ctx.integration_target.clone(),
                    request_parameters: BTreeMap::clone(&request_parameters),
                },
            );
        }
    }
    if routes.is_empty() {
        return Err(if skipped.is_empty() {
            format!("stage {stage} serves no methods in the selected paths")
        } else {
            format!(
                "every selected method uses AWS_IAM, which a public route cannot carry: {}",
                skipped.join(", ")
            )
        });
    }
    Ok(Wanted {
        routes,
        mount: mount.clone(),
        url: urls::public_url(
            &ctx.public_api_id,
            &ctx.region,
            &ctx.public_stage,
            mount.as_deref(),
        ),
        private_url: api
            .vpc_endpoint_ids
            .iter()
            .any(|v| v == ctx.hub_endpoint.as_str())
            .then(|| urls::private_url(&api.api.api, &ctx.hub_endpoint, &ctx.region, &stage)),
        skipped,
        governed,
    })
}

/// The stage an API exposes: `expose:stage`, else its only stage; an error says why none.
pub fn chosen_stage(api: &PrivateApi) -> Result<String, String> {
    let name = match api.tags.get(TAG_STAGE).map(|s| s.trim()) {
        Some(s) if !s.is_empty() => {
            crate::ids::parse_stage_name(s).map_err(|e| format!("expose:stage: {e}"))?
        }
        _ => match api.stages.keys().collect::<Vec<_>>()[..] {
            [only] => only.clone(),
            [] => return Err("the API has no stage".into()),
            _ => {
                return Err(format!(
                    "the API has {} stages and no expose:stage tag",
                    api.stages.len()
                ))
            }
        },
    };
    match api.stages.get(&name) {
        None => Err(format!("stage {name} does not exist")),
        Some(deployment) if deployment.is_empty() => Err(format!("stage {name} is not deployed")),
        Some(_) => Ok(name),
    }
}

fn selected_paths(
    api: &PrivateApi,
    deployed: &[super::PrivateResource],
) -> Result<Vec<String>, String> {
    let Some(raw) = api.tags.get(TAG_PATHS).filter(|v| !v.trim().is_empty()) else {
        return Ok(vec!["/".into()]);
    };
    let list: Vec<&str> = raw.split_whitespace().collect();
    if list.len() > paths::MAX_PATHS {
        return Err(format!(
            "expose:paths lists more than {} paths",
            paths::MAX_PATHS
        ));
    }
    let mut out = Vec::new();
    for p in list {
        paths::validate(p, true).map_err(|e| format!("expose:paths: {e}"))?;
        // The snapshot lists only paths with methods: a bare parent is selected through
        // what is deployed under it.
        if !deployed.iter().any(|r| paths::is_within(&r.path, p)) {
            return Err(format!(
                "expose:paths: the deployed stage has no resource {}",
                shown(p)
            ));
        }
        out.push(p.to_string());
    }
    Ok(out)
}

/// The mapping that pins an integration to its private API: the execute-api endpoint picks
/// a private API by `Host` or by `x-apigw-api-id`, AWS does not say which wins when both
/// are present, and HTTP_PROXY passes the caller's headers through. A static value
/// (`'{api-id}'`) overrides whatever header the caller sent, so no caller can pick another
/// private API behind the hub's endpoint.
pub const PINNED_API_HEADER: &str = "integration.request.header.x-apigw-api-id";

fn pinned_api_id(api: &ApiId) -> (String, String) {
    (PINNED_API_HEADER.to_string(), format!("'{api}'"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::fixtures::{cats, ctx, deployed, HUB};

    #[test]
    fn seed_cats_exposes_its_cats_subtree_only() {
        let i = intent(
            &cats(&[("expose", "true"), ("expose:paths", "/cats")]),
            &ctx(),
            &MethodAuth::open(),
        );
        assert_eq!(i.name.as_deref(), Some("private-cats"));
        let Exposure::Wanted(w) = i.exposure else {
            panic!("{i:?}")
        };
        let keys: Vec<_> = w.routes.keys().cloned().collect();
        assert_eq!(
            keys,
            vec![
                ("/cats".to_string(), "GET".to_string()),
                ("/cats/{id}".into(), "GET".into())
            ]
        );
        let by_id = &w.routes[&("/cats/{id}".to_string(), "GET".to_string())];
        assert_eq!(
            by_id.uri,
            "https://cats000000.execute-api.us-east-1.amazonaws.com/prd/cats/{id}"
        );
        assert_eq!(
            by_id.request_parameters["integration.request.path.id"],
            "method.request.path.id"
        );
        assert_eq!(by_id.connection_id, "vl0001");
        assert_eq!(
            w.url,
            "https://pub0000000.execute-api.us-east-1.amazonaws.com/prd"
        );
        assert_eq!(
            w.private_url,
            Some(format!(
                "https://cats000000-{HUB}.execute-api.us-east-1.amazonaws.com/prd"
            ))
        );
    }

    #[test]
    fn prefix_mounts_the_api_and_greedy_paths_map_to_plain_parameters() {
        let mut api = cats(&[
            ("expose", "true"),
            ("expose:prefix", "/pets"),
            ("expose:name", "cats"),
        ]);
        api.deployed
            .get_or_insert_with(Vec::new)
            .extend(deployed(&[("/files/{proxy+}", "ANY")]));
        let i = intent(&api, &ctx(), &MethodAuth::open());
        assert_eq!(i.name.as_deref(), Some("cats"));
        let Exposure::Wanted(w) = i.exposure else {
            panic!("{i:?}")
        };
        let greedy = &w.routes[&("/pets/files/{proxy+}".to_string(), "ANY".to_string())];
        assert!(greedy.uri.ends_with("/prd/files/{proxy}"), "{}", greedy.uri);
        assert_eq!(
            greedy.request_parameters["integration.request.path.proxy"],
            "method.request.path.proxy"
        );
        assert!(w
            .routes
            .contains_key(&("/pets/owners".to_string(), "GET".to_string())));
        assert!(w.url.ends_with("/prd/pets"));
    }

    #[test]
    fn not_tagged_true_is_not_exposed() {
        for tags in [
            &[][..],
            &[("expose", "false")],
            &[("expose", "TRUE ")],
            &[("expose", "yes")],
        ] {
            assert_eq!(
                intent(&cats(tags), &ctx(), &MethodAuth::open()).exposure,
                Exposure::NotExposed,
                "{tags:?}"
            );
        }
    }

    fn refused(api: &PrivateApi) -> String {
        match intent(api, &ctx(), &MethodAuth::open()).exposure {
            Exposure::Refused(r) => r,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn each_preflight_refusal_names_its_reason() {
        let tagged = [("expose", "true")];
        let mut regional = cats(&tagged);
        regional.endpoint_types = vec!["REGIONAL".into()];
        assert!(refused(&regional).contains("REGIONAL, not PRIVATE"));
        let mut no_policy = cats(&tagged);
        no_policy.policy = None;
        assert!(refused(&no_policy).contains("no resource policy"));
        let mut two_stages = cats(&tagged);
        two_stages.stages.insert("dev".into(), "dep2".into());
        assert!(refused(&two_stages).contains("2 stages"));
        let mut undeployed = cats(&tagged);
        undeployed.stages.insert("prd".into(), String::new());
        assert!(refused(&undeployed).contains("not deployed"));
        assert!(
            refused(&cats(&[("expose", "true"), ("expose:stage", "nope")]))
                .contains("does not exist")
        );
    }

    #[test]
    fn hostile_tag_values_are_refused() {
        for (tag, value) in [
            ("expose:paths", "/cats/../owners"),
            ("expose:paths", "/cats //x"),
            ("expose:paths", "/nope"),
            ("expose:prefix", "/a/{id}"),
            ("expose:prefix", "../x"),
            ("expose:name", "../../evil"),
            ("expose:stage", "prd;rm"),
        ] {
            let r = refused(&cats(&[("expose", "true"), (tag, value)]));
            assert!(r.starts_with(tag), "{tag}={value}: {r}");
        }
        let many = (0..30)
            .map(|i| format!("/p{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            refused(&cats(&[("expose", "true"), ("expose:paths", &many)])).contains("more than")
        );
    }
}
