//! Newtypes for the identifiers that could otherwise be swapped, each validated on the way
//! in so that a bad value fails at cold start (config) or at the edge (events).

use std::fmt;

/// `as_str` and `Display` (the value as AWS writes it) for a validated string newtype.
macro_rules! string_id {
    ($name:ident) => {
        impl $name {
            /// The value as AWS writes it.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// An interface VPC endpoint id, `vpce-` followed by hex.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VpceId(String);

impl VpceId {
    /// Parses `vpce-[0-9a-f]{8,17}`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let hex = s
            .strip_prefix("vpce-")
            .ok_or_else(|| format!("{s:?} does not start with \"vpce-\""))?;
        if !(8..=17).contains(&hex.len()) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("{s:?} is not vpce- followed by 8 to 17 hex digits"));
        }
        Ok(Self(s.to_string()))
    }
}

string_id!(VpceId);

/// An ELBv2 target group ARN,
/// `arn:{partition}:elasticloadbalancing:{region}:{account}:targetgroup/{name}/{id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroupArn {
    arn: String,
    name: String,
    id: String,
}

impl TargetGroupArn {
    /// Parses and checks every part of the ARN.
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("{s:?} is not a target group ARN: {why}");
        let parts: Vec<&str> = s.splitn(6, ':').collect();
        let [arn, partition, service, region, account, resource] = parts[..] else {
            return Err(bad(
                "expected arn:partition:elasticloadbalancing:region:account:targetgroup/name/id",
            ));
        };
        if arn != "arn" || !partition.starts_with("aws") {
            return Err(bad("expected to start with arn:aws"));
        }
        if service != "elasticloadbalancing" {
            return Err(bad("service is not elasticloadbalancing"));
        }
        if region.is_empty() {
            return Err(bad("region is empty"));
        }
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("account is not 12 digits"));
        }
        let mut segments = resource.split('/');
        let (Some("targetgroup"), Some(name), Some(id), None) = (
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
        ) else {
            return Err(bad("resource is not targetgroup/{name}/{id}"));
        };
        let name_ok = !name.is_empty()
            && name.len() <= 32
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !name_ok || id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("name or id has characters AWS does not allow"));
        }
        Ok(Self {
            arn: s.to_string(),
            name: name.to_string(),
            id: id.to_string(),
        })
    }

    /// The whole ARN.
    pub fn as_str(&self) -> &str {
        &self.arn
    }

    /// `{name}/{id}`: unique per account and region, and safe inside an SSM parameter name.
    pub fn short_key(&self) -> String {
        format!("{}/{}", self.name, self.id)
    }
}

impl fmt::Display for TargetGroupArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.arn)
    }
}

/// The SSM path every parameter frontdoor writes lives under: `/` then segments of
/// `[A-Za-z0-9_.-]`, no trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsmPrefix(String);

impl SsmPrefix {
    /// Parses a prefix such as `/frontdoor` or `/platform/frontdoor`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let rest = s
            .strip_prefix('/')
            .ok_or_else(|| format!("{s:?} does not start with \"/\""))?;
        let segments_ok = rest.split('/').all(|seg| {
            !seg.is_empty()
                && seg.bytes().any(|b| b != b'.')
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        });
        if !segments_ok {
            return Err(format!(
                "{s:?} must be /segment[/segment...] with letters, digits, _ . - and no trailing /"
            ));
        }
        // SSM allows 1011 characters in a name; leave room for what frontdoor appends.
        if s.len() > 200 {
            return Err(format!("{s:?} is longer than 200 characters"));
        }
        Ok(Self(s.to_string()))
    }

    /// `{prefix}/{rest}`.
    pub fn join(&self, rest: &str) -> String {
        format!("{}/{rest}", self.0)
    }
}

string_id!(SsmPrefix);

/// A 12-digit AWS account id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountId(String);

