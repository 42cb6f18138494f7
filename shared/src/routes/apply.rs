//! Writes only, in plan order: records widened, deployment-owed marker, methods and
//! resources no longer wanted deleted (children first), then each API's group (resources
//! created parents first, methods and integrations put), one deployment, marker cleared,
//! records narrowed, URLs published. Then a re-read.
//!
//! One API's permanent failure stays that API's: when AWS refuses one of its writes (the
//! resource quota, a path it will not take), what this run made for it is removed, its
//! record goes back to what it held, it is refused with AWS's words, and the other APIs
//! carry on. A deployment AWS refuses (400) stays owed and the APIs waiting on it are
//! `pending deployment`. Only transient failures end the run with an error.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_apigateway::error::ProvideErrorMetadata;
use aws_sdk_apigateway::operation::delete_method::DeleteMethodError;
use aws_sdk_apigateway::operation::delete_resource::DeleteResourceError;
use aws_sdk_apigateway::operation::update_stage::UpdateStageError;
use aws_sdk_apigateway::types::{Op, PatchOperation};
use tracing::warn;

use super::diff::tree::quota_refusal;
use super::diff::{ApiPlan, Plan, RouteKey};
use super::observe::resources;
use super::status::PENDING_PREFIX;
use super::{paths, Deploy, Integration, LearnedQuota, Observed, Owed, Record, Status};
use crate::clients::App;
use crate::config::RouteSyncConfig;
use crate::error::{AwsResultExt, Error, Result};
use crate::governance::{method_setting_key, MethodAuth};
use crate::ids::ApiRef;
use crate::{registry, urls};

const PARAMETER_DESCRIPTION: &str = "published by frontdoor";

/// What happened beyond the plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// APIs AWS refused a write of, and why: their writes of this run were undone.
    pub refused: BTreeMap<ApiRef, String>,
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
}

