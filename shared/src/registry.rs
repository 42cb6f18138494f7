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
use crate::ids::{SsmPrefix, TargetGroupArn};

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

#[derive(Serialize, Deserialize)]
struct Document {
    version: u32,
    items: BTreeSet<String>,
}

/// Encodes a set of keys as the parameter's value.
pub fn encode(name: &str, items: &BTreeSet<String>) -> Result<String> {
    let value = serde_json::to_string(&Document {
        version: VERSION,
        items: items.clone(),
    })
    .map_err(|e| Error::Registry {
        name: name.to_string(),
        problem: e.to_string(),
    })?;
    if value.len() > MAX_VALUE_BYTES {
        return Err(Error::Registry {
            name: name.to_string(),
            problem: format!(
                "{} items need {} bytes, over the {MAX_VALUE_BYTES}-byte limit of a standard parameter",
                items.len(),
                value.len()
            ),
        });
    }
    Ok(value)
}

/// Decodes a parameter's value; anything unexpected is an error, never an empty set,
/// because an empty registry would make frontdoor forget what it owns.
pub fn decode(name: &str, value: &str) -> Result<BTreeSet<String>> {
    let doc: Document = serde_json::from_str(value).map_err(|e| Error::Registry {
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
pub async fn load(ssm: &aws_sdk_ssm::Client, name: &str) -> Result<BTreeSet<String>> {
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
            Ok(BTreeSet::new())
        }
        Err(e) => Err(e).op("GetParameter"),
    }
}

/// Writes a registry parameter (overwriting).
pub async fn store(ssm: &aws_sdk_ssm::Client, name: &str, items: &BTreeSet<String>) -> Result<()> {
    let value = encode(name, items)?;
    ssm.put_parameter()
        .name(name)
        .value(value)
        .r#type(ParameterType::String)
        .tier(ParameterTier::Standard)
        .overwrite(true)
        .description("frontdoor ownership registry: do not edit by hand")
        .send()
        .await
        .op("PutParameter")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let items: BTreeSet<String> =
            ["10.0.1.5:443".to_string(), "10.0.2.9:443".to_string()].into();
        let value = encode("/p", &items).unwrap();
        assert_eq!(decode("/p", &value).unwrap(), items);
    }

    #[test]
    fn garbage_is_an_error_not_an_empty_set() {
        for value in ["", "[]", "{\"version\":2,\"items\":[]}", "not json"] {
            assert!(
                matches!(decode("/p", value), Err(Error::Registry { .. })),
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
