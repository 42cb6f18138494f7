//! Pure. From what was observed (public API, registry, the APIs in scope) to the minimal
//! ordered plan.
//!
//! Ownership: a `(path, verb)` is frontdoor's only if a registry record claims it; every
//! other method on the public API is hand-made and never touched. A path is claimed by the
//! API that puts methods there; the first owner keeps it (records are consulted before new
//! claims), ties among newcomers go to the lower `{account}/{api-id}`, and a path with
//! hand-made methods is never taken. Resources frontdoor created (records' `created`) are
//! deleted, deepest first, once nothing owned or hand-made remains on or under them.
//! Registry records are widened before the public API is written and narrowed after.

use std::collections::{BTreeMap, BTreeSet};

use super::desired::{intent, Context, Exposure};
use super::{paths, Integration, Observed, Record, Report, Status};
use crate::ids::ApiRef;
use crate::urls;

/// `(public path, verb)`.
pub type RouteKey = (String, String);

/// The writes of one reconcile, in apply order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Status per API in scope that asked for something.
    pub statuses: BTreeMap<ApiRef, Status>,
    /// Records to store before any public write (widened).
    pub records_before: BTreeMap<ApiRef, Record>,
    /// Store the deployment-owed marker before the first public write.
    pub owe_deployment: bool,
    /// Public resources to create, parents first.
    pub creates: Vec<String>,
    /// New methods, each with its integration.
    pub put_methods: BTreeMap<RouteKey, Integration>,
    /// Owned methods whose integration drifted.
    pub put_integrations: BTreeMap<RouteKey, Integration>,
    /// Owned methods no longer wanted (on resources that stay).
    pub delete_methods: BTreeSet<RouteKey>,
    /// Frontdoor-made resources no longer needed, children first.
    pub delete_resources: Vec<String>,
    /// Create one deployment on the public stage.
    pub deploy: bool,
    /// Records to store (`Some`) or delete (`None`) at the end (narrowed).
    pub records_after: BTreeMap<ApiRef, Option<Record>>,
    /// Published parameters to write.
    pub parameters_put: BTreeMap<String, String>,
    /// Published parameters to delete.
    pub parameters_delete: BTreeSet<String>,
    /// Every route that should be live after apply, for verify.
    pub routes_after: BTreeMap<RouteKey, Integration>,
    /// Number of APIs looked at.
    pub apis: usize,
}

impl Plan {
    /// Whether the plan writes to the public API.
    pub fn touches_public_api(&self) -> bool {
        !(self.creates.is_empty()
            && self.put_methods.is_empty()
            && self.put_integrations.is_empty()
            && self.delete_methods.is_empty()
            && self.delete_resources.is_empty())
    }

    /// Whether applying it writes nothing at all.
    pub fn is_noop(&self) -> bool {
        !self.touches_public_api()
            && !self.deploy
            && !self.owe_deployment
            && self.records_before.is_empty()
            && self.records_after.is_empty()
            && self.parameters_put.is_empty()
            && self.parameters_delete.is_empty()
    }

    /// The report of this plan once applied.
    pub fn report(&self, reads: u64, writes: u64) -> Report {
        Report {
            apis: self.apis,
            statuses: self
                .statuses
                .iter()
                .map(|(api, s)| (api.to_string(), s.to_string()))
                .collect(),
            resources_created: self.creates.len(),
            resources_deleted: self.delete_resources.len(),
            methods_put: self.put_methods.len(),
            integrations_updated: self.put_integrations.len(),
            methods_deleted: self.delete_methods.len(),
            deployments: usize::from(self.deploy),
            reads,
            writes,
            events_refused: 0,
            events_dropped: 0,
        }
    }
}

const HAND_MADE: &str = "a hand-made route";

