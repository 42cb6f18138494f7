//! The ownership registry: SSM parameters under `{prefix}/registry/` that record what
//! frontdoor created, so it never deletes or rewrites what it does not own.
//!
//! One record per owner-scope (the target group; one per exposed API), each a JSON document
//! `{"version": 1, "items": ...}`. A standard parameter holds 4096 characters, and an API's
//! record outgrows that near a hundred routes, so a record may be split over several
//! parameters ([`store_parts`]): the record is the union of every part found. Writers
//! follow one rule for crash safety: the registry is widened *before* a create and narrowed
//! only *after* a delete, so a crash between two calls can leave the registry claiming a
//! little too much (cleaned up on the next run) but never too little.

use std::collections::BTreeSet;

use aws_sdk_ssm::types::{ParameterTier, ParameterType};
use serde::{Deserialize, Serialize};

use crate::error::{AwsResultExt, Error, Result};
use crate::ids::{AccountId, ApiId, ApiRef, SsmPrefix, TargetGroupArn};

/// A standard SSM parameter's value limit.
pub const MAX_VALUE_BYTES: usize = 4096;
const VERSION: u32 = 1;

/// Something frontdoor may own, named by a stable key.
pub trait Owned {
    /// The key stored in the registry.
    fn key(&self) -> String;
}

/// Splits `live` into what the registry owns and what belongs to someone else.
pub fn partition<'a, T: Owned>(
    live: impl IntoIterator<Item = &'a T>,
    owned: &BTreeSet<String>,
) -> (Vec<&'a T>, Vec<&'a T>) {
    live.into_iter()
        .partition(|item| owned.contains(&item.key()))
}

/// Where the target group's registry lives.
pub fn targets_parameter(prefix: &SsmPrefix, target_group: &TargetGroupArn) -> String {
    prefix.join(&format!("registry/targets/{}", target_group.short_key()))
}

/// Where one exposed API's record lives.
pub fn api_parameter(prefix: &SsmPrefix, api: &ApiRef) -> String {
    prefix.join(&format!("registry/apis/{}/{}", api.account, api.api))
}

/// The folder of every API record.
pub fn apis_folder(prefix: &SsmPrefix) -> String {
    prefix.join("registry/apis/")
}

/// The marker of a deployment owed by a run that wrote and did not deploy.
pub fn deployment_owed_parameter(prefix: &SsmPrefix) -> String {
    prefix.join("registry/deployment-owed")
}

/// Where the last sweep that ran out of time stopped (the first account it did not read).
pub fn sweep_cursor_parameter(prefix: &SsmPrefix) -> String {
    prefix.join("registry/sweep-cursor")
}

/// The resource quota AWS enforced below the configured one (route sync's `LearnedQuota`).
pub fn learned_quota_parameter(prefix: &SsmPrefix) -> String {
    prefix.join("registry/resource-quota")
}

/// Reads `{account}/{api-id}` back from the name of a record or of one of its parts
/// (`{account}/{api-id}/g{generation}-{index}`).
pub fn api_of_parameter(prefix: &SsmPrefix, name: &str) -> Option<ApiRef> {
    let rest = name.strip_prefix(&apis_folder(prefix))?;
    let mut segments = rest.split('/');
    let (account, api) = (segments.next()?, segments.next()?);
    match segments.next() {
        None => {}
        Some(part) if part_generation(part).is_some() && segments.next().is_none() => {}
        Some(_) => return None,
    }
    Some(ApiRef {
        account: AccountId::parse(account).ok()?,
        api: ApiId::parse(api).ok()?,
    })
}

/// A generation newer than every part in `existing` (`.../g{generation}-{index}`), so parts
/// written under it never overwrite a part still in use.
pub(crate) fn next_generation(existing: &BTreeSet<String>) -> u64 {
    existing
        .iter()
        .filter_map(|n| n.rsplit('/').next().and_then(part_generation))
        .max()
        .map_or(0, |g| g + 1)
}

/// `g{generation}-{index}` -> generation.
fn part_generation(segment: &str) -> Option<u64> {
    let (generation, index) = segment.strip_prefix('g')?.split_once('-')?;
    index.parse::<u64>().ok()?;
    generation.parse().ok()
}