/// Applies a plan; the deployment as `deploy` says.
pub async fn apply(
    app: &App<RouteSyncConfig>,
    observed: &Observed,
    plan: &Plan,
    deploy: Deploy,
) -> Result<Applied> {
    let ssm = &app.clients.ssm;
    let prefix = &app.config.ssm_prefix;
    let mut stored = observed.record_parameters.clone();
    for (api, group) in &plan.apis {
        if let Some(record) = &group.record_before {
            store_record(app, &mut stored, api, Some(record)).await?;
        }
    }
    let owed = registry::deployment_owed_parameter(prefix);
    let token = observed
        .owed
        .as_ref()
        .map_or_else(|| owed_token(app), |o| o.token().to_string());
    // The APIs this run writes routes for wait on the deployment: recorded before the first
    // public write (with the marker itself), so a later run that deploys can tell them.
    let was_waiting: BTreeSet<String> = observed
        .owed
        .as_ref()
        .map(|o| o.waiting().iter().map(ToString::to_string).collect())
        .unwrap_or_default();
    let mut waiting = was_waiting.clone();
    waiting.extend(
        plan.apis
            .iter()
            .filter(|(_, g)| g.writes_public())
            .map(|(api, _)| api.to_string()),
    );
    if plan.owe_deployment || (observed.owed.is_some() && waiting != was_waiting) {
        let marker = Owed::Waiting {
            token: token.clone(),
            waiting: waiting.clone(),
        };
        registry::store(ssm, &owed, &Some(marker)).await?;
    }

    let mut ids: BTreeMap<String, String> = observed
        .public
        .iter()
        .map(|r| (r.path.clone(), r.id.clone()))
        .collect();
    delete_unwanted(app, plan, &ids).await?;
    for path in &plan.delete_resources {
        ids.remove(path);
    }

    let mut applied = Applied::default();
    // What each group needs on the public API, and how many groups need each path: undoing
    // one group never removes what another needs.
    let needs: BTreeMap<&ApiRef, BTreeSet<String>> = plan
        .apis
        .iter()
        .map(|(api, group)| {
            let paths = group
                .creates
                .iter()
                .chain(group.routes.keys().map(|(p, _)| p))
                .flat_map(|p| paths::ancestors(p).into_iter().chain([p.clone()]))
                .collect();
            (api, paths)
        })
        .collect();
    let mut groups_needing: BTreeMap<&String, usize> = BTreeMap::new();
    for path in needs.values().flatten() {
        *groups_needing.entry(path).or_default() += 1;
    }
    let mut written: BTreeMap<&ApiRef, Vec<RouteKey>> = BTreeMap::new();
    for (api, group) in &plan.apis {
        let mine = &needs[api];
        let others_need = |path: &String| {
            groups_needing.get(path).copied().unwrap_or_default() > usize::from(mine.contains(path))
        };
        let outcome = write_group(app, group, &mut ids, &others_need).await?;
        written.insert(api, outcome.integrations);
        if let Err(refusal) = outcome.result {
            warn!(%api, reason = %refusal.reason, "AWS refused this API's routes; its writes were undone");
            applied.refused.insert(api.clone(), refusal.reason);
        }
    }

    let queue = match deploy {
        Deploy::Enqueue => app.config.route_queue_url.as_deref(),
        Deploy::Now => None,
    };
    if let (true, Some(queue)) = (plan.deploy, queue) {
        enqueue_deploy(app, queue, &token).await?;
        applied.deploy_enqueued = true;
    } else if plan.deploy {
        match create_deployment(app).await? {
            Ok(()) => {
                applied.deployed = true;
                if plan.owe_deployment || observed.deployment_owed {
                    registry::delete(ssm, &owed).await?;
                }
            }
            Err(message) => {
                warn!(message = %message, "AWS refused the deployment; it stays owed");
                // From the queue, a fresh token: a later run's "deploy" message must not be
                // dropped as a duplicate of the one that just failed.
                if app.config.route_queue_url.is_some() {
                    let marker = Owed::Waiting {
                        token: owed_token(app),
                        waiting: waiting.clone(),
                    };
                    registry::store(ssm, &owed, &Some(marker)).await?;
                }
                applied.pending = waiting_apis(observed, plan, &applied);
                applied.deployment_refused = Some(message);
            }
        }
    }

    // Each refused API's record goes back to what it held (plus integrations that stay).
    let undone: BTreeMap<&ApiRef, Option<Record>> = plan
        .apis
        .iter()
        .filter(|(api, _)| applied.refused.contains_key(*api))
        .map(|(api, group)| {
            let written = written.get(api).map(Vec::as_slice).unwrap_or_default();
            (
                api,
                undone_record(observed.records.get(api), group, written),
            )
        })
        .collect();

    // Published parameters before the records narrow: a crash in between leaves a record
    // that still names the parameters, so the next run finds and removes what it must.
    let statuses: BTreeMap<&ApiRef, Status> = applied.statuses().collect();
    for (api, group) in &plan.apis {
        let refused = undone.get(api);
        let mut put = if refused.is_some() {
            BTreeMap::new()
        } else {
            group.parameters_put.clone()
        };
        if let (Some(status), Some(name)) = (statuses.get(api), &group.status_parameter) {
            // A refused API writes its status only under the name its record keeps.
            let owned = refused.is_none_or(|record| {
                record
                    .as_ref()
                    .and_then(|r| r.name.as_ref())
                    .is_some_and(|n| urls::parameter_names(prefix, n)[2] == *name)
            });
            if owned && observed.parameters.get(name) == Some(&status.to_string()) {
                put.remove(name);
            } else if owned {
                put.insert(name.clone(), status.to_string());
            }
        }
        for (name, value) in put {
            registry::put(ssm, &name, value, PARAMETER_DESCRIPTION).await?;
        }
        if refused.is_none() {
            for name in &group.parameters_delete {
                registry::delete(ssm, name).await?;
            }
        }
    }

    for (api, group) in &plan.apis {
        let after = match undone.get(api) {
            Some(record) => Some(record.clone()),
            None => group.record_after.clone(),
        };
        if let Some(record) = after {
            store_record(app, &mut stored, api, record.as_ref()).await?;
        }
    }
    match &plan.sweep_cursor {
        Some(Some(next)) => {
            registry::store(
                ssm,
                &registry::sweep_cursor_parameter(prefix),
                &Some(next.to_string()),
            )
            .await?
        }
        Some(None) => registry::delete(ssm, &registry::sweep_cursor_parameter(prefix)).await?,
        None => {}
    }
    // Last: stage settings are best effort for each route, after every record, status and
    // the cursor, so a refused setting never holds back the rest of the run.
    applied.throttles_refused = set_throttles(app, observed, plan, &applied).await?;
    Ok(applied)
}

