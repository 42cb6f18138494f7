//! Pure parsing of what wakes a function into what it should look at. Events only narrow
//! the scope; facts are always re-read from AWS (DESIGN.md "Trust no payload").
//!
//! Shapes: EventBridge envelopes (`aws_lambda_events`), with CloudTrail's `detail`. EC2
//! writes CloudTrail request parameters in its XML wire shape (`{"VpcEndpointId": {"tag":
//! 1, "content": "vpce-..."}}` for lists, plain strings for single values), so endpoint ids
//! are found by walking the parameters rather than by one fixed path.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde_json::Value;

use std::collections::BTreeSet;

use crate::error::{Error, Result};
use crate::ids::{AccountId, ApiId, ApiRef, VpceId};
use crate::paths;
use crate::scope::Scope;

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
///
/// A Scheduled Event counts only from `own`, the function's own account.
pub fn target_wake(
    payload: &Value,
    endpoint: &VpceId,
    own: Option<&AccountId>,
) -> Result<TargetWake> {
    let event: EventBridgeEvent<Value> =
        serde_json::from_value(payload.clone()).map_err(|e| Error::BadEvent {
            reason: format!("not an EventBridge event: {e}"),
            source: Some(e),
        })?;
    match (event.source.as_str(), event.detail_type.as_str()) {
        ("aws.events", SCHEDULED) if scheduled_by(&event, own) => {
            Ok(TargetWake::Reconcile(Trigger::Sweep))
        }
        ("aws.events", SCHEDULED) => Ok(TargetWake::Ignore {
            reason: foreign_schedule(&event),
        }),
        ("aws.ec2", CLOUDTRAIL_CALL) => endpoint_call(&event.detail, endpoint),
        (source, detail_type) => Err(Error::bad_event(format!(
            "unsupported event: source {source:?}, detail-type {detail_type:?}; \
             target-sync takes aws.ec2 CloudTrail VPC endpoint calls and Scheduled Events"
        ))),
    }
}

/// Whether a Scheduled Event comes from the function's own account: only the hub's own
/// schedule may start a sweep (another account's bus could otherwise sweep every spoke).
fn scheduled_by(event: &EventBridgeEvent<Value>, own: Option<&AccountId>) -> bool {
    matches!((event.account.as_deref(), own), (Some(a), Some(own)) if a == own.as_str())
}

fn foreign_schedule(event: &EventBridgeEvent<Value>) -> String {
    format!(
        "a Scheduled Event from account {} is not from the function's own account",
        event
            .account
            .as_deref()
            .map_or_else(|| "(none)".to_string(), paths::shown)
    )
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

/// CloudTrail API Gateway calls that change what an API exposes.
pub const API_CHANGE_CALLS: [&str; 8] = [
    "TagResource",
    "UntagResource",
    "CreateRestApi",
    "DeleteRestApi",
    "CreateDeployment",
    "CreateStage",
    "UpdateStage",
    "DeleteStage",
];
/// Resource Groups Tagging API calls, which name ARNs in a list.
pub const TAGGING_CALLS: [&str; 2] = ["TagResources", "UntagResources"];
/// At most this many records are taken from one SQS batch (SQS sends at most 10 000).
const MAX_RECORDS: usize = 10_000;

/// What one `route-sync` invocation should look at, and what it set aside.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteBatch {
    /// The APIs (and whether to sweep).
    pub scope: Scope,
    /// Records refused: accounts not on the allow-list. Logged; no spoke call.
    pub refused: Vec<String>,
    /// Records that could not be understood, or need no work. Logged and dropped.
    pub dropped: Vec<String>,
    /// When the oldest event of the batch happened (ms since the epoch), for the lag metric.
    pub oldest_event_ms: Option<i64>,
    /// The payload is an SQS batch (route-sync runs from its queue).
    pub from_queue: bool,
    /// The batch holds route-sync's own "deploy" message: this run deploys what is owed.
    pub deploy_requested: bool,
}

fn is_deploy_message(body: &Value) -> bool {
    body.get("frontdoor").and_then(Value::as_str) == Some("deploy")
}

/// Reads a `route-sync` payload: an SQS event whose records carry EventBridge events, or
/// one bare EventBridge event. Told apart by shape (a `Records` array). Never fails: what
/// cannot be understood is dropped with a reason, so the rest of a batch still runs.
///
/// `own` is the function's own account (from its ARN): a Scheduled Event counts only from
/// there, so no other account's bus can start a sweep of every spoke.
pub fn route_batch(
    payload: &Value,
    allowed: &BTreeSet<AccountId>,
    own: Option<&AccountId>,
) -> RouteBatch {
    let mut batch = RouteBatch::default();
    match payload.get("Records") {
        Some(Value::Array(records)) => {
            batch.from_queue = true;
            for (i, record) in records.iter().take(MAX_RECORDS).enumerate() {
                let body = record.get("body").and_then(Value::as_str);
                match body.map(serde_json::from_str::<Value>) {
                    Some(Ok(event)) if is_deploy_message(&event) => batch.deploy_requested = true,
                    Some(Ok(event)) => route_event(&event, allowed, own, &mut batch),
                    Some(Err(e)) => batch
                        .dropped
                        .push(format!("record {i}: body is not JSON: {e}")),
                    None => batch.dropped.push(format!("record {i}: no string body")),
                }
            }
        }
        Some(_) => batch.dropped.push("Records is not an array".into()),
        None => route_event(payload, allowed, own, &mut batch),
    }
    batch
}

