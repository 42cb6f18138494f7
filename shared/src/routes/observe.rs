//! Reads only: the public API's resources (methods embedded), the registry records, the
//! APIs in scope through each spoke's read-only role, and the published parameters. Reads
//! grow with the number of APIs in scope: one GetResources page per 500 public resources,
//! one registry page per 10 record parameters, and per opted-in API its share of
//! GetRestApis (or one GetRestApi), GetStages and one GetDeployment of the exposed stage
//! (`embed=apisummary`: what the stage serves, not the working tree).
//!
//! A spoke account that cannot be read (its role cannot be assumed, or its reads are
//! denied) is set aside with the reason: its APIs stay out of scope, so nothing of theirs
//! is changed. Only a transient failure fails the observation.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_apigateway::operation::get_authorizer::GetAuthorizerError;
use aws_sdk_apigateway::operation::get_deployment::GetDeploymentError;
use aws_sdk_apigateway::operation::get_rest_api::GetRestApiError;
use aws_sdk_apigateway::operation::get_stage::GetStageError;
use aws_sdk_apigateway::types::Resource;

use super::desired::{chosen_stage, published_name, TAG_EXPOSE};
use super::Budget;
use super::{
    Integration, LearnedQuota, LiveMethod, Observed, PrivateApi, PrivateResource, PublicResource,
    Record, Scope, StageSettings, StageWide,
};
use crate::clients::App;
use crate::config::RouteSyncConfig;
use crate::error::{AwsResultExt, ConfigProblem, Error, Result};
use crate::governance::{self, Authorization, AuthorizerKind, MethodAuth, Throttle};
use crate::ids::{AccountId, ApiId, ApiRef};
use crate::{bounded, registry, urls};

/// GetResources' largest page.
const PAGE: i32 = 500;

/// Observes everything [`super::diff`] needs for `scope`, with no time limit.
pub async fn observe(app: &App<RouteSyncConfig>, scope: &Scope) -> Result<Observed> {
    observe_within(app, scope, &Budget::unlimited()).await
}

/// Observes everything [`super::diff`] needs for `scope`, starting spoke accounts while
/// `budget` lasts. A sweep starts at the account the last unfinished sweep stopped at and
/// wraps around, so no account is skipped forever.
pub async fn observe_within(
    app: &App<RouteSyncConfig>,
    scope: &Scope,
    budget: &Budget,
) -> Result<Observed> {
    let cell = observe_cell(app).await?;
    observe_spokes(app, scope, budget, cell, &BTreeSet::new()).await
}

/// What is read of one cell (one public REST API): its resources, its stage, what its
/// policy's authorizer is, and its own owed deployment and learned quota.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellObserved {
    /// The cell's resources.
    pub public: Vec<PublicResource>,
    /// Its owed deployment, if any.
    pub owed: Option<super::Owed>,
    /// The parameters its owed marker's list is split over.
    pub owed_parts: BTreeSet<String>,
    /// The resource quota AWS enforced on it below the configured one.
    pub learned_quota: Option<LearnedQuota>,
    /// What its policy gives every route.
    pub hub_auth: crate::governance::MethodAuth,
    /// Its stage's settings and what the stage serves.
    pub stage: super::StageSettings,
}

impl CellObserved {
    /// What a one-cell run observed of its cell, taken back out of `observed`.
    pub fn of(observed: &Observed) -> Self {
        CellObserved {
            public: observed.public.clone(),
            owed: observed.owed.clone(),
            owed_parts: observed.owed_parts.clone(),
            learned_quota: observed.learned_quota,
            hub_auth: observed.hub_auth.clone(),
            stage: observed.stage.clone(),
        }
    }

    /// `observed` as this cell sees it: the cell's resources, stage and own state.
    pub fn into_observed(self, mut observed: Observed) -> Observed {
        observed.public = self.public;
        observed.deployment_owed = self.owed.is_some();
        observed.owed = self.owed;
        observed.owed_parts = self.owed_parts;
        observed.learned_quota = self.learned_quota;
        observed.hub_auth = self.hub_auth;
        observed.stage = self.stage;
        observed
    }
}

