//! One API's group on the public API: its resources (parents first), its methods each with
//! its integration, authorization brought up to the hub's policy, integrations repaired;
//! and the deletes nobody's group needs. Each whole write is asked of the run's budget
//! first, so a run that runs out stops between two of them.
//!
//! When AWS refuses one of the group's writes permanently, what it made in this run is
//! removed again (never what another group needs), and the group is refused with AWS's
//! words; only transient failures end the run.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_apigateway::operation::delete_method::DeleteMethodError;
use aws_sdk_apigateway::operation::delete_resource::DeleteResourceError;
use aws_sdk_apigateway::types::{Op, PatchOperation};

use super::super::budget::Progress;
use super::super::diff::tree::quota_refusal;
use super::super::diff::{ApiPlan, Plan, RouteKey};
use super::super::observe::resources;
use super::super::{Integration, LearnedQuota, Record};
use crate::clients::App;
use crate::config::RouteSyncConfig;
use crate::error::{AwsResultExt, Error, Result};
use crate::governance::MethodAuth;
use crate::paths;
use crate::registry;

/// Deletes the owned methods and frontdoor-made resources nobody wants (children first), each
/// asked of `writes`. Already gone counts as done: a retry of a call whose answer was lost.
/// `Ok(false)`: the budget ran out before all were gone.
pub(super) async fn delete_unwanted(
    app: &App<RouteSyncConfig>,
    plan: &Plan,
    ids: &mut BTreeMap<String, String>,
    writes: &Progress,
) -> Result<bool> {
    for (path, verb) in &plan.delete_methods {
        if !writes.may() {
            return Ok(false);
        }
        delete_method(app, &resource_id(ids, path)?, verb).await?;
    }
    for path in &plan.delete_resources {
        if !writes.may() {
            return Ok(false);
        }
        delete_resource(app, &resource_id(ids, path)?).await?;
        ids.remove(path);
    }
    Ok(true)
}

/// What each group needs on the public API, and how many groups need each path: undoing one
/// group never removes what another needs.
pub(super) struct Needs<'a> {
    by_api: BTreeMap<&'a crate::ids::ApiRef, BTreeSet<String>>,
    groups_needing: BTreeMap<String, usize>,
}

impl<'a> Needs<'a> {
    pub(super) fn of(plan: &'a Plan) -> Self {
        let by_api: BTreeMap<_, BTreeSet<String>> = plan
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
        let mut groups_needing: BTreeMap<String, usize> = BTreeMap::new();
        for path in by_api.values().flatten() {
            *groups_needing.entry(path.clone()).or_default() += 1;
        }
        Self {
            by_api,
            groups_needing,
        }
    }

    /// Whether a group other than `api`'s needs `path`.
    pub(super) fn others_need(&self, api: &crate::ids::ApiRef, path: &String) -> bool {
        let mine = self.by_api.get(api).is_some_and(|m| m.contains(path));
        self.groups_needing.get(path).copied().unwrap_or_default() > usize::from(mine)
    }
}

/// How writing one group ended.
pub(super) enum Written {
    /// Every write of it was made.
    Whole,
    /// The budget ran out between two of its writes: the rest waits for the next run.
    Cut,
    /// AWS refused it permanently (why), and what it made in this run was removed.
    Refused(String),
}

/// What writing one group came to.
pub(super) struct Outcome {
    pub(super) result: Written,
    /// Integrations it rewrote on methods that were there before (they stay written).
    pub(super) integrations: Vec<RouteKey>,
}

/// What a group has written so far in this run.
#[derive(Default)]
struct Done {
    made: Vec<String>,
    methods_put: Vec<RouteKey>,
    integrations: Vec<RouteKey>,
}

