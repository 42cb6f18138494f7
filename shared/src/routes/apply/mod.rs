//! Writes only, as the run's budget allows, in this order:
//!
//! 1. The deployment-owed marker, naming every API whose routes this run may write, before
//!    the first public write ([`deployment`]).
//! 2. Methods and resources nobody wants any more, children first.
//! 3. Each API's group, in fair order ([`order`]): its record widened, then its resources
//!    (parents first), methods with their integrations, authorization and integrations
//!    brought up to date ([`group`]). When the write budget runs out, what is left waits
//!    for the next run: a group stops between two whole writes (never a method without its
//!    integration), its record stays widened, and nothing of it is published.
//! 4. One deployment, or one "deploy" message on the queue ([`deployment`]).
//! 5. Each written API's URLs and status, then its record narrowed ([`publish`]), as the
//!    publishing budget allows; then the sweep cursor and the stage's per-method settings
//!    ([`stage`]).
//! 6. What was left for the next run is recorded with the owed marker, so the run that
//!    deploys next reads those APIs again and goes on ([`deployment::carry_over`]).
//!
//! [`verify`] then re-reads the public API.
//!
//! One API's permanent failure stays that API's: when AWS refuses one of its writes (the
//! resource quota, a path it will not take), what this run made for it is removed, its
//! record goes back to what it held, it is refused with AWS's words, and the other APIs
//! carry on. A deployment AWS refuses (400) stays owed and the APIs waiting on it are
//! `pending deployment`. Only transient failures end the run with an error.

mod deployment;
mod group;
mod order;
mod publish;
mod stage;
mod verify;

use std::collections::{BTreeMap, BTreeSet};

use tracing::{info, warn};

use super::diff::{Plan, RouteKey};
use super::{Budget, Deploy, Observed, Status};
use crate::clients::App;
use crate::config::RouteSyncConfig;
use crate::error::Result;
use crate::ids::ApiRef;

pub use verify::verify;

/// What happened beyond the plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// APIs AWS refused a write of, and why: their writes of this run were undone.
    pub refused: BTreeMap<ApiRef, String>,
    /// APIs the budget left for the next run (not written, written in part, or not
    /// published): nothing of theirs is published or narrowed in this run.
    pub deferred: BTreeSet<ApiRef>,
    /// The budget ran out before every unwanted method and resource was deleted: no record
    /// is narrowed in this run.
    pub deletes_cut: bool,
    /// The public stage was deployed.
    pub deployed: bool,
    /// AWS refused the deployment, with its message.
    pub deployment_refused: Option<String>,
    /// APIs waiting on the refused deployment.
    pub pending: BTreeSet<ApiRef>,
    /// A "deploy" message was enqueued instead of deploying.
    pub deploy_enqueued: bool,
    /// Per-method stage settings AWS refused (logged; the next run tries again).
    pub throttles_refused: usize,
}

impl Applied {
    /// Statuses that replace the plan's.
    pub fn statuses(&self) -> impl Iterator<Item = (&ApiRef, Status)> {
        let refused = self
            .refused
            .iter()
            .map(|(api, why)| (api, Status::Refused(why.clone())));
        let pending = self.pending.iter().filter_map(|api| {
            let why = self.deployment_refused.clone()?;
            Some((api, Status::PendingDeployment(why)))
        });
        refused.chain(pending)
    }

    /// Whether the API's group was written and published whole in this run.
    pub fn finished(&self, api: &ApiRef) -> bool {
        !self.refused.contains_key(api) && !self.deferred.contains(api)
    }
}

