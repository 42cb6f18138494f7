//! Route sync across cells (issue 23): every public REST API behind the custom domain is
//! reconciled as a hub of its own (its tree, stage, deployment, owed marker and learned
//! quota), with the spokes and the registry read once for all, then the domain's routing
//! rules are brought in line with where each first segment lives.
//!
//! Each cell's plan sees only its own APIs and records; the other cells' records are cut
//! to what keeps their names theirs, and a route under a first segment that lives in
//! another cell is a conflict. So a path and a name are claimed once across all cells, and
//! what one cell's plan writes can never touch another cell's API, record or route. A
//! deployment AWS refuses in one cell leaves the others deploying.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_apigatewayv2::types::{
    RoutingRuleAction, RoutingRuleActionInvokeApi, RoutingRuleCondition, RoutingRuleMatchBasePaths,
};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use super::cells::{self, CellsView, LiveRule, RulePlan};
use super::desired::{self, Exposure};
use super::observe::{observe_cell, observe_spokes};
use super::{apply, diff, verify, Budget, Deploy, Observed, PublicResource, Record, Report, Scope};
use crate::clients::App;
use crate::config::RouteSyncConfig;
use crate::error::{AwsResultExt, Error, Result};
use crate::ids::{ApiRef, SsmPrefix};
use crate::registry;

/// ListRoutingRules' largest page.
const RULES_PAGE: i32 = 100;

/// A bound on ListRoutingRules pages: far past any quota AWS grants (50 rules by default).
const MAX_RULE_PAGES: usize = 1_000;

/// What the registry remembers of one routing rule frontdoor makes, by first segment. It
/// is stored before the rule is made, with no id yet, so a run that dies between the two
/// finds the rule again by its priority and base path instead of leaving a stranger's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleRecord {
    /// AWS's id for it, once made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The priority it is (being) made with.
    pub priority: u32,
}

/// Where the rule record of `segment` lives.
pub fn rule_parameter(prefix: &SsmPrefix, segment: &str) -> String {
    prefix.join(&format!("registry/rules/{segment}"))
}

/// The folder of every rule record.
fn rules_folder(prefix: &SsmPrefix) -> String {
    prefix.join("registry/rules")
}

/// One cell's share of a run: its configuration (its REST API, its authorizer, its state),
/// what it observed and its plan.
#[derive(Debug, Clone)]
pub struct CellPlan {
    /// route-sync's app for this cell.
    pub app: App<RouteSyncConfig>,
    /// What this cell sees: its own APIs and records, its tree, its stage.
    pub observed: Observed,
    /// What this cell writes.
    pub plan: super::Plan,
}

/// Every cell's plan, the placement behind them, and the domain's rules as they are.
#[derive(Debug, Clone)]
pub struct CellPlans {
    /// One per cell, the first being the domain's base path mapping.
    pub cells: Vec<CellPlan>,
    /// Where every API and first segment is.
    pub placed: cells::Placed,
    /// The cells' REST API ids.
    pub ids: Vec<String>,
    /// The domain's routing rules.
    pub live_rules: Vec<LiveRule>,
    /// The rules frontdoor recorded, by segment.
    pub recorded_rules: BTreeMap<String, RuleRecord>,
    /// Everything observed once for all cells (every record, the first cell's tree and
    /// stage): what `frontdoor status` shows, without reading the spokes again.
    pub observed: Observed,
}

impl CellPlans {
    /// The routing rule writes once the cells' plans are applied (`applied` per cell; none:
    /// as if every write went through, for `frontdoor plan`).
    pub fn rules(&self, applied: Option<&[super::Applied]>) -> RulePlan {
        let mut held: Vec<(usize, String)> = Vec::new();
        for (i, cell) in self.cells.iter().enumerate() {
            let refused = |api: &ApiRef| {
                applied
                    .and_then(|a| a.get(i))
                    .is_some_and(|a| a.refused.contains_key(api))
            };
            let mine = |api: &ApiRef| self.placed.cell_of.get(api) == Some(&i);
            for (api, record) in cell.observed.records.iter().filter(|(api, _)| mine(api)) {
                let routes = cell
                    .plan
                    .apis
                    .get(api)
                    .filter(|_| !refused(api))
                    .map(|p| &p.routes)
                    .filter(|r| !r.is_empty());
                match routes {
                    Some(routes) => held.extend(routes.keys().map(|(p, _)| (i, p.clone()))),
                    None => held.extend(record.claims.keys().map(|p| (i, p.clone()))),
                }
            }
            for (api, p) in &cell.plan.apis {
                if !cell.observed.records.contains_key(api) && !refused(api) {
                    held.extend(p.routes.keys().map(|(path, _)| (i, path.clone())));
                }
            }
        }
        let config = &self.cells[0].app.config;
        cells::plan_rules(
            &self.placed.routed(&self.ids, held),
            &self
                .recorded_rules
                .iter()
                // Rules of a cell no longer configured, or of a frozen record: untouched.
                .filter(|(s, _)| !self.placed.kept_segments.contains(*s))
                .filter_map(|(s, r)| Some((s.clone(), r.id.clone()?)))
                .collect(),
            &self.live_rules,
            &config.public_stage,
            config.routing_rule_quota,
        )
    }
}