/// Writes one API's group. `Err(_)`: a transient failure, the run retries. `others_need`:
/// whether another group needs a path, which an undo then leaves in place.
pub(super) async fn write(
    app: &App<RouteSyncConfig>,
    group: &ApiPlan,
    ids: &mut BTreeMap<String, String>,
    others_need: &dyn Fn(&String) -> bool,
    writes: &Progress,
) -> Result<Outcome> {
    let mut done = Done::default();
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
        None => steps(app, group, ids, &mut done, writes).await,
    };
    let error = match outcome {
        Ok(whole) => {
            return Ok(Outcome {
                result: if whole { Written::Whole } else { Written::Cut },
                integrations: done.integrations,
            })
        }
        Err(e) if e.is_transient() => return Err(e),
        Err(e) => e,
    };
    let reason = match refusal_of(&error) {
        Refused::Quota => {
            // AWS's quota is below the configured one: remember it, so the next runs refuse
            // before writing (and say the same thing).
            let learned = LearnedQuota {
                enforced: ids.len(),
                configured: app.config.resource_quota,
            };
            registry::store(
                &app.clients.ssm,
                &registry::learned_quota_parameter(&app.config.cell_state_prefix()),
                &Some(learned),
            )
            .await?;
            quota_refusal(learned.enforced.min(learned.configured))
        }
        Refused::Api(reason) => reason,
    };
    done.made.retain(|p| !others_need(p));
    undo(app, ids, &done.made, &done.methods_put).await?;
    Ok(Outcome {
        result: Written::Refused(reason),
        integrations: done.integrations,
    })
}

/// How a permanent refusal of one API's write is read.
#[derive(Debug, PartialEq, Eq)]
enum Refused {
    /// The public API's resource quota: learned, and the same refusal the diff foresees.
    Quota,
    /// That API's own refusal, in AWS's words.
    Api(String),
}

/// Only CreateResource teaches the resource quota: a `LimitExceededException` on PutMethod,
/// PutIntegration or UpdateMethod is about that API's own write, and storing it as the quota
/// would refuse every team's newcomers from then on.
fn refusal_of(error: &Error) -> Refused {
    match error {
        Error::Aws {
            op: "CreateResource",
            failure,
            message,
            ..
        } if failure
            .code()
            .is_some_and(|code| crate::error::is_quota_message(code, message)) =>
        {
            Refused::Quota
        }
        Error::Aws {
            op,
            failure,
            message,
            ..
        } => Refused::Api(format!("AWS refused {op}: {failure}: {message}")),
        other => Refused::Api(other.to_string()),
    }
}

/// The group's writes, each whole unit asked of `writes` first: `Ok(false)` when the budget
/// ran out between two of them.
async fn steps(
    app: &App<RouteSyncConfig>,
    group: &ApiPlan,
    ids: &mut BTreeMap<String, String>,
    done: &mut Done,
    writes: &Progress,
) -> Result<bool> {
    let Done {
        made,
        methods_put,
        integrations,
    } = done;
    let gw = &app.clients.apigateway;
    let api_id = app.config.public_api_id.as_str();
    for path in &group.creates {
        if !writes.may() {
            return Ok(false);
        }
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
    // A method and its integration are one unit: a cut never leaves a method without one
    // (AWS refuses to deploy that).
    for ((path, verb), integration) in &group.put_methods {
        if !writes.may() {
            return Ok(false);
        }
        let auth = group.auth_for(verb);
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
        if !writes.may() {
            return Ok(false);
        }
        let operations = auth_patch(live, group.auth_for(verb));
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
        // A method whose authorization was just handed over gets its integration in the
        // same unit: never its old backend with its new owner's authorization.
        let handed_over = group
            .update_methods
            .contains_key(&(path.clone(), verb.clone()));
        if !handed_over && !writes.may() {
            return Ok(false);
        }
        put_integration(app, &resource_id(ids, path)?, verb, integration).await?;
        integrations.push((path.clone(), verb.clone()));
    }
    Ok(true)
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
pub(super) fn undone_record(
    old: Option<&Record>,
    group: &ApiPlan,
    written: &[RouteKey],
) -> Option<Record> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Failure;

    fn limit_exceeded(op: &'static str) -> Error {
        Error::Aws {
            op,
            failure: Failure::Service {
                code: "LimitExceededException".into(),
                status: 429,
            },
            message: "Maximum number of Resources for this API has been reached".into(),
            transient: false,
            source: "test".into(),
        }
    }

    #[test]
    fn only_create_resource_teaches_the_quota() {
        assert_eq!(
            refusal_of(&limit_exceeded("CreateResource")),
            Refused::Quota
        );
        // A hostile spoke whose PutMethod, PutIntegration or UpdateMethod meets a
        // LimitExceededException is refused alone: the quota every team plans with stays.
        for op in ["PutMethod", "PutIntegration", "UpdateMethod"] {
            let Refused::Api(reason) = refusal_of(&limit_exceeded(op)) else {
                panic!("{op} taught the quota");
            };
            assert!(reason.starts_with(&format!("AWS refused {op}")), "{reason}");
        }
    }
}
