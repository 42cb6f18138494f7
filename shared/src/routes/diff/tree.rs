//! Pure. The public API's resource tree and methods after the claims: methods to put,
//! rewrite or delete, resources to create (parents first, each in the group of the first
//! API that needs it) and resources frontdoor made that nobody needs any more (children
//! first, only when nothing, owned or hand-made, remains on or under them). Also the quota:
//! which APIs' new resources would take the public API past it.

use std::collections::{BTreeMap, BTreeSet};

use super::claims::Claims;
use super::{Plan, RouteKey};
use crate::ids::ApiRef;
use crate::paths;
use crate::routes::{Integration, Observed};

/// The tree step's result.
#[derive(Debug, Clone, Default)]
pub(super) struct Tree {
    /// Resources to create, by the API whose group creates them.
    pub(super) creates: BTreeMap<ApiRef, Vec<String>>,
    /// New methods by API.
    pub(super) put_methods: BTreeMap<ApiRef, BTreeMap<RouteKey, Integration>>,
    /// Rewritten integrations by API.
    pub(super) put_integrations: BTreeMap<ApiRef, BTreeMap<RouteKey, Integration>>,
    /// Owned methods no longer wanted, on resources that stay.
    pub(super) delete_methods: BTreeSet<RouteKey>,
    /// Frontdoor-made resources to delete, children first.
    pub(super) delete_resources: Vec<String>,
    /// Paths each API needs: its claims and their parents.
    pub(super) needed_by: BTreeMap<ApiRef, BTreeSet<String>>,
    /// Resources frontdoor made that exist after apply.
    pub(super) made_after: BTreeSet<String>,
    /// Resources frontdoor made that stay although nobody needs them (something hand-made
    /// remains under them): still frontdoor's, so they can go once that is gone.
    pub(super) orphans: BTreeSet<String>,
    /// Resources on the public API after apply.
    pub(super) public_resources: usize,
}

/// Plans the tree.
pub(super) fn tree(
    observed: &Observed,
    claims: &Claims,
    in_play: &dyn Fn(&ApiRef) -> bool,
) -> Tree {
    let live = observed.public_by_path();
    let live_method = |(path, verb): &RouteKey| {
        live.get(path.as_str())
            .and_then(|r| r.methods.get(verb))
            .map(|m| m.integration.as_ref())
    };
    let mut out = Tree::default();

    // Methods.
    let mut routes_after: BTreeSet<&RouteKey> = BTreeSet::new();
    for (api, routes) in &claims.assigned {
        for (key, integration) in routes {
            match live_method(key) {
                None => {
                    out.put_methods
                        .entry(api.clone())
                        .or_default()
                        .insert(key.clone(), integration.clone());
                }
                // Drifted, or handed over from an owner that left: rewrite the integration.
                Some(current) if current != Some(integration) => {
                    out.put_integrations
                        .entry(api.clone())
                        .or_default()
                        .insert(key.clone(), integration.clone());
                }
                Some(_) => {}
            }
            routes_after.insert(key);
        }
    }
    for (api, record) in &observed.records {
        if !in_play(api) {
            continue;
        }
        let keep = claims.assigned.get(api);
        for (path, verbs) in &record.claims {
            for verb in verbs {
                let key = (path.clone(), verb.clone());
                if live_method(&key).is_some()
                    && !keep.is_some_and(|k| k.contains_key(&key))
                    && !routes_after.contains(&key)
                {
                    out.delete_methods.insert(key);
                }
            }
        }
    }

    // Resources needed by anyone, and who creates each.
    for (api, held) in claims.paths_by_api() {
        out.needed_by.insert(
            api.clone(),
            held.iter()
                .flat_map(|p| paths::ancestors(p).into_iter().chain([(*p).clone()]))
                .collect(),
        );
    }
    let needed: BTreeSet<&String> = out.needed_by.values().flatten().collect();
    let mut missing: Vec<&String> = needed
        .iter()
        .copied()
        .filter(|p| !live.contains_key(p.as_str()))
        .collect();
    missing.sort_by_key(|p| (paths::depth(p), (*p).clone()));
    let mut creates: BTreeMap<ApiRef, Vec<String>> = BTreeMap::new();
    for path in missing {
        // Only for APIs in play: nothing is created for one out of scope, unreachable or held.
        let first = out
            .needed_by
            .iter()
            .find(|(api, n)| in_play(api) && n.contains(path));
        if let Some((api, _)) = first {
            creates.entry(api.clone()).or_default().push(path.clone());
        }
    }

    // Resources frontdoor made that nobody needs: deepest first, only when nothing remains
    // on or under them.
    let made = observed.created_resources();
    let methods_after = |path: &str| -> bool {
        live.get(path).is_some_and(|r| {
            r.methods
                .keys()
                .any(|v| !out.delete_methods.contains(&(path.to_string(), v.clone())))
        }) || out
            .put_methods
            .values()
            .flatten()
            .any(|((p, _), _)| p == path)
    };
    let mut remaining: BTreeSet<String> = live
        .keys()
        .map(|p| p.to_string())
        .chain(creates.values().flatten().cloned())
        .collect();
    let mut candidates: Vec<&String> = made
        .iter()
        .copied()
        .filter(|p| live.contains_key(p.as_str()) && !needed.contains(p))
        .collect();
    candidates.sort_by_key(|p| std::cmp::Reverse((paths::depth(p), (*p).clone())));
    let mut deletes = Vec::new();
    for path in candidates {
        let has_children = remaining
            .iter()
            .any(|p| p != path && paths::is_within(p, path));
        if !has_children && !methods_after(path) {
            remaining.remove(path);
            deletes.push(path.clone());
        }
    }
    // Deleting a resource deletes its methods: no separate calls for those.
    out.delete_methods.retain(|(p, _)| !deletes.contains(p));

    out.made_after = made
        .into_iter()
        .cloned()
        .chain(creates.values().flatten().cloned())
        .filter(|p| !deletes.contains(p))
        .collect();
    out.orphans = out
        .made_after
        .iter()
        .filter(|p| !needed.contains(p))
        .cloned()
        .collect();
    out.public_resources =
        observed.public.len() + creates.values().map(Vec::len).sum::<usize>() - deletes.len();
    out.delete_resources = deletes;
    out.creates = creates;
    out
}

/// APIs whose new resources do not fit under `quota`, counted in plan order after the
/// deletions, with the reason each is refused.
pub(super) fn over_quota(
    observed: &Observed,
    plan: &Plan,
    quota: usize,
) -> BTreeMap<ApiRef, String> {
    let mut count = observed.public.len() - plan.delete_resources.len();
    let mut over = BTreeMap::new();
    for (api, group) in &plan.apis {
        let more = group.creates.len();
        if count + more > quota {
            over.insert(api.clone(), quota_refusal(quota));
        } else {
            count += more;
        }
    }
    over
}

/// Why an API is refused for the quota. Stable text (no counts that move with other APIs):
/// the status must not change while nothing else does, and a refusal AWS gave at apply
/// time reads the same as one the diff foresaw.
pub(crate) fn quota_refusal(quota: usize) -> String {
    format!(
        "the public API's resource quota ({quota}) has no room for the new resources its \
         routes need; what it already had stays"
    )
}