/// Computes the plan. Pure: no I/O, no clock, no randomness.
pub fn diff(observed: &Observed, ctx: &Context) -> Plan {
    let mut plan = Plan {
        apis: observed.apis.len(),
        ..Plan::default()
    };

    // What is live, and who owns each method.
    let live: BTreeMap<&str, &super::PublicResource> = observed
        .public
        .iter()
        .map(|r| (r.path.as_str(), r))
        .collect();
    let mut claimed_by: BTreeMap<RouteKey, &ApiRef> = BTreeMap::new();
    for (api, record) in &observed.records {
        for (path, verbs) in &record.claims {
            for verb in verbs {
                claimed_by.insert((path.clone(), verb.clone()), api);
            }
        }
    }
    let hand_made: BTreeSet<&str> = observed
        .public
        .iter()
        .filter(|r| {
            r.methods
                .keys()
                .any(|v| !claimed_by.contains_key(&(r.path.clone(), v.clone())))
        })
        .map(|r| r.path.as_str())
        .collect();

    // What each API in scope asks for.
    let intents: BTreeMap<&ApiRef, _> = observed
        .apis
        .iter()
        .map(|(api, found)| (api, found.as_ref().map(|a| intent(a, ctx))))
        .collect();
    let wanted = |api: &ApiRef| match intents.get(api) {
        Some(Some(i)) => match &i.exposure {
            Exposure::Wanted(w) => Some(w),
            _ => None,
        },
        _ => None,
    };

    // Path ownership: out-of-scope records keep theirs; owners keep what they still want;
    // then newcomers, in order.
    let mut path_owner: BTreeMap<String, ApiRef> = BTreeMap::new();
    for (api, record) in &observed.records {
        if !observed.apis.contains_key(api) {
            for path in record.claims.keys() {
                path_owner.insert(path.clone(), api.clone());
            }
        }
    }
    for api in observed.apis.keys() {
        if let (Some(w), Some(record)) = (wanted(api), observed.records.get(api)) {
            for (path, _) in w.routes.keys() {
                if record.claims.contains_key(path) {
                    path_owner.insert(path.clone(), api.clone());
                }
            }
        }
    }
    let mut conflicts: BTreeMap<ApiRef, (String, String)> = BTreeMap::new();
    let mut assigned: BTreeMap<ApiRef, BTreeMap<RouteKey, Integration>> = BTreeMap::new();
    for api in observed.apis.keys() {
        let Some(w) = wanted(api) else { continue };
        let mine = assigned.entry(api.clone()).or_default();
        for ((path, verb), integration) in &w.routes {
            let key = (path.clone(), verb.clone());
            // A hand-made method on this verb stays theirs, even on a path this API owns.
            let hand_made_verb = live
                .get(path.as_str())
                .is_some_and(|r| r.methods.contains_key(verb))
                && !claimed_by.contains_key(&key);
            let owner = match path_owner.get(path) {
                Some(owner) if owner != api => Some(owner.to_string()),
                Some(_) if hand_made_verb => Some(HAND_MADE.to_string()),
                Some(_) => None,
                None if hand_made.contains(path.as_str()) => Some(HAND_MADE.to_string()),
                None => None,
            };
            match owner {
                Some(owner) => {
                    conflicts
                        .entry(api.clone())
                        .or_insert((path.clone(), owner));
                }
                // Free, or released in this same reconcile by an owner that left: taken.
                None => {
                    path_owner.insert(path.clone(), api.clone());
                    mine.insert(key, integration.clone());
                }
            }
        }
    }

    // Methods.
    for routes in assigned.values() {
        for (key, integration) in routes {
            let live_method = live.get(key.0.as_str()).and_then(|r| r.methods.get(&key.1));
            match live_method {
                None => {
                    plan.put_methods.insert(key.clone(), integration.clone());
                }
                // Drifted, or handed over from an owner that left: rewrite the integration.
                Some(m) if m.integration.as_ref() != Some(integration) => {
                    plan.put_integrations
                        .insert(key.clone(), integration.clone());
                }
                Some(_) => {}
            }
            plan.routes_after.insert(key.clone(), integration.clone());
        }
    }
    for api in observed.apis.keys() {
        let Some(record) = observed.records.get(api) else {
            continue;
        };
        let keep = assigned.get(api);
        for (path, verbs) in &record.claims {
            for verb in verbs {
                let key = (path.clone(), verb.clone());
                let live_has = live
                    .get(path.as_str())
                    .is_some_and(|r| r.methods.contains_key(verb));
                if live_has
                    && !keep.is_some_and(|k| k.contains_key(&key))
                    && !plan.routes_after.contains_key(&key)
                {
                    plan.delete_methods.insert(key);
                }
            }
        }
    }

    // Resources: what is needed by anyone, what to create, what to delete.
    let mut claim_paths: BTreeMap<ApiRef, BTreeSet<String>> = BTreeMap::new();
    for (api, record) in &observed.records {
        if !observed.apis.contains_key(api) {
            claim_paths.insert(api.clone(), record.claims.keys().cloned().collect());
        }
    }
    for (api, routes) in &assigned {
        claim_paths.insert(api.clone(), routes.keys().map(|(p, _)| p.clone()).collect());
    }
    let needed_by = |paths_of: &BTreeSet<String>| -> BTreeSet<String> {
        paths_of
            .iter()
            .flat_map(|p| paths::ancestors(p).into_iter().chain([p.clone()]))
            .collect()
    };
    let needed: BTreeSet<String> = claim_paths.values().flat_map(needed_by).collect();
    let mut creates: Vec<String> = needed
        .iter()
        .filter(|p| !live.contains_key(p.as_str()))
        .cloned()
        .collect();
    creates.sort_by_key(|p| (paths::depth(p), p.clone()));
    plan.creates = creates;

    let frontdoor_made: BTreeSet<String> = observed
        .records
        .values()
        .flat_map(|r| r.created.iter().cloned())
        .collect();
    let methods_after = |path: &str| -> bool {
        let live_verbs: Vec<&String> = live
            .get(path)
            .map(|r| r.methods.keys().collect())
            .unwrap_or_default();
        live_verbs
            .into_iter()
            .any(|v| !plan.delete_methods.contains(&(path.to_string(), v.clone())))
            || plan.put_methods.keys().any(|(p, _)| p == path)
    };
    let mut remaining: BTreeSet<String> = live
        .keys()
        .map(|p| p.to_string())
        .chain(plan.creates.iter().cloned())
        .collect();
    let mut candidates: Vec<&String> = frontdoor_made
        .iter()
        .filter(|p| live.contains_key(p.as_str()) && !needed.contains(*p))
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
    plan.delete_methods.retain(|(p, _)| !deletes.contains(p));
    plan.delete_resources = deletes;

    // Records.
    let made_after: BTreeSet<String> = frontdoor_made
        .iter()
        .chain(plan.creates.iter())
        .filter(|p| !plan.delete_resources.contains(p))
        .cloned()
        .collect();
    let mut involved: BTreeSet<ApiRef> = observed.records.keys().cloned().collect();
    involved.extend(observed.apis.keys().cloned());
    for api in &involved {
        let old = observed.records.get(api);
        let in_scope = observed.apis.contains_key(api);
        let claims: BTreeMap<String, BTreeSet<String>> = if in_scope {
            let mut c: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for (path, verb) in assigned
                .get(api)
                .map(|r| r.keys().cloned().collect::<Vec<_>>())
                .unwrap_or_default()
            {
                c.entry(path).or_default().insert(verb);
            }
            c
        } else {
            old.map(|r| r.claims.clone()).unwrap_or_default()
        };
        let mine = claim_paths.get(api).map(needed_by).unwrap_or_default();
        let created: BTreeSet<String> = made_after.intersection(&mine).cloned().collect();
        let publishes = in_scope
            && matches!(intents.get(api), Some(Some(i)) if !matches!(i.exposure, Exposure::NotExposed));
        // A deleted API has no intent: its record still knows where its parameters are.
        let name = match intents.get(api) {
            Some(Some(i)) => i.name.clone(),
            _ => old.and_then(|r| r.name.clone()),
        };
        let new = Record {
            name: if publishes || !in_scope {
                name.clone()
            } else {
                None
            },
            claims,
            created,
        };
        let keep_record = !new.claims.is_empty() || !new.created.is_empty() || publishes;
        let old_or_empty = old.cloned().unwrap_or_default();
        let widened = old_or_empty.union(&new);
        if widened != old_or_empty && keep_record {
            plan.records_before.insert(api.clone(), widened.clone());
        } else if widened != old_or_empty {
            // Going away: widening only matters for what is about to be created.
            let grow = Record {
                name: old_or_empty.name.clone(),
                ..widened.clone()
            };
            if grow != old_or_empty {
                plan.records_before.insert(api.clone(), grow);
            }
        }
        let stored = plan
            .records_before
            .get(api)
            .cloned()
            .or_else(|| old.cloned());
        if keep_record {
            if stored.as_ref() != Some(&new) {
                plan.records_after.insert(api.clone(), Some(new));
            }
        } else if stored.is_some() {
            plan.records_after.insert(api.clone(), None);
        }

        // Published parameters, for APIs in scope.
        if !in_scope {
            continue;
        }
        let [url_p, private_p, status_p] = match &name {
            Some(n) => urls::parameter_names(&ctx.ssm_prefix, n),
            None => continue,
        };
        let mut put = BTreeMap::new();
        match intents
            .get(api)
            .and_then(|i| i.as_ref())
            .map(|i| &i.exposure)
        {
            Some(Exposure::Wanted(w)) => {
                let status = match conflicts.get(api) {
                    Some((path, owner)) => Status::Conflict {
                        path: path.clone(),
                        owner: owner.clone(),
                    },
                    None => Status::Exposed,
                };
                if assigned.get(api).is_some_and(|r| !r.is_empty()) {
                    put.insert(url_p.clone(), w.url.clone());
                    put.insert(private_p.clone(), w.private_url.clone());
                }
                put.insert(status_p.clone(), status.to_string());
                plan.statuses.insert(api.clone(), status);
            }
            Some(Exposure::Refused(reason)) => {
                let status = Status::Refused(reason.clone());
                put.insert(status_p.clone(), status.to_string());
                plan.statuses.insert(api.clone(), status);
            }
            Some(Exposure::NotExposed) | None => {}
        }
        for p in [&url_p, &private_p, &status_p] {
            match put.get(p) {
                Some(v) if observed.parameters.get(p) != Some(v) => {
                    plan.parameters_put.insert(p.clone(), v.clone());
                }
                Some(_) => {}
                None if observed.parameters.contains_key(p) => {
                    plan.parameters_delete.insert(p.clone());
                }
                None => {}
            }
        }
        // A renamed API leaves its old parameters behind unless they are removed.
        if let Some(old_name) = old
            .and_then(|r| r.name.as_ref())
            .filter(|o| Some(*o) != name.as_ref())
        {
            for p in urls::parameter_names(&ctx.ssm_prefix, old_name) {
                if observed.parameters.contains_key(&p) {
                    plan.parameters_delete.insert(p);
                }
            }
        }
    }

    let writes_public = plan.touches_public_api();
    plan.deploy = writes_public || observed.deployment_owed;
    plan.owe_deployment = writes_public && !observed.deployment_owed;
    plan
}
