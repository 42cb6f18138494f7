//! The public stage's per-method settings: the hub's throttles on frontdoor's routes. Stage
//! settings take effect without a deployment, and are best effort per route.

use std::collections::BTreeSet;

use aws_sdk_apigateway::operation::update_stage::UpdateStageError;
use aws_sdk_apigateway::types::{Op, PatchOperation};
use tracing::warn;

use super::super::budget::Progress;
use super::super::diff::Plan;
use super::super::Observed;
use super::Applied;
use crate::clients::App;
use crate::config::RouteSyncConfig;
use crate::error::{AwsResultExt, Error, Result};
use crate::governance::setting_keys;

/// Per-method settings per UpdateStage request (a few operations each): a bound of
/// frontdoor's, as AWS documents none.
const STAGE_KEYS_PER_REQUEST: usize = 16;

/// Sets and removes per-method throttles on the public stage: stage settings, which take
/// effect without a deployment. The routes of an API AWS refused get none (they were
/// undone) or the budget left for the next run get none. A new setting starts from AWS's defaults, logging and metrics off, so it copies
/// the stage-wide (`*/*`) ones. Best effort per route: a request AWS refuses is retried one
/// route at a time, and a route whose setting AWS refuses is logged and counted (returned),
/// not fatal; throttling, 5xx and a concurrent modification (409) fail the run, which is
/// retried.
pub(super) async fn set_throttles(
    app: &App<RouteSyncConfig>,
    observed: &Observed,
    plan: &Plan,
    applied: &Applied,
    publishing: &Progress,
) -> Result<usize> {
    // Routes of an API AWS refused (undone), and routes of one left for the next run that
    // were not live before this run (perhaps not made yet); its live routes keep the
    // hub's throttle.
    let live = observed.public_by_path();
    let was_live =
        |path: &str, verb: &str| live.get(path).is_some_and(|r| r.methods.contains_key(verb));
    let undone: BTreeSet<String> = plan
        .apis
        .iter()
        .filter(|(api, _)| !applied.finished(api))
        .flat_map(|(api, group)| group.routes.keys().map(move |k| (api, k)))
        .filter(|(api, (path, verb))| applied.refused.contains_key(*api) || !was_live(path, verb))
        .flat_map(|(_, (path, verb))| setting_keys(path, verb))
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
        if !publishing.may() {
            warn!("run budget spent: the remaining stage settings wait for the next run");
            return Ok(refused);
        }
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
