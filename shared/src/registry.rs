//! The ownership registry: SSM parameters under `{prefix}/registry/` that record what
//! frontdoor created, so it never deletes or rewrites what it does not own.
//!
//! One parameter per owner-scope (the target group; later one per exposed API), each a
//! small JSON document `{"version": 1, "items": [...]}`, so no value nears the 4 KB limit of
//! a standard parameter. Writers follow one rule for crash safety: the registry is widened
//! *before* a create and narrowed only *after* a delete, so a crash between two calls can
//! leave the registry claiming a little too much (cleaned up on the next run) but never too
//! little.

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

/// Reads `{account}/{api-id}` back from a record's parameter name.
pub fn api_of_parameter(prefix: &SsmPrefix, name: &str) -> Option<ApiRef> {
    let rest = name.strip_prefix(&apis_folder(prefix))?;
    let (account, api) = rest.split_once('/')?;
    Some(ApiRef {
        account: AccountId::parse(account).ok()?,
        api: ApiId::parse(api).ok()?,
    })
}

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
    put(
        ssm,
        name,
        value,
        "frontdoor ownership registry: do not edit by hand",
    )
    .await
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
    fn oversized_registry_is_refused_with_the_reason() {
        let items: BTreeSet<String> = (0..400)
            .map(|i| format!("10.0.{}.{}:443", i / 250, i % 250))
            .collect();
        let err = encode("/p", &items).unwrap_err().to_string();
        assert!(err.contains("4096-byte limit"), "{err}");
    }
}
