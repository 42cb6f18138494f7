//! Pure. The parameters published for each API in scope (`{prefix}/apis/{name}/url`,
//! `private-url`, `status`): what they should say, against what they say now.
//!
//! `url` and `private-url` exist only while at least one route of the API is live, and
//! `private-url` only when the API lists the hub endpoint. A refused API gets its status
//! and nothing else; one held back by the quota keeps the URLs of the routes it still has.

use std::collections::{BTreeMap, BTreeSet};

use super::claims::Claims;
use super::names::Names;
use crate::ids::ApiRef;
use crate::routes::desired::{Context, Desired, Exposure};
use crate::routes::{Observed, Status};
use crate::urls;

/// What a URL parameter should say.
enum Url {
    /// Whatever it says now (an API held back keeps what it had).
    Keep,
    /// This value.
    Set(String),
}

/// One API's published parameters.
#[derive(Debug, Clone, Default)]
pub(super) struct Published {
    pub(super) status: Option<Status>,
    pub(super) status_parameter: Option<String>,
    pub(super) put: BTreeMap<String, String>,
    pub(super) delete: BTreeSet<String>,
}

/// Plans the published parameters of every API in scope.
pub(super) fn parameters(
    observed: &Observed,
    desired: &Desired,
    claims: &Claims,
    names: &Names,
    held: &BTreeMap<ApiRef, String>,
    ctx: &Context,
) -> BTreeMap<ApiRef, Published> {
    let mut out = BTreeMap::new();
    for api in observed.apis.keys() {
        let intent = desired.get(api);
        // Only names the API owns are ever written or deleted for it.
        let old_name = observed
            .records
            .get(api)
            .and_then(|r| r.name.as_ref())
            .filter(|n| names.owns(api, n));
        let name = match intent {
            Some(i) => names.owned(api, i.name.as_ref()),
            None => old_name,
        };
        let mut published = Published::default();
        let mut want: BTreeMap<&str, Url> = BTreeMap::new();
        let status = match (held.get(api), intent.map(|i| &i.exposure)) {
            (Some(reason), _) => {
                // What it already had stays live, and so do its URLs.
                want.insert("url", Url::Keep);
                want.insert("private-url", Url::Keep);
                Some(Status::Refused(reason.clone()))
            }
            (None, Some(Exposure::Wanted(w))) => {
                if claims.assigned.get(api).is_some_and(|r| !r.is_empty()) {
                    want.insert("url", Url::Set(w.url.clone()));
                    if let Some(private) = &w.private_url {
                        want.insert("private-url", Url::Set(private.clone()));
                    }
                }
                Some(match claims.conflicts.get(api) {
                    Some((path, holder)) => Status::Conflict {
                        path: path.clone(),
                        with: holder.clone(),
                    },
                    None => Status::Exposed {
                        skipped: w.skipped.clone(),
                    },
                })
            }
            (None, Some(Exposure::Refused(reason))) => {
                // A refusal never releases a claim, and the status says so.
                let kept = observed
                    .records
                    .get(api)
                    .is_some_and(|r| !r.claims.is_empty() || !r.reserved.is_empty());
                Some(Status::Refused(if kept {
                    format!("{reason}; its paths stay reserved for it")
                } else {
                    reason.clone()
                }))
            }
            (None, Some(Exposure::NotExposed) | None) => None,
        };
        // A name that belongs to another API: nothing is published, the status says why.
        published.status = match names.conflicts.get(api) {
            Some((name, owner, until)) => Some(Status::NameConflict {
                name: name.clone(),
                owner: owner.clone(),
                held_until: until.map(crate::routes::status::rfc3339),
            }),
            None => status,
        };
        if let Some(name) = name {
            let [url_p, private_p, status_p] = urls::parameter_names(&ctx.ssm_prefix, name);
            let mut values: BTreeMap<&String, String> = BTreeMap::new();
            for (key, p) in [("url", &url_p), ("private-url", &private_p)] {
                match want.get(key) {
                    Some(Url::Keep) => {
                        if let Some(current) = observed.parameters.get(p) {
                            values.insert(p, current.clone());
                        }
                    }
                    Some(Url::Set(v)) => {
                        values.insert(p, v.clone());
                    }
                    None => {}
                }
            }
            if let Some(status) = &published.status {
                values.insert(&status_p, status.to_string());
            }
            for p in [&url_p, &private_p, &status_p] {
                match values.get(p) {
                    Some(v) if observed.parameters.get(p) != Some(v) => {
                        published.put.insert(p.clone(), v.clone());
                    }
                    Some(_) => {}
                    None if observed.parameters.contains_key(p) => {
                        published.delete.insert(p.clone());
                    }
                    None => {}
                }
            }
            published.status_parameter = Some(status_p.clone());
        }
        // A renamed API leaves its old parameters behind unless they are removed.
        if let Some(old_name) = old_name.filter(|o| Some(*o) != name) {
            for p in urls::parameter_names(&ctx.ssm_prefix, old_name) {
                if observed.parameters.contains_key(&p) {
                    published.delete.insert(p);
                }
            }
        }
        out.insert(api.clone(), published);
    }
    out
}