/// Stores a record already encoded as `parts` (each at most [`MAX_VALUE_BYTES`]) at `base`,
/// replacing the parameters in `existing`, and returns the names it now lives in.
///
/// Crash-safe for a widening and a narrowing alike: one part overwrites `base` in a single
/// write (the old value is replaced by the new one at once); several parts are written
/// under fresh names first, and only then are the old names deleted, so at every moment
/// the union of what is stored holds the old record or the new one whole.
pub async fn store_parts(
    ssm: &aws_sdk_ssm::Client,
    base: &str,
    parts: &[String],
    existing: &BTreeSet<String>,
) -> Result<BTreeSet<String>> {
    let names: Vec<String> = if let [_] = parts {
        vec![base.to_string()]
    } else {
        let generation = next_generation(existing);
        (0..parts.len())
            .map(|i| format!("{base}/g{generation}-{i}"))
            .collect()
    };
    for (name, value) in names.iter().zip(parts) {
        put(ssm, name, value.clone(), RECORD_DESCRIPTION).await?;
    }
    let names: BTreeSet<String> = names.into_iter().collect();
    for old in existing.difference(&names) {
        delete(ssm, old).await?;
    }
    Ok(names)
}

/// Deletes every parameter a record lives in.
pub async fn delete_parts(ssm: &aws_sdk_ssm::Client, existing: &BTreeSet<String>) -> Result<()> {
    for name in existing {
        delete(ssm, name).await?;
    }
    Ok(())
}

pub(crate) const RECORD_DESCRIPTION: &str = "frontdoor ownership registry: do not edit by hand";

#[derive(Serialize, Deserialize)]
struct Document<T> {
    version: u32,
    items: T,
}

/// Encodes a set of keys as the parameter's value.
pub fn encode<T: Serialize>(name: &str, items: &T) -> Result<String> {
    let value = serde_json::to_string(&Document {
        version: VERSION,
        items,
    })
    .map_err(|e| Error::Registry {
        name: name.to_string(),
        problem: e.to_string(),
    })?;
    if value.len() > MAX_VALUE_BYTES {
        return Err(Error::Registry {
            name: name.to_string(),
            problem: format!(
                "the record needs {} bytes, over the {MAX_VALUE_BYTES}-byte limit of a standard parameter",
                value.len()
            ),
        });
    }
    Ok(value)
}

/// Decodes a parameter's value; anything unexpected is an error, never an empty set,
/// because an empty registry would make frontdoor forget what it owns.
pub fn decode<T: serde::de::DeserializeOwned>(name: &str, value: &str) -> Result<T> {
    let doc: Document<T> = serde_json::from_str(value).map_err(|e| Error::Registry {
        name: name.to_string(),
        problem: e.to_string(),
    })?;
    if doc.version != VERSION {
        return Err(Error::Registry {
            name: name.to_string(),
            problem: format!("version {} is not {VERSION}", doc.version),
        });
    }
    Ok(doc.items)
}

/// GetParameters takes at most 10 names.
const GET_BATCH: usize = 10;
/// GetParameters batches in flight at once: SSM allows far more than this per second.
const GETS_IN_FLIGHT: usize = 4;

/// The values of `names` that exist (name -> value), read a few GetParameters batches at a
/// time; a name that does not exist is absent from the answer.
pub async fn get_values(
    ssm: &aws_sdk_ssm::Client,
    names: &[String],
) -> Result<std::collections::BTreeMap<String, String>> {
    let pages = crate::bounded::try_map(names.chunks(GET_BATCH), GETS_IN_FLIGHT, |chunk| {
        ssm.get_parameters().set_names(Some(chunk.to_vec())).send()
    })
    .await
    .op("GetParameters")?;
    Ok(pages
        .iter()
        .flat_map(|got| got.parameters())
        .filter_map(|p| Some((p.name()?.to_string(), p.value()?.to_string())))
        .collect())
}

/// Every parameter right under `folder`, by its own name (the part after `folder/`) ->
/// value; one deeper is not a record of that folder and is left out.
pub async fn entries_in(
    ssm: &aws_sdk_ssm::Client,
    folder: &str,
) -> Result<std::collections::BTreeMap<String, String>> {
    let inside = format!("{folder}/");
    Ok(values_under(ssm, folder)
        .await?
        .into_iter()
        .filter_map(|(name, value)| {
            let own = name.strip_prefix(&inside).filter(|s| !s.contains('/'))?;
            Some((own.to_string(), value))
        })
        .collect())
}

