//! Route sync: the public API serves, for every exposed private API, the resources it
//! selected, proxied over the VPC link; SSM publishes stable URLs and a status.
//!
//! [`reconcile`] is observe -> desired (pure, per API: opt-in tags, pre-flight, routes) ->
//! diff (pure: ownership, conflicts, minimal writes) -> apply -> verify. One reconcile per
//! batch, at most one deployment.

mod apply;
pub mod budget;
mod cell_sync;
pub mod cells;
pub mod desired;
pub mod diff;
#[cfg(test)]
mod fixtures;
mod observe;
mod owed;
pub mod status;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use tracing::{info, instrument};

use crate::clients::App;
use crate::config::RouteSyncConfig;
use aws_sdk_apigateway::types::{ConnectionType, IntegrationType};

use crate::error::Result;
use crate::governance::{MethodAuth, Throttle};
use crate::ids::{AccountId, ApiRef};

pub use apply::{apply, verify, Applied};
pub use budget::Budget;
pub use cell_sync::{
    cell_records_folder, named_cells, needs_cells, plan_cells, plan_cells_from, rule_parameter,
    rules_as_they_are, CellPlan, CellPlans, RuleRecord,
};
pub use diff::{diff, ApiPlan, Plan, RouteKey};
pub use observe::{observe, observe_cell, observe_within, CellObserved};
pub use owed::Owed;
pub use status::{Holder, Status, StatusKind};

pub use crate::scope::Scope;

/// An integration as frontdoor writes it and compares it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Integration {
    /// `HTTP_PROXY` for frontdoor's routes (`None` when AWS gives no type).
    pub kind: Option<IntegrationType>,
    /// The HTTP method sent to the private API.
    pub http_method: String,
    /// The private API's URL for this resource.
    pub uri: String,
    /// `VPC_LINK` for frontdoor's routes (`None` on a method without one).
    pub connection_type: Option<ConnectionType>,
    /// The VPC link id.
    pub connection_id: String,
    /// The load balancer a VPC link V2 sends to (`integrationTarget`); `None` with a V1 link.
    pub integration_target: Option<String>,
    /// `integration.request.path.x` -> `method.request.path.x`.
    pub request_parameters: BTreeMap<String, String>,
}

/// A method on a public resource, as observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveMethod {
    /// Its integration, if it has one.
    pub integration: Option<Integration>,
    /// Its authorization and API key requirement.
    pub auth: MethodAuth,
}

/// A resource of the public API, as observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicResource {
    /// API Gateway's id for it.
    pub id: String,
    /// Its full path, e.g. `/cats/{id}`.
    pub path: String,
    /// Methods by HTTP verb (`GET`, `ANY`, ...).
    pub methods: BTreeMap<String, LiveMethod>,
}

/// A deployed resource of a private API: a path of its stage's deployment snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateResource {
    /// Its full path.
    pub path: String,
    /// Its HTTP verbs, each with its `authorizationType` (`NONE`, `AWS_IAM`, `CUSTOM`,
    /// `COGNITO_USER_POOLS`).
    pub methods: BTreeMap<String, String>,
}

/// A private API, as read through the spoke's read-only role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateApi {
    /// Account and id.
    pub api: ApiRef,
    /// Its name.
    pub name: String,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// Endpoint types, e.g. `["PRIVATE"]`.
    pub endpoint_types: Vec<String>,
    /// `endpointConfiguration.vpcEndpointIds`: the endpoints that get an
    /// `{api-id}-{vpce-id}` alias.
    pub vpc_endpoint_ids: Vec<String>,
    /// Whether its default `execute-api` URL is switched off (it then answers 403).
    pub disable_execute_api_endpoint: bool,
    /// The resource policy as AWS returns it.
    pub policy: Option<String>,
    /// Stage name -> deployment id (empty when never deployed).
    pub stages: BTreeMap<String, String>,
    /// What the exposed stage's deployment serves (`GetDeployment` `embed=apisummary`);
    /// `None` when not read (not opted in, no usable stage) or the deployment is gone.
    pub deployed: Option<Vec<PrivateResource>>,
}