/// Each cell's configuration as an app of its own.
fn cell_apps(app: &App<RouteSyncConfig>) -> Vec<App<RouteSyncConfig>> {
    (0..app.config.cells.len())
        .filter_map(|i| Some(app.with_config(app.config.for_cell(i)?)))
        .collect()
}

fn domain_of(config: &RouteSyncConfig) -> Result<String> {
    config.public_domain.clone().ok_or_else(|| {
        Error::Blocked("cells without a custom domain (the config refuses this)".into())
    })
}

/// Whether a run with these cells configured must go through the cells' reconcile: more
/// than one cell, or (with the domain cells need) a record naming a cell not configured
/// now (removed, or waiting again), whose APIs only the cells' reconcile leaves as they
/// are: one cell's would take them in.
pub fn needs_cells(config: &RouteSyncConfig, observed: Option<&Observed>) -> bool {
    config.cells.len() > 1
        || (config.public_domain.is_some()
            && observed.is_some_and(|o| o.records.values().any(|r| r.cell.is_some())))
}

/// Observes every cell, the spokes once, the domain's rules, and plans each cell (pure
/// from there): what `frontdoor plan` shows and [`reconcile_cells`] applies.
pub async fn plan_cells(
    app: &App<RouteSyncConfig>,
    scope: &Scope,
    budget: &Budget,
) -> Result<CellPlans> {
    let domain = domain_of(&app.config)?;
    let apps = cell_apps(app);
    let mut views = Vec::with_capacity(apps.len());
    for cell in &apps {
        views.push(observe_cell(cell).await?);
    }
    // A deploy run reads the APIs every cell's owed deployment waits on.
    let waiting_elsewhere: BTreeSet<ApiRef> = views
        .iter()
        .skip(1)
        .filter_map(|v| v.owed.as_ref())
        .flat_map(super::Owed::waiting)
        .collect();
    let first_view = views
        .first()
        .cloned()
        .ok_or_else(|| Error::Blocked("no cell configured (the config always has one)".into()))?;
    let observed = observe_spokes(&apps[0], scope, budget, first_view, &waiting_elsewhere).await?;
    plan_observed(app, &domain, apps, views, observed).await
}

/// The cells' plans from what a one-cell run already observed: the first cell alone is
/// configured, and records name cells that are not ([`needs_cells`]). Reads only the
/// domain's rules, so the spokes are not read twice.
pub async fn plan_cells_from(app: &App<RouteSyncConfig>, observed: Observed) -> Result<CellPlans> {
    let domain = domain_of(&app.config)?;
    let apps = cell_apps(app);
    let views = vec![super::observe::CellObserved::of(&observed)];
    plan_observed(app, &domain, apps, views, observed).await
}

