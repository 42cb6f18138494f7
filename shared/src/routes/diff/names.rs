//! Pure. Who owns each published name.
//!
//! A name (`expose:name` or the API's name, normalised for SSM, so "private cats" and
//! "private/cats" are both `private-cats`) belongs to the API whose registry record holds
//! it: the first to claim it. A later claimant gets a name conflict and frontdoor writes and
//! deletes nothing under that name for it. A name released in this run (its owner left or
//! renamed) is free from the next run on, so one run never both deletes and writes it.

use std::collections::BTreeMap;

use crate::ids::ApiRef;
use crate::routes::desired::{Desired, Exposure};
use crate::routes::Observed;

/// Name ownership after this reconcile.
#[derive(Debug, Clone, Default)]
pub(super) struct Names {
    /// Name -> its owner.
    owner: BTreeMap<String, ApiRef>,
    /// APIs whose name belongs to another: `(name, owner)`.
    pub(super) conflicts: BTreeMap<ApiRef, (String, ApiRef)>,
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

/// Decides name ownership: recorded owners keep their names, then APIs in scope that ask
/// to publish (exposed, refused or held back) take free names in `{account}/{api-id}` order.
pub(super) fn names(observed: &Observed, desired: &Desired) -> Names {
    let mut out = Names::default();
    for (api, record) in &observed.records {
        if let Some(name) = &record.name {
            out.owner.entry(name.clone()).or_insert_with(|| api.clone());
        }
    }
    for (api, intent) in desired {
        let Some(name) = &intent.name else { continue };
        if matches!(intent.exposure, Exposure::NotExposed) {
            continue;
        }
        match out.owner.get(name) {
            Some(owner) if owner != api => {
                out.conflicts
                    .insert(api.clone(), (name.clone(), owner.clone()));
            }
            Some(_) => {}
            None => {
                out.owner.insert(name.clone(), api.clone());
            }
        }
    }
    out
}