/// What frontdoor remembers about one exposed API (one registry parameter each).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The SSM name its URL parameters live under.
    pub name: Option<String>,
    /// Public path -> verbs frontdoor put there for this API.
    pub claims: BTreeMap<String, BTreeSet<String>>,
    /// Public resources frontdoor created that this API needs.
    pub created: BTreeSet<String>,
    /// Public paths kept for this API while it has no routes on them: it was refused (a
    /// refusal never releases a claim) or it left (held for its account until the hold
    /// ends). Nobody of another account takes them meanwhile.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub reserved: BTreeSet<String>,
    /// When its API left (un-exposed or deleted), in seconds since the epoch: its name and
    /// reserved paths stay its account's until `FRONTDOOR_RELEASE_HOLD` after this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub released: Option<u64>,
    /// Its `expose:prefix` mount while it is routed there: the subtree is its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount: Option<String>,
    /// Public paths it stopped asking for while it stayed exposed, and when (seconds since
    /// the epoch): held for its account until `FRONTDOOR_RELEASE_HOLD` after that, as if
    /// it had left, so a team's slip in a deployment does not hand its consumers to another
    /// account.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dropped: BTreeMap<String, u64>,
    /// Names it published under before a rename, and when it let each go: held for its
    /// account as `dropped` paths are.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub former_names: BTreeMap<String, u64>,
    /// The cell (public REST API id) it is placed in; `None` is the first cell, where every
    /// API of a one-cell hub lives. Placement is sticky: a live API never moves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell: Option<String>,
}

impl Record {
    /// Whether it records nothing.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.claims.is_empty()
            && self.created.is_empty()
            && self.reserved.is_empty()
            && self.dropped.is_empty()
            && self.former_names.is_empty()
    }

    /// Paths it let go while exposed whose hold lasts past `now`, with when each hold ends.
    pub fn dropped_held(
        &self,
        hold: std::time::Duration,
        now: u64,
    ) -> impl Iterator<Item = (&String, u64)> {
        held_past(&self.dropped, hold, now)
    }

    /// Names it let go in a rename whose hold lasts past `now`, with when each hold ends.
    pub fn former_names_held(
        &self,
        hold: std::time::Duration,
        now: u64,
    ) -> impl Iterator<Item = (&String, u64)> {
        held_past(&self.former_names, hold, now)
    }

    /// When the hold on what a departed API left ends (seconds since the epoch); `None`
    /// while its API is still here.
    pub fn held_until(&self, hold: std::time::Duration) -> Option<u64> {
        self.released.map(|at| hold_ends(at, hold))
    }

    /// The record encoded for the registry: one value, or as many as it needs so that
    /// each stays under a standard parameter's 4096 characters (the record is their union).
    pub fn encode_parts(&self, name: &str) -> Result<Vec<String>> {
        let whole = crate::registry::encode(name, self);
        if whole.is_ok() {
            return whole.map(|v| vec![v]);
        }
        // Room for the envelope, the name and JSON punctuation around the entries.
        const BUDGET: usize = crate::registry::MAX_VALUE_BYTES - 512;
        let mut parts = vec![Record {
            name: self.name.clone(),
            released: self.released,
            mount: self.mount.clone(),
            former_names: self.former_names.clone(),
            cell: self.cell.clone(),
            ..Record::default()
        }];
        // The first part also carries the name, the mount, the former names and the cell.
        let mut used = crate::registry::encode(name, &parts[0]).map_or(BUDGET, |v| v.len());
        let mut room = |need: usize, parts: &mut Vec<Record>| {
            if used + need > BUDGET && used > 0 {
                parts.push(Record::default());
                used = 0;
            }
            used += need;
        };
        for (path, verbs) in &self.claims {
            room(json_len(path) + json_len(verbs), &mut parts);
            if let Some(last) = parts.last_mut() {
                last.claims.insert(path.clone(), verbs.clone());
            }
        }
        for path in &self.created {
            room(json_len(path), &mut parts);
            if let Some(last) = parts.last_mut() {
                last.created.insert(path.clone());
            }
        }
        for path in &self.reserved {
            room(json_len(path), &mut parts);
            if let Some(last) = parts.last_mut() {
                last.reserved.insert(path.clone());
            }
        }
        for (path, at) in &self.dropped {
            room(json_len(path) + 12, &mut parts);
            if let Some(last) = parts.last_mut() {
                last.dropped.insert(path.clone(), *at);
            }
        }
        parts
            .iter()
            .map(|p| crate::registry::encode(name, p))
            .collect()
    }

    /// The union of two records: what to store before writes that move from one to the other.
    pub fn union(&self, other: &Record) -> Record {
        let mut claims = self.claims.clone();
        for (path, verbs) in &other.claims {
            claims
                .entry(path.clone())
                .or_default()
                .extend(verbs.iter().cloned());
        }
        Record {
            // The name already recorded stays until the narrowing: its parameters may still
            // exist until this run deletes them (a rename), and only a record finds them.
            name: self.name.clone().or_else(|| other.name.clone()),
            claims,
            created: self.created.union(&other.created).cloned().collect(),
            reserved: self.reserved.union(&other.reserved).cloned().collect(),
            mount: self.mount.clone().or_else(|| other.mount.clone()),
            // Placement is sticky: the recorded cell stays.
            cell: self.cell.clone().or_else(|| other.cell.clone()),
            // The earliest release: a hold never restarts by itself.
            released: match (self.released, other.released) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            dropped: earliest(&self.dropped, &other.dropped),
            former_names: earliest(&self.former_names, &other.former_names),
        }
    }
}

