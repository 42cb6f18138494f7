//! The owed-deployment marker (`{prefix}/registry/deployment-owed`): a run that wrote to the
//! public API and did not deploy records it before its first write, with the APIs waiting
//! on the deployment, so the run that deploys (or is refused) can give them their status.
//!
//! The list of waiting APIs grows with the organisation (a first sweep over a hundred
//! accounts waits on every one of their APIs), and a standard parameter holds 4096
//! characters. So a list that does not fit the marker is split over as many parts as it
//! needs (`deployment-owed/g{generation}-{index}`), and the marker names them. Crash safe
//! as records are: the parts of a new generation are written first, then the marker that
//! names them (one write switches from the old list to the new one), then the old parts go.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use tracing::warn;

use crate::error::{Error, Result};
use crate::ids::{ApiRef, SsmPrefix};
use crate::registry;

/// A deployment owed: its token, the deduplication id of its "deploy" message, and the APIs
/// whose routes wait on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Owed {
    /// The current form.
    Waiting {
        /// The token.
        token: String,
        /// `{account}/{api-id}` of each API waiting.
        waiting: BTreeSet<String>,
    },
    /// The form of earlier versions: a token only.
    Token(String),
}

impl Owed {
    /// Its token.
    pub fn token(&self) -> &str {
        match self {
            Owed::Waiting { token, .. } | Owed::Token(token) => token,
        }
    }

    /// The APIs waiting on it.
    pub fn waiting(&self) -> BTreeSet<ApiRef> {
        match self {
            Owed::Waiting { waiting, .. } => {
                waiting.iter().filter_map(|a| ApiRef::parse(a)).collect()
            }
            Owed::Token(_) => BTreeSet::new(),
        }
    }
}

/// The marker as stored: whole, or naming the parts its list is split over. A split marker
/// also carries an empty `waiting`, so an earlier version reads it as a marker with no list
/// (the deployment still owed) rather than as a record it cannot read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
enum Stored {
    Split {
        token: String,
        waiting: BTreeSet<String>,
        parts: Vec<String>,
    },
    Whole(Owed),
}

/// Room for the envelope and JSON punctuation in each part.
const PART_BUDGET: usize = registry::MAX_VALUE_BYTES - 256;

/// The marker and the parts it is stored in, as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Loaded {
    /// The marker, when a deployment is owed.
    pub owed: Option<Owed>,
    /// The parameters its list is split over.
    pub parts: BTreeSet<String>,
}

/// The marker's parameter.
pub(super) fn parameter(prefix: &SsmPrefix) -> String {
    registry::deployment_owed_parameter(prefix)
}

/// Reads the marker and its parts. A part that is missing or unreadable (someone deleted or
/// edited it) costs only the statuses of the APIs it listed, which their next reconcile
/// gives them: the deployment stays owed, and no tenant's run is held on it.
pub(super) async fn load(ssm: &aws_sdk_ssm::Client, prefix: &SsmPrefix) -> Result<Loaded> {
    let name = parameter(prefix);
    let stored = registry::load::<Option<Stored>>(ssm, &name).await?;
    let (token, mut waiting, parts) = match stored {
        None => return Ok(Loaded::default()),
        Some(Stored::Whole(owed)) => {
            return Ok(Loaded {
                owed: Some(owed),
                parts: BTreeSet::new(),
            })
        }
        Some(Stored::Split {
            token,
            waiting,
            parts,
        }) => (token, waiting, parts),
    };
    let values = registry::get_values(ssm, &parts).await?;
    for part in &parts {
        match values
            .get(part)
            .map(|v| registry::decode::<BTreeSet<String>>(part, v))
        {
            Some(Ok(list)) => waiting.extend(list),
            Some(Err(e)) => {
                warn!(parameter = %part, error = %e, "a part of the owed marker cannot be read; the APIs it listed get their status on their next reconcile")
            }
            None => {
                warn!(parameter = %part, "a part of the owed marker is missing; the APIs it listed get their status on their next reconcile")
            }
        }
    }
    Ok(Loaded {
        owed: Some(Owed::Waiting { token, waiting }),
        parts: parts.into_iter().collect(),
    })
}

/// What to write for `owed`: the marker's value and the parts (name, value) its list needs,
/// the parts named after `existing` (a fresh generation).
pub(super) fn encode(
    prefix: &SsmPrefix,
    owed: &Owed,
    existing: &BTreeSet<String>,
) -> Result<(String, Vec<(String, String)>)> {
    let name = parameter(prefix);
    if let Ok(whole) = registry::encode(&name, &Stored::Whole(owed.clone())) {
        return Ok((whole, Vec::new()));
    }
    let Owed::Waiting { token, waiting } = owed else {
        // A token alone always fits; this is its encoding error.
        return registry::encode(&name, &Stored::Whole(owed.clone())).map(|v| (v, Vec::new()));
    };
    let mut chunks: Vec<BTreeSet<String>> = vec![BTreeSet::new()];
    let mut used = 0;
    for api in waiting {
        let need = api.len() + 3;
        if used + need > PART_BUDGET && used > 0 {
            chunks.push(BTreeSet::new());
            used = 0;
        }
        used += need;
        if let Some(last) = chunks.last_mut() {
            last.insert(api.clone());
        }
    }
    let generation = registry::next_generation(existing);
    let parts: Vec<(String, String)> = chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| {
            let part = format!("{name}/g{generation}-{i}");
            registry::encode(&part, chunk).map(|v| (part, v))
        })
        .collect::<Result<_>>()?;
    let header = Stored::Split {
        token: token.clone(),
        waiting: BTreeSet::new(),
        parts: parts.iter().map(|(n, _)| n.clone()).collect(),
    };
    let header = registry::encode(&name, &header).map_err(|e| match e {
        Error::Registry { problem, .. } => Error::Registry {
            name: name.clone(),
            problem: format!("{} parts do not fit one marker: {problem}", parts.len()),
        },
        other => other,
    })?;
    Ok((header, parts))
}