/// Stores (`Some`) or deletes (`None`) one API's record, in as many parts as it needs.
async fn store_record(
    app: &App<RouteSyncConfig>,
    stored: &mut BTreeMap<ApiRef, BTreeSet<String>>,
    api: &ApiRef,
    record: Option<&Record>,
) -> Result<()> {
    let ssm = &app.clients.ssm;
    let base = registry::api_parameter(&app.config.ssm_prefix, api);
    let existing = stored.remove(api).unwrap_or_default();
    match record {
        Some(record) => {
            let parts = record.encode_parts(&base)?;
            let names = registry::store_parts(ssm, &base, &parts, &existing).await?;
            stored.insert(api.clone(), names);
        }
        None => registry::delete_parts(ssm, &existing).await?,
    }
    Ok(())
}

/// Owned methods and frontdoor-made resources nobody wants any more. Already gone counts as
/// done: a retry of a call whose answer was lost.
async fn delete_unwanted(
    app: &App<RouteSyncConfig>,
    plan: &Plan,
    ids: &BTreeMap<String, String>,
) -> Result<()> {
    for (path, verb) in &plan.delete_methods {
        delete_method(app, &resource_id(ids, path)?, verb).await?;
    }
    for path in &plan.delete_resources {
        delete_resource(app, &resource_id(ids, path)?).await?;
    }
    Ok(())
}

/// Deletes one method; already gone counts as done (a retry whose answer was lost).
async fn delete_method(app: &App<RouteSyncConfig>, resource_id: &str, verb: &str) -> Result<()> {
    let deleted = app
        .clients
        .apigateway
        .delete_method()
        .rest_api_id(app.config.public_api_id.as_str())
        .resource_id(resource_id)
        .http_method(verb)
        .send()
        .await;
    deleted.op_or_missing("DeleteMethod", DeleteMethodError::is_not_found_exception)?;
    Ok(())
}

/// Deletes one resource (and its methods); already gone counts as done.
async fn delete_resource(app: &App<RouteSyncConfig>, resource_id: &str) -> Result<()> {
    let deleted = app
        .clients
        .apigateway
        .delete_resource()
        .rest_api_id(app.config.public_api_id.as_str())
        .resource_id(resource_id)
        .send()
        .await;
    deleted.op_or_missing(
        "DeleteResource",
        DeleteResourceError::is_not_found_exception,
    )?;
    Ok(())
}

fn resource_id(ids: &BTreeMap<String, String>, path: &str) -> Result<String> {
    ids.get(path)
        .cloned()
        .ok_or_else(|| Error::Drift(format!("resource {path} is missing")))
}

/// A permanent refusal of one API's write.
struct Refusal {
    reason: String,
}

/// What writing one group came to.
struct GroupOutcome {
    /// `Err`: AWS refused it permanently and what it made was removed again.
    result: Result<(), Refusal>,
    /// Integrations it rewrote on methods that were there before (they stay written).
    integrations: Vec<RouteKey>,
}

/// Writes one API's group. `Err(_)`: a transient failure, the run retries. `others_need`:
/// whether another group needs a path, which an undo then leaves in place.
async fn write_group(
    app: &App<RouteSyncConfig>,
    group: &ApiPlan,
    ids: &mut BTreeMap<String, String>,
    others_need: &dyn Fn(&String) -> bool,
) -> Result<GroupOutcome> {
    let mut made: Vec<String> = Vec::new();
    let mut methods_put: Vec<RouteKey> = Vec::new();
    let mut integrations: Vec<RouteKey> = Vec::new();
    // A parent another group was to make and did not (AWS refused that group): this one
    // cannot be written either, and says why rather than failing everyone's run.
    let missing_parent = group.creates.iter().find_map(|path| {
        let (parent, _) = paths::split_last(path);
        let planned = group.creates.iter().any(|c| c == parent);
        (!ids.contains_key(parent) && !planned).then(|| parent.to_string())
    });
    let outcome = match missing_parent {
        Some(parent) => Err(Error::Blocked(format!(
            "its parent {parent} was not made (another API was refused)"
        ))),
        None => {
            write_group_steps(
                app,
                group,
                ids,
                &mut made,
                &mut methods_put,
                &mut integrations,
            )
            .await
        }
    };
    let error = match outcome {
        Ok(()) => {
            return Ok(GroupOutcome {
                result: Ok(()),
                integrations,
            })
        }
        Err(e) if e.is_transient() => return Err(e),
        Err(e) => e,
    };
    let reason = match &error {
        Error::Aws {
            failure, message, ..
        } if failure
            .code()
            .is_some_and(|code| crate::error::is_quota_message(code, message)) =>
        {
            // AWS's quota is below the configured one: remember it, so the next runs refuse
            // before writing (and say the same thing).
            let learned = LearnedQuota {
                enforced: ids.len(),
                configured: app.config.resource_quota,
            };
            registry::store(
                &app.clients.ssm,
                &registry::learned_quota_parameter(&app.config.ssm_prefix),
                &Some(learned),
            )
            .await?;
            quota_refusal(learned.enforced.min(learned.configured))
        }
        Error::Aws {
            op,
            failure,
            message,
            ..
        } => format!("AWS refused {op}: {failure}: {message}"),
        other => other.to_string(),
    };
    made.retain(|p| !others_need(p));
    undo(app, ids, &made, &methods_put).await?;
    Ok(GroupOutcome {
        result: Err(Refusal { reason }),
        integrations,
    })
}