/// Entries of `at` (key -> when it was let go) whose hold ends after `now`, with that end.
fn held_past(
    at: &BTreeMap<String, u64>,
    hold: std::time::Duration,
    now: u64,
) -> impl Iterator<Item = (&String, u64)> {
    at.iter()
        .map(move |(k, at)| (k, hold_ends(*at, hold)))
        .filter(move |(_, until)| *until > now)
}

/// The union of two "let go at" maps, each key at its earliest time: a hold never restarts
/// by itself.
fn earliest(a: &BTreeMap<String, u64>, b: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    let mut out = a.clone();
    for (k, at) in b {
        out.entry(k.clone())
            .and_modify(|t| *t = (*t).min(*at))
            .or_insert(*at);
    }
    out
}

/// When the hold on what an API released at `released` (seconds since the epoch) ends.
pub fn hold_ends(released: u64, hold: std::time::Duration) -> u64 {
    released.saturating_add(hold.as_secs())
}

/// Everything observed, as plain values: the input of [`desired`] and [`diff`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Observed {
    /// The public API's resources.
    pub public: Vec<PublicResource>,
    /// The registry: one record per API frontdoor has exposed.
    pub records: BTreeMap<ApiRef, Record>,
    /// The SSM parameters each record is stored in (one, or several for a large record).
    pub record_parameters: BTreeMap<ApiRef, BTreeSet<String>>,
    /// APIs in scope: `None` when the API no longer exists.
    pub apis: BTreeMap<ApiRef, Option<PrivateApi>>,
    /// Current values of the published parameters under `{prefix}/apis/`.
    pub parameters: BTreeMap<String, String>,
    /// A previous run wrote to the public API and did not deploy.
    pub deployment_owed: bool,
    /// The owed deployment: its token and the APIs waiting on it.
    pub owed: Option<Owed>,
    /// The parameters the owed marker's list of waiting APIs is split over (none while it
    /// fits the marker itself).
    pub owed_parts: BTreeSet<String>,
    /// The resource quota AWS enforced (`LimitExceededException`) while frontdoor was
    /// configured with a larger one, and that configured value.
    pub learned_quota: Option<LearnedQuota>,
    /// Where the last sweep that ran out of time stopped (the first account it did not read).
    pub sweep_cursor: Option<AccountId>,
    /// Accounts this sweep did not reach before its budget ran out, in the order it would
    /// have read them: they are out of scope, and the next sweep starts at the first.
    pub unread: Vec<AccountId>,
    /// APIs named by events or waiting on the owed deployment whose account the run's read
    /// budget did not reach: carried over with the owed marker to the next run.
    pub unread_apis: BTreeSet<ApiRef>,
    /// APIs whose registry record has a part that cannot be read, and why: frozen (nothing
    /// of theirs is written; methods their unreadable part claimed look hand-made, so nobody
    /// takes them) until a person fixes or deletes the parameter.
    pub corrupt: BTreeMap<ApiRef, String>,
    /// Spoke accounts that could not be read this run (role not assumable, reads denied),
    /// and why: their APIs are left exactly as they are.
    pub unreachable: BTreeMap<AccountId, String>,
    /// What the hub's policy gives every route, with its authorizer's kind as read.
    pub hub_auth: MethodAuth,
    /// The public stage's per-method settings.
    pub stage: StageSettings,
}

/// The public stage's per-method settings (GetStage `methodSettings`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StageSettings {
    /// By key (`~1cats/GET`): the throttle, or `None` when it is not one frontdoor would
    /// write (a fractional rate).
    pub throttles: BTreeMap<String, Option<Throttle>>,
    /// Keys whose setting holds more than a throttle (logging, metrics, caching): someone
    /// else's settings, which frontdoor never removes.
    pub more_than_throttle: BTreeSet<String>,
    /// The stage-wide (`*/*`) logging and metrics: a new per-method setting starts from
    /// AWS's defaults (off), so frontdoor copies these into it.
    pub stage_wide: Option<StageWide>,
    /// What the stage serves: each method of its deployment's `apiSummary` with its
    /// authorization type and API key requirement; `None` when there is no stage or its
    /// deployment cannot be read.
    pub served: Option<BTreeMap<(String, String), Served>>,
}