fn route_event(
    payload: &Value,
    allowed: &BTreeSet<AccountId>,
    own: Option<&AccountId>,
    batch: &mut RouteBatch,
) {
    let event: EventBridgeEvent<Value> = match serde_json::from_value(payload.clone()) {
        Ok(e) => e,
        Err(e) => return batch.dropped.push(format!("not an EventBridge event: {e}")),
    };
    if let Some(t) = event.time.map(|t| t.timestamp_millis()) {
        batch.oldest_event_ms = Some(batch.oldest_event_ms.map_or(t, |o| o.min(t)));
    }
    let kind = (event.source.as_str(), event.detail_type.as_str());
    if kind == ("aws.events", SCHEDULED) {
        if scheduled_by(&event, own) {
            batch.scope.sweep = true;
        } else {
            batch.refused.push(foreign_schedule(&event));
        }
        return;
    }
    let account = match event.account.as_deref().map(AccountId::parse) {
        Some(Ok(a)) => a,
        _ => {
            return batch
                .dropped
                .push(format!("{} event has no valid account", event.detail_type))
        }
    };
    if !allowed.contains(&account) {
        return batch.refused.push(format!(
            "account {account} is not in FRONTDOOR_ALLOWED_ACCOUNTS"
        ));
    }
    let ids: Result<Vec<ApiId>, String> = match kind {
        ("aws.tag", "Tag Change on Resource") => {
            restapi_ids(event.resources.iter().flatten().map(String::as_str))
        }
        ("aws.apigateway", CLOUDTRAIL_CALL) => apigateway_call(&event.detail),
        ("aws.tagging", CLOUDTRAIL_CALL) => tagging_call(&event.detail),
        (source, detail_type) => Err(format!(
            "unsupported event: source {source:?}, detail-type {detail_type:?}"
        )),
    };
    match ids {
        Ok(ids) if ids.is_empty() => batch.dropped.push("event names no REST API".into()),
        Ok(ids) => batch.scope.apis.extend(ids.into_iter().map(|api| ApiRef {
            account: account.clone(),
            api,
        })),
        Err(reason) => batch.dropped.push(reason),
    }
}