/// Stores `owed` in place of what `existing` holds and returns the parts it now lives in:
/// new parts first, then the marker that names them, then the old parts.
pub(super) async fn store(
    ssm: &aws_sdk_ssm::Client,
    prefix: &SsmPrefix,
    owed: &Owed,
    existing: &BTreeSet<String>,
) -> Result<BTreeSet<String>> {
    let (marker, parts) = encode(prefix, owed, existing)?;
    for (name, value) in &parts {
        registry::put(ssm, name, value.clone(), registry::RECORD_DESCRIPTION).await?;
    }
    registry::put(
        ssm,
        &parameter(prefix),
        marker,
        registry::RECORD_DESCRIPTION,
    )
    .await?;
    let now: BTreeSet<String> = parts.into_iter().map(|(n, _)| n).collect();
    for old in existing.difference(&now) {
        registry::delete(ssm, old).await?;
    }
    Ok(now)
}

/// Clears the marker, then its parts, then any part no marker names (left by a crash inside
/// an earlier clear, or by an older version that rewrote a split marker whole): one read,
/// and nothing under `deployment-owed/` outlives the deployment.
pub(super) async fn clear(
    ssm: &aws_sdk_ssm::Client,
    prefix: &SsmPrefix,
    existing: &BTreeSet<String>,
) -> Result<()> {
    registry::delete(ssm, &parameter(prefix)).await?;
    registry::delete_parts(ssm, existing).await?;
    let strays: BTreeSet<String> = registry::values_under(ssm, &parameter(prefix))
        .await?
        .into_keys()
        .collect();
    registry::delete_parts(ssm, &strays).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thousand_waiting() -> Owed {
        // A hundred accounts with ten exposed APIs each, as a first sweep leaves them.
        let waiting = (0..100)
            .flat_map(|a| {
                (0..10).map(move |i| format!("{:012}/api{a:03}x{i:03}", 100_000_000_000u64 + a))
            })
            .collect();
        Owed::Waiting {
            token: "pub1234567-1700000000000".into(),
            waiting,
        }
    }

    #[test]
    fn a_thousand_waiting_apis_fit_standard_parameters() {
        let prefix = SsmPrefix::parse("/frontdoor").unwrap();
        let owed = thousand_waiting();
        let (marker, parts) = encode(&prefix, &owed, &BTreeSet::new()).unwrap();
        assert!(
            marker.len() <= registry::MAX_VALUE_BYTES,
            "{}",
            marker.len()
        );
        assert!(parts.len() > 1, "the list was split");
        let mut union = BTreeSet::new();
        for (name, value) in &parts {
            assert!(
                value.len() <= registry::MAX_VALUE_BYTES,
                "{name}: {}",
                value.len()
            );
            assert!(
                name.starts_with("/frontdoor/registry/deployment-owed/g0-"),
                "{name}"
            );
            union.extend(registry::decode::<BTreeSet<String>>(name, value).unwrap());
        }
        let Owed::Waiting { waiting, .. } = &owed else {
            unreachable!()
        };
        assert_eq!(&union, waiting, "the parts hold every waiting API");
        // The marker names the parts and carries the token; an earlier version reads it as
        // a marker with no list, not as garbage.
        let stored: Stored = registry::decode("/m", &marker).unwrap();
        assert!(matches!(stored, Stored::Split { ref token, .. } if token == owed.token()));
        let old: Owed = registry::decode("/m", &marker).unwrap();
        assert_eq!(old.token(), owed.token());
    }

    #[test]
    fn a_new_split_takes_a_fresh_generation_and_a_small_list_stays_whole() {
        let prefix = SsmPrefix::parse("/frontdoor").unwrap();
        let existing: BTreeSet<String> =
            ["/frontdoor/registry/deployment-owed/g4-0".to_string()].into();
        let (_, parts) = encode(&prefix, &thousand_waiting(), &existing).unwrap();
        assert!(parts.iter().all(|(n, _)| n.contains("/g5-")), "{parts:?}");
        let small = Owed::Waiting {
            token: "t".into(),
            waiting: ["111111111111/abcdef0123".to_string()].into(),
        };
        let (marker, parts) = encode(&prefix, &small, &existing).unwrap();
        assert!(parts.is_empty());
        assert_eq!(registry::decode::<Owed>("/m", &marker).unwrap(), small);
    }
}