/// The rules and the plans of every cell, from what was observed of each and of the spokes.
async fn plan_observed(
    app: &App<RouteSyncConfig>,
    domain: &str,
    apps: Vec<App<RouteSyncConfig>>,
    views: Vec<super::observe::CellObserved>,
    observed: Observed,
) -> Result<CellPlans> {
    let config = &app.config;
    let live_rules = live_rules(&app.clients.apigatewayv2, domain).await?;
    let recorded_rules = recorded_rules(app, &live_rules).await?;

    let ctx = desired::Context::from_app(&apps[0]);
    let (within, over_share) = diff::within_api_share(&observed, ctx.account_api_quota);
    let ids: Vec<String> = config.cells.iter().map(|c| c.api_id.to_string()).collect();
    let trees: Vec<&[PublicResource]> = views.iter().map(|v| v.public.as_slice()).collect();
    let placed = cells::place_all(
        &within,
        &desired::desired(&within, &ctx),
        CellsView {
            ids: &ids,
            trees: &trees,
            quota: config.resource_quota,
            account_quota: config.account_resource_quota,
            rule_quota: config.routing_rule_quota,
            account_rules: config.account_rule_quota,
            live_rules: live_rules.len(),
        },
    );
    for (api, cell) in &placed.orphaned {
        warn!(%api, cell = %cell, "its record names a cell that is no longer configured: left as it is");
    }
    let mut planned = Vec::with_capacity(apps.len());
    for (i, (cell_app, view)) in apps.into_iter().zip(views).enumerate() {
        let mine = |api: &ApiRef| placed.cell_of.get(api) == Some(&i);
        let observed = cell_view(&within, view, &mine);
        let mut ctx = desired::Context::from_app(&cell_app);
        ctx.foreign_segments = placed.foreign_to(i, &ids);
        let mut wanted = desired::desired(&observed, &ctx);
        for (api, why) in &placed.refused {
            if let Some(intent) = wanted.get_mut(api) {
                if matches!(intent.exposure, Exposure::Wanted(_)) {
                    intent.exposure = Exposure::Refused(why.clone());
                }
            }
        }
        let mut plan = diff(&observed, &wanted, &ctx);
        // Nothing of another cell's API is ever written here.
        plan.apis.retain(|api, _| mine(api));
        if i == 0 {
            plan.apis_over_share = over_share.clone();
        } else {
            // The sweep's own state is the first cell's to keep.
            plan.sweep_cursor = None;
            plan.accounts_deferred = 0;
            plan.accounts_skipped = 0;
        }
        planned.push(CellPlan {
            app: cell_app,
            observed,
            plan,
        });
    }
    // Its last use: `within` may borrow `observed`, which the plans keep.
    drop(within);
    Ok(CellPlans {
        cells: planned,
        placed,
        ids,
        live_rules,
        recorded_rules,
        observed,
    })
}

/// One sync of every cell over `scope`: each cell applied and verified on its own (a
/// deployment AWS refuses in one leaves the others deploying), then the routing rules.
pub(super) async fn reconcile_cells(
    app: &App<RouteSyncConfig>,
    scope: &Scope,
    deploy: Deploy,
    budget: &Budget,
    before: &crate::calls::Calls,
) -> Result<Report> {
    let plans = plan_cells(app, scope, budget).await?;
    apply_cells(app, &plans, deploy, budget, before).await
}

/// Applies the cells' plans, each cell on its own, then the routing rules; `before` is the
/// call log when the run began, for its report.
pub(super) async fn apply_cells(
    app: &App<RouteSyncConfig>,
    plans: &CellPlans,
    deploy: Deploy,
    budget: &Budget,
    before: &crate::calls::Calls,
) -> Result<Report> {
    let mut report = Report::default();
    let mut applied_all = Vec::with_capacity(plans.cells.len());
    for (i, cell) in plans.cells.iter().enumerate() {
        let applied = apply(&cell.app, &cell.observed, &cell.plan, deploy, budget).await?;
        verify(&cell.app, &cell.plan, &applied).await?;
        let part = cell.plan.report(&applied, 0, 0);
        for api in cell.plan.apis.keys() {
            if let Some(status) = part.statuses.get(&api.to_string()) {
                info!(%api, cell = %plans.ids[i], status = %status, "placed");
            }
        }
        add(&mut report, part, i == 0);
        applied_all.push(applied);
    }
    let rules = plans.rules(Some(&applied_all));
    let domain = app.config.public_domain.as_deref().unwrap_or_default();
    apply_rules(app, domain, &rules, &plans.recorded_rules, budget).await?;

    let calls = app.clients.calls.snapshot().since(before);
    report.cells_waiting = app.config.waiting_cells.len();
    report.apis_in_idle_cells = plans.placed.orphaned.len();
    report.reads = calls.reads();
    report.writes = calls.writes();
    if let Some(first) = plans.cells.first() {
        super::warn_left_out(app, &plans.observed, &first.plan.apis_over_share);
    }
    info!(
        cells = plans.cells.len(),
        rules_created = rules.create.len(),
        rules_replaced = rules.replace.len(),
        rules_deleted = rules.delete.len(),
        deployments = report.deployments,
        deployments_refused = report.deployments_refused,
        reads = report.reads,
        writes = report.writes,
        statuses = ?report.statuses,
        "route sync over cells done"
    );
    Ok(report)
}

