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
    /// Resources on the public API once applied.
    pub public_resources: usize,
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
            public_resources: self.public_resources,
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

    plan.public_resources =
        observed.public.len() + plan.creates.len() - plan.delete_resources.len();
    let writes_public = plan.touches_public_api();
    plan.deploy = writes_public || observed.deployment_owed;
    plan.owe_deployment = writes_public && !observed.deployment_owed;
    plan
}

/// The state after `plan` is applied to `observed`: the model the property tests check
/// (and what a dry run would show).
pub fn applied(observed: &Observed, plan: &Plan) -> Observed {
    let mut next = observed.clone();
    for path in &plan.creates {
        next.public.push(super::PublicResource {
            id: format!("new{path}"),
            path: path.clone(),
            methods: BTreeMap::new(),
        });
    }
    let mut by_path: BTreeMap<String, super::PublicResource> =
        next.public.drain(..).map(|r| (r.path.clone(), r)).collect();
    for ((path, verb), integration) in plan.put_methods.iter().chain(&plan.put_integrations) {
        if let Some(r) = by_path.get_mut(path) {
            r.methods.insert(
                verb.clone(),
                super::LiveMethod {
                    integration: Some(integration.clone()),
                },
            );
        }
    }
    for (path, verb) in &plan.delete_methods {
        if let Some(r) = by_path.get_mut(path) {
            r.methods.remove(verb);
        }
    }
    for path in &plan.delete_resources {
        by_path.remove(path);
    }
    next.public = by_path.into_values().collect();
    for (api, record) in &plan.records_before {
        next.records.insert(api.clone(), record.clone());
    }
    for (api, record) in &plan.records_after {
        match record {
            Some(r) => next.records.insert(api.clone(), r.clone()),
            None => next.records.remove(api),
        };
    }
    for (name, value) in &plan.parameters_put {
        next.parameters.insert(name.clone(), value.clone());
    }
    for name in &plan.parameters_delete {
        next.parameters.remove(name);
    }
    if plan.deploy {
        next.deployment_owed = false;
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{AccountId, ApiId};
    use crate::routes::desired::tests::{cats, ctx};
    use crate::routes::{LiveMethod, PrivateApi, PrivateResource, PublicResource};
    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

    fn public(paths: &[(&str, &str)]) -> Vec<PublicResource> {
        let mut out = vec![PublicResource {
            id: "root".into(),
            path: "/".into(),
            methods: BTreeMap::new(),
        }];
        for (path, verbs) in paths {
            out.push(PublicResource {
                id: format!("id{path}"),
                path: path.to_string(),
                methods: verbs
                    .split_whitespace()
                    .map(|v| (v.to_string(), LiveMethod { integration: None }))
                    .collect(),
            });
        }
        out
    }

    fn observed_with(apis: Vec<PrivateApi>, public_paths: &[(&str, &str)]) -> Observed {
        Observed {
            public: public(public_paths),
            apis: apis.into_iter().map(|a| (a.api.clone(), Some(a))).collect(),
            ..Observed::default()
        }
    }

    mod given_the_seed_cats_api_and_a_hand_made_health {
        use super::*;

        #[test]
        fn when_first_reconciled_then_writes_are_the_floor_parents_first() {
            // GIVEN
            let observed = observed_with(
                vec![cats(&[("expose", "true"), ("expose:paths", "/cats")])],
                &[("/health", "GET")],
            );
            // WHEN
            let plan = diff(&observed, &ctx());
            // THEN 2 resources, 2 methods (each with its integration), 1 deployment
            assert_eq!(plan.creates, vec!["/cats", "/cats/{id}"]);
            assert_eq!(plan.put_methods.len(), 2);
            assert!(plan.deploy && plan.owe_deployment);
            assert!(plan.delete_methods.is_empty() && plan.delete_resources.is_empty());
            assert_eq!(plan.statuses.values().next(), Some(&Status::Exposed));
            // AND the registry is widened before, with nothing left to narrow after
            assert_eq!(plan.records_before.len(), 1);
            assert!(plan.records_after.is_empty(), "{:?}", plan.records_after);
            // AND a second diff of the result is a no-op
            let again = diff(&applied(&observed, &plan), &ctx());
            assert!(again.is_noop(), "{again:?}");
        }

        #[test]
        fn when_un_exposed_then_only_its_routes_go_and_health_stays() {
            let observed = observed_with(
                vec![cats(&[("expose", "true"), ("expose:paths", "/cats")])],
                &[("/health", "GET")],
            );
            let exposed = applied(&observed, &diff(&observed, &ctx()));
            let mut gone = exposed.clone();
            for api in gone.apis.values_mut().flatten() {
                api.tags.remove("expose");
            }
            let plan = diff(&gone, &ctx());
            assert_eq!(plan.delete_resources, vec!["/cats/{id}", "/cats"]);
            assert!(
                plan.delete_methods.is_empty(),
                "deleting the resource deletes its methods"
            );
            assert!(plan.deploy);
            let after = applied(&gone, &plan);
            let paths: Vec<&str> = after.public.iter().map(|r| r.path.as_str()).collect();
            assert_eq!(paths, vec!["/", "/health"]);
            assert!(after.records.is_empty());
        }
    }

    #[test]
    fn a_frontdoor_parent_with_a_hand_made_child_is_kept() {
        // GIVEN cats exposed, then someone hand-adds /cats/special
        let observed = observed_with(
            vec![cats(&[("expose", "true"), ("expose:paths", "/cats")])],
            &[],
        );
        let mut exposed = applied(&observed, &diff(&observed, &ctx()));
        exposed
            .public
            .extend(public(&[("/cats/special", "POST")]).into_iter().skip(1));
        // WHEN cats is un-exposed
        for api in exposed.apis.values_mut().flatten() {
            api.tags.remove("expose");
        }
        let plan = diff(&exposed, &ctx());
        // THEN /cats loses its method but stays (a hand-made child), /cats/{id} goes
        assert_eq!(plan.delete_resources, vec!["/cats/{id}"]);
        assert!(plan
            .delete_methods
            .contains(&("/cats".to_string(), "GET".to_string())));
        let after = applied(&exposed, &plan);
        assert!(after.public.iter().any(|r| r.path == "/cats/special"));
        // AND the parent stays recorded as frontdoor's, so it can go once the child does
        assert!(diff(&after, &ctx()).is_noop());
    }

    #[test]
    fn a_deployment_owed_is_paid_even_with_nothing_else_to_do() {
        let mut observed = observed_with(vec![], &[]);
        observed.deployment_owed = true;
        let plan = diff(&observed, &ctx());
        assert!(plan.deploy && !plan.owe_deployment);
        assert!(!plan.touches_public_api());
    }

    // --- properties -------------------------------------------------------------------

    const UNIVERSE: [&str; 6] = ["/a", "/a/{id}", "/a/{id}/x", "/b", "/b/{proxy+}", "/c"];

    fn private_api(n: u8) -> impl Strategy<Value = PrivateApi> {
        (
            proptest::sample::subsequence(UNIVERSE.to_vec(), 0..=4),
            any::<bool>(),
            proptest::option::of(proptest::sample::select(vec!["/a", "/b", "/c"])),
            proptest::option::of(proptest::sample::select(vec!["/v1", "/v2"])),
        )
            .prop_map(move |(paths, exposed, selected, prefix)| {
                let mut api = cats(&[]);
                api.api = crate::ids::ApiRef {
                    account: AccountId::parse(if n.is_multiple_of(2) {
                        "222222222222"
                    } else {
                        "333333333333"
                    })
                    .unwrap(),
                    api: ApiId::parse(&format!("api{n:07}")).unwrap(),
                };
                api.name = format!("api-{n}");
                // Parents exist in API Gateway whenever a child does.
                let mut all: std::collections::BTreeSet<String> = ["/".to_string()].into();
                for p in &paths {
                    all.extend(paths::ancestors(p));
                    all.insert(p.to_string());
                }
                api.resources = all
                    .into_iter()
                    .map(|path| PrivateResource {
                        methods: if paths.contains(&path.as_str()) {
                            ["GET".to_string()].into()
                        } else {
                            Default::default()
                        },
                        path,
                    })
                    .collect();
                if exposed {
                    api.tags.insert("expose".into(), "true".into());
                }
                if let Some(s) = selected.filter(|s| api.resources.iter().any(|r| r.path == *s)) {
                    api.tags.insert("expose:paths".into(), s.into());
                }
                if let Some(p) = prefix {
                    api.tags.insert("expose:prefix".into(), p.into());
                }
                api
            })
    }

    fn world() -> impl Strategy<Value = (Observed, Vec<Option<PrivateApi>>, bool)> {
        (
            private_api(1),
            private_api(2),
            private_api(3),
            proptest::sample::subsequence(
                vec!["/a", "/health", "/v1/hand", "/a/{id}/special", "/b"],
                0..=3,
            ),
            proptest::collection::vec(proptest::option::weighted(0.8, private_api(9)), 3),
            any::<bool>(),
        )
            .prop_map(|(a, b, c, hand, later, drift)| {
                // Hand-made routes, with their parents as bare resources.
                let mut bare: Vec<String> = hand.iter().flat_map(|p| paths::ancestors(p)).collect();
                bare.retain(|p| !hand.contains(&p.as_str()));
                bare.sort();
                bare.dedup();
                let mut routes: Vec<(&str, &str)> = hand.iter().map(|p| (*p, "GET")).collect();
                routes.extend(bare.iter().map(|p| (p.as_str(), "")));
                (observed_with(vec![a, b, c], &routes), later, drift)
            })
    }

    fn runner() -> TestRunner {
        TestRunner::new_with_rng(
            Config {
                cases: 500,
                failure_persistence: None,
                ..Config::default()
            },
            TestRng::from_seed(RngAlgorithm::ChaCha, &[11; 32]),
        )
    }

    fn check_plan(observed: &Observed, plan: &Plan) -> Result<Observed, TestCaseError> {
        let claimed = observed.claimed_methods();
        let made = observed.created_resources();
        let live: std::collections::BTreeSet<&str> =
            observed.public.iter().map(|r| r.path.as_str()).collect();
        // Never touches what it does not own: deletes and rewrites only claimed methods.
        for key in plan
            .delete_methods
            .iter()
            .chain(plan.put_integrations.keys())
        {
            prop_assert!(claimed.contains(key), "touches unowned {key:?}");
        }
        for r in &observed.public {
            for verb in r.methods.keys() {
                let key = (r.path.clone(), verb.clone());
                if !claimed.contains(&key) {
                    prop_assert!(
                        !plan.delete_methods.contains(&key)
                            && !plan.put_integrations.contains_key(&key)
                    );
                    prop_assert!(
                        !plan.delete_resources.contains(&r.path),
                        "deletes hand-made {}",
                        r.path
                    );
                }
            }
        }
        for path in &plan.delete_resources {
            prop_assert!(
                made.contains(path),
                "deletes a resource it did not make: {path}"
            );
        }
        // Parents before children; children before parents on delete.
        for (i, path) in plan.creates.iter().enumerate() {
            let (parent, _) = paths::split_last(path);
            prop_assert!(live.contains(parent) || plan.creates[..i].iter().any(|p| p == parent));
        }
        let after = applied(observed, plan);
        let remaining: std::collections::BTreeSet<&str> =
            after.public.iter().map(|r| r.path.as_str()).collect();
        for r in &after.public {
            if r.path != "/" {
                prop_assert!(
                    remaining.contains(paths::split_last(&r.path).0),
                    "orphan {}",
                    r.path
                );
            }
        }
        // Every route the plan wants is live with its integration.
        for ((path, verb), want) in &plan.routes_after {
            let got = after
                .public
                .iter()
                .find(|r| &r.path == path)
                .and_then(|r| r.methods.get(verb))
                .and_then(|m| m.integration.as_ref());
            prop_assert_eq!(got, Some(want), "{} {}", verb, path);
        }
        // Deploys exactly when the public API changed or a deployment was owed.
        prop_assert_eq!(
            plan.deploy,
            plan.touches_public_api() || observed.deployment_owed
        );
        // Converges in one apply.
        let again = diff(&after, &ctx());
        prop_assert!(again.is_noop(), "second plan {:?}", again);
        Ok(after)
    }

    #[test]
    fn properties_of_every_plan_over_two_reconciles() {
        runner()
            .run(&world(), |(observed, later, drift)| {
                // First reconcile from a fresh front door.
                let first = diff(&observed, &ctx());
                let mut state = check_plan(&observed, &first)?;
                // Someone edits one of frontdoor's integrations by hand.
                if drift {
                    let owned = state.records.values().flat_map(|r| r.claims.iter()).next();
                    if let Some((path, verbs)) = owned.map(|(p, v)| (p.clone(), v.clone())) {
                        let r = state.public.iter_mut().find(|r| r.path == path);
                        if let Some(m) =
                            r.and_then(|r| verbs.iter().next().and_then(|v| r.methods.get_mut(v)))
                        {
                            m.integration = None;
                        }
                    }
                }
                // Then the APIs change (some deleted, some re-shaped), and it reconciles again.
                let ids: Vec<_> = state.apis.keys().cloned().collect();
                for (id, next) in ids.iter().zip(later) {
                    let next = next.map(|mut a| {
                        a.api = id.clone();
                        a.name = format!("api-{}", id.api);
                        a
                    });
                    state.apis.insert(id.clone(), next);
                }
                let second = diff(&state, &ctx());
                check_plan(&state, &second)?;
                Ok(())
            })
            .unwrap();
    }
}
