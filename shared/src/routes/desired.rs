//! Pure. What each private API asks of the front door: its opt-in tags read (untrusted),
//! its pre-flight checked, and the public routes it would get from what its stage has
//! deployed. Computed once per reconcile ([`desired`]) and handed to the diff.

use std::collections::BTreeMap;

use super::{Integration, Observed, PrivateApi};
use crate::clients::App;
use crate::config::RouteSyncConfig;
use crate::paths::{self, shown};
use aws_sdk_apigateway::types::{ConnectionType, IntegrationType};

use crate::config::RouteMode;
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
/// How the API's routes are made: `mirror` or `proxy`.
pub const TAG_MODE: &str = "expose:mode";

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
    /// The hub's default route mode (`expose:mode` overrides it per API).
    pub route_mode: RouteMode,
    /// The public custom domain every published URL is on, when there is one.
    pub public_domain: Option<String>,
    /// The cell this plan writes to, as records name it (`None`: the first cell).
    pub cell: Option<String>,
    /// First path segments that live in other cells, each with that cell's REST API id:
    /// a route under one is another cell's, so asking for it is a conflict.
    pub foreign_segments: BTreeMap<String, String>,
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
            route_mode: c.route_mode,
            public_domain: c.public_domain.clone(),
            cell: c.cell_name(),
            foreign_segments: BTreeMap::new(),
        }
    }

    /// The public URL of what is mounted at `mount` (`None`: the root): on the custom
    /// domain when there is one, else on the public API's execute-api URL.
    pub fn public_url(&self, mount: Option<&str>) -> String {
        match &self.public_domain {
            Some(domain) => urls::domain_url(domain, mount),
            None => urls::public_url(&self.public_api_id, &self.region, &self.public_stage, mount),
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
    /// Opted in and safe: these routes (boxed: a refusal is far smaller).
    Wanted(Box<Wanted>),
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

impl Wanted {
    /// Whether it asks for a route on `path` (any verb).
    pub fn asks_for(&self, path: &str) -> bool {
        self.routes
            .range((path.to_string(), String::new())..)
            .next()
            .is_some_and(|((p, _), _)| p == path)
    }
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
        Ok(w) => Exposure::Wanted(Box::new(w)),
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
    let mode = match api.tags.get(TAG_MODE) {
        Some(raw) => RouteMode::parse(raw).map_err(|e| format!("expose:mode {e}"))?,
        None => ctx.route_mode,
    };
    let base = urls::invoke_url(&api.api.api, &ctx.region, &stage);
    let route = Route {
        base: &base,
        api: &api.api.api,
        ctx,
    };
    let (mut routes, skipped) = match mode {
        RouteMode::Mirror => mirrored(&route, deployed, &selected, mount.as_deref())?,
        RouteMode::Proxy => proxied(&route, deployed, &selected, mount.as_deref())?,
    };
    // Where an ANY method needs credentials, a browser's preflight (sent without them)
    // would be refused: an open OPTIONS beside it goes to the same private path.
    if governed.preflight != governed.auth {
        with_open_preflights(&mut routes);
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
        url: ctx.public_url(mount.as_deref()),
        private_url: api
            .vpc_endpoint_ids
            .iter()
            .any(|v| v == ctx.hub_endpoint.as_str())
            .then(|| urls::private_url(&api.api.api, &ctx.hub_endpoint, &ctx.region, &stage)),
        skipped,
        governed,
    })
}

/// What every route of one API shares.
struct Route<'a> {
    /// The private stage's base URL.
    base: &'a str,
    /// The private API (for the pin).
    api: &'a ApiId,
    ctx: &'a Context,
}

impl Route<'_> {
    /// An HTTP_PROXY integration over the VPC link to `private_path` of the private stage
    /// (`{x+}` written `{x}`), mapping each of `public_path`'s variables through.
    fn integration(&self, verb: &str, public_path: &str, private_path: &str) -> Integration {
        let request_parameters = paths::parameters(public_path)
            .into_iter()
            .map(|p| {
                (
                    format!("integration.request.path.{p}"),
                    format!("method.request.path.{p}"),
                )
            })
            .chain([pinned_api_id(self.api)])
            .collect();
        Integration {
            kind: Some(IntegrationType::HttpProxy),
            http_method: verb.to_string(),
            uri: format!(
                "{}{}",
                self.base,
                paths::uri_suffix(private_path).trim_end_matches('/')
            ),
            connection_type: Some(ConnectionType::VpcLink),
            connection_id: self.ctx.vpc_link_id.clone(),
            integration_target: self.ctx.integration_target.clone(),
            request_parameters,
        }
    }
}