fn apigateway_call(detail: &Value) -> Result<Vec<ApiId>, String> {
    let call = detail
        .get("eventName")
        .and_then(Value::as_str)
        .ok_or("CloudTrail detail has no string eventName")?;
    if !API_CHANGE_CALLS.contains(&call) {
        return Err(format!("unsupported CloudTrail call {call:?}"));
    }
    if let Some(code) = detail.get("errorCode").and_then(Value::as_str) {
        return Err(format!("{call} failed with {code}: nothing changed"));
    }
    let request = detail.get("requestParameters");
    let field = |v: Option<&Value>, key: &str| {
        v.and_then(|v| v.get(key))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let id = field(request, "restApiId")
        .or_else(|| {
            field(request, "resourceArn").and_then(|arn| {
                restapi_ids([arn.as_str()])
                    .ok()?
                    .into_iter()
                    .next()
                    .map(|a| a.to_string())
            })
        })
        .or_else(|| field(detail.get("responseElements"), "id"));
    match id {
        Some(id) => ApiId::parse(&id).map(|a| vec![a]),
        None => Err(format!("{call} event names no REST API")),
    }
}

fn tagging_call(detail: &Value) -> Result<Vec<ApiId>, String> {
    let call = detail
        .get("eventName")
        .and_then(Value::as_str)
        .ok_or("CloudTrail detail has no string eventName")?;
    if !TAGGING_CALLS.contains(&call) {
        return Err(format!("unsupported tagging call {call:?}"));
    }
    let arns = detail
        .get("requestParameters")
        .and_then(|r| r.get("resourceARNList"))
        .and_then(Value::as_array)
        .ok_or(format!("{call} event has no resourceARNList"))?;
    restapi_ids(arns.iter().filter_map(Value::as_str))
}

/// REST API ids from API Gateway ARNs (`arn:aws:apigateway:{region}::/restapis/{id}[/...]`);
/// ARNs of other services or resources are skipped; a malformed REST API id is an error.
fn restapi_ids<'a>(arns: impl IntoIterator<Item = &'a str>) -> Result<Vec<ApiId>, String> {
    let mut out = Vec::new();
    for arn in arns.into_iter().take(MAX_RECORDS) {
        let Some(rest) = arn
            .strip_prefix("arn:")
            .and_then(|r| r.split_once(":apigateway:"))
            .and_then(|(_, r)| r.split_once("::/restapis/"))
            .map(|(_, r)| r)
        else {
            continue;
        };
        let id = rest.split('/').next().unwrap_or_default();
        out.push(ApiId::parse(id).map_err(|e| format!("REST API ARN: {e}"))?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ours() -> VpceId {
        VpceId::parse("vpce-0a1b2c3d4e5f60718").unwrap()
    }

    fn parse(text: &str) -> Result<TargetWake> {
        target_wake(&serde_json::from_str(text).unwrap(), &ours(), Some(&hub()))
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
        let wake = target_wake(&event, &ours(), Some(&hub())).unwrap();
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
            let err = target_wake(&event, &ours(), Some(&hub())).unwrap_err();
            assert!(!err.is_transient());
            assert!(err.to_string().contains(says), "{event}: {err}");
        }
    }

    fn allowed() -> BTreeSet<AccountId> {
        ["222222222222", "333333333333"]
            .iter()
            .map(|a| AccountId::parse(a).unwrap())
            .collect()
    }

    #[test]
    fn route_samples_name_their_apis() {
        let tag: Value =
            serde_json::from_str(include_str!("../../events/tag-change-expose.json")).unwrap();
        let b = route_batch(&tag, &allowed(), Some(&hub()));
        assert_eq!(b.scope.apis.len(), 1, "{b:?}");
        assert!(b.dropped.is_empty() && b.refused.is_empty());
        let deploy: Value = serde_json::from_str(include_str!(
            "../../events/apigateway-create-deployment.json"
        ))
        .unwrap();
        assert_eq!(
            route_batch(&deploy, &allowed(), Some(&hub()))
                .scope
                .apis
                .len(),
            1
        );
        let sqs: Value =
            serde_json::from_str(include_str!("../../events/sqs-batch-two-apis.json")).unwrap();
        let b = route_batch(&sqs, &allowed(), Some(&hub()));
        assert_eq!(b.scope.apis.len(), 2, "{b:?}");
        let sweep: Value =
            serde_json::from_str(include_str!("../../events/schedule.json")).unwrap();
        assert!(route_batch(&sweep, &allowed(), Some(&hub())).scope.sweep);
    }

    fn hub() -> AccountId {
        AccountId::parse("123456789012").unwrap()
    }

    #[test]
    fn a_scheduled_event_sweeps_only_from_the_functions_own_account() {
        let sweep: Value =
            serde_json::from_str(include_str!("../../events/schedule.json")).unwrap();
        let foreign: Value = serde_json::from_str(include_str!(
            "../../events/hostile/schedule-foreign-account.json"
        ))
        .unwrap();
        // An allowed spoke's own schedule, or any account's, starts no sweep.
        for (event, own) in [(&foreign, Some(hub())), (&sweep, None)] {
            let b = route_batch(event, &allowed(), own.as_ref());
            assert!(!b.scope.sweep, "{b:?}");
            assert_eq!(b.refused.len(), 1, "{b:?}");
        }
        assert!(route_batch(&sweep, &allowed(), Some(&hub())).scope.sweep);
    }

    #[test]
    fn unknown_accounts_are_refused_and_garbage_dropped_without_losing_the_batch() {
        let good = json!({"source": "aws.apigateway", "detail-type": CLOUDTRAIL_CALL, "account": "222222222222",
            "detail": {"eventName": "CreateDeployment", "requestParameters": {"restApiId": "abc1234567"}}});
        let stranger = json!({"source": "aws.apigateway", "detail-type": CLOUDTRAIL_CALL, "account": "999999999999",
            "detail": {"eventName": "CreateDeployment", "requestParameters": {"restApiId": "abc1234567"}}});
        let traversal = json!({"source": "aws.apigateway", "detail-type": CLOUDTRAIL_CALL, "account": "222222222222",
            "detail": {"eventName": "CreateDeployment", "requestParameters": {"restApiId": "../../x"}}});
        let other_service = json!({"source": "aws.tag", "detail-type": "Tag Change on Resource", "account": "222222222222",
            "resources": ["arn:aws:s3:::bucket"], "detail": {}});
        let records: Vec<Value> = [good, stranger, traversal, other_service]
            .iter()
            .map(|e| json!({"body": e.to_string()}))
            .chain([json!({"body": "not json"}), json!({"nobody": 1})])
            .collect();
        let b = route_batch(&json!({"Records": records}), &allowed(), Some(&hub()));
        assert_eq!(b.scope.apis.len(), 1);
        assert_eq!(b.refused.len(), 1);
        assert_eq!(b.dropped.len(), 4, "{:?}", b.dropped);
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
        assert!(target_wake(&event, &ours(), Some(&hub())).is_err());
    }
}