/// `observed` as cell `mine` sees it: its own APIs and records, the cell's tree and state,
/// and of every other API's record only what keeps its names its own.
fn cell_view(
    observed: &Observed,
    cell: super::observe::CellObserved,
    mine: &dyn Fn(&ApiRef) -> bool,
) -> Observed {
    let mut out = cell.into_observed(observed.clone());
    out.apis.retain(|api, _| mine(api));
    out.record_parameters.retain(|api, _| mine(api));
    out.corrupt.retain(|api, _| mine(api));
    out.records = std::mem::take(&mut out.records)
        .into_iter()
        .map(|(api, record)| {
            if mine(&api) {
                (api, record)
            } else {
                let names_only = Record {
                    name: record.name,
                    released: record.released,
                    former_names: record.former_names,
                    ..Record::default()
                };
                (api, names_only)
            }
        })
        .collect();
    out
}

/// Adds one cell's report to the run's; the sweep's own figures are the first cell's.
fn add(total: &mut Report, part: Report, first: bool) {
    total.statuses.extend(part.statuses);
    total.resources_created += part.resources_created;
    total.resources_deleted += part.resources_deleted;
    total.methods_put += part.methods_put;
    total.integrations_updated += part.integrations_updated;
    total.methods_deleted += part.methods_deleted;
    total.methods_governed += part.methods_governed;
    total.throttles_changed += part.throttles_changed;
    total.deployments += part.deployments;
    total.deployments_refused += part.deployments_refused;
    total.deployments_enqueued += part.deployments_enqueued;
    total.apis_deferred += part.apis_deferred;
    total.apis += part.apis;
    // The quota alarm reads the fullest cell: each cell has a quota of its own.
    total.public_resources = total.public_resources.max(part.public_resources);
    if first {
        total.accounts_skipped = part.accounts_skipped;
        total.accounts_deferred = part.accounts_deferred;
        total.apis_over_share = part.apis_over_share;
    }
}

/// The domain's routing rules and the ones frontdoor recorded (by segment), as they are:
/// what `frontdoor doctor` holds against each other.
pub async fn rules_as_they_are(
    app: &App<RouteSyncConfig>,
    domain: &str,
) -> Result<(Vec<LiveRule>, BTreeMap<String, RuleRecord>)> {
    let live = live_rules(&app.clients.apigatewayv2, domain).await?;
    let recorded = recorded_rules(app, &live).await?;
    Ok((live, recorded))
}

/// The domain's routing rules, every page.
async fn live_rules(v2: &aws_sdk_apigatewayv2::Client, domain: &str) -> Result<Vec<LiveRule>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_RULE_PAGES {
        let page = v2
            .list_routing_rules()
            .domain_name(domain)
            .max_results(RULES_PAGE)
            .set_next_token(token.take())
            .send()
            .await
            .op("ListRoutingRules")?;
        for rule in page.routing_rules() {
            let invoke = rule.actions().first().and_then(|a| a.invoke_api());
            out.push(LiveRule {
                id: rule.routing_rule_id().unwrap_or_default().to_string(),
                priority: u32::try_from(rule.priority().unwrap_or_default()).unwrap_or(0),
                base_path: rule
                    .conditions()
                    .iter()
                    .find_map(|c| c.match_base_paths())
                    .and_then(|m| m.any_of().first().cloned()),
                header_conditions: rule
                    .conditions()
                    .iter()
                    .filter(|c| c.match_headers().is_some())
                    .count(),
                api_id: invoke
                    .and_then(|i| i.api_id())
                    .unwrap_or_default()
                    .to_string(),
                stage: invoke
                    .and_then(|i| i.stage())
                    .unwrap_or_default()
                    .to_string(),
                strip_base_path: invoke.and_then(|i| i.strip_base_path()).unwrap_or(false),
            });
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(out);
        }
    }
    Err(Error::Blocked(format!(
        "ListRoutingRules of {domain} gave more than {MAX_RULE_PAGES} pages"
    )))
}

/// Where the hub stack records the cells it makes (its `Cells`): one parameter per cell,
/// `{prefix}/registry/cells/{name}` = `api-id:authorizer-id`. route-sync only reads them.
pub fn cell_records_folder(prefix: &SsmPrefix) -> String {
    prefix.join("registry/cells")
}

