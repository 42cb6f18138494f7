//! Pure. The parameters published for each API in scope (`{prefix}/apis/{name}/url`,
//! `private-url`, `status`): what they should say, against what they say now.
//!
//! `url` and `private-url` exist only while at least one route of the API is live, and
//! `private-url` only when the API lists the hub endpoint. A refused API gets its status
//! and nothing else; one held back by the quota keeps the URLs of the routes it still has.

use std::collections::{BTreeMap, BTreeSet};

use super::claims::Claims;
use crate::ids::ApiRef;
use crate::routes::desired::{Context, Desired, Exposure};
use crate::routes::{Observed, Status};
use crate::urls;

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
    held: &BTreeMap<ApiRef, String>,
    ctx: &Context,
) -> BTreeMap<ApiRef, Published> {
    let mut out = BTreeMap::new();
    for api in observed.apis.keys() {
        let intent = desired.get(api);
        let old_name = observed.records.get(api).and_then(|r| r.name.as_ref());
        let name = intent
            .and_then(|i| i.name.as_ref())
            .or(intent.is_none().then_some(old_name).flatten());
        let mut published = Published::default();
        if let Some(name) = name {
            let [url_p, private_p, status_p] = urls::parameter_names(&ctx.ssm_prefix, name);
            let mut want: BTreeMap<&String, String> = BTreeMap::new();
            let status = match (held.get(api), intent.map(|i| &i.exposure)) {
                (Some(reason), _) => {
                    // What it already had stays live, and so do its URLs.
                    for p in [&url_p, &private_p] {
                        if let Some(v) = observed.parameters.get(p) {
                            want.insert(p, v.clone());
                        }
                    }
                    Some(Status::Refused(reason.clone()))
                }
                (None, Some(Exposure::Wanted(w))) => {
                    if claims.assigned.get(api).is_some_and(|r| !r.is_empty()) {
                        want.insert(&url_p, w.url.clone());
                        if let Some(private) = &w.private_url {
                            want.insert(&private_p, private.clone());
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
                (None, Some(Exposure::Refused(reason))) => Some(Status::Refused(reason.clone())),
                (None, Some(Exposure::NotExposed) | None) => None,
            };
            if let Some(status) = &status {
                want.insert(&status_p, status.to_string());
            }
            for p in [&url_p, &private_p, &status_p] {
                match want.get(p) {
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
            published.status = status;
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