impl AccountId {
    /// Parses exactly 12 ASCII digits.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(s.to_string()))
        } else {
            Err(format!("{s:?} is not a 12-digit account id"))
        }
    }
}

string_id!(AccountId);

/// A REST API id: 10 lowercase letters and digits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiId(String);

impl ApiId {
    /// Parses `[a-z0-9]{10}`.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.len() == 10
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            Ok(Self(s.to_string()))
        } else {
            Err(format!(
                "{s:?} is not a REST API id (10 lowercase letters and digits)"
            ))
        }
    }
}

string_id!(ApiId);

/// One private API: the account that owns it and its id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiRef {
    /// The spoke account.
    pub account: AccountId,
    /// The REST API.
    pub api: ApiId,
}

impl ApiRef {
    /// Reads `{account}/{api-id}` back.
    pub fn parse(s: &str) -> Option<Self> {
        let (account, api) = s.split_once('/')?;
        Some(Self {
            account: AccountId::parse(account).ok()?,
            api: ApiId::parse(api).ok()?,
        })
    }
}

impl fmt::Display for ApiRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.account, self.api)
    }
}

/// Checks an API Gateway stage name: 1 to 128 of letters, digits, `-` and `_`.
pub fn parse_stage_name(s: &str) -> Result<String, String> {
    if !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        Ok(s.to_string())
    } else {
        Err(format!(
            "{s:?} is not a stage name (1-128 letters, digits, - and _)"
        ))
    }
}

/// Checks a REST VPC link id: 1 to 32 lowercase letters and digits.
pub fn parse_vpc_link_id(s: &str) -> Result<String, String> {
    if !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        Ok(s.to_string())
    } else {
        Err(format!("{s:?} is not a VPC link id"))
    }
}

/// Checks an IAM role name: 1 to 64 of letters, digits and `+=,.@_-`.
pub fn parse_role_name(s: &str) -> Result<String, String> {
    if !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
    {
        Ok(s.to_string())
    } else {
        Err(format!("{s:?} is not an IAM role name"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vpce_ids() {
        assert!(VpceId::parse("vpce-0a1b2c3d4e5f67890").is_ok());
        assert!(VpceId::parse("vpce-12345678").is_ok());
        for bad in [
            "",
            "vpce-",
            "vpc-12345678",
            "vpce-1234567",
            "vpce-zzzzzzzz",
            "vpce-0a1b2c3d4e5f678901",
        ] {
            assert!(VpceId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn target_group_arns() {
        let arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/frontdoor-tg/50dc6c495c0c9188";
        let tg = TargetGroupArn::parse(arn).unwrap();
        assert_eq!(tg.short_key(), "frontdoor-tg/50dc6c495c0c9188");
        for bad in [
            "",
            "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/x/50dc",
            "arn:aws:ec2:eu-west-1:123456789012:targetgroup/x/50dc",
            "arn:aws:elasticloadbalancing:eu-west-1:1234:targetgroup/x/50dc",
            "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/x/../50dc",
            "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/x_y/50dc",
        ] {
            assert!(TargetGroupArn::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn account_and_api_ids() {
        assert!(AccountId::parse("222222222222").is_ok());
        assert!(AccountId::parse("22222222222a").is_err());
        assert!(ApiId::parse("a1b2c3d4e5").is_ok());
        for bad in ["A1B2C3D4E5", "a1b2c3d4e", "../../etc1", "a1b2c3d4e5f"] {
            assert!(ApiId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ssm_prefixes() {
        assert_eq!(
            SsmPrefix::parse("/frontdoor").unwrap().join("registry"),
            "/frontdoor/registry"
        );
        assert!(SsmPrefix::parse("/platform/front-door_1.0").is_ok());
        for bad in [
            "",
            "frontdoor",
            "/",
            "/frontdoor/",
            "/a//b",
            "/a b",
            "/a/../b",
            "/a/%",
        ] {
            assert!(SsmPrefix::parse(bad).is_err(), "{bad}");
        }
    }
}