async fn write_group_steps(
    app: &App<RouteSyncConfig>,
    group: &ApiPlan,
    ids: &mut BTreeMap<String, String>,
    made: &mut Vec<String>,
    methods_put: &mut Vec<RouteKey>,
    integrations: &mut Vec<RouteKey>,
) -> Result<()> {
    let gw = &app.clients.apigateway;
    let api_id = app.config.public_api_id.as_str();
    for path in &group.creates {
        let (parent, part) = paths::split_last(path);
        let parent_id = ids
            .get(parent)
            .cloned()
            .ok_or_else(|| Error::Drift(format!("parent {parent} of {path} is missing")))?;
        let created = gw
            .create_resource()
            .rest_api_id(api_id)
            .parent_id(parent_id)
            .path_part(part)
            .send()
            .await;
        let id = match created {
            Ok(r) => {
                made.push(path.clone());
                r.id().unwrap_or_default().to_string()
            }
            // Another writer made it first: re-read and use theirs rather than fail.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conflict_exception()) =>
            {
                resources(gw, api_id)
                    .await?
                    .into_iter()
                    .find(|r| r.path() == Some(path.as_str()))
                    .and_then(|r| r.id().map(str::to_string))
                    .ok_or_else(|| Error::Drift(format!("{path} conflicted but cannot be found")))?
            }
            Err(e) => return Err(e).op("CreateResource"),
        };
        ids.insert(path.clone(), id);
    }
    for ((path, verb), integration) in &group.put_methods {
        let auth = &group.auth;
        let mut put = gw
            .put_method()
            .rest_api_id(api_id)
            .resource_id(resource_id(ids, path)?)
            .http_method(verb)
            .authorization_type(auth.authorization.type_name())
            .set_authorizer_id(auth.authorization.authorizer_id().map(str::to_string))
            .api_key_required(auth.api_key_required);
        for scope in auth.authorization.scopes() {
            put = put.authorization_scopes(scope);
        }
        for p in paths::parameters(path) {
            put = put.request_parameters(format!("method.request.path.{p}"), true);
        }
        match put.send().await {
            // Already there: a retry of a call whose answer was lost, or another writer.
            // The integration put next makes it ours either way.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conflict_exception()) => {}
            other => {
                other.op("PutMethod")?;
            }
        }
        methods_put.push((path.clone(), verb.clone()));
        put_integration(app, &resource_id(ids, path)?, verb, integration).await?;
    }
    // Authorization before integrations: a method handed over to this API is never left
    // serving its new backend with its old owner's (weaker) authorization.
    for ((path, verb), live) in &group.update_methods {
        let operations = auth_patch(live, &group.auth);
        gw.update_method()
            .rest_api_id(api_id)
            .resource_id(resource_id(ids, path)?)
            .http_method(verb)
            .set_patch_operations(Some(operations))
            .send()
            .await
            .op("UpdateMethod")?;
    }
    for ((path, verb), integration) in &group.put_integrations {
        put_integration(app, &resource_id(ids, path)?, verb, integration).await?;
        integrations.push((path.clone(), verb.clone()));
    }
    Ok(())
}

