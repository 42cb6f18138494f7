//! The re-read after apply: what the run says it made is there.

use super::super::diff::Plan;
use super::super::observe::resources;
use super::Applied;
use crate::clients::App;
use crate::config::RouteSyncConfig;
use crate::error::{Error, Result};

/// Re-reads the public API after a plan that wrote to it: every route the plan wants is
/// there with its integration (except an API AWS refused, whose writes were undone, and one
/// the budget left for the next run), and nothing it deleted remains.
pub async fn verify(app: &App<RouteSyncConfig>, plan: &Plan, applied: &Applied) -> Result<()> {
    if !plan.touches_public_api() {
        return Ok(());
    }
    let live = resources(&app.clients.apigateway, app.config.public_api_id.as_str()).await?;
    let mut problems = Vec::new();
    let wanted = plan
        .apis
        .iter()
        .filter(|(api, _)| applied.finished(api))
        .flat_map(|(_, group)| {
            group
                .routes
                .iter()
                .map(move |r| (r, group.auth_for(&r.0 .1)))
        });
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
    // Deletes the budget cut short are the next run's.
    let deleted = if applied.deletes_cut {
        &[][..]
    } else {
        plan.delete_resources.as_slice()
    };
    for path in deleted {
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