/// The configuration with the cells the hub stack recorded, read now, so adding a cell
/// needs no new function configuration: `None` when there is no record, or no domain
/// (cells need one; no read then). A record that cannot be used yet makes its cell wait
/// (logged here) rather than failing the run.
pub async fn named_cells(app: &App<RouteSyncConfig>) -> Result<Option<RouteSyncConfig>> {
    if app.config.public_domain.is_none() {
        return Ok(None);
    }
    let folder = cell_records_folder(&app.config.ssm_prefix);
    let records = registry::entries_in(&app.clients.ssm, &folder).await?;
    if records.is_empty() {
        return Ok(None);
    }
    let mut config = app.config.with_named_cells(&records);
    // The names of the named cells in use, in the order they follow the configured ones.
    let in_use: Vec<String> = records
        .keys()
        .filter(|name| !config.waiting_cells.iter().any(|w| &w.name == *name))
        .cloned()
        .collect();
    // A named cell whose authorizer is not on its API, or not the kind the policy asks for,
    // would stop every cell's run (a configuration error): it waits instead. A transient
    // failure of the read retries the run.
    let mut unusable = Vec::new();
    for (i, name) in (config.configured_cells..config.cells.len()).zip(&in_use) {
        let Some(cell) = config.for_cell(i) else {
            continue;
        };
        match super::observe::hub_auth(&app.with_config(cell)).await {
            Ok(_) => {}
            Err(e) if e.is_transient() => return Err(e),
            Err(e) => unusable.push((i, name.clone(), e.to_string())),
        }
    }
    for (i, name, why) in unusable.into_iter().rev() {
        let cell = config.cells.remove(i);
        config.waiting_cells.push(crate::config::WaitingCell {
            name,
            api_id: Some(cell.api_id),
            waits_for: format!("an authorizer it can use: {why}"),
        });
    }
    for waiting in &config.waiting_cells {
        let api = waiting.api_id.as_ref().map_or("?", |a| a.as_str());
        warn!(cell = %waiting.name, %api, "cell not used yet: it waits for {}", waiting.waits_for);
    }
    Ok(Some(config))
}

/// The rules frontdoor recorded, by segment. One recorded before it was made (no id) is
/// found again among the live rules by its priority and base path; if it is not there, it
/// was never made and the record goes.
async fn recorded_rules(
    app: &App<RouteSyncConfig>,
    live: &[LiveRule],
) -> Result<BTreeMap<String, RuleRecord>> {
    let prefix = &app.config.ssm_prefix;
    let folder = rules_folder(prefix);
    let mut out = BTreeMap::new();
    for (segment, value) in registry::entries_in(&app.clients.ssm, &folder).await? {
        let segment = segment.as_str();
        let name = rule_parameter(prefix, segment);
        match registry::decode::<RuleRecord>(&name, &value) {
            Ok(mut record) => {
                if record.id.is_none() {
                    record.id = live
                        .iter()
                        .find(|r| {
                            r.priority == record.priority && r.base_path.as_deref() == Some(segment)
                        })
                        .map(|r| r.id.clone());
                }
                out.insert(segment.to_string(), record);
            }
            // Not frontdoor's writing: left alone, and the segment's rule is made anew.
            Err(e) => warn!(parameter = %name, error = %e, "rule record cannot be read"),
        }
    }
    Ok(out)
}