/// UpdateMethod's patch from what a method carries to what it should: the authorization
/// type and authorizer in one request (AWS checks them together), scopes added and removed
/// one by one, the API key requirement.
fn auth_patch(live: &MethodAuth, want: &MethodAuth) -> Vec<PatchOperation> {
    let op = |op: Op, path: &str, value: &str| {
        PatchOperation::builder()
            .op(op)
            .path(path)
            .value(value)
            .build()
    };
    let mut ops = Vec::new();
    let (from, to) = (&live.authorization, &want.authorization);
    if from.type_name() != to.type_name() {
        ops.push(op(Op::Replace, "/authorizationType", to.type_name()));
    }
    if let Some(id) = to
        .authorizer_id()
        .filter(|id| from.authorizer_id() != Some(id))
    {
        ops.push(op(Op::Replace, "/authorizerId", id));
    }
    let (had, wants) = (from.scopes(), to.scopes());
    for scope in had.difference(&wants) {
        ops.push(op(Op::Remove, "/authorizationScopes", scope));
    }
    for scope in wants.difference(&had) {
        ops.push(op(Op::Add, "/authorizationScopes", scope));
    }
    if live.api_key_required != want.api_key_required {
        let value = if want.api_key_required {
            "true"
        } else {
            "false"
        };
        ops.push(op(Op::Replace, "/apiKeyRequired", value));
    }
    ops
}

/// Per-method settings per UpdateStage request (a few operations each): a bound of
/// frontdoor's, as AWS documents none.
const STAGE_KEYS_PER_REQUEST: usize = 16;

/// Sets and removes per-method throttles on the public stage: stage settings, which take
/// effect without a deployment. The routes of an API AWS refused get none (they were
/// undone). A new setting starts from AWS's defaults, logging and metrics off, so it copies
/// the stage-wide (`*/*`) ones. Best effort per route: a request AWS refuses is retried one
/// route at a time, and a route whose setting AWS refuses is logged and counted (returned),
/// not fatal; throttling, 5xx and a concurrent modification (409) fail the run, which is
/// retried.
async fn set_throttles(
    app: &App<RouteSyncConfig>,
    observed: &Observed,
    plan: &Plan,
    applied: &Applied,
) -> Result<usize> {
    let undone: BTreeSet<String> = plan
        .apis
        .iter()
        .filter(|(api, _)| applied.refused.contains_key(*api))
        .flat_map(|(_, group)| group.routes.keys())
        .map(|(path, verb)| method_setting_key(path, verb))
        .collect();
    let op = |op: Op, path: String, value: Option<String>| {
        PatchOperation::builder()
            .op(op)
            .path(path)
            .set_value(value)
            .build()
    };
    let mut per_key: Vec<(&String, Vec<PatchOperation>)> = plan
        .throttles_remove
        .iter()
        .map(|key| (key, vec![op(Op::Remove, format!("/{key}"), None)]))
        .collect();
    for (key, t) in plan
        .throttles_put
        .iter()
        .filter(|(k, _)| !undone.contains(*k))
    {
        let mut ops = vec![
            op(
                Op::Replace,
                format!("/{key}/throttling/rateLimit"),
                Some(t.rate.to_string()),
            ),
            op(
                Op::Replace,
                format!("/{key}/throttling/burstLimit"),
                Some(t.burst.to_string()),
            ),
        ];
        if let (false, Some(wide)) = (
            observed.stage.throttles.contains_key(key),
            &observed.stage.stage_wide,
        ) {
            ops.push(op(
                Op::Replace,
                format!("/{key}/metrics/enabled"),
                Some(wide.metrics.to_string()),
            ));
            ops.push(op(
                Op::Replace,
                format!("/{key}/logging/dataTrace"),
                Some(wide.data_trace.to_string()),
            ));
            if let Some(level) = &wide.logging_level {
                ops.push(op(
                    Op::Replace,
                    format!("/{key}/logging/loglevel"),
                    Some(level.clone()),
                ));
            }
        }
        per_key.push((key, ops));
    }
    let mut refused = 0;
    for chunk in per_key.chunks(STAGE_KEYS_PER_REQUEST) {
        let all: Vec<PatchOperation> = chunk.iter().flat_map(|(_, ops)| ops.clone()).collect();
        match update_stage(app, all).await? {
            Patched::Done => continue,
            Patched::NoStage => {
                // Made by the first deployment, which this run may have left to the queue.
                warn!("public stage not deployed yet; its throttles wait for the next run");
                return Ok(refused);
            }
            Patched::Refused(_) => {}
        }
        for (key, ops) in chunk {
            match update_stage(app, ops.clone()).await? {
                Patched::Done => {}
                Patched::NoStage => return Ok(refused),
                Patched::Refused(why) => {
                    warn!(setting = %key, reason = %why, "AWS refused this route's stage setting; the next run tries again");
                    refused += 1;
                }
            }
        }
    }
    Ok(refused)
}

