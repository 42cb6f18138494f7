//! Pure. Each spoke account's share of the front door, so that no tenant can crowd the
//! others out: of the public API's resources (`FRONTDOOR_ACCOUNT_RESOURCE_QUOTA`: an API
//! that would take its account past its share is held back as the quota holds one back,
//! keeping what it had) and of what frontdoor tracks (`FRONTDOOR_ACCOUNT_API_QUOTA`: APIs of
//! one account past that many get no record and no parameters at all, only a log line and a
//! metric each run, so an account cannot fill the registry or SSM with refused APIs).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use super::Plan;
use crate::ids::{AccountId, ApiRef};
use crate::routes::desired::TAG_EXPOSE;
use crate::routes::Observed;

/// `observed` without the APIs past their account's API share, and those APIs. APIs already
/// tracked (with a record) always count and stay; newcomers are admitted in id order while
/// the account has room.
pub(super) fn within_api_share(
    observed: &Observed,
    share: usize,
) -> (Cow<'_, Observed>, Vec<ApiRef>) {
    let mut tracked: BTreeMap<&AccountId, usize> = BTreeMap::new();
    // An API that left (its record only holds its name and paths for its account) does not
    // count: its team's replacement is tracked at once.
    for (api, _) in observed
        .records
        .iter()
        .filter(|(_, r)| r.released.is_none())
    {
        *tracked.entry(&api.account).or_default() += 1;
    }
    let mut over = Vec::new();
    for (api, found) in &observed.apis {
        if observed.records.contains_key(api) {
            continue;
        }
        // Only an API that asks for something costs a record and a status.
        let asks = found
            .as_ref()
            .is_some_and(|f| f.tags.contains_key(TAG_EXPOSE));
        if !asks {
            continue;
        }
        let count = tracked.entry(&api.account).or_default();
        if *count < share {
            *count += 1;
        } else {
            over.push(api.clone());
        }
    }
    if over.is_empty() {
        return (Cow::Borrowed(observed), over);
    }
    let mut within = observed.clone();
    for api in &over {
        within.apis.remove(api);
    }
    (Cow::Owned(within), over)
}

/// Why an API is held back by its account's share. Stable text, as the quota's.
pub(crate) fn share_refusal(share: usize) -> String {
    format!(
        "its account's share of the public API ({share} resources per account) has no room \
         for the new resources its routes need; what it already had stays"
    )
}

/// APIs that would take their account past `share` public resources, counted in plan order:
/// an API counts the paths it has methods on and the resources made for it; one that adds
/// none is never held back.
pub(super) fn over_account_share(
    observed: &Observed,
    plan: &Plan,
    share: usize,
) -> BTreeMap<ApiRef, String> {
    // The same count before and after a plan is applied: what a record says it made is
    // what the plan's creates become.
    let holds = |api: &ApiRef| -> BTreeSet<String> {
        let record = observed.records.get(api);
        // Paths it let go but still holds for its account count too: dropping paths and
        // taking new ones must not hold more of the front door than the share.
        let made = record
            .into_iter()
            .flat_map(|r| r.created.iter().cloned().chain(r.dropped.keys().cloned()));
        match plan.apis.get(api) {
            Some(group) if !group.routes.is_empty() || !group.creates.is_empty() => group
                .routes
                .keys()
                .map(|(p, _)| p.clone())
                .chain(group.creates.iter().cloned())
                .chain(made)
                .collect(),
            _ => record
                .into_iter()
                .flat_map(|r| r.claims.keys().cloned())
                .chain(made)
                .collect(),
        }
    };
    let growing = |api: &ApiRef| plan.apis.get(api).is_some_and(|g| !g.creates.is_empty());
    // What each account holds without its growing APIs, then each growing API in turn.
    let mut by_account: BTreeMap<&AccountId, BTreeSet<String>> = BTreeMap::new();
    let everyone: BTreeSet<&ApiRef> = observed.records.keys().chain(plan.apis.keys()).collect();
    for api in everyone.iter().filter(|a| !growing(a)) {
        by_account
            .entry(&api.account)
            .or_default()
            .extend(holds(api));
    }
    let mut over = BTreeMap::new();
    for api in everyone.into_iter().filter(|a| growing(a)) {
        let held = by_account.entry(&api.account).or_default();
        let mine = holds(api);
        let after = held.union(&mine).count();
        if after > share {
            over.insert(api.clone(), share_refusal(share));
        } else {
            held.extend(mine);
        }
    }
    over
}