/// Every parameter under `folder` (at any depth), name -> value, every page of
/// GetParametersByPath.
pub async fn values_under(
    ssm: &aws_sdk_ssm::Client,
    folder: &str,
) -> Result<std::collections::BTreeMap<String, String>> {
    let mut out = std::collections::BTreeMap::new();
    let mut pages = ssm
        .get_parameters_by_path()
        .path(folder)
        .recursive(true)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for p in page.op("GetParametersByPath")?.parameters() {
            if let (Some(name), Some(value)) = (p.name(), p.value()) {
                out.insert(name.to_string(), value.to_string());
            }
        }
    }
    Ok(out)
}

/// Reads a registry parameter; a parameter that does not exist owns nothing.
pub async fn load<T: serde::de::DeserializeOwned + Default>(
    ssm: &aws_sdk_ssm::Client,
    name: &str,
) -> Result<T> {
    let out = ssm.get_parameter().name(name).send().await;
    match out {
        Ok(out) => {
            let value = out.parameter().and_then(|p| p.value()).unwrap_or_default();
            decode(name, value)
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_parameter_not_found()) =>
        {
            Ok(T::default())
        }
        Err(e) => Err(e).op("GetParameter"),
    }
}

/// Writes a registry parameter (overwriting).
pub async fn store<T: Serialize>(ssm: &aws_sdk_ssm::Client, name: &str, items: &T) -> Result<()> {
    let value = encode(name, items)?;
    put(ssm, name, value, RECORD_DESCRIPTION).await
}

/// Writes one String parameter (overwriting).
pub async fn put(
    ssm: &aws_sdk_ssm::Client,
    name: &str,
    value: String,
    description: &str,
) -> Result<()> {
    ssm.put_parameter()
        .name(name)
        .value(value)
        .r#type(ParameterType::String)
        .tier(ParameterTier::Standard)
        .overwrite(true)
        .description(description)
        .send()
        .await
        .op("PutParameter")?;
    Ok(())
}

/// Deletes a parameter; one that is already gone is fine.
pub async fn delete(ssm: &aws_sdk_ssm::Client, name: &str) -> Result<()> {
    match ssm.delete_parameter().name(name).send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_parameter_not_found()) =>
        {
            Ok(())
        }
        Err(e) => Err(e).op("DeleteParameter"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let items: BTreeSet<String> =
            ["10.0.1.5:443".to_string(), "10.0.2.9:443".to_string()].into();
        let value = encode("/p", &items).unwrap();
        assert_eq!(decode::<BTreeSet<String>>("/p", &value).unwrap(), items);
    }

    #[test]
    fn garbage_is_an_error_not_an_empty_set() {
        for value in ["", "[]", "{\"version\":2,\"items\":[]}", "not json"] {
            assert!(
                matches!(
                    decode::<BTreeSet<String>>("/p", value),
                    Err(Error::Registry { .. })
                ),
                "{value}"
            );
        }
    }

    #[test]
    fn record_parts_are_found_and_strays_are_not() {
        let prefix = SsmPrefix::parse("/frontdoor").unwrap();
        let api = |n: &str| api_of_parameter(&prefix, n).map(|a| a.to_string());
        let base = "/frontdoor/registry/apis/222222222222/abcdef0123";
        assert_eq!(api(base).as_deref(), Some("222222222222/abcdef0123"));
        assert_eq!(
            api(&format!("{base}/g3-1")).as_deref(),
            Some("222222222222/abcdef0123")
        );
        for stray in [
            format!("{base}/x"),
            format!("{base}/g3"),
            format!("{base}/g3-1/x"),
            "/frontdoor/registry/apis/nope/abcdef0123".to_string(),
        ] {
            assert_eq!(api(&stray), None, "{stray}");
        }
    }

    #[test]
    fn oversized_registry_is_refused_with_the_reason() {
        let items: BTreeSet<String> = (0..400)
            .map(|i| format!("10.0.{}.{}:443", i / 250, i % 250))
            .collect();
        let err = encode("/p", &items).unwrap_err().to_string();
        assert!(err.contains("4096-byte limit"), "{err}");
    }
}