/// What one UpdateStage did.
enum Patched {
    Done,
    NoStage,
    Refused(Error),
}

async fn update_stage(app: &App<RouteSyncConfig>, ops: Vec<PatchOperation>) -> Result<Patched> {
    let updated = app
        .clients
        .apigateway
        .update_stage()
        .rest_api_id(app.config.public_api_id.as_str())
        .stage_name(&app.config.public_stage)
        .set_patch_operations(Some(ops))
        .send()
        .await;
    let conflict = updated
        .as_ref()
        .err()
        .and_then(|e| e.as_service_error())
        .is_some_and(|e| e.is_conflict_exception());
    match updated.op_or_missing("UpdateStage", UpdateStageError::is_not_found_exception) {
        Ok(Some(_)) => Ok(Patched::Done),
        Ok(None) => Ok(Patched::NoStage),
        // "Unable to complete operation due to concurrent modification": worth a retry.
        Err(e) if conflict => Err(Error::Drift(format!("public stage changed under us: {e}"))),
        Err(e) if e.is_transient() => Err(e),
        Err(e) => Ok(Patched::Refused(e)),
    }
}

/// Removes what one API's group made before AWS refused it: its methods on resources that
/// were there before, then the resources it created, deepest first.
async fn undo(
    app: &App<RouteSyncConfig>,
    ids: &mut BTreeMap<String, String>,
    made: &[String],
    methods_put: &[RouteKey],
) -> Result<()> {
    for (path, verb) in methods_put.iter().filter(|(p, _)| !made.contains(p)) {
        delete_method(app, &resource_id(ids, path)?, verb).await?;
    }
    for path in made.iter().rev() {
        delete_resource(app, &resource_id(ids, path)?).await?;
        ids.remove(path);
    }
    Ok(())
}

/// The record of an API whose group was undone: what it held before this run, plus the
/// integrations this run did rewrite for it (those stay written, so they stay claimed).
fn undone_record(old: Option<&Record>, group: &ApiPlan, written: &[RouteKey]) -> Option<Record> {
    let mut record = old.cloned().unwrap_or_default();
    // Its status is published: the name stays recorded so it can be removed once it leaves.
    if record.name.is_none() {
        record.name = group.record_before.as_ref().and_then(|r| r.name.clone());
    }
    for (path, verb) in written {
        record
            .claims
            .entry(path.clone())
            .or_default()
            .insert(verb.clone());
    }
    (!record.is_empty()).then_some(record)
}

/// A new owed deployment's token: unique per public API and moment, so each owed
/// deployment gets exactly one "deploy" message however many batches ask for it.
fn owed_token(app: &App<RouteSyncConfig>) -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    format!("{}-{ms}", app.config.public_api_id)
}

/// Sends the "deploy" message to the route queue's one message group, deduplicated by the
/// owed deployment's token (SQS drops a repeat within its 5-minute deduplication window).
async fn enqueue_deploy(app: &App<RouteSyncConfig>, queue: &str, token: &str) -> Result<()> {
    app.clients
        .sqs
        .send_message()
        .queue_url(queue)
        .message_body(crate::events::DEPLOY_MESSAGE)
        .message_group_id(crate::config::ROUTE_MESSAGE_GROUP)
        .message_deduplication_id(token)
        .send()
        .await
        .op("SendMessage")?;
    Ok(())
}

