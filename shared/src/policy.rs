//! Pure. Is a private API's resource policy safe to expose through the front door?
//!
//! Safe means two things (DESIGN.md "Decisions"): it *admits* `execute-api:Invoke` from the
//! hub endpoint, and it is *restricted* to it: every Allow that grants invoke is bound to the
//! hub endpoint, either by its own `StringEquals aws:SourceVpce` naming only the hub, or by a
//! Deny on `StringNotEquals aws:SourceVpce` naming only the hub that covers the whole API.
//! An Allow that another endpoint, `aws:SourceVpc`, or no condition would satisfy without
//! such a Deny is unrestricted: any account's endpoint could reach the API.

use serde_json::Value;

use crate::ids::VpceId;

/// Why a policy is not safe to expose.
pub fn check(policy: Option<&str>, hub: &VpceId) -> Result<(), String> {
    let Some(text) = policy.filter(|p| !p.trim().is_empty()) else {
        return Err("the API has no resource policy".into());
    };
    let doc = parse(text).ok_or("the resource policy is not valid JSON")?;
    let statements: Vec<&Value> = match doc.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => return Err("the resource policy has no Statement".into()),
    };
    let grants: Vec<&Value> = statements
        .iter()
        .copied()
        .filter(|s| effect(s) == Some("Allow") && grants_invoke(s))
        .collect();
    if grants.is_empty() {
        return Err("the resource policy allows no execute-api:Invoke".into());
    }
    let guarded = statements.iter().any(|s| {
        effect(s) == Some("Deny")
            && grants_invoke(s)
            && covers_whole_api(s)
            && only_hub(condition(s, "StringNotEquals", "aws:SourceVpce"), hub)
    });
    let mut admits_hub = false;
    for allow in grants {
        let bound = only_hub(condition(allow, "StringEquals", "aws:SourceVpce"), hub);
        if !(bound || guarded) {
            return Err(
                "the resource policy is not restricted to the hub endpoint: an Allow is not bound \
                 to aws:SourceVpce = the hub's endpoint and no Deny on StringNotEquals \
                 aws:SourceVpce covers it"
                    .into(),
            );
        }
        // An Allow bound to one other endpoint cannot admit the hub.
        let other_endpoint = condition(allow, "StringEquals", "aws:SourceVpce")
            .is_some_and(|v| !values(v).contains(&hub.as_str()));
        admits_hub |= !other_endpoint && conditions_only_on_source_vpce(allow);
    }
    if admits_hub {
        Ok(())
    } else {
        Err("the resource policy does not admit the hub endpoint".into())
    }
}

/// AWS returns the policy as a JSON string whose quotes are escaped (`{\"Version\"...`);
/// accept both that and plain JSON.
fn parse(text: &str) -> Option<Value> {
    serde_json::from_str(text).ok().or_else(|| {
        let unescaped = text
            .replace("\\\"", "\"")
            .replace("\\/", "/")
            .replace("\\\\", "\\");
        serde_json::from_str(&unescaped).ok()
    })
}

fn effect(statement: &Value) -> Option<&str> {
    statement.get("Effect").and_then(Value::as_str)
}

fn values(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

fn grants_invoke(statement: &Value) -> bool {
    let actions = statement.get("Action").map(values).unwrap_or_default();
    actions.iter().any(|a| {
        let a = a.to_ascii_lowercase();
        a == "*" || a == "execute-api:*" || a == "execute-api:invoke"
    })
}

fn covers_whole_api(statement: &Value) -> bool {
    let resources = statement.get("Resource").map(values).unwrap_or_default();
    resources.iter().any(|r| {
        *r == "*"
            || *r == "execute-api:/*"
            || r.strip_prefix("arn:")
                .and_then(|rest| rest.split_once('/'))
                .is_some_and(|(_, path)| path == "*")
    })
}

/// The value of `Condition.{operator}.{key}`, keys compared case-insensitively as IAM does.
fn condition<'a>(statement: &'a Value, operator: &str, key: &str) -> Option<&'a Value> {
    let block = statement.get("Condition")?.as_object()?;
    let (_, keys) = block.iter().find(|(op, _)| op.as_str() == operator)?;
    keys.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

fn only_hub(value: Option<&Value>, hub: &VpceId) -> bool {
    value.is_some_and(|v| values(v) == [hub.as_str()])
}