/// A private path's public path: under the mount, if any (`None` for the private root
/// without one: mirrored, it would claim the public API's own root).
fn public_path(mount: Option<&str>, private: &str) -> Option<String> {
    match (mount, private) {
        (None, "/") => None,
        (Some(m), "/") => Some(m.to_string()),
        (Some(m), p) => Some(format!("{m}{p}")),
        (None, p) => Some(p.to_string()),
    }
}

type Routes = BTreeMap<(String, String), Integration>;

/// Adds an `OPTIONS` route beside each `ANY` route that has none, to the same private path.
fn with_open_preflights(routes: &mut Routes) {
    let preflights: Vec<_> = routes
        .iter()
        .filter(|((path, verb), _)| {
            verb == "ANY" && !routes.contains_key(&(path.clone(), "OPTIONS".to_string()))
        })
        .map(|((path, _), integration)| {
            let mut options = integration.clone();
            options.http_method = "OPTIONS".into();
            ((path.clone(), "OPTIONS".to_string()), options)
        })
        .collect();
    routes.extend(preflights);
}

/// Mirror mode: one public route per deployed private method in the selected subtrees.
fn mirrored(
    route: &Route,
    deployed: &[super::PrivateResource],
    selected: &[String],
    mount: Option<&str>,
) -> Result<(Routes, Vec<String>), String> {
    let mut routes = BTreeMap::new();
    let mut skipped = Vec::new();
    for resource in deployed {
        if !selected
            .iter()
            .any(|root| paths::is_within(&resource.path, root))
        {
            continue;
        }
        let Some(public) = public_path(mount, &resource.path) else {
            continue;
        };
        if paths::validate(&resource.path, true).is_err()
            || paths::depth(&public) > paths::MAX_SEGMENTS
        {
            return Err(format!(
                "resource {} cannot be mirrored",
                shown(&resource.path)
            ));
        }
        for (verb, authorization) in &resource.methods {
            // The caller's SigV4 signature names the public host; the private API would
            // refuse it, so the route could never work.
            if authorization == "AWS_IAM" {
                skipped.push(format!("{verb} {} (AWS_IAM)", resource.path));
                continue;
            }
            routes.insert(
                (public.clone(), verb.clone()),
                route.integration(verb, &public, &resource.path),
            );
        }
    }
    Ok((routes, skipped))
}