/// Reads one cell: `app`'s configuration names it (`public_api_id`, its authorizer, its
/// state prefix).
pub async fn observe_cell(app: &App<RouteSyncConfig>) -> Result<CellObserved> {
    let config = &app.config;
    let public = resources(&app.clients.apigateway, config.public_api_id.as_str())
        .await
        .map(|all| all.into_iter().map(public_resource).collect::<Vec<_>>())?;
    let state = config.cell_state_prefix();
    let super::owed::Loaded { owed, parts } = super::owed::load(&app.clients.ssm, &state).await?;
    let learned_quota = registry::load::<Option<LearnedQuota>>(
        &app.clients.ssm,
        &registry::learned_quota_parameter(&state),
    )
    .await?;
    Ok(CellObserved {
        public,
        owed,
        owed_parts: parts,
        learned_quota,
        hub_auth: hub_auth(app).await?,
        stage: stage_settings(app).await?,
    })
}

/// Observes the spokes and the registry for `scope`, around what was read of a cell (the
/// first cell's view; the others swap in their own). `waiting_elsewhere` are APIs other
/// cells' owed deployments wait on: read too when the scope includes the owed.
pub(super) async fn observe_spokes(
    app: &App<RouteSyncConfig>,
    scope: &Scope,
    budget: &Budget,
    cell: CellObserved,
    waiting_elsewhere: &BTreeSet<ApiRef>,
) -> Result<Observed> {
    let config = &app.config;
    let Registry {
        records,
        names: record_parameters,
        corrupt,
    } = records(app).await?;
    let owed = cell.owed.clone();

    let sweep_cursor = match scope.sweep {
        true => registry::load::<Option<String>>(
            &app.clients.ssm,
            &registry::sweep_cursor_parameter(&config.ssm_prefix),
        )
        .await?
        .and_then(|a| AccountId::parse(&a).ok()),
        false => None,
    };

    // Which accounts to read, and which of their APIs.
    let mut wanted: BTreeMap<&AccountId, BTreeSet<&ApiRef>> = BTreeMap::new();
    if scope.sweep {
        for account in &config.allowed_accounts {
            wanted.entry(account).or_default();
        }
    }
    let waiting: BTreeSet<ApiRef> = match (&owed, scope.owed) {
        (Some(o), true) => o.waiting(),
        _ => BTreeSet::new(),
    };
    let waiting: BTreeSet<ApiRef> = match scope.owed {
        true => waiting
            .into_iter()
            .chain(waiting_elsewhere.iter().cloned())
            .collect(),
        false => waiting,
    };
    for api in scope.apis.iter().chain(&waiting) {
        if config.allowed_accounts.contains(&api.account) || scope.apis.contains(api) {
            wanted.entry(&api.account).or_default().insert(api);
        }
    }
    // Accounts are read concurrently, at most `spoke_concurrency` at once; the results are
    // merged in account order, so the plan is the one a sequential read gives.
    // A sweep lists the accounts from the cursor to the end of the list, in order; one that
    // reaches the end completes the cycle and the next starts from the first account. So
    // every account is reached within a bounded number of sweeps. Accounts before the
    // cursor are read only for the APIs events named.
    let listed = |account: &AccountId| {
        scope.sweep
            && config.allowed_accounts.contains(account)
            && sweep_cursor.as_ref().is_none_or(|c| account >= c)
    };
    // Listed accounts first, in order from the cursor; then accounts only events named. The
    // cursor is the first listed account not reached, so it only moves forward.
    let (mut order, named_only): (Vec<_>, Vec<_>) = wanted
        .into_iter()
        .filter(|(account, named)| listed(account) || !named.is_empty())
        .partition(|(account, _)| listed(account));
    order.extend(named_only);
    let records_ref = &records;
    let (reads, unread) = bounded::map_while(
        order,
        config.spoke_concurrency,
        || budget.has_time(),
        |(account, named)| async move {
            let found = account_apis(app, account, listed(account), &named, records_ref).await;
            (account, found)
        },
    )
    .await;
    let unread_apis: BTreeSet<ApiRef> = unread
        .iter()
        .flat_map(|(_, named)| named.iter().map(|a| (*a).clone()))
        .collect();
    let unread: Vec<AccountId> = unread
        .into_iter()
        .filter(|(a, _)| listed(a))
        .map(|(a, _)| a.clone())
        .collect();
    let mut apis: BTreeMap<ApiRef, Option<PrivateApi>> = BTreeMap::new();
    let mut unreachable = BTreeMap::new();
    for (account, found) in reads {
        match found {
            Ok(found) => apis.extend(found),
            // Permanent (role gone, reads denied) or transient past the SDK's retries (the
            // spoke throttled by its own traffic): either way that account is left as it is
            // this run, and the others go on. Failing the run instead would let one spoke
            // stall every batch of the one FIFO message group; the next sweep reads it again.
            Err(e) => {
                unreachable.insert(account.clone(), e.to_string());
            }
        }
    }
    // A sweep also looks at every API the registry knows in accounts no longer allowed:
    // they are gone from the front door's point of view. (Only once it reached every
    // allowed account: that is when it knows what is gone.)
    if scope.sweep && unread.is_empty() {
        for api in records.keys() {
            if !config.allowed_accounts.contains(&api.account) {
                apis.entry(api.clone()).or_insert(None);
            }
        }
    }

    let mut names: BTreeSet<String> = BTreeSet::new();
    for (api, found) in &apis {
        if let Some(name) = records.get(api).and_then(|r| r.name.clone()) {
            names.insert(name);
        }
        if let Some(name) = found.as_ref().and_then(published_name) {
            names.insert(name);
        }
    }
    let parameters = published(app, &names).await?;
    let observed = Observed {
        records,
        record_parameters,
        apis,
        parameters,
        sweep_cursor,
        unread,
        unread_apis,
        unreachable,
        corrupt,
        ..Observed::default()
    };
    Ok(cell.into_observed(observed))
}

