//! The stable URLs frontdoor publishes in SSM, per exposed API `{name}`:
//! `{prefix}/apis/{name}/url`, `.../private-url`, `.../status` (DESIGN.md "Contract").

use crate::ids::{ApiId, SsmPrefix, VpceId};

/// The three parameter names of one API.
pub fn parameter_names(prefix: &SsmPrefix, name: &str) -> [String; 3] {
    [
        prefix.join(&format!("apis/{name}/url")),
        prefix.join(&format!("apis/{name}/private-url")),
        prefix.join(&format!("apis/{name}/status")),
    ]
}

/// The public base URL: `https://{public-api}.execute-api.{region}.amazonaws.com/{stage}[/{prefix}]`.
pub fn public_url(public_api: &ApiId, region: &str, stage: &str, mount: Option<&str>) -> String {
    format!(
        "https://{public_api}.execute-api.{region}.amazonaws.com/{stage}{}",
        mount.unwrap_or("")
    )
}

/// The public URL of what is mounted at `mount` on a custom domain mapped to the public
/// stage at its root: `https://{domain}{mount}`.
pub fn domain_url(domain: &str, mount: Option<&str>) -> String {
    format!("https://{domain}{}", mount.unwrap_or(""))
}

/// The private alias URL through the hub endpoint: `https://{api}-{vpce}.execute-api...`.
pub fn private_url(api: &ApiId, vpce: &VpceId, region: &str, stage: &str) -> String {
    format!("https://{api}-{vpce}.execute-api.{region}.amazonaws.com/{stage}")
}

/// The private API's own base URL, which integrations call through the VPC link.
pub fn invoke_url(api: &ApiId, region: &str, stage: &str) -> String {
    format!("https://{api}.execute-api.{region}.amazonaws.com/{stage}")
}

/// Turns an API name into one SSM path segment: letters, digits, `-`, `_`, `.`; anything else
/// becomes `-`. Bounded to 64 characters. `None` when nothing usable is left.
pub fn ssm_name(raw: &str) -> Option<String> {
    let cleaned: String = raw
        .trim()
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = cleaned.trim_matches(|c| c == '-' || c == '.');
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_made_safe_for_ssm() {
        assert_eq!(ssm_name("private-cats").as_deref(), Some("private-cats"));
        assert_eq!(ssm_name("My API v2").as_deref(), Some("My-API-v2"));
        assert_eq!(ssm_name("../../etc").as_deref(), Some("etc"));
        assert_eq!(ssm_name("ü").as_deref(), None);
        assert_eq!(ssm_name(&"x".repeat(500)).map(|s| s.len()), Some(64));
    }

    #[test]
    fn urls_follow_the_contract() {
        let api = ApiId::parse("abcdef0123").unwrap();
        let vpce = VpceId::parse("vpce-0a1b2c3d4e5f60718").unwrap();
        assert_eq!(
            private_url(&api, &vpce, "us-east-1", "prd"),
            "https://abcdef0123-vpce-0a1b2c3d4e5f60718.execute-api.us-east-1.amazonaws.com/prd"
        );
        assert_eq!(
            public_url(&api, "us-east-1", "prd", Some("/pets")),
            "https://abcdef0123.execute-api.us-east-1.amazonaws.com/prd/pets"
        );
    }
}
