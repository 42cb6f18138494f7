//! Pure. From what was observed and what each API asks for to the minimal plan, grouped by
//! API so that one API's failure at apply time stays that API's.
//!
//! The steps, each in its own file and each a pure function of the ones before:
//! [`claims`] (who gets which public path: first owner keeps it, hand-made routes are never
//! taken, a variable sibling or an overlapping route is a conflict), [`names`] (who owns
//! each published name), [`tree`] (methods to put or delete, resources to
//! create parents first and delete children first, the resource quota), [`records`] (registry
//! records widened before the public API is written and narrowed after), [`parameters`] (the
//! published URLs and status) and [`deployment`] (deploy when the public API changed or a
//! deployment is owed).
//!
//! An API that is not in play (out of scope, its account unreachable, or held back by the
//! quota) keeps exactly what its record says: nothing of it is created, rewritten or deleted.

mod claims;
mod deployment;
mod governed;
#[cfg(test)]
mod model;
mod names;
mod parameters;
mod records;
mod shares;
#[cfg(test)]
mod tests;
pub(crate) mod tree;

use std::collections::{BTreeMap, BTreeSet};

use super::desired::{Context, Desired, Exposure};
use super::{Applied, Integration, Observed, Record, Report, Status, StatusKind};
use crate::governance::{MethodAuth, Throttle};
use crate::ids::{AccountId, ApiRef};

/// `(public path, verb)`.
pub type RouteKey = (String, String);

/// What one API's share of a reconcile writes, in apply order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiPlan {
    /// Its status, for an API in scope that asked for something.
    pub status: Option<Status>,
    /// Its record to store before any public write (widened).
    pub record_before: Option<Record>,
    /// Public resources to create for it, parents first.
    pub creates: Vec<String>,
    /// New methods, each with its integration.
    pub put_methods: BTreeMap<RouteKey, Integration>,
    /// Its methods whose integration drifted or was handed over to it.
    pub put_integrations: BTreeMap<RouteKey, Integration>,
    /// What its methods carry (new methods are put with it).
    pub auth: MethodAuth,
    /// What its `OPTIONS` methods carry (open for CORS preflights unless the hub governs
    /// them).
    pub preflight: MethodAuth,
    /// Its existing methods whose authorization or API key requirement differs from
    /// [`ApiPlan::auth_for`] their verb, each with what it has now: updated in place.
    pub update_methods: BTreeMap<RouteKey, MethodAuth>,
    /// Its record to store (`Some`) or delete (`None`) at the end (narrowed).
    pub record_after: Option<Option<Record>>,
    /// Where its status is published (`{prefix}/apis/{name}/status`), when it has a name.
    pub status_parameter: Option<String>,
    /// Published parameters to write.
    pub parameters_put: BTreeMap<String, String>,
    /// Published parameters to delete.
    pub parameters_delete: BTreeSet<String>,
    /// Every route of it that should be live after apply, for verify.
    pub routes: BTreeMap<RouteKey, Integration>,
}

impl ApiPlan {
    /// What its method on `verb` carries.
    pub fn auth_for(&self, verb: &str) -> &MethodAuth {
        if verb == "OPTIONS" {
            &self.preflight
        } else {
            &self.auth
        }
    }

    /// Whether it writes to the public API.
    pub fn writes_public(&self) -> bool {
        !(self.creates.is_empty()
            && self.put_methods.is_empty()
            && self.put_integrations.is_empty()
            && self.update_methods.is_empty())
    }

    fn is_noop(&self) -> bool {
        !self.writes_public()
            && self.record_before.is_none()
            && self.record_after.is_none()
            && self.parameters_put.is_empty()
            && self.parameters_delete.is_empty()
    }
}