/// What the hub's policy gives every route: its authorizer read for its kind. A policy that
/// cannot apply (the authorizer is not the public API's, scopes on a Lambda authorizer) is
/// a configuration error: the run writes nothing rather than routes without the governance
/// the hub asked for.
pub(super) async fn hub_auth(app: &App<RouteSyncConfig>) -> Result<MethodAuth> {
    let policy = &app.config.governance;
    let kind = match &policy.authorizer_id {
        None => None,
        Some(id) => {
            let found = app
                .clients
                .apigateway
                .get_authorizer()
                .rest_api_id(app.config.public_api_id.as_str())
                .authorizer_id(id)
                .send()
                .await
                .op_or_missing("GetAuthorizer", GetAuthorizerError::is_not_found_exception)?;
            found.and_then(|a| {
                a.r#type()
                    .and_then(|t| AuthorizerKind::from_type(t.as_str()))
            })
        }
    };
    governance::hub_auth(policy, kind.as_ref()).map_err(|problem| {
        Error::Config(vec![ConfigProblem {
            name: governance::AUTHORIZER_ID,
            problem,
        }])
    })
}

/// The public stage's per-method settings: throttles by key, the keys that hold more
/// than a throttle, and the stage-wide (`*/*`) logging and metrics.
async fn stage_settings(app: &App<RouteSyncConfig>) -> Result<StageSettings> {
    let found = app
        .clients
        .apigateway
        .get_stage()
        .rest_api_id(app.config.public_api_id.as_str())
        .stage_name(&app.config.public_stage)
        .send()
        .await
        .op_or_missing("GetStage", GetStageError::is_not_found_exception)?;
    // Not deployed yet: the first deployment makes it, then its settings are set.
    let Some(stage) = found else {
        return Ok(StageSettings::default());
    };
    let mut out = StageSettings::default();
    let settings = stage.method_settings();
    let wide = |s: &aws_sdk_apigateway::types::MethodSetting| StageWide {
        metrics: s.metrics_enabled(),
        logging_level: s
            .logging_level()
            .filter(|l| !l.eq_ignore_ascii_case("OFF"))
            .map(str::to_string),
        data_trace: s.data_trace_enabled(),
    };
    out.stage_wide = settings.and_then(|m| m.get("*/*")).map(wide);
    let inherited = out.stage_wide.clone().unwrap_or_default();
    for (key, s) in settings.into_iter().flatten() {
        if key == "*/*" {
            continue;
        }
        // Caching, or logging and metrics other than the stage's (which frontdoor copies
        // into a setting it makes): someone else's, not frontdoor's to remove.
        if s.caching_enabled() || wide(s) != inherited {
            out.more_than_throttle.insert(key.clone());
        }
        let rate = s.throttling_rate_limit();
        let whole = rate.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&rate);
        let burst = u32::try_from(s.throttling_burst_limit()).ok();
        let throttle = match (whole, burst) {
            // Checked whole and in range just above.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            (true, Some(burst)) => Some(Throttle {
                rate: rate as u32,
                burst,
            }),
            _ => None,
        };
        out.throttles.insert(key.clone(), throttle);
    }
    if let Some(deployment) = stage.deployment_id() {
        out.served = served(app, deployment).await?;
    }
    Ok(out)
}

