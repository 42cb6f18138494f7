//! Pure. The order a run writes its APIs' groups in, so that when the time runs out what is
//! left is fair: small changes (at most [`SMALL`] writes) before large ones, each taken in
//! turn across accounts (one account's first, the next account's first, ..., then their
//! seconds), and a group that creates a parent another group needs ahead of it. A team's
//! 1,200-method stage flip then waits behind the other teams' small changes of the same
//! run, and they never wait behind it for more than the run already under way.

use std::collections::{BTreeMap, BTreeSet};

use super::super::diff::{ApiPlan, Plan};
use crate::ids::{AccountId, ApiRef};
use crate::paths;

/// Writes a group may need and still count as small.
pub(super) const SMALL: usize = 20;

/// Writes a group makes on the public API (each unit of work the budget is asked for).
pub(super) fn writes_of(group: &ApiPlan) -> usize {
    group.creates.len()
        + group.put_methods.len() * 2
        + group.put_integrations.len()
        + group.update_methods.len()
}

/// Every API of the plan, in the order its group is written.
pub(super) fn order(plan: &Plan) -> Vec<ApiRef> {
    let mut fair = Vec::new();
    for large in [false, true] {
        let mut by_account: BTreeMap<&AccountId, Vec<&ApiRef>> = BTreeMap::new();
        for (api, group) in &plan.apis {
            if (writes_of(group) > SMALL) == large {
                by_account.entry(&api.account).or_default().push(api);
            }
        }
        let rounds = by_account.values().map(Vec::len).max().unwrap_or(0);
        for round in 0..rounds {
            fair.extend(by_account.values().filter_map(|apis| apis.get(round)));
        }
    }
    // A parent is created by one group (the first that needs it); every group that needs
    // it goes after that one.
    let creator: BTreeMap<&String, &ApiRef> = plan
        .apis
        .iter()
        .flat_map(|(api, g)| g.creates.iter().map(move |p| (p, api)))
        .collect();
    let mut out: Vec<ApiRef> = Vec::with_capacity(fair.len());
    let mut placed: BTreeSet<&ApiRef> = BTreeSet::new();
    for api in fair {
        place(api, plan, &creator, &mut placed, &mut out, 0);
    }
    out
}

fn place<'a>(
    api: &'a ApiRef,
    plan: &'a Plan,
    creator: &BTreeMap<&String, &'a ApiRef>,
    placed: &mut BTreeSet<&'a ApiRef>,
    out: &mut Vec<ApiRef>,
    depth: usize,
) {
    // Bounded: a chain of creators is at most as long as the plan has groups.
    if placed.contains(api) || depth > plan.apis.len() {
        return;
    }
    placed.insert(api);
    if let Some(group) = plan.apis.get(api) {
        let needs: BTreeSet<&str> = group
            .creates
            .iter()
            .chain(group.routes.keys().map(|(p, _)| p))
            .flat_map(|p| paths::ancestors(p).into_iter().chain([p.clone()]))
            .filter_map(|p| creator.get_key_value(&p).map(|(k, _)| k.as_str()))
            .collect();
        for path in needs {
            if let Some(other) = creator.get(&path.to_string()) {
                if *other != api {
                    place(other, plan, creator, placed, out, depth + 1);
                }
            }
        }
    }
    out.push(api.clone());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::Integration;

    fn api(account: u64, id: &str) -> ApiRef {
        ApiRef::parse(&format!("{account:012}/{id}")).unwrap()
    }

    fn group(creates: &[&str], routes: &[&str], extra_puts: usize) -> ApiPlan {
        let integration = Integration {
            kind: None,
            http_method: "GET".into(),
            uri: String::new(),
            connection_type: None,
            connection_id: String::new(),
            integration_target: None,
            request_parameters: BTreeMap::new(),
        };
        let mut g = ApiPlan {
            creates: creates.iter().map(|s| s.to_string()).collect(),
            ..ApiPlan::default()
        };
        for r in routes {
            g.routes
                .insert((r.to_string(), "GET".into()), integration.clone());
            g.put_methods
                .insert((r.to_string(), "GET".into()), integration.clone());
        }
        for i in 0..extra_puts {
            g.put_integrations
                .insert((format!("/big/r{i}"), "GET".into()), integration.clone());
        }
        g
    }

    #[test]
    fn small_changes_go_first_and_accounts_take_turns() {
        let mut plan = Plan::default();
        plan.apis
            .insert(api(1, "aaaaaaaaa1"), group(&[], &["/a1"], 1200));
        plan.apis
            .insert(api(1, "aaaaaaaaa2"), group(&[], &["/a2"], 0));
        plan.apis
            .insert(api(1, "aaaaaaaaa3"), group(&[], &["/a3"], 0));
        plan.apis
            .insert(api(2, "bbbbbbbbb1"), group(&[], &["/b1"], 0));
        plan.apis
            .insert(api(3, "ccccccccc1"), group(&[], &["/c1"], 0));
        let order: Vec<String> = order(&plan).iter().map(|a| a.api.to_string()).collect();
        assert_eq!(
            order,
            [
                "aaaaaaaaa2",
                "bbbbbbbbb1",
                "ccccccccc1",
                "aaaaaaaaa3",
                "aaaaaaaaa1"
            ]
        );
    }

    #[test]
    fn a_parents_creator_goes_before_those_that_need_it() {
        let mut plan = Plan::default();
        // Account 1's API creates /v1 (first in id order), account 2's needs it; account
        // 2's other API comes first in turn order but needs nothing.
        plan.apis
            .insert(api(1, "aaaaaaaaa1"), group(&[], &["/x"], 0));
        plan.apis.insert(
            api(1, "aaaaaaaaa2"),
            group(&["/v1", "/v1/cats"], &["/v1/cats"], 0),
        );
        plan.apis
            .insert(api(2, "bbbbbbbbb1"), group(&["/v1/dogs"], &["/v1/dogs"], 0));
        let order = order(&plan);
        let at = |id: &str| order.iter().position(|a| a.api.to_string() == id).unwrap();
        assert!(at("aaaaaaaaa2") < at("bbbbbbbbb1"), "{order:?}");
        assert_eq!(order.len(), 3);
    }
}