/// The writes of one reconcile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Each involved API's share.
    pub apis: BTreeMap<ApiRef, ApiPlan>,
    /// Store the deployment-owed marker before the first public write.
    pub owe_deployment: bool,
    /// Owned methods no longer wanted (on resources that stay). Applied before any create,
    /// so a renamed variable is gone before its sibling is made.
    pub delete_methods: BTreeSet<RouteKey>,
    /// Frontdoor-made resources no longer needed by anyone, children first.
    pub delete_resources: Vec<String>,
    /// Create one deployment on the public stage.
    pub deploy: bool,
    /// The stage serves less or other than frontdoor made: deployed again even with
    /// nothing else to do.
    pub stage_stale: bool,
    /// Per-method throttles to set on the public stage (by `methodSettings` key).
    pub throttles_put: BTreeMap<String, Throttle>,
    /// Per-method settings to remove from the public stage.
    pub throttles_remove: BTreeSet<String>,
    /// Number of APIs looked at.
    pub looked_at: usize,
    /// Resources on the public API once applied.
    pub public_resources: usize,
    /// Spoke accounts that could not be read, left as they are.
    pub accounts_skipped: usize,
    /// The sweep cursor to store (`Some(Some)`) or clear (`Some(None)`).
    pub sweep_cursor: Option<Option<AccountId>>,
    /// Accounts left for the next sweep.
    pub accounts_deferred: usize,
    /// APIs past their account's API share: not tracked, nothing of theirs written.
    pub apis_over_share: Vec<ApiRef>,
}

impl Plan {
    /// Whether the plan writes to the public API.
    pub fn touches_public_api(&self) -> bool {
        !self.delete_methods.is_empty()
            || !self.delete_resources.is_empty()
            || self.apis.values().any(ApiPlan::writes_public)
    }

    /// Whether applying it writes nothing at all.
    pub fn is_noop(&self) -> bool {
        !self.touches_public_api()
            && !self.deploy
            && !self.owe_deployment
            && self.sweep_cursor.is_none()
            && self.throttles_put.is_empty()
            && self.throttles_remove.is_empty()
            && self.apis.values().all(ApiPlan::is_noop)
    }

    /// Every resource to create, in apply order.
    pub fn creates(&self) -> impl Iterator<Item = &String> {
        self.apis.values().flat_map(|a| a.creates.iter())
    }

    /// Every method to put, with its integration.
    pub fn put_methods(&self) -> impl Iterator<Item = (&RouteKey, &Integration)> {
        self.apis.values().flat_map(|a| a.put_methods.iter())
    }

    /// Every integration to rewrite.
    pub fn put_integrations(&self) -> impl Iterator<Item = (&RouteKey, &Integration)> {
        self.apis.values().flat_map(|a| a.put_integrations.iter())
    }

    /// Every published parameter to write.
    pub fn parameters_put(&self) -> impl Iterator<Item = (&String, &String)> {
        self.apis.values().flat_map(|a| a.parameters_put.iter())
    }

    /// Every published parameter to delete.
    pub fn parameters_delete(&self) -> impl Iterator<Item = &String> {
        self.apis.values().flat_map(|a| a.parameters_delete.iter())
    }

    /// Every API's planned status.
    pub fn statuses(&self) -> impl Iterator<Item = (&ApiRef, &Status)> {
        self.apis
            .iter()
            .filter_map(|(api, p)| Some((api, p.status.as_ref()?)))
    }