/// What a deployment serves (`GetDeployment` with `embed=apisummary`): path -> verb ->
/// (authorization type, API key required), `NONE` where AWS gives no type; `None` when
/// the deployment is gone. The same read for a spoke's exposed stage and the public stage.
async fn deployment_summary(
    client: &aws_sdk_apigateway::Client,
    api: &str,
    deployment: &str,
) -> Result<Option<BTreeMap<String, BTreeMap<String, (String, bool)>>>> {
    let found = client
        .get_deployment()
        .rest_api_id(api)
        .deployment_id(deployment)
        .embed("apisummary")
        .send()
        .await
        .op_or_missing("GetDeployment", GetDeploymentError::is_not_found_exception)?;
    Ok(found.map(|d| {
        d.api_summary()
            .into_iter()
            .flatten()
            .map(|(path, methods)| {
                let methods = methods
                    .iter()
                    .map(|(verb, m)| {
                        let kind = m.authorization_type().unwrap_or("NONE").to_string();
                        (verb.clone(), (kind, m.api_key_required()))
                    })
                    .collect();
                (path.clone(), methods)
            })
            .collect()
    }))
}

/// What the public stage's deployment serves: the stage, not the working tree, is what
/// callers reach, and it can be pointed elsewhere (a rollback by hand, a stack update).
async fn served(
    app: &App<RouteSyncConfig>,
    deployment: &str,
) -> Result<Option<BTreeMap<(String, String), super::Served>>> {
    let api = app.config.public_api_id.as_str();
    // A hub whose role predates this read (AccessDenied) still syncs routes; the stage is
    // then only not judged, as before.
    let summary = match deployment_summary(&app.clients.apigateway, api, deployment).await {
        Ok(summary) => summary,
        Err(e) if !e.is_transient() => {
            tracing::warn!(error = %e, "the public stage's deployment cannot be read: not judged");
            None
        }
        Err(e) => return Err(e),
    };
    Ok(summary.map(|summary| {
        summary
            .into_iter()
            .flat_map(|(path, methods)| {
                methods.into_iter().map(move |(verb, (kind, key))| {
                    let served = super::Served {
                        authorization_type: kind,
                        api_key_required: key,
                    };
                    ((path.clone(), verb), served)
                })
            })
            .collect()
    }))
}

/// One spoke account's APIs in scope: all of them when `listed` (a sweep: those opted in or
/// known to the registry), else those `named`. A permanent error means the account cannot
/// be read.
async fn account_apis(
    app: &App<RouteSyncConfig>,
    account: &AccountId,
    listed: bool,
    named: &BTreeSet<&ApiRef>,
    records: &BTreeMap<ApiRef, Record>,
) -> Result<BTreeMap<ApiRef, Option<PrivateApi>>> {
    let client = app
        .clients
        .spokes
        .client(account, &app.config.spoke_role_name)
        .await;
    let mut out: BTreeMap<ApiRef, Option<PrivateApi>> = BTreeMap::new();
    if listed {
        for api in list_apis(&client, account).await? {
            let known = records.contains_key(&api.api);
            if known || api.tags.contains_key(TAG_EXPOSE) {
                out.insert(api.api.clone(), Some(api));
            }
        }
        for api in records.keys().filter(|a| &a.account == account) {
            out.entry(api.clone()).or_insert(None);
        }
    }
    for api in named {
        if !out.contains_key(*api) {
            out.insert((*api).clone(), get_api(&client, api).await?);
        }
    }
    // Each opted-in API's stages and snapshot, at most `account_concurrency` calls at once.
    let client = &client;
    let opted_in = out
        .values_mut()
        .flatten()
        .filter(|found| found.tags.get(TAG_EXPOSE).map(|v| v.trim()) == Some("true"));
    bounded::try_map(opted_in, app.config.account_concurrency, |found| {
        fill_deployed(client, found)
    })
    .await?;
    Ok(out)
}

