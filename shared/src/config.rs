//! Configuration from the environment (DESIGN.md "Contract"), read once at cold start.
//! Every missing or malformed variable is named in one error, so an operator fixes them all
//! in one deploy rather than one per failed start.

use crate::error::{ConfigProblem, Error, Result};
use crate::ids::{SsmPrefix, TargetGroupArn, VpceId};

/// The hub's execute-api interface endpoint.
pub const VPC_ENDPOINT_ID: &str = "FRONTDOOR_VPC_ENDPOINT_ID";
/// The NLB target group.
pub const TARGET_GROUP_ARN: &str = "FRONTDOOR_TARGET_GROUP_ARN";
/// Root of every parameter frontdoor writes.
pub const SSM_PREFIX: &str = "FRONTDOOR_SSM_PREFIX";
/// Default for [`SSM_PREFIX`].
pub const DEFAULT_SSM_PREFIX: &str = "/frontdoor";

/// What `target-sync` needs.
#[derive(Debug, Clone)]
pub struct TargetSyncConfig {
    /// The endpoint whose ENI IPs become targets.
    pub vpc_endpoint_id: VpceId,
    /// The target group that holds them.
    pub target_group_arn: TargetGroupArn,
    /// Root of the registry and published parameters.
    pub ssm_prefix: SsmPrefix,
}

impl TargetSyncConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let mut vars = Vars::new(lookup);
        let vpc_endpoint_id = vars.required(VPC_ENDPOINT_ID, VpceId::parse);
        let target_group_arn = vars.required(TARGET_GROUP_ARN, TargetGroupArn::parse);
        let ssm_prefix = vars.with_default(SSM_PREFIX, DEFAULT_SSM_PREFIX, SsmPrefix::parse);
        vars.finish()?;
        // finish() returned Ok, so every field parsed.
        match (vpc_endpoint_id, target_group_arn, ssm_prefix) {
            (Some(vpc_endpoint_id), Some(target_group_arn), Some(ssm_prefix)) => Ok(Self {
                vpc_endpoint_id,
                target_group_arn,
                ssm_prefix,
            }),
            _ => Err(Error::Config(Vec::new())),
        }
    }
}

/// Collects problems instead of stopping at the first.
struct Vars<F> {
    lookup: F,
    problems: Vec<ConfigProblem>,
}

impl<F: Fn(&str) -> Option<String>> Vars<F> {
    fn new(lookup: F) -> Self {
        Self {
            lookup,
            problems: Vec::new(),
        }
    }

    fn required<T>(
        &mut self,
        name: &'static str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        match (self.lookup)(name).map(|v| v.trim().to_string()) {
            None => self.problem(name, "is not set".into()),
            Some(v) if v.is_empty() => self.problem(name, "is empty".into()),
            Some(v) => self.parsed(name, parse(&v)),
        }
    }

    fn with_default<T>(
        &mut self,
        name: &'static str,
        default: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        let value = (self.lookup)(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| default.to_string());
        self.parsed(name, parse(&value))
    }

    fn parsed<T>(&mut self, name: &'static str, result: Result<T, String>) -> Option<T> {
        result.map_or_else(|problem| self.problem(name, problem), Some)
    }

    fn problem<T>(&mut self, name: &'static str, problem: String) -> Option<T> {
        self.problems.push(ConfigProblem { name, problem });
        None
    }

    fn finish(self) -> Result<()> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Config(self.problems))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    const TG: &str =
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/fd/0123456789abcdef";

    #[test]
    fn given_all_variables_then_config_parses_with_default_prefix() {
        let config = TargetSyncConfig::from_lookup(env(&[
            (VPC_ENDPOINT_ID, "vpce-0123456789abcdef0"),
            (TARGET_GROUP_ARN, TG),
        ]))
        .unwrap();
        assert_eq!(config.ssm_prefix.as_str(), "/frontdoor");
        assert_eq!(config.vpc_endpoint_id.as_str(), "vpce-0123456789abcdef0");
    }

    #[test]
    fn given_nothing_set_then_every_required_variable_is_named() {
        let err = TargetSyncConfig::from_lookup(env(&[]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("FRONTDOOR_VPC_ENDPOINT_ID: is not set"),
            "{err}"
        );
        assert!(
            err.contains("FRONTDOOR_TARGET_GROUP_ARN: is not set"),
            "{err}"
        );
    }

    #[test]
    fn given_malformed_values_then_each_is_named_with_its_problem() {
        let err = TargetSyncConfig::from_lookup(env(&[
            (VPC_ENDPOINT_ID, "vpc-123"),
            (TARGET_GROUP_ARN, TG),
            (SSM_PREFIX, "frontdoor/"),
        ]))
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("FRONTDOOR_VPC_ENDPOINT_ID: \"vpc-123\""),
            "{err}"
        );
        assert!(
            err.contains("FRONTDOOR_SSM_PREFIX: \"frontdoor/\""),
            "{err}"
        );
        assert!(!err.contains("FRONTDOOR_TARGET_GROUP_ARN"), "{err}");
    }
}