    /// The report of this plan once applied.
    pub fn report(&self, applied: &Applied, reads: u64, writes: u64) -> Report {
        let failed = |api: &ApiRef| applied.refused.contains_key(api);
        // Counted once, by the run that finishes a group (one the budget cut counts then).
        let kept = || self.apis.iter().filter(|(api, _)| applied.finished(api));
        let mut statuses: BTreeMap<String, Status> = self
            .statuses()
            .map(|(api, s)| (api.to_string(), s.clone()))
            .collect();
        for (api, status) in applied.statuses() {
            statuses.insert(api.to_string(), status);
        }
        // Left for the next run: its status is not published yet.
        for api in &applied.deferred {
            statuses.remove(&api.to_string());
        }
        Report {
            apis: self.looked_at,
            statuses,
            resources_created: kept().map(|(_, p)| p.creates.len()).sum(),
            resources_deleted: self.delete_resources.len(),
            methods_put: kept().map(|(_, p)| p.put_methods.len()).sum(),
            integrations_updated: kept().map(|(_, p)| p.put_integrations.len()).sum(),
            methods_deleted: self.delete_methods.len(),
            methods_governed: kept().map(|(_, p)| p.update_methods.len()).sum(),
            throttles_changed: self.throttles_put.len() + self.throttles_remove.len(),
            deployments: usize::from(applied.deployed),
            deployments_enqueued: usize::from(applied.deploy_enqueued),
            deployments_refused: usize::from(applied.deployment_refused.is_some()),
            accounts_skipped: self.accounts_skipped,
            accounts_deferred: self.accounts_deferred,
            apis_deferred: applied.deferred.len(),
            apis_over_share: self.apis_over_share.len(),
            // The cells' figures are the run's, set where it knows them.
            cells_waiting: 0,
            apis_in_idle_cells: 0,
            public_resources: self.public_resources
                - self
                    .apis
                    .iter()
                    .filter(|(api, _)| failed(api))
                    .map(|(_, p)| p.creates.len())
                    .sum::<usize>(),
            reads,
            writes,
            events_refused: 0,
            events_dropped: 0,
        }
    }
}

/// Computes the plan. Pure: no I/O, no clock, no randomness.
///
/// An API whose new resources would take the public API past its quota, or its account past
/// its share of it, is held back whole (refused, keeping what it had) and the plan is made
/// again without it; each round holds back at least one more API, so this ends.
pub fn diff(observed: &Observed, desired: &Desired, ctx: &Context) -> Plan {
    let quota = observed.resource_quota(ctx.resource_quota);
    let over_limits = |plan: &Plan| {
        let mut over = shares::over_account_share(observed, plan, ctx.account_resource_quota);
        // The public API's quota is the refusal that names the whole front door.
        over.extend(tree::over_quota(observed, plan, quota));
        over
    };
    let mut held: BTreeMap<ApiRef, String> = BTreeMap::new();
    let mut plan = compose(observed, desired, ctx, &held);
    for _ in 0..observed.apis.len() {
        let over = over_limits(&plan);
        if over.is_empty() {
            break;
        }
        held.extend(over);
        plan = compose(observed, desired, ctx, &held);
    }
    // Holding one API can make room for another held before it: give each held API a second
    // chance in order, so the next reconcile (which starts from what this one applied) makes
    // the same decision and writes nothing.
    let candidates: Vec<ApiRef> = held.keys().cloned().collect();
    for api in candidates {
        let mut trial = held.clone();
        trial.remove(&api);
        let retry = compose(observed, desired, ctx, &trial);
        if over_limits(&retry).is_empty() {
            held = trial;
            plan = retry;
        }
    }
    plan
}

/// `observed` without the APIs past their account's API share (`FRONTDOOR_ACCOUNT_API_QUOTA`),
/// and those APIs: they get no record, no parameters, only a log line and a metric.
pub fn within_api_share(
    observed: &Observed,
    share: usize,
) -> (std::borrow::Cow<'_, Observed>, Vec<ApiRef>) {
    shares::within_api_share(observed, share)
}