/// Every resource of an API, methods and integrations embedded.
pub(super) async fn resources(
    client: &aws_sdk_apigateway::Client,
    api_id: &str,
) -> Result<Vec<Resource>> {
    let mut out = Vec::new();
    let mut position: Option<String> = None;
    // Bounded: 300 resources is API Gateway's default quota; 100 pages is far beyond it.
    for _ in 0..100 {
        let page = client
            .get_resources()
            .rest_api_id(api_id)
            .embed("methods")
            .limit(PAGE)
            .set_position(position.clone())
            .send()
            .await
            .op("GetResources")?;
        out.extend(page.items().iter().cloned());
        position = page
            .position()
            .map(str::to_string)
            .filter(|p| !p.is_empty());
        if position.is_none() {
            break;
        }
    }
    Ok(out)
}

fn public_resource(r: Resource) -> PublicResource {
    let methods = r
        .resource_methods()
        .map(|m| {
            m.iter()
                .map(|(verb, method)| {
                    let integration = method.method_integration().map(|i| Integration {
                        kind: i.r#type().cloned(),
                        http_method: i.http_method().unwrap_or_default().to_string(),
                        uri: i.uri().unwrap_or_default().to_string(),
                        connection_type: i.connection_type().cloned(),
                        connection_id: i.connection_id().unwrap_or_default().to_string(),
                        integration_target: i.integration_target().map(str::to_string),
                        request_parameters: i
                            .request_parameters()
                            .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                            .unwrap_or_default(),
                    });
                    let auth = MethodAuth {
                        authorization: Authorization::observed(
                            method.authorization_type().unwrap_or("NONE"),
                            method.authorizer_id(),
                            method.authorization_scopes(),
                        ),
                        api_key_required: method.api_key_required().unwrap_or(false),
                    };
                    (verb.clone(), LiveMethod { integration, auth })
                })
                .collect()
        })
        .unwrap_or_default();
    PublicResource {
        id: r.id().unwrap_or_default().to_string(),
        path: r.path().unwrap_or_default().to_string(),
        methods,
    }
}

/// Every record and the parameters it lives in; a record with a part that cannot be read
/// is set aside with the reason.
async fn records(app: &App<RouteSyncConfig>) -> Result<Registry> {
    let prefix = &app.config.ssm_prefix;
    let mut corrupt: BTreeMap<ApiRef, String> = BTreeMap::new();
    let mut records: BTreeMap<ApiRef, Record> = BTreeMap::new();
    let mut names: BTreeMap<ApiRef, BTreeSet<String>> = BTreeMap::new();
    let folder = registry::apis_folder(prefix);
    let stored = registry::values_under(&app.clients.ssm, folder.trim_end_matches('/')).await?;
    for (name, value) in &stored {
        // A parameter under the folder that is not a record was not written by frontdoor.
        let Some(api) = registry::api_of_parameter(prefix, name) else {
            continue;
        };
        // One unreadable part is that API's problem, not every tenant's: it is set
        // aside, frozen, and said (DESIGN principle 4).
        let part = match registry::decode::<Record>(name, value) {
            Ok(part) => part,
            Err(e) => {
                corrupt.insert(api.clone(), e.to_string());
                names.entry(api).or_default().insert(name.clone());
                continue;
            }
        };
        let record = records.entry(api.clone()).or_default();
        *record = record.union(&part);
        names.entry(api).or_default().insert(name.clone());
    }
    Ok(Registry {
        records,
        names,
        corrupt,
    })
}

/// What the registry holds for route sync.
struct Registry {
    records: BTreeMap<ApiRef, Record>,
    names: BTreeMap<ApiRef, BTreeSet<String>>,
    corrupt: BTreeMap<ApiRef, String>,
}

async fn list_apis(
    client: &aws_sdk_apigateway::Client,
    account: &AccountId,
) -> Result<Vec<PrivateApi>> {
    let mut out = Vec::new();
    let mut pages = client.get_rest_apis().limit(PAGE).into_paginator().send();
    while let Some(page) = pages.next().await {
        for api in page.op("GetRestApis")?.items() {
            if let Some(found) = private_api(account, api) {
                out.push(found);
            }
        }
    }
    Ok(out)
}