/// One method as a deployment serves it (`apiSummary` names no authorizer, only the type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    /// `NONE`, `CUSTOM`, `COGNITO_USER_POOLS`, `AWS_IAM`.
    pub authorization_type: String,
    /// Whether it requires an API key.
    pub api_key_required: bool,
}

/// The stage-wide logging and metrics (`*/*`); the default is AWS's: all off.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StageWide {
    /// CloudWatch metrics.
    pub metrics: bool,
    /// Execution logging (`OFF`, `ERROR`, `INFO`).
    pub logging_level: Option<String>,
    /// Full request/response logging.
    pub data_trace: bool,
}

/// A resource quota AWS enforced below the configured one. It holds while the configuration
/// says what it said then: an operator who has the quota raised configures the new value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LearnedQuota {
    /// Resources the public API held when AWS refused one more.
    pub enforced: usize,
    /// `FRONTDOOR_RESOURCE_QUOTA` at that time.
    pub configured: usize,
}

impl Observed {
    /// The quota to plan with: the configured one, or what AWS enforced below it.
    pub fn resource_quota(&self, configured: usize) -> usize {
        match self.learned_quota {
            Some(l) if l.configured == configured => l.enforced.min(configured),
            _ => configured,
        }
    }

    /// The public API's resources by path.
    pub fn public_by_path(&self) -> BTreeMap<&str, &PublicResource> {
        self.public.iter().map(|r| (r.path.as_str(), r)).collect()
    }

    /// Every `(path, verb)` some registry record claims: the methods frontdoor owns.
    pub fn claimed_methods(&self) -> BTreeSet<(String, String)> {
        self.route_owners().into_keys().collect()
    }

    /// The API whose record claims each `(path, verb)`.
    pub fn route_owners(&self) -> BTreeMap<(String, String), &ApiRef> {
        self.records
            .iter()
            .flat_map(|(api, r)| {
                r.claims.iter().flat_map(move |(path, verbs)| {
                    verbs.iter().map(move |v| ((path.clone(), v.clone()), api))
                })
            })
            .collect()
    }

    /// Public paths with a method no record claims: hand-made routes, never touched.
    pub fn hand_made_routes(&self) -> BTreeSet<&str> {
        let claimed = self.claimed_methods();
        self.public
            .iter()
            .filter(|r| {
                r.methods
                    .keys()
                    .any(|v| !claimed.contains(&(r.path.clone(), v.clone())))
            })
            .map(|r| r.path.as_str())
            .collect()
    }

    /// Every public resource some record says frontdoor created.
    pub fn created_resources(&self) -> BTreeSet<&String> {
        self.records
            .values()
            .flat_map(|r| r.created.iter())
            .collect()
    }
}

/// What one reconcile did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// APIs looked at.
    pub apis: usize,
    /// Status per API (`{account}/{api-id}` -> status).
    pub statuses: BTreeMap<String, Status>,
    /// Public resources created.
    pub resources_created: usize,
    /// Public resources deleted.
    pub resources_deleted: usize,
    /// Methods (with their integrations) put.
    pub methods_put: usize,
    /// Integrations rewritten on existing methods (drift repaired).
    pub integrations_updated: usize,
    /// Methods deleted.
    pub methods_deleted: usize,
    /// Methods whose authorization or API key requirement was updated to the policy.
    pub methods_governed: usize,
    /// Per-method throttles set or removed on the public stage.
    pub throttles_changed: usize,
    /// Deployments created (0 or 1).
    pub deployments: usize,
    /// Deployments AWS refused (0 or 1): the deployment stays owed.
    pub deployments_refused: usize,
    /// "Deploy" messages enqueued (0 or 1) instead of deploying in this run.
    pub deployments_enqueued: usize,
    /// Spoke accounts skipped because they could not be read.
    pub accounts_skipped: usize,
    /// Spoke accounts a sweep left for the next one (it ran out of time).
    pub accounts_deferred: usize,
    /// APIs whose writes or publishing the run's budget left for the next run.
    pub apis_deferred: usize,
    /// APIs past their account's API share (`FRONTDOOR_ACCOUNT_API_QUOTA`): not tracked.
    pub apis_over_share: usize,
    /// Cells the hub stack records that are not in use yet (each waits for something).
    pub cells_waiting: usize,
    /// APIs that live in a cell not in use now (removed, or waiting again): frozen as they
    /// are until the cell is back or they leave.
    pub apis_in_idle_cells: usize,
    /// Resources on the public API after this reconcile (quota: 300 by default).
    pub public_resources: usize,
    /// AWS calls that only read.
    pub reads: u64,
    /// AWS calls that wrote.
    pub writes: u64,
    /// Events refused (account not allowed).
    pub events_refused: usize,
    /// Events dropped (not understood, or nothing to do).
    pub events_dropped: usize,
}

