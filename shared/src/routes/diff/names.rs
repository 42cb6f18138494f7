//! Pure. Who owns each published name.
//!
//! A name (`expose:name` or the API's name, normalised for SSM, so "private cats" and
//! "private/cats" are both `private-cats`) belongs to the API whose registry record holds
//! it: the first to claim it. A later claimant gets a name conflict and frontdoor writes and
//! deletes nothing under that name for it. A name released in this run (its owner left or
//! renamed) is free from the next run on, so one run never both deletes and writes it; one
//! released by an API that left, or renamed away from, is held for its account (DESIGN.md,
//! "Claims change hands only on purpose").

use std::collections::BTreeMap;

use crate::ids::ApiRef;
use crate::routes::desired::{Context, Desired, Exposure};
use crate::routes::Observed;

/// Name ownership after this reconcile.
#[derive(Debug, Clone, Default)]
pub(super) struct Names {
    /// Name -> its owner.
    owner: BTreeMap<String, ApiRef>,
    /// APIs whose name belongs to another: `(name, owner, end of the owner's hold)`.
    pub(super) conflicts: BTreeMap<ApiRef, (String, ApiRef, Option<u64>)>,
}

impl Names {
    /// The name `api` publishes under: its wanted name, if it owns it.
    pub(super) fn owned<'a>(&self, api: &ApiRef, name: Option<&'a String>) -> Option<&'a String> {
        name.filter(|n| self.owner.get(*n) == Some(api))
    }

    /// Whether `api` owns `name` (as recorded before this run, or taken in it).
    pub(super) fn owns(&self, api: &ApiRef, name: &str) -> bool {
        self.owner.get(name) == Some(api)
    }
}

/// Decides name ownership: recorded owners keep their names; a name an API released when it
/// left stays its account's until the hold ends (an API of that account takes it at once,
/// one of another account waits); then APIs in scope that ask to publish (exposed, refused
/// or held back) take free names in `{account}/{api-id}` order.
pub(super) fn names(observed: &Observed, desired: &Desired, ctx: &Context) -> Names {
    let mut out = Names::default();
    // Until when each released name is held, by the API that released it.
    let mut held: BTreeMap<String, u64> = BTreeMap::new();
    let live = observed
        .records
        .iter()
        .filter(|(_, r)| r.released.is_none());
    let gone = observed.records.iter().filter_map(|(api, r)| {
        let until = r.held_until(ctx.release_hold)?;
        (until > ctx.now).then_some((api, r, until))
    });
    for (api, record) in live {
        if let Some(name) = &record.name {
            out.owner.entry(name.clone()).or_insert_with(|| api.clone());
        }
    }
    // Names let go by an API that left, and names an API renamed away from while exposed.
    let renamed = observed.records.iter().flat_map(|(api, r)| {
        r.former_names_held(ctx.release_hold, ctx.now)
            .map(move |(name, until)| (api, name, until))
    });
    let let_go = gone
        .filter_map(|(api, record, until)| record.name.as_ref().map(|n| (api, n, until)))
        .chain(renamed);
    for (api, name, until) in let_go {
        if !out.owner.contains_key(name) {
            out.owner.insert(name.clone(), api.clone());
            held.insert(name.clone(), until);
        }
    }
    for (api, intent) in desired {
        let Some(name) = &intent.name else { continue };
        if matches!(intent.exposure, Exposure::NotExposed) {
            continue;
        }
        match out.owner.get(name) {
            // Released by an API of the same account (a team replacing its API): theirs.
            Some(owner)
                if owner != api && held.contains_key(name) && owner.account == api.account =>
            {
                held.remove(name);
                out.owner.insert(name.clone(), api.clone());
            }
            Some(owner) if owner != api => {
                out.conflicts.insert(
                    api.clone(),
                    (name.clone(), owner.clone(), held.get(name).copied()),
                );
            }
            Some(_) => {}
            None => {
                out.owner.insert(name.clone(), api.clone());
            }
        }
    }
    out
}