async fn get_api(client: &aws_sdk_apigateway::Client, api: &ApiRef) -> Result<Option<PrivateApi>> {
    let found = client
        .get_rest_api()
        .rest_api_id(api.api.as_str())
        .send()
        .await
        .op_or_missing("GetRestApi", GetRestApiError::is_not_found_exception)?;
    Ok(found.and_then(|out| {
        private_api_from_parts(
            &api.account,
            Parts {
                id: out.id(),
                name: out.name(),
                tags: out.tags(),
                endpoint: out.endpoint_configuration(),
                disable_execute_api_endpoint: out.disable_execute_api_endpoint(),
                policy: out.policy(),
            },
        )
    }))
}

fn private_api(
    account: &AccountId,
    api: &aws_sdk_apigateway::types::RestApi,
) -> Option<PrivateApi> {
    private_api_from_parts(
        account,
        Parts {
            id: api.id(),
            name: api.name(),
            tags: api.tags(),
            endpoint: api.endpoint_configuration(),
            disable_execute_api_endpoint: api.disable_execute_api_endpoint(),
            policy: api.policy(),
        },
    )
}

/// The fields GetRestApi and GetRestApis share.
struct Parts<'a> {
    id: Option<&'a str>,
    name: Option<&'a str>,
    tags: Option<&'a std::collections::HashMap<String, String>>,
    endpoint: Option<&'a aws_sdk_apigateway::types::EndpointConfiguration>,
    disable_execute_api_endpoint: bool,
    policy: Option<&'a str>,
}

fn private_api_from_parts(account: &AccountId, parts: Parts<'_>) -> Option<PrivateApi> {
    Some(PrivateApi {
        api: ApiRef {
            account: account.clone(),
            api: ApiId::parse(parts.id?).ok()?,
        },
        name: parts.name.unwrap_or_default().to_string(),
        tags: parts
            .tags
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
        endpoint_types: parts
            .endpoint
            .map(|e| e.types())
            .unwrap_or_default()
            .iter()
            .map(|t| t.as_str().to_string())
            .collect(),
        vpc_endpoint_ids: parts
            .endpoint
            .map(|e| e.vpc_endpoint_ids().to_vec())
            .unwrap_or_default(),
        disable_execute_api_endpoint: parts.disable_execute_api_endpoint,
        policy: parts.policy.map(str::to_string),
        stages: BTreeMap::new(),
        deployed: None,
    })
}

/// Its stages, and what the exposed stage's deployment serves. A deployment that is gone
/// leaves `deployed` empty (desired refuses the API, saying so).
async fn fill_deployed(client: &aws_sdk_apigateway::Client, api: &mut PrivateApi) -> Result<()> {
    let stages = client
        .get_stages()
        .rest_api_id(api.api.api.as_str())
        .send()
        .await
        .op("GetStages")?;
    api.stages = stages
        .item()
        .iter()
        .filter_map(|s| {
            Some((
                s.stage_name()?.to_string(),
                s.deployment_id().unwrap_or_default().to_string(),
            ))
        })
        .collect();
    let Some(deployment) = chosen_stage(api)
        .ok()
        .and_then(|stage| api.stages.get(&stage).cloned())
        .filter(|d| !d.is_empty())
    else {
        return Ok(());
    };
    let Some(summary) = deployment_summary(client, api.api.api.as_str(), &deployment).await? else {
        return Ok(());
    };
    // By path (a sorted map), so statuses that list skipped methods are stable.
    let deployed: Vec<PrivateResource> = summary
        .into_iter()
        .map(|(path, methods)| PrivateResource {
            path,
            methods: methods
                .into_iter()
                .map(|(verb, (kind, _))| (verb, kind))
                .collect(),
        })
        .collect();
    api.deployed = Some(deployed);
    Ok(())
}

async fn published(
    app: &App<RouteSyncConfig>,
    names: &BTreeSet<String>,
) -> Result<BTreeMap<String, String>> {
    let all: Vec<String> = names
        .iter()
        .flat_map(|n| urls::parameter_names(&app.config.ssm_prefix, n))
        .collect();
    registry::get_values(&app.clients.ssm, &all).await
}