/// Applies a rule plan: deletes first (they free quota and priorities), then new rules
/// (recorded before they are made), then rules put back as they should be. Each rule is
/// started only while the run's publishing share of its time lasts (they come after the
/// cells' deployments); what is left, the next run plans again.
async fn apply_rules(
    app: &App<RouteSyncConfig>,
    domain: &str,
    plan: &RulePlan,
    recorded: &BTreeMap<String, RuleRecord>,
    budget: &Budget,
) -> Result<()> {
    let v2 = &app.clients.apigatewayv2;
    let ssm = &app.clients.ssm;
    let prefix = &app.config.ssm_prefix;
    let stage = &app.config.public_stage;
    let gate = budget.publishing();
    let out_of_time = |gate: &super::budget::Progress| {
        let shut = !gate.may();
        if shut {
            warn!("out of time: the remaining routing rule writes wait for the next run");
        }
        shut
    };
    for (segment, id) in &plan.delete {
        if out_of_time(&gate) {
            return Ok(());
        }
        let deleted = v2
            .delete_routing_rule()
            .domain_name(domain)
            .routing_rule_id(id)
            .send()
            .await
            .op_or_missing("DeleteRoutingRule", |e| e.is_not_found_exception());
        if refused(segment, deleted)?.is_some() {
            registry::delete(ssm, &rule_parameter(prefix, segment)).await?;
        }
    }
    // Records of rules that were never made (no id, none live) go.
    for (segment, record) in recorded {
        if record.id.is_none() && !plan.create.contains_key(segment) {
            registry::delete(ssm, &rule_parameter(prefix, segment)).await?;
        }
    }
    for (segment, rule) in &plan.create {
        if out_of_time(&gate) {
            return Ok(());
        }
        let name = rule_parameter(prefix, segment);
        let pending = RuleRecord {
            id: None,
            priority: rule.priority,
        };
        registry::store(ssm, &name, &pending).await?;
        let made = v2
            .create_routing_rule()
            .domain_name(domain)
            .priority(i32::try_from(rule.priority).unwrap_or(i32::MAX))
            .actions(invoke(&rule.api_id, stage))
            .conditions(base_path(segment))
            .send()
            .await
            .op("CreateRoutingRule");
        match refused(segment, made)? {
            Some(made) => {
                let made = RuleRecord {
                    id: made.routing_rule_id().map(str::to_string),
                    priority: rule.priority,
                };
                registry::store(ssm, &name, &made).await?;
            }
            // Never made: its pending record goes, and the next run tries again.
            None => registry::delete(ssm, &name).await?,
        }
    }
    for (segment, fix) in &plan.replace {
        if out_of_time(&gate) {
            return Ok(());
        }
        let put = v2
            .put_routing_rule()
            .domain_name(domain)
            .routing_rule_id(&fix.id)
            .priority(i32::try_from(fix.priority).unwrap_or(i32::MAX))
            .actions(invoke(&fix.api_id, stage))
            .conditions(base_path(segment))
            .send()
            .await
            .op("PutRoutingRule");
        refused(segment, put)?;
    }
    for (segment, rule) in &plan.overlapped {
        warn!(segment = %segment, rule = %rule, "a routing rule frontdoor did not make meets this segment: whichever has the lower priority takes its requests");
    }
    if !plan.over_quota.is_empty() {
        warn!(segments = ?plan.over_quota, quota = app.config.routing_rule_quota, "routing rule quota reached: these segments are not routed to their cells");
    }
    Ok(())
}

/// One segment's rule write: a permanent refusal (AWS's 400, 409, a quota) is that
/// segment's alone, logged and left for the next run (`Ok(None)`); a transient failure
/// ends the run so it is retried.
fn refused<T>(segment: &str, result: Result<T>) -> Result<Option<T>> {
    match result {
        Ok(done) => Ok(Some(done)),
        // AWS's rule quota answers 429 like throttling, but waiting does not end it: the
        // quota configured is above the one AWS grants. Retrying the run would stall it.
        Err(e) if is_rule_quota(&e) => {
            warn!(segment = %segment, error = %e, "the domain's routing rule quota is reached: FRONTDOOR_ROUTING_RULE_QUOTA is above what AWS grants; this segment is not routed to its cell");
            Ok(None)
        }
        Err(e) if !e.is_transient() => {
            warn!(segment = %segment, error = %e, "routing rule write refused: this segment waits for the next run");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Whether AWS refused a rule for the domain's quota ("Routing rules per domain"): its
/// `LimitExceededException`, not the `TooManyRequestsException` of throttling.
fn is_rule_quota(e: &Error) -> bool {
    matches!(
        e,
        Error::Aws {
            failure: crate::error::Failure::Service { code, .. },
            ..
        } if code == "LimitExceededException"
    )
}

/// The action of a frontdoor rule: the cell's stage, with the full path passed on.
fn invoke(api_id: &str, stage: &str) -> RoutingRuleAction {
    RoutingRuleAction::builder()
        .invoke_api(
            RoutingRuleActionInvokeApi::builder()
                .api_id(api_id)
                .stage(stage)
                .strip_base_path(false)
                .build(),
        )
        .build()
}

/// The condition of a frontdoor rule: one first segment.
fn base_path(segment: &str) -> RoutingRuleCondition {
    RoutingRuleCondition::builder()
        .match_base_paths(RoutingRuleMatchBasePaths::builder().any_of(segment).build())
        .build()
}
