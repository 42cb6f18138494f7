//! Pure. What the hub's policy changes on routes frontdoor keeps: methods whose
//! authorization or API key requirement differs from what their API's routes carry
//! (updated in place, not deleted and put again, then deployed), and the public stage's
//! per-method throttles (set, or removed when no longer wanted or the route goes; stage
//! settings take effect without a deployment). Only methods a record claims: hand-made
//! routes and their settings are never touched.
//!
//! The routes of an API not in play (its account unreachable, held by the quota) cannot be
//! read for their tags, but the hub's policy does not depend on them: a spoke must not
//! escape a stricter policy by making itself unreadable. Such routes are brought up to the
//! hub's authorization when theirs is weaker (tighten only; an account the hub lets publish
//! open routes keeps an open one), and their throttles to the hub's bounds: one without a
//! throttle gets the hub's default, one above the hub's maximum is lowered to it, one within
//! the bounds keeps what its tags asked.

use std::collections::{BTreeMap, BTreeSet};

use super::claims::Claims;
use super::RouteKey;
use crate::governance::{
    answered_verbs, method_setting_key, Authorization, MethodAuth, Policy, Throttle,
};
use crate::ids::ApiRef;
use crate::routes::desired::Wanted;
use crate::routes::Observed;

/// The governance step's result.
#[derive(Debug, Clone, Default)]
pub(super) struct Governance {
    /// By API: what its methods should carry, and its existing methods that carry something
    /// else (with what they carry now).
    pub(super) update_methods: BTreeMap<ApiRef, (MethodAuth, BTreeMap<RouteKey, MethodAuth>)>,
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
    policy: &Policy,
) -> Governance {
    let live = observed.public_by_path();
    let live_auth = |(path, verb): &RouteKey| {
        live.get(path.as_str())
            .and_then(|r| r.methods.get(verb))
            .map(|m| &m.auth)
    };
    let settings = &observed.stage;
    // Only a setting that holds nothing but a throttle is frontdoor's to remove.
    let removable = |key: &String| {
        settings.throttles.contains_key(key) && !settings.more_than_throttle.contains(key)
    };
    // Whether the method `v` at `path` is `api`'s (assigned now, or kept as recorded).
    let owns = |api: &ApiRef, path: &str, v: &str| {
        claims
            .assigned
            .get(api)
            .is_some_and(|r| r.contains_key(&(path.to_string(), v.to_string())))
            || claims
                .kept
                .get(api)
                .and_then(|k| k.get(path))
                .is_some_and(|vs| vs.contains(v))
    };
    // The setting keys of a route's throttle: for `ANY`, each verb it answers too, except
    // a verb with a method of its own on the path that is not the same API's (a hand-made
    // `GET` beside a frontdoor `ANY` keeps its settings to itself).
    let keys_of = |path: &str, verb: &str, own: &dyn Fn(&str) -> bool| -> Vec<String> {
        let methods = live.get(path).map(|r| &r.methods);
        answered_verbs(verb)
            .filter(|v| *v == verb || own(v) || !methods.is_some_and(|m| m.contains_key(*v)))
            .map(|v| method_setting_key(path, v))
            .collect()
    };
    let mut out = Governance::default();
    for (api, routes) in &claims.assigned {
        let Some(w) = wanted.get(api) else { continue };
        for key @ (path, verb) in routes.keys() {
            let expected = if verb == "OPTIONS" {
                &w.governed.preflight
            } else {
                &w.governed.auth
            };
            if let Some(auth) = live_auth(key).filter(|a| *a != expected) {
                out.update_methods
                    .entry(api.clone())
                    .or_insert_with(|| (w.governed.auth.clone(), BTreeMap::new()))
                    .1
                    .insert(key.clone(), auth.clone());
            }
            for setting in keys_of(path, verb, &|v| owns(api, path, v)) {
                match (w.governed.throttle, settings.throttles.get(&setting)) {
                    (Some(want), Some(Some(live))) if *live == want => {}
                    (Some(want), _) => {
                        out.throttles_put.insert(setting, want);
                    }
                    (None, Some(_)) if removable(&setting) => {
                        out.throttles_remove.insert(setting);
                    }
                    (None, _) => {}
                }
            }
        }
    }
    // Routes kept as their records say (their API not in play): tighten only.
    let hub = &observed.hub_auth;
    for (api, kept) in &claims.kept {
        let open_allowed = policy.public_accounts.contains(&api.account);
        for (path, verbs) in kept {
            for verb in verbs {
                let key = (path.clone(), verb.clone());
                let Some(live) = live_auth(&key) else {
                    continue;
                };
                let allowed_open = open_allowed && live.authorization == Authorization::Open;
                let expected = if verb == "OPTIONS" {
                    policy.preflight(hub)
                } else {
                    hub.clone()
                };
                if live.is_weaker_than(&expected) && !allowed_open {
                    out.update_methods
                        .entry(api.clone())
                        .or_insert_with(|| (hub.clone(), BTreeMap::new()))
                        .1
                        .insert(key, live.clone());
                }
                for setting in keys_of(path, verb, &|v| owns(api, path, v)) {
                    if let Some(want) = kept_throttle(settings.throttles.get(&setting), policy) {
                        out.throttles_put.insert(setting, want);
                    }
                }
            }
        }
    }
    // Routes frontdoor removes take their settings with them (throttle-only ones).
    let after: BTreeSet<&RouteKey> = claims.assigned.values().flat_map(|r| r.keys()).collect();
    let kept: BTreeSet<RouteKey> = claims
        .kept
        .values()
        .flat_map(|k| k.iter())
        .flat_map(|(p, verbs)| verbs.iter().map(move |v| (p.clone(), v.clone())))
        .collect();
    for (api, record) in &observed.records {
        for (path, verbs) in &record.claims {
            for verb in verbs {
                let key = (path.clone(), verb.clone());
                if after.contains(&key) || kept.contains(&key) {
                    continue;
                }
                let mine = |v: &str| record.claims.get(path).is_some_and(|vs| vs.contains(v));
                for setting in keys_of(path, verb, &|v| mine(v) || owns(api, path, v)) {
                    if removable(&setting) {
                        out.throttles_remove.insert(setting);
                    }
                }
            }
        }
    }
    // A key one route gives up and another (an ANY beside it) still wants stays: the keys
    // of every throttled route that stays, taken once.
    let still_set: BTreeSet<String> = claims
        .assigned
        .iter()
        .filter(|(api, _)| {
            wanted
                .get(*api)
                .is_some_and(|w| w.governed.throttle.is_some())
        })
        .flat_map(|(api, routes)| {
            routes
                .keys()
                .flat_map(|(p, v)| keys_of(p, v, &|x| owns(api, p, x)))
                .collect::<Vec<_>>()
        })
        .collect();
    let Governance {
        throttles_put,
        throttles_remove,
        ..
    } = &mut out;
    throttles_remove.retain(|k| !throttles_put.contains_key(k) && !still_set.contains(k));
    out
}

