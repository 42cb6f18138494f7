//! After the deployment: each written API's URLs and status, then its record narrowed, one
//! API at a time as the publishing budget allows (an API's parameters before its record
//! narrows: a crash in between leaves a record that still names the parameters, so the
//! next run finds and removes what it must). Then the sweep cursor.

use std::collections::{BTreeMap, BTreeSet};

use super::super::budget::Progress;
use super::super::diff::{Plan, RouteKey};
use super::super::{Observed, Record, Status};
use super::group::undone_record;
use super::Applied;
use crate::clients::App;
use crate::config::RouteSyncConfig;
use crate::error::Result;
use crate::ids::ApiRef;
use crate::{registry, urls};

const PARAMETER_DESCRIPTION: &str = "published by frontdoor";

/// Publishes each API the run wrote whole (or refused), in `order`, while `publishing`
/// allows; the rest is left for the next run (`applied.deferred`).
#[allow(clippy::too_many_arguments)]
pub(super) async fn publish(
    app: &App<RouteSyncConfig>,
    observed: &Observed,
    plan: &Plan,
    order: &[ApiRef],
    written: &BTreeMap<&ApiRef, Vec<RouteKey>>,
    stored: &mut BTreeMap<ApiRef, BTreeSet<String>>,
    applied: &mut Applied,
    publishing: &Progress,
) -> Result<()> {
    let ssm = &app.clients.ssm;
    let prefix = &app.config.ssm_prefix;
    // Paths and resources going to a group this run did not finish (cut, or refused and
    // undone): an API that gives one of them up is not narrowed yet, or the path would be
    // owned by nobody (and look hand-made) until the group is written.
    let handed: BTreeSet<&String> = plan
        .apis
        .iter()
        .filter(|(api, _)| !applied.finished(api))
        .flat_map(|(_, g)| g.routes.keys().map(|(p, _)| p).chain(g.creates.iter()))
        .collect();
    let gives_up_handed = |api: &ApiRef, after: &Option<Record>| {
        let Some(old) = observed.records.get(api) else {
            return false;
        };
        let kept = |p: &String| {
            after
                .as_ref()
                .is_some_and(|a| a.claims.contains_key(p) || a.created.contains(p))
        };
        old.claims
            .keys()
            .chain(old.created.iter())
            .any(|p| handed.contains(p) && !kept(p))
    };
    let statuses: BTreeMap<ApiRef, Status> = applied
        .statuses()
        .map(|(api, s)| (api.clone(), s))
        .collect();
    for api in order {
        if applied.deferred.contains(api) {
            continue;
        }
        if !publishing.may() {
            applied.deferred.insert(api.clone());
            continue;
        }
        let group = &plan.apis[api];
        if let Some(after) = &group.record_after {
            if !applied.refused.contains_key(api) && gives_up_handed(api, after) {
                applied.deferred.insert(api.clone());
                continue;
            }
        }
        // Each refused API's record goes back to what it held (plus integrations that stay).
        let undone: Option<Option<Record>> = applied.refused.contains_key(api).then(|| {
            let written = written.get(api).map(Vec::as_slice).unwrap_or_default();
            undone_record(observed.records.get(api), group, written)
        });
        let mut put = if undone.is_some() {
            BTreeMap::new()
        } else {
            group.parameters_put.clone()
        };
        if let (Some(status), Some(name)) = (statuses.get(api), &group.status_parameter) {
            // A refused API writes its status only under the name its record keeps.
            let owned = undone.as_ref().is_none_or(|record| {
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
        if undone.is_none() {
            for name in &group.parameters_delete {
                registry::delete(ssm, name).await?;
            }
        }
        let after = match undone {
            Some(record) => Some(record),
            None => group.record_after.clone(),
        };
        if let Some(record) = after {
            store_record(app, stored, api, record.as_ref()).await?;
        }
    }
    Ok(())
}

/// Stores or clears where the next sweep starts.
pub(super) async fn sweep_cursor(app: &App<RouteSyncConfig>, plan: &Plan) -> Result<()> {
    let ssm = &app.clients.ssm;
    let name = registry::sweep_cursor_parameter(&app.config.ssm_prefix);
    match &plan.sweep_cursor {
        Some(Some(next)) => registry::store(ssm, &name, &Some(next.to_string())).await,
        Some(None) => registry::delete(ssm, &name).await,
        None => Ok(()),
    }
}

/// Stores (`Some`) or deletes (`None`) one API's record, in as many parts as it needs.
pub(super) async fn store_record(
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