/// `Ok(Ok(()))` deployed; `Ok(Err(message))` AWS refused it (400: e.g. "No integration
/// defined for method" on a hand-made method), which no retry can fix.
async fn create_deployment(app: &App<RouteSyncConfig>) -> Result<Result<(), String>> {
    // CreateDeployment: 1 request per 5 s per account; one per reconcile at most.
    let created = app
        .clients
        .apigateway
        .create_deployment()
        .rest_api_id(app.config.public_api_id.as_str())
        .stage_name(&app.config.public_stage)
        .description("frontdoor route sync")
        .send()
        .await;
    match created {
        Ok(_) => Ok(Ok(())),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_bad_request_exception()) =>
        {
            Ok(Err(e
                .as_service_error()
                .and_then(|s| s.message())
                .unwrap_or("BadRequestException")
                .to_string()))
        }
        Err(e) => Err(e).op("CreateDeployment").map(Ok),
    }
}

/// APIs whose routes wait on a refused deployment: those this run wrote for, and those a
/// previous refused deployment left pending.
fn waiting_apis(observed: &Observed, plan: &Plan, applied: &Applied) -> BTreeSet<ApiRef> {
    let recorded = observed
        .owed
        .as_ref()
        .map(Owed::waiting)
        .unwrap_or_default();
    plan.apis
        .iter()
        .filter(|(api, _)| !applied.refused.contains_key(*api))
        .filter(|(_, group)| {
            let was_pending = group.status_parameter.as_ref().is_some_and(|p| {
                observed
                    .parameters
                    .get(p)
                    .is_some_and(|v| v.starts_with(PENDING_PREFIX))
            });
            let routed = matches!(
                group.status,
                Some(Status::Exposed { .. } | Status::Conflict { .. })
            );
            routed && (group.writes_public() || was_pending)
        })
        .chain(plan.apis.iter().filter(|(api, group)| {
            recorded.contains(*api)
                && !applied.refused.contains_key(*api)
                && matches!(
                    group.status,
                    Some(Status::Exposed { .. } | Status::Conflict { .. })
                )
        }))
        .map(|(api, _)| api.clone())
        .collect()
}

async fn put_integration(
    app: &App<RouteSyncConfig>,
    resource_id: &str,
    verb: &str,
    integration: &Integration,
) -> Result<()> {
    let mut put = app
        .clients
        .apigateway
        .put_integration()
        .rest_api_id(app.config.public_api_id.as_str())
        .resource_id(resource_id)
        .http_method(verb)
        .set_type(integration.kind.clone())
        .integration_http_method(&integration.http_method)
        .uri(&integration.uri)
        .set_connection_type(integration.connection_type.clone())
        .connection_id(&integration.connection_id)
        .set_integration_target(integration.integration_target.clone());
    for (k, v) in &integration.request_parameters {
        put = put.request_parameters(k, v);
    }
    put.send().await.op("PutIntegration")?;
    Ok(())
}

/// Re-reads the public API after a plan that wrote to it: every route the plan wants is
/// there with its integration (except an API AWS refused, whose writes were undone), and
/// nothing it deleted remains.
pub async fn verify(app: &App<RouteSyncConfig>, plan: &Plan, applied: &Applied) -> Result<()> {
    if !plan.touches_public_api() {
        return Ok(());
    }
    let live = resources(&app.clients.apigateway, app.config.public_api_id.as_str()).await?;
    let mut problems = Vec::new();
    let wanted = plan
        .apis
        .iter()
        .filter(|(api, _)| !applied.refused.contains_key(*api))
        .flat_map(|(_, group)| group.routes.iter().map(|r| (r, &group.auth)));
    for (((path, verb), want), auth) in wanted {
        let found = live
            .iter()
            .find(|r| r.path() == Some(path.as_str()))
            .and_then(|r| r.resource_methods())
            .and_then(|m| m.get(verb));
        let Some(method) = found else {
            problems.push(format!("{verb} {path} missing"));
            continue;
        };
        let i = method.method_integration();
        if i.and_then(|i| i.uri()) != Some(want.uri.as_str())
            || i.and_then(|i| i.connection_id()) != Some(want.connection_id.as_str())
        {
            problems.push(format!("{verb} {path} has another integration"));
        }
        if method.authorization_type().unwrap_or("NONE") != auth.authorization.type_name()
            || method.api_key_required().unwrap_or(false) != auth.api_key_required
        {
            problems.push(format!("{verb} {path} is not governed as {auth}"));
        }
    }
    for path in &plan.delete_resources {
        if live.iter().any(|r| r.path() == Some(path.as_str())) {
            problems.push(format!("{path} still exists"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Drift(format!(
            "public API after apply: {}",
            problems.join("; ")
        )))
    }
}
