//! Pure. What the hub's policy changes on routes frontdoor keeps: methods whose
//! authorization or API key requirement differs from what their API's routes carry
//! (updated in place, not deleted and put again, then deployed), and the public stage's
//! per-method throttles (set, or removed when no longer wanted or the route goes; stage
//! settings take effect without a deployment). Only methods a record claims: hand-made
//! routes and their settings are never touched, nor are the routes of an API not in play.

use std::collections::{BTreeMap, BTreeSet};

use super::claims::Claims;
use super::RouteKey;
use crate::governance::{method_setting_key, MethodAuth, Throttle};
use crate::ids::ApiRef;
use crate::routes::desired::Wanted;
use crate::routes::Observed;

/// The governance step's result.
#[derive(Debug, Clone, Default)]
pub(super) struct Governance {
    /// Existing methods to update, by API, each with the authorization it has now.
    pub(super) update_methods: BTreeMap<ApiRef, BTreeMap<RouteKey, MethodAuth>>,
    /// Per-method throttles to set on the public stage, by setting key.
    pub(super) throttles_put: BTreeMap<String, Throttle>,
    /// Per-method settings to remove from the public stage, by setting key.
    pub(super) throttles_remove: BTreeSet<String>,
}

/// Plans the policy's updates.
pub(super) fn governance(
    observed: &Observed,
    claims: &Claims,
    wanted: &BTreeMap<&ApiRef, &Wanted>,
    in_play: &dyn Fn(&ApiRef) -> bool,
) -> Governance {
    let live_auth = |(path, verb): &RouteKey| {
        observed
            .public
            .iter()
            .find(|r| &r.path == path)
            .and_then(|r| r.methods.get(verb))
            .map(|m| &m.auth)
    };
    let mut out = Governance::default();
    for (api, routes) in &claims.assigned {
        let Some(w) = wanted.get(api) else { continue };
        for key @ (path, verb) in routes.keys() {
            if let Some(auth) = live_auth(key).filter(|a| **a != w.governed.auth) {
                out.update_methods
                    .entry(api.clone())
                    .or_default()
                    .insert(key.clone(), auth.clone());
            }
            let setting = method_setting_key(path, verb);
            match (w.governed.throttle, observed.throttles.get(&setting)) {
                (Some(want), Some(Some(live))) if *live == want => {}
                (Some(want), _) => {
                    out.throttles_put.insert(setting, want);
                }
                (None, Some(_)) => {
                    out.throttles_remove.insert(setting);
                }
                (None, None) => {}
            }
        }
    }
    // Routes frontdoor removes take their settings with them.
    let after: BTreeSet<&RouteKey> = claims.assigned.values().flat_map(|r| r.keys()).collect();
    for (api, record) in &observed.records {
        if !in_play(api) {
            continue;
        }
        for (path, verbs) in &record.claims {
            for verb in verbs {
                let setting = method_setting_key(path, verb);
                if !after.contains(&(path.clone(), verb.clone()))
                    && observed.throttles.contains_key(&setting)
                {
                    out.throttles_remove.insert(setting);
                }
            }
        }
    }
    out
}