/// True when the Allow has no condition other than on `aws:SourceVpce`, so that a request
/// through the hub endpoint satisfies it. Anything else (source IP, principal tags) may
/// or may not hold for the front door's traffic, so it does not count as admitting it.
fn conditions_only_on_source_vpce(statement: &Value) -> bool {
    let Some(block) = statement.get("Condition").and_then(Value::as_object) else {
        return true;
    };
    block.iter().all(|(op, keys)| {
        op == "StringEquals"
            && keys.as_object().is_some_and(|k| {
                k.keys()
                    .all(|key| key.eq_ignore_ascii_case("aws:SourceVpce"))
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const HUB: &str = "vpce-0a1b2c3d4e5f60718";

    fn hub() -> VpceId {
        VpceId::parse(HUB).unwrap()
    }

    fn check_json(doc: Value) -> Result<(), String> {
        check(Some(&doc.to_string()), &hub())
    }

    /// The seed's policy: Allow invoke, Deny unless through the hub endpoint.
    pub(crate) fn seed_policy(vpce: &str) -> Value {
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*"},
            {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*",
             "Condition": {"StringNotEquals": {"aws:SourceVpce": vpce}}}
        ]})
    }

    #[test]
    fn allow_plus_deny_not_hub_is_safe() {
        assert_eq!(check_json(seed_policy(HUB)), Ok(()));
    }

    #[test]
    fn allow_bound_by_its_own_condition_is_safe() {
        let doc = json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": ["execute-api:Invoke"],
            "Resource": "arn:aws:execute-api:us-east-1:222222222222:abcdef0123/*",
            "Condition": {"StringEquals": {"aws:sourceVpce": [HUB]}}}]});
        assert_eq!(check_json(doc), Ok(()));
    }

    #[test]
    fn escaped_policy_as_aws_returns_it_is_parsed() {
        let escaped = seed_policy(HUB).to_string().replace('"', "\\\"");
        assert_eq!(check(Some(&escaped), &hub()), Ok(()));
    }

    #[test]
    fn no_policy_is_refused() {
        assert!(check(None, &hub())
            .unwrap_err()
            .contains("no resource policy"));
        assert!(check(Some("  "), &hub())
            .unwrap_err()
            .contains("no resource policy"));
    }

    #[test]
    fn allow_all_is_unrestricted() {
        let doc = json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "*"}]});
        assert!(check_json(doc).unwrap_err().contains("not restricted"));
    }

    #[test]
    fn policy_for_another_endpoint_is_refused() {
        let err = check_json(seed_policy("vpce-0ffffffffffffffff")).unwrap_err();
        assert!(err.contains("not restricted"), "{err}");
        let doc = json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-0ffffffffffffffff"}}}]});
        assert!(check_json(doc).unwrap_err().contains("not restricted"));
    }

    #[test]
    fn deny_listing_another_endpoint_too_is_unrestricted() {
        let doc = json!({"Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "*"},
            {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "*",
             "Condition": {"StringNotEquals": {"aws:SourceVpce": [HUB, "vpce-0ffffffffffffffff"]}}}]});
        assert!(check_json(doc).unwrap_err().contains("not restricted"));
    }

    #[test]
    fn source_vpc_condition_is_unrestricted() {
        let doc = json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceVpc": "vpc-0123456789abcdef0"}}}]});
        assert!(check_json(doc).unwrap_err().contains("not restricted"));
    }

    #[test]
    fn deny_on_part_of_the_api_does_not_guard_the_rest() {
        let doc = json!({"Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "*"},
            {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke",
             "Resource": "arn:aws:execute-api:us-east-1:222222222222:abcdef0123/prd/GET/admin",
             "Condition": {"StringNotEquals": {"aws:SourceVpce": HUB}}}]});
        assert!(check_json(doc).unwrap_err().contains("not restricted"));
    }

    #[test]
    fn deny_only_policy_admits_nothing() {
        let doc = json!({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "*"}]});
        assert!(check_json(doc).unwrap_err().contains("allows no"));
    }

    #[test]
    fn garbage_is_refused() {
        assert!(check(Some("{not json"), &hub())
            .unwrap_err()
            .contains("not valid JSON"));
    }
}
