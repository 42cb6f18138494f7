//! Pure parsing of what wakes a function into what it should look at. Events only narrow
//! the scope; facts are always re-read from AWS (DESIGN.md "Trust no payload").
//!
//! Shapes: EventBridge envelopes (`aws_lambda_events`), with CloudTrail's `detail`. EC2
//! writes CloudTrail request parameters in its XML wire shape (`{"VpcEndpointId": {"tag":
//! 1, "content": "vpce-..."}}` for lists, plain strings for single values), so endpoint ids
//! are found by walking the parameters rather than by one fixed path.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::ids::VpceId;

/// CloudTrail calls that can change which ENIs (and so which IPs) an endpoint has.
pub const ENDPOINT_CHANGE_CALLS: [&str; 3] = [
    "CreateVpcEndpoint",
    "ModifyVpcEndpoint",
    "DeleteVpcEndpoints",
];

const CLOUDTRAIL_CALL: &str = "AWS API Call via CloudTrail";
const SCHEDULED: &str = "Scheduled Event";
/// Deep enough for every CloudTrail shape; bounds the walk over an untrusted payload.
const MAX_DEPTH: usize = 8;

/// Why a reconcile runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// The schedule: look at everything.
    Sweep,
    /// A CloudTrail call touched the endpoint.
    EndpointCall {
        /// e.g. `ModifyVpcEndpoint`.
        call: String,
    },
}

/// What `target-sync` should do with one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetWake {
    /// Run the reconcile.
    Reconcile(Trigger),
    /// Nothing to do; the reason is logged.
    Ignore {
        /// Why, in words.
        reason: String,
    },
}

/// Decides what a `target-sync` event means for the configured endpoint.
///
/// Errors are [`Error::BadEvent`]: permanent, the same bytes never parse.
pub fn target_wake(payload: &Value, endpoint: &VpceId) -> Result<TargetWake> {
    let event: EventBridgeEvent<Value> =
        serde_json::from_value(payload.clone()).map_err(|e| Error::BadEvent {
            reason: format!("not an EventBridge event: {e}"),
            source: Some(e),
        })?;
    match (event.source.as_str(), event.detail_type.as_str()) {
        ("aws.events", SCHEDULED) => Ok(TargetWake::Reconcile(Trigger::Sweep)),
        ("aws.ec2", CLOUDTRAIL_CALL) => endpoint_call(&event.detail, endpoint),
        (source, detail_type) => Err(Error::bad_event(format!(
            "unsupported event: source {source:?}, detail-type {detail_type:?}; \
             target-sync takes aws.ec2 CloudTrail VPC endpoint calls and Scheduled Events"
        ))),
    }
}

fn endpoint_call(detail: &Value, endpoint: &VpceId) -> Result<TargetWake> {
    let call = detail
        .get("eventName")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::bad_event("CloudTrail detail has no string eventName"))?;
    if !ENDPOINT_CHANGE_CALLS.contains(&call) {
        return Err(Error::bad_event(format!(
            "unsupported CloudTrail call {call:?}; expected one of {ENDPOINT_CHANGE_CALLS:?}"
        )));
    }
    if let Some(code) = detail.get("errorCode").and_then(Value::as_str) {
        return Ok(TargetWake::Ignore {
            reason: format!("{call} failed with {code}: nothing changed"),
        });
    }
    let mut ids = Vec::new();
    for field in ["requestParameters", "responseElements"] {
        if let Some(v) = detail.get(field) {
            collect_endpoint_ids(v, 0, &mut ids);
        }
    }
    if ids.is_empty() {
        return Err(Error::bad_event(format!(
            "{call} event names no VPC endpoint id"
        )));
    }
    if ids.contains(endpoint) {
        return Ok(TargetWake::Reconcile(Trigger::EndpointCall {
            call: call.to_string(),
        }));
    }
    ids.sort();
    ids.dedup();
    let others: Vec<&str> = ids.iter().map(VpceId::as_str).collect();
    Ok(TargetWake::Ignore {
        reason: format!("{call} is about {}, not {endpoint}", others.join(", ")),
    })
}