/// Applies a plan as far as `budget` allows; the deployment as `deploy` says.
pub async fn apply(
    app: &App<RouteSyncConfig>,
    observed: &Observed,
    plan: &Plan,
    deploy: Deploy,
    budget: &Budget,
) -> Result<Applied> {
    let mut marker = deployment::Marker::observed(app, observed);
    let order = order::order(plan);
    marker.owe(app, observed, plan).await?;

    let writes = budget.writes();
    let mut applied = Applied::default();
    let mut ids: BTreeMap<String, String> = observed
        .public
        .iter()
        .map(|r| (r.path.clone(), r.id.clone()))
        .collect();
    applied.deletes_cut = !group::delete_unwanted(app, plan, &mut ids, &writes).await?;

    let needs = group::Needs::of(plan);
    let mut stored = observed.record_parameters.clone();
    let mut written: BTreeMap<&ApiRef, Vec<RouteKey>> = BTreeMap::new();
    for api in &order {
        let group = &plan.apis[api];
        if applied.deletes_cut || !writes.may() {
            applied.deferred.insert(api.clone());
            continue;
        }
        if let Some(record) = &group.record_before {
            publish::store_record(app, &mut stored, api, Some(record)).await?;
        }
        let others_need = |path: &String| needs.others_need(api, path);
        let outcome = group::write(app, group, &mut ids, &others_need, &writes).await?;
        written.insert(api, outcome.integrations);
        match outcome.result {
            group::Written::Whole => {}
            group::Written::Cut => {
                applied.deferred.insert(api.clone());
            }
            group::Written::Refused(reason) => {
                warn!(%api, reason = %reason, "AWS refused this API's routes; its writes were undone");
                applied.refused.insert(api.clone(), reason);
            }
        }
    }

    // Whatever no run may see half done: a route deleted in this run whose replacement the
    // budget left for the next (a renamed variable, a handover) is not deployed yet.
    let replacing = replacement_cut(plan, &applied, observed);
    for api in &observed.unread_apis {
        applied.deferred.insert(api.clone());
    }
    marker
        .deploy(app, observed, plan, deploy, replacing, &mut applied)
        .await?;

    let publishing = budget.publishing();
    publish::publish(
        app,
        observed,
        plan,
        &order,
        &written,
        &mut stored,
        &mut applied,
        &publishing,
    )
    .await?;
    publish::sweep_cursor(app, plan).await?;
    marker.carry_over(app, &applied).await?;
    // Last: stage settings are best effort for each route, after every record, status, the
    // cursor and the carry-over, so a refused setting never holds back the rest of the run.
    if publishing.may() {
        applied.throttles_refused =
            stage::set_throttles(app, observed, plan, &applied, &publishing).await?;
    }
    if !applied.deferred.is_empty() || applied.deletes_cut {
        let left: Vec<String> = applied.deferred.iter().map(ToString::to_string).collect();
        info!(
            deferred = left.len(),
            deletes_cut = applied.deletes_cut,
            apis = ?left,
            "run budget spent: the rest is left for the next run"
        );
    }
    Ok(applied)
}

/// Whether a group the budget left for the next run replaces routes it is losing: it has
/// routes on a path this run deleted methods or resources from (a handover, a renamed
/// variable), or, small enough to finish next run, methods still to put where one of its
/// own recorded routes goes, in this run or an earlier one (a mode switch: `GET /cats`
/// gone, `ANY /cats` not made yet). Deploying now would serve neither the old route nor the
/// new.
fn replacement_cut(plan: &Plan, applied: &Applied, observed: &Observed) -> bool {
    let deleted: std::collections::BTreeSet<&String> = plan
        .delete_methods
        .iter()
        .map(|(p, _)| p)
        .chain(plan.delete_resources.iter())
        .collect();
    let cut = || {
        plan.apis
            .iter()
            .filter(|(api, _)| applied.deferred.contains(*api))
    };
    let handed_over = cut()
        .flat_map(|(_, g)| g.routes.keys().map(|(p, _)| p))
        .any(|p| deleted.contains(p));
    // Only a small replacement is waited for: it finishes in the next run. A large one
    // (or one a hostile spoke keeps restarting) must not hold every other team's changes
    // back; that API serves what is written so far until it is whole.
    let replaced_within = cut().any(|(api, g)| {
        let Some(record) = observed.records.get(api) else {
            return false;
        };
        if order::writes_of(g) > order::SMALL {
            return false;
        }
        let losing: Vec<&String> = record
            .claims
            .iter()
            .filter(|(path, verbs)| {
                verbs
                    .iter()
                    .any(|v| !g.routes.contains_key(&((*path).clone(), v.clone())))
            })
            .map(|(path, _)| path)
            .collect();
        g.put_methods
            .keys()
            .any(|(new, _)| losing.iter().any(|old| crate::paths::overlap(old, new)))
    });
    handed_over || replaced_within
}