/// Proxy mode: each selected subtree `/x` (the whole tree, `/`, only under a mount) is two
/// public resources, `/x` and `/x/{proxy+}`, each `ANY` to the same private path. A subtree
/// is routed once its stage deploys something in it; `AWS_IAM` methods inside it cannot be
/// served through the front door and are named as skipped.
fn proxied(
    route: &Route,
    deployed: &[super::PrivateResource],
    selected: &[String],
    mount: Option<&str>,
) -> Result<(Routes, Vec<String>), String> {
    let mut routes = BTreeMap::new();
    let mut skipped = Vec::new();
    for root in selected {
        let Some(public) = public_path(mount, root) else {
            return Err("proxy mode proxies the private root only under an expose:prefix".into());
        };
        let inside: Vec<_> = deployed
            .iter()
            .filter(|r| paths::is_within(&r.path, root))
            .collect();
        let mut served = false;
        for resource in &inside {
            for (verb, authorization) in &resource.methods {
                if authorization == "AWS_IAM" {
                    skipped.push(format!("{verb} {} (AWS_IAM)", resource.path));
                } else {
                    served = true;
                }
            }
        }
        if !served {
            continue;
        }
        // A greedy part ends a path: nothing can be proxied under one.
        if root.contains("+}") || paths::depth(&public) + 1 > paths::MAX_SEGMENTS {
            return Err(format!("subtree {} cannot be proxied", shown(root)));
        }
        let greedy = format!("{}/{{proxy+}}", public.trim_end_matches('/'));
        let private_greedy = format!("{}/{{proxy+}}", root.trim_end_matches('/'));
        routes.insert(
            (public.clone(), "ANY".to_string()),
            route.integration("ANY", &public, root),
        );
        routes.insert(
            (greedy.clone(), "ANY".to_string()),
            route.integration("ANY", &greedy, &private_greedy),
        );
    }
    Ok((routes, skipped))
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
    use crate::routes::PrivateResource;

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

    fn wanted_of(api: &PrivateApi, ctx: &Context) -> Wanted {
        match intent(api, ctx, &MethodAuth::open()).exposure {
            Exposure::Wanted(w) => *w,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn proxy_mode_is_two_routes_a_subtree_and_the_root_only_under_a_prefix() {
        let mut api = cats(&[
            ("expose", "true"),
            ("expose:mode", "proxy"),
            ("expose:paths", "/cats /owners"),
        ]);
        api.deployed
            .get_or_insert_with(Vec::new)
            .extend(deployed(&[("/cats/{id}/toys", "GET POST")]));
        let w = wanted_of(&api, &ctx());
        let keys: Vec<_> = w.routes.keys().cloned().collect();
        assert_eq!(
            keys,
            [
                ("/cats".to_string(), "ANY".to_string()),
                ("/cats/{proxy+}".into(), "ANY".into()),
                ("/owners".into(), "ANY".into()),
                ("/owners/{proxy+}".into(), "ANY".into()),
            ]
        );
        let greedy = &w.routes[&("/cats/{proxy+}".to_string(), "ANY".to_string())];
        assert_eq!(
            greedy.uri,
            "https://cats000000.execute-api.us-east-1.amazonaws.com/prd/cats/{proxy}"
        );
        assert_eq!(greedy.http_method, "ANY");
        assert_eq!(
            greedy.request_parameters["integration.request.path.proxy"],
            "method.request.path.proxy"
        );
        // The hub's default mode applies without the tag; the root needs a prefix.
        let hub_proxy = Context {
            route_mode: RouteMode::Proxy,
            ..ctx()
        };
        let whole = cats(&[("expose", "true")]);
        assert_eq!(
            intent(&whole, &hub_proxy, &MethodAuth::open()).exposure,
            Exposure::Refused(
                "proxy mode proxies the private root only under an expose:prefix".into()
            )
        );
        let mounted = cats(&[("expose", "true"), ("expose:prefix", "/pets")]);
        let w = wanted_of(&mounted, &hub_proxy);
        let keys: Vec<_> = w.routes.keys().map(|(p, _)| p.clone()).collect();
        assert_eq!(keys, ["/pets", "/pets/{proxy+}"]);
        assert_eq!(
            w.routes[&("/pets".to_string(), "ANY".to_string())].uri,
            "https://cats000000.execute-api.us-east-1.amazonaws.com/prd"
        );
        // A tag overrides the hub's default either way.
        let mirrored = cats(&[("expose", "true"), ("expose:mode", "mirror")]);
        assert!(wanted_of(&mirrored, &hub_proxy)
            .routes
            .contains_key(&("/cats/{id}".to_string(), "GET".to_string())));
    }

    #[test]
    fn an_any_route_that_needs_credentials_gets_an_open_preflight_beside_it() {
        let closed = Context {
            policy: Policy {
                authorizer_id: Some("auth01".into()),
                ..Policy::default()
            },
            ..ctx()
        };
        let hub = MethodAuth {
            authorization: crate::governance::Authorization::Lambda {
                authorizer_id: "auth01".into(),
            },
            api_key_required: false,
        };
        let api = cats(&[
            ("expose", "true"),
            ("expose:mode", "proxy"),
            ("expose:paths", "/cats"),
        ]);
        let Exposure::Wanted(w) = intent(&api, &closed, &hub).exposure else {
            panic!()
        };
        let options = &w.routes[&("/cats/{proxy+}".to_string(), "OPTIONS".to_string())];
        assert_eq!(options.http_method, "OPTIONS");
        assert!(options.uri.ends_with("/prd/cats/{proxy}"));
        assert_eq!(w.governed.preflight, MethodAuth::open());
        assert_eq!(w.routes.len(), 4);
        // Governed preflights, or an open hub: ANY answers OPTIONS itself.
        let strict = Context {
            policy: Policy {
                govern_preflight: true,
                ..closed.policy.clone()
            },
            ..ctx()
        };
        for (ctx, hub) in [(&strict, &hub), (&ctx(), &MethodAuth::open())] {
            let Exposure::Wanted(w) = intent(&api, ctx, hub).exposure else {
                panic!()
            };
            assert_eq!(w.routes.len(), 2, "{:?}", w.routes.keys());
        }
    }

    #[test]
    fn proxy_mode_names_aws_iam_methods_it_cannot_serve_and_a_domain_makes_the_url() {
        let mut api = cats(&[
            ("expose", "true"),
            ("expose:mode", "proxy"),
            ("expose:paths", "/cats"),
            ("expose:prefix", "/pets"),
        ]);
        api.deployed = Some(vec![
            PrivateResource {
                path: "/cats".into(),
                methods: [("GET".to_string(), "NONE".to_string())].into(),
            },
            PrivateResource {
                path: "/cats/{id}".into(),
                methods: [("DELETE".to_string(), "AWS_IAM".to_string())].into(),
            },
        ]);
        let on_domain = Context {
            public_domain: Some("api.example.com".into()),
            ..ctx()
        };
        let w = wanted_of(&api, &on_domain);
        assert_eq!(w.skipped, ["DELETE /cats/{id} (AWS_IAM)"]);
        assert_eq!(w.url, "https://api.example.com/pets");
        assert_eq!(
            refused(&cats(&[("expose", "true"), ("expose:mode", "fast")])),
            "expose:mode \"fast\" is not mirror or proxy"
        );
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