fn collect_endpoint_ids(value: &Value, depth: usize, out: &mut Vec<VpceId>) {
    if depth > MAX_DEPTH {
        return;
    }
    match value {
        Value::String(s) => {
            if let Ok(id) = VpceId::parse(s) {
                out.push(id);
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|v| collect_endpoint_ids(v, depth + 1, out)),
        Value::Object(map) => map
            .values()
            .for_each(|v| collect_endpoint_ids(v, depth + 1, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ours() -> VpceId {
        VpceId::parse("vpce-0a1b2c3d4e5f60718").unwrap()
    }

    fn parse(text: &str) -> Result<TargetWake> {
        target_wake(&serde_json::from_str(text).unwrap(), &ours())
    }

    #[test]
    fn sample_events_parse_as_expected() {
        // GIVEN the files under events/ (used by cargo lambda invoke and the tests)
        // THEN each means what its name says
        let sweep = parse(include_str!("../../events/schedule.json")).unwrap();
        assert_eq!(sweep, TargetWake::Reconcile(Trigger::Sweep));
        for (file, call) in [
            (
                include_str!("../../events/ec2-create-vpc-endpoint.json"),
                "CreateVpcEndpoint",
            ),
            (
                include_str!("../../events/ec2-modify-vpc-endpoint.json"),
                "ModifyVpcEndpoint",
            ),
            (
                include_str!("../../events/ec2-delete-vpc-endpoints.json"),
                "DeleteVpcEndpoints",
            ),
        ] {
            assert_eq!(
                parse(file).unwrap(),
                TargetWake::Reconcile(Trigger::EndpointCall { call: call.into() }),
                "{call}"
            );
        }
        let other = parse(include_str!(
            "../../events/ec2-modify-other-vpc-endpoint.json"
        ))
        .unwrap();
        assert!(matches!(other, TargetWake::Ignore { .. }), "{other:?}");
    }

    #[test]
    fn failed_call_is_ignored() {
        let event = json!({
            "source": "aws.ec2", "detail-type": CLOUDTRAIL_CALL,
            "detail": {"eventName": "ModifyVpcEndpoint", "errorCode": "UnauthorizedOperation",
                       "requestParameters": {"ModifyVpcEndpointRequest": {"VpcEndpointId": ours().as_str()}}}
        });
        let wake = target_wake(&event, &ours()).unwrap();
        assert!(
            matches!(wake, TargetWake::Ignore { reason } if reason.contains("UnauthorizedOperation"))
        );
    }

    #[test]
    fn malformed_events_are_bad_events_naming_the_problem() {
        for (event, says) in [
            (json!("hello"), "not an EventBridge event"),
            (json!({"source": "aws.ec2"}), "not an EventBridge event"),
            (
                json!({"source": "aws.s3", "detail-type": "Object Created", "detail": {}}),
                "unsupported event",
            ),
            (
                json!({"source": "aws.ec2", "detail-type": CLOUDTRAIL_CALL, "detail": {}}),
                "no string eventName",
            ),
            (
                json!({"source": "aws.ec2", "detail-type": CLOUDTRAIL_CALL, "detail": {"eventName": "RunInstances"}}),
                "unsupported CloudTrail call",
            ),
            (
                json!({"source": "aws.ec2", "detail-type": CLOUDTRAIL_CALL, "detail": {"eventName": "ModifyVpcEndpoint"}}),
                "names no VPC endpoint id",
            ),
        ] {
            let err = target_wake(&event, &ours()).unwrap_err();
            assert!(!err.is_transient());
            assert!(err.to_string().contains(says), "{event}: {err}");
        }
    }

    #[test]
    fn deeply_nested_payload_is_bounded() {
        // GIVEN an id buried deeper than any CloudTrail shape
        let mut v = json!(ours().as_str());
        for _ in 0..50 {
            v = json!({ "x": v });
        }
        let event = json!({"source": "aws.ec2", "detail-type": CLOUDTRAIL_CALL,
                           "detail": {"eventName": "ModifyVpcEndpoint", "requestParameters": v}});
        // THEN it is not found, and nothing overflows
        assert!(target_wake(&event, &ours()).is_err());
    }
}