/// One pass over the steps, with `held` APIs kept as their records say.
fn compose(
    observed: &Observed,
    desired: &Desired,
    ctx: &Context,
    held: &BTreeMap<ApiRef, String>,
) -> Plan {
    let in_play = |api: &ApiRef| {
        observed.apis.contains_key(api)
            && !held.contains_key(api)
            && !observed.corrupt.contains_key(api)
    };
    let wanted: BTreeMap<&ApiRef, _> = desired
        .iter()
        .filter(|(api, _)| in_play(api))
        .filter_map(|(api, intent)| match &intent.exposure {
            Exposure::Wanted(w) => Some((api, &**w)),
            _ => None,
        })
        .collect();

    let refused: BTreeSet<&ApiRef> = desired
        .iter()
        .filter(|(_, intent)| matches!(intent.exposure, Exposure::Refused(_)))
        .map(|(api, _)| api)
        .collect();
    let claims = claims::claims(observed, &wanted, &refused, &in_play, ctx);
    let tree = tree::tree(observed, &claims, &in_play);
    let governance = governed::governance(observed, &claims, &wanted, &ctx.policy);
    let names = names::names(observed, desired, ctx);
    let records = records::records(observed, desired, &claims, &tree, &names, held, ctx);
    let mut plan = Plan {
        looked_at: observed.apis.len(),
        accounts_skipped: observed.unreachable.len(),
        delete_methods: tree.delete_methods.clone(),
        delete_resources: tree.delete_resources.clone(),
        public_resources: tree.public_resources,
        throttles_put: governance.throttles_put,
        throttles_remove: governance.throttles_remove,
        ..Plan::default()
    };
    for (api, (before, after)) in records
        .changes
        .into_iter()
        .filter(|(api, _)| !observed.corrupt.contains_key(api))
    {
        let group = plan.apis.entry(api).or_default();
        group.record_before = before;
        group.record_after = after;
    }
    for (api, creates) in tree.creates {
        plan.apis.entry(api).or_default().creates = creates;
    }
    for (api, methods) in tree.put_methods {
        plan.apis.entry(api).or_default().put_methods = methods;
    }
    for (api, methods) in tree.put_integrations {
        plan.apis.entry(api).or_default().put_integrations = methods;
    }
    for (api, routes) in &claims.assigned {
        let group = plan.apis.entry(api.clone()).or_default();
        group.routes = routes.clone();
        if let Some(w) = wanted.get(api) {
            group.auth = w.governed.auth.clone();
            group.preflight = w.governed.preflight.clone();
        }
    }
    for (api, (auth, methods)) in governance.update_methods {
        let group = plan.apis.entry(api).or_default();
        group.preflight = ctx.policy.preflight(&auth);
        group.auth = auth;
        group.update_methods = methods;
    }
    for (api, published) in parameters::parameters(observed, desired, &claims, &names, held, ctx) {
        let group = plan.apis.entry(api).or_default();
        group.status = published.status;
        group.status_parameter = published.status_parameter;
        group.parameters_put = published.put;
        group.parameters_delete = published.delete;
    }
    // A corrupt record's API publishes nothing (its parameters' names may be in the part
    // that cannot be read); its status is reported and logged only.
    for (api, why) in &observed.corrupt {
        let group = plan.apis.entry(api.clone()).or_default();
        *group = ApiPlan {
            status: Some(Status::Refused(format!(
                "its registry record cannot be read, so it is left as it is: {why}"
            ))),
            ..ApiPlan::default()
        };
    }
    plan.apis.retain(|_, p| !p.is_noop() || p.status.is_some());
    // Where the next sweep starts: the first account this one did not reach, or the start.
    let next = observed.unread.first().cloned();
    plan.accounts_deferred = observed.unread.len();
    if next != observed.sweep_cursor {
        plan.sweep_cursor = Some(next);
    }
    let stale = deployment::stage_is_stale(observed);
    let decision = deployment::decide(plan.touches_public_api(), observed.deployment_owed, stale);
    plan.stage_stale = stale;
    plan.deploy = decision.deploy;
    plan.owe_deployment = decision.owe;
    plan
}

/// How many APIs of a plan have each status kind.
pub fn count(statuses: &BTreeMap<String, Status>, kind: StatusKind) -> usize {
    statuses.values().filter(|s| s.kind() == kind).count()
}