/// The throttle a kept route (its API not in play, so its tags unread) must be given, if its
/// live one is outside the hub's bounds: none while the hub has a default, or above the
/// maximum. Tighten only: what is within the bounds stays what its tags asked.
fn kept_throttle(live: Option<&Option<Throttle>>, policy: &Policy) -> Option<Throttle> {
    let max = policy.max;
    match live {
        // No setting of its own: the hub's default, when it has one.
        None => policy.throttle,
        // A whole throttle above the maximum: lowered to it, per limit.
        Some(Some(t)) if t.rate > max.rate || t.burst > max.burst => Some(Throttle {
            rate: t.rate.min(max.rate),
            burst: t.burst.min(max.burst),
        }),
        // Within the bounds, or a fractional rate (not one frontdoor writes, so not one a
        // tag asked for): left as it is; raising it to any bound would loosen it.
        Some(_) => None,
    }
}

#[cfg(test)]
mod kept_tests {
    use super::*;

    fn policy(default: Option<(u32, u32)>, max: (u32, u32)) -> Policy {
        Policy {
            throttle: default.map(|(rate, burst)| Throttle { rate, burst }),
            max: Throttle {
                rate: max.0,
                burst: max.1,
            },
            ..Policy::default()
        }
    }

    #[test]
    fn a_kept_route_follows_the_hubs_default_and_a_lowered_maximum() {
        let t = |rate, burst| Throttle { rate, burst };
        let hub = policy(Some((10, 20)), (50, 100));
        // No throttle of its own: the hub's default.
        assert_eq!(kept_throttle(None, &hub), Some(t(10, 20)));
        // What its tags asked within the bounds stays.
        assert_eq!(kept_throttle(Some(&Some(t(40, 80))), &hub), None);
        // The hub lowered its maximum: lowered with it, limit by limit.
        assert_eq!(
            kept_throttle(Some(&Some(t(40, 80))), &policy(None, (30, 100))),
            Some(t(30, 80))
        );
        // No default and no throttle: nothing to set.
        assert_eq!(kept_throttle(None, &policy(None, (50, 100))), None);
        assert_eq!(kept_throttle(Some(&None), &hub), None);
    }
}