/// When the public stage is deployed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deploy {
    /// At the end of this run: a bare invocation, the CLI, or a batch that holds the
    /// "deploy" message.
    Now,
    /// Through one "deploy" message on the FIFO route queue (deduplicated per owed
    /// deployment), behind every batch queued before it: a burst is one deployment.
    Enqueue,
}

/// One whole route sync over `scope`, deploying at the end, with no time limit.
pub async fn reconcile(app: &App<RouteSyncConfig>, scope: &Scope) -> Result<Report> {
    reconcile_with(app, scope, Deploy::Now, &Budget::unlimited()).await
}

/// One whole route sync over `scope`.
#[instrument(skip_all, fields(sweep = scope.sweep, apis = scope.apis.len()))]
pub async fn reconcile_with(
    app: &App<RouteSyncConfig>,
    scope: &Scope,
    deploy: Deploy,
    budget: &Budget,
) -> Result<Report> {
    // The run's calls count from here: the cells' records are read for it.
    let before = app.clients.calls.snapshot();
    let named;
    let app = match cell_sync::named_cells(app).await? {
        Some(config) => {
            named = app.with_config(config);
            &named
        }
        None => app,
    };
    if app.config.cells.len() > 1 {
        return cell_sync::reconcile_cells(app, scope, deploy, budget, &before).await;
    }
    let observed = observe_within(app, scope, budget).await?;
    // APIs recorded in a cell not configured now (removed, or waiting again) stay as they
    // are, which only the cells' plan does: one cell's would take them in. What was read
    // serves it; the spokes are not read again.
    if cell_sync::needs_cells(&app.config, Some(&observed)) {
        let plans = cell_sync::plan_cells_from(app, observed).await?;
        return cell_sync::apply_cells(app, &plans, deploy, budget, &before).await;
    }
    let plan = plan(&observed, &desired::Context::from_app(app));
    let applied = apply(app, &observed, &plan, deploy, budget).await?;
    verify(app, &plan, &applied).await?;
    let calls = app.clients.calls.snapshot().since(&before);
    let mut report = plan.report(&applied, calls.reads(), calls.writes());
    report.cells_waiting = app.config.waiting_cells.len();
    warn_left_out(app, &observed, &plan.apis_over_share);
    info!(
        apis = report.apis,
        resources_created = report.resources_created,
        resources_deleted = report.resources_deleted,
        methods_put = report.methods_put,
        integrations_updated = report.integrations_updated,
        methods_deleted = report.methods_deleted,
        deployments = report.deployments,
        deployments_refused = report.deployments_refused,
        accounts_skipped = report.accounts_skipped,
        apis_deferred = report.apis_deferred,
        reads = report.reads,
        writes = report.writes,
        statuses = ?report.statuses,
        "route sync done"
    );
    Ok(report)
}

/// What a run leaves out, said each run: APIs past their account's API share (no record,
/// no parameters) and spoke accounts it could not read (their routes stay as they are).
fn warn_left_out(app: &App<RouteSyncConfig>, observed: &Observed, over_share: &[ApiRef]) {
    if !over_share.is_empty() {
        let over: Vec<String> = over_share.iter().map(ToString::to_string).collect();
        tracing::warn!(
            share = app.config.account_api_quota,
            apis = ?over,
            "APIs past their account's API share are not tracked: no record, no parameters"
        );
    }
    for (account, why) in &observed.unreachable {
        tracing::warn!(%account, reason = %why, "spoke account skipped: its routes stay as they are");
    }
}

/// Desired state and diff of what was observed: the plan a reconcile applies and
/// `frontdoor plan` prints.
pub fn plan(observed: &Observed, ctx: &desired::Context) -> Plan {
    let (within, over_share) = diff::within_api_share(observed, ctx.account_api_quota);
    let mut plan = diff(&within, &desired::desired(&within, ctx), ctx);
    plan.apis_over_share = over_share;
    plan
}

/// A value's length as JSON (plus a separator), for splitting a record.
fn json_len(value: &impl Serialize) -> usize {
    serde_json::to_string(value).map_or(0, |s| s.len()) + 2
}
