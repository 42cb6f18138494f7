//! Pure. Is a private REST API's resource policy safe to expose through the front door?
//!
//! The front door calls the private API anonymously through the hub's interface VPC
//! endpoint. A policy is safe (DESIGN.md, "Restricted policy") when, judged with IAM's
//! semantics:
//!
//! 1. it is *restricted*: every `execute-api:Invoke` on this API that does not come through
//!    the hub endpoint is denied, whoever makes it; and
//! 2. it *admits* the front door: the anonymous invoke through the hub endpoint is allowed
//!    on every stage, method and path of this API, and no Deny can block it.
//!
//! Anything else is refused with a short reason the owning team can act on, naming the
//! statement by its `Sid`, or by its position (`#1` is the first) when it has none.
//!
//! The checker evaluates no single request: it answers for every request at once, so each
//! judgement is deliberately one-sided. When it cannot tell whether a statement applies, an
//! Allow is taken to possibly let anyone in, a Deny is taken to guard nothing, and a Deny is
//! taken to possibly block the front door. A safe policy can therefore be refused, but a
//! policy that lets another endpoint in is never accepted.

use std::collections::HashSet;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::ids::VpceId;

/// The API whose policy is judged, and the endpoint the front door calls it through.
pub struct Target<'a> {
    /// The hub's interface VPC endpoint.
    pub hub: &'a VpceId,
    /// The API's region, e.g. `us-east-1`.
    pub region: &'a str,
    /// The 12-digit account that owns the API.
    pub account: &'a str,
    /// The REST API id.
    pub api_id: &'a str,
}

/// `Ok` when the policy is restricted to the hub endpoint and admits the front door;
/// otherwise why not.
pub fn check(policy: Option<&str>, target: &Target) -> Result<(), String> {
    let text = policy
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .ok_or("the API has no resource policy")?;
    let statements = statements(&parse(text)?)?;
    let api = Api::new(target);

    // Only Allows that could grant invoke on this API matter; an Allow for another API or
    // another action cannot let anyone into this one.
    let grants: Vec<&Statement> = statements
        .iter()
        .filter(|s| s.effect == Effect::Allow && s.invokes() && s.may_touch(&api))
        .collect();
    let denies: Vec<&Statement> = statements
        .iter()
        .filter(|s| s.effect == Effect::Deny)
        .collect();

    // 1. Restricted: one guarding Deny shuts out every other endpoint, else each grant
    //    must shut them out itself.
    if !denies.iter().any(|d| api.guard_gap(d).is_none()) {
        if let Some((grant, gap)) = grants
            .iter()
            .find_map(|g| api.binding_gap(g).map(|gap| (g, gap)))
        {
            let notes: Vec<String> = denies
                .iter()
                .filter(|d| d.conditions.iter().any(Cond::on_source_vpce))
                .filter_map(|d| api.guard_gap(d).map(|why| format!("{} {why}", d.label)))
                .collect();
            let notes = if notes.is_empty() {
                String::new()
            } else {
                format!(" ({})", notes.join("; "))
            };
            return Err(format!(
                "the resource policy is not restricted to the hub endpoint: {} allows \
                 execute-api:Invoke on this API but {gap}, and no Deny guards it{notes}",
                grant.label
            ));
        }
    }

    // 2. Admits the front door: one grant must cover it everywhere, for certain.
    if !grants.iter().any(|g| api.admit_gap(g).is_none()) {
        let why = if grants.is_empty() {
            "no Allow grants execute-api:Invoke on this API".to_string()
        } else {
            grants
                .iter()
                .filter_map(|g| api.admit_gap(g).map(|gap| format!("{} {gap}", g.label)))
                .collect::<Vec<_>>()
                .join("; ")
        };
        return Err(format!(
            "the resource policy does not admit the hub endpoint: {why}"
        ));
    }
    // ... and no Deny may take that back.
    if let Some((deny, why)) = denies
        .iter()
        .find_map(|d| api.hub_block(d).map(|why| (d, why)))
    {
        return Err(format!(
            "the resource policy denies the hub endpoint: {} {why}",
            deny.label
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Parsing: what AWS returns, into statements. Malformed or ambiguous input is refused, not
// guessed at: a policy the checker misreads is a policy it cannot vouch for.
// ---------------------------------------------------------------------------------------

/// A JSON value that keeps every object entry in order, duplicates included. serde_json's
/// `Value` keeps only the last of two equal keys, which would hide a second `Condition`.
enum Json {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Number(v.to_string()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Number(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
        Ok(Json::Number(v.to_string()))
    }
    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry::<String, Json>()? {
            entries.push(entry);
        }
        Ok(Json::Object(entries))
    }
}

/// AWS returns the policy as the *contents* of a JSON string: `{\"Version\":...}`, with
/// `\"`, `\/` and, when it was saved pretty-printed, `\n`. Decoding those contents as a JSON
/// string undoes every escape exactly; replacing a few escapes by hand does not (`\n`
/// between tokens is then left as a stray backslash). Plain JSON, and a JSON string holding
/// the policy, are accepted too.
fn parse(text: &str) -> Result<Json, String> {
    let invalid = |e: serde_json::Error| format!("the resource policy is not valid JSON: {e}");
    match serde_json::from_str::<Json>(text) {
        Ok(Json::String(inner)) => serde_json::from_str(&inner).map_err(invalid),
        Ok(doc) => Ok(doc),
        Err(plain) => match serde_json::from_str::<String>(&format!("\"{text}\"")) {
            Ok(inner) => serde_json::from_str(&inner).map_err(invalid),
            Err(_) => Err(invalid(plain)),
        },
    }
}

/// The first two keys of `entries` that IAM could take for the same element: equal, or
/// equal but for case (`Effect` and `effect`; condition keys are case-insensitive).
fn repeated_here(entries: &[(String, Json)]) -> Option<(&str, &str)> {
    entries.iter().enumerate().find_map(|(i, (a, _))| {
        entries
            .get(i + 1..)?
            .iter()
            .find(|(b, _)| a.eq_ignore_ascii_case(b))
            .map(|(b, _)| (a.as_str(), b.as_str()))
    })
}

/// [`repeated_here`] in any object within `json`.
fn repeated_key(json: &Json) -> Option<(&str, &str)> {
    match json {
        Json::Object(entries) => {
            repeated_here(entries).or_else(|| entries.iter().find_map(|(_, v)| repeated_key(v)))
        }
        Json::Array(items) => items.iter().find_map(repeated_key),
        _ => None,
    }
}

fn repeated_message(place: &str, (a, b): (&str, &str)) -> String {
    if a == b {
        format!("{place} has the key {a:?} twice; IAM would keep only one, so write it once")
    } else {
        format!("{place} has both {a:?} and {b:?}; IAM would keep only one, so write it once")
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

/// Who a statement is about.
enum Who {
    /// `"*"` or `{"AWS": "*"}`: everyone, the anonymous front door included.
    Everyone,
    /// Named principals. `wildcard` when some value has `*` or `?`, which might reach the
    /// anonymous caller, so a Deny with it is taken to possibly block the front door.
    Named { wildcard: bool },
    /// `NotPrincipal`: everyone but some.
    AllBut,
}

/// `Action`/`NotAction` or `Resource`/`NotResource`: patterns, and whether they are negated.
struct Element {
    negated: bool,
    patterns: Vec<String>,
}

/// One `operator: {key: values}` entry of a Condition; all of a statement's are ANDed.
struct Cond {
    op: String,
    key: String,
    values: Vec<String>,
}

impl Cond {
    fn on_source_vpce(&self) -> bool {
        self.key.eq_ignore_ascii_case("aws:SourceVpce")
    }

    /// Whether this holds for the front door's requests, whose `aws:SourceVpce` is the hub,
    /// when that can be known. Operator names are case-sensitive in IAM, and only the two
    /// plain string operators are judged: the `IfExists` forms and anything else are
    /// unknown.
    fn holds_for_hub(&self, hub: &str) -> Option<bool> {
        if !self.on_source_vpce() {
            return None;
        }
        let named = self.values.iter().any(|v| v == hub);
        match self.op.as_str() {
            "StringEquals" => Some(named),
            "StringNotEquals" => Some(!named),
            _ => None,
        }
    }

    /// Names nothing but the hub (string values compare case-sensitively).
    fn only_hub(&self, hub: &str) -> bool {
        self.values.iter().all(|v| v == hub)
    }
}

struct Statement {
    /// `statement "Sid"` or `statement #n`, for messages.
    label: String,
    effect: Effect,
    who: Who,
    action: Element,
    resource: Element,
    conditions: Vec<Cond>,
}

const INVOKE: &str = "execute-api:Invoke";

impl Statement {
    /// Applies to `execute-api:Invoke`; exact, as there is only one action to match.
    fn invokes(&self) -> bool {
        let listed = self.action.patterns.iter().any(|p| glob(p, INVOKE, true));
        listed != self.action.negated
    }

    /// Might apply to some request resource of this API.
    fn may_touch(&self, api: &Api) -> bool {
        let r = &self.resource;
        if r.negated {
            !r.patterns.iter().any(|p| api.covers(p))
        } else {
            r.patterns.iter().any(|p| api.may_match(p))
        }
    }

    /// Certainly applies to every request resource of this API.
    fn covers(&self, api: &Api) -> bool {
        let r = &self.resource;
        if r.negated {
            !r.patterns.iter().any(|p| api.may_match(p))
        } else {
            r.patterns.iter().any(|p| api.covers(p))
        }
    }
}

const ELEMENTS: [&str; 9] = [
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

fn statements(doc: &Json) -> Result<Vec<Statement>, String> {
    let Json::Object(top) = doc else {
        return Err("the resource policy is not a JSON object".into());
    };
    if let Some((key, _)) = top
        .iter()
        .find(|(k, _)| !["Version", "Id", "Statement"].contains(&k.as_str()))
    {
        return Err(format!(
            "the resource policy has an unknown element {key:?} (element names are case-sensitive)"
        ));
    }
    // Statements are checked one by one below, so that the message can name them.
    if let Some(pair) = repeated_here(top) {
        return Err(repeated_message("the resource policy", pair));
    }
    let items: Vec<&Json> = match doc.get("Statement") {
        Some(Json::Array(items)) if !items.is_empty() => items.iter().collect(),
        Some(one @ Json::Object(_)) => vec![one],
        _ => return Err("the resource policy has no Statement".into()),
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, s)| statement(i + 1, s))
        .collect()
}

fn statement(number: usize, json: &Json) -> Result<Statement, String> {
    let label = match json.get("Sid") {
        Some(Json::String(sid)) if !sid.is_empty() => format!("statement {sid:?}"),
        _ => format!("statement #{number}"),
    };
    let Json::Object(entries) = json else {
        return Err(format!("{label} is not an object"));
    };
    if let Some(pair) = repeated_key(json) {
        return Err(repeated_message(&label, pair));
    }
    if let Some((key, _)) = entries
        .iter()
        .find(|(k, _)| !ELEMENTS.contains(&k.as_str()))
    {
        return Err(format!(
            "{label} has an unknown element {key:?} (element names are case-sensitive)"
        ));
    }
    let effect = match json.get("Effect") {
        Some(Json::String(e)) if e == "Allow" => Effect::Allow,
        Some(Json::String(e)) if e == "Deny" => Effect::Deny,
        Some(_) => {
            return Err(format!(
                "{label} has an Effect other than \"Allow\" or \"Deny\""
            ))
        }
        None => return Err(format!("{label} has no Effect")),
    };
    let who = match pick(json, &label, "Principal", "NotPrincipal")? {
        (false, p) => principal(p).ok_or_else(|| {
            format!("{label} has a Principal that is neither \"*\" nor {{\"AWS\": ...}}-shaped")
        })?,
        (true, p) => {
            principal(p).ok_or_else(|| format!("{label} has a malformed NotPrincipal"))?;
            Who::AllBut
        }
    };
    let element = |plain: &str, not: &str| -> Result<Element, String> {
        let (negated, value) = pick(json, &label, plain, not)?;
        let patterns = strings(value).ok_or_else(|| {
            let name = if negated { not } else { plain };
            format!("{label} has a {name} that is not a string or a list of strings")
        })?;
        Ok(Element { negated, patterns })
    };
    let action = element("Action", "NotAction")?;
    let resource = element("Resource", "NotResource")?;
    let conditions = match json.get("Condition") {
        None => Vec::new(),
        Some(block) => conditions(block).ok_or_else(|| {
            format!("{label} has a Condition that is not {{operator: {{key: value}}}}")
        })?,
    };
    Ok(Statement {
        label,
        effect,
        who,
        action,
        resource,
        conditions,
    })
}

/// Exactly one of `plain` and `not`: whether it is the negated one, and its value.
fn pick<'j>(
    json: &'j Json,
    label: &str,
    plain: &str,
    not: &str,
) -> Result<(bool, &'j Json), String> {
    match (json.get(plain), json.get(not)) {
        (Some(v), None) => Ok((false, v)),
        (None, Some(v)) => Ok((true, v)),
        (Some(_), Some(_)) => Err(format!("{label} has both {plain} and {not}")),
        (None, None) => Err(format!("{label} has no {plain}")),
    }
}

/// A string or a list of strings.
fn strings(json: &Json) -> Option<Vec<String>> {
    match json {
        Json::String(s) => Some(vec![s.clone()]),
        Json::Array(items) => items
            .iter()
            .map(|i| match i {
                Json::String(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// A condition value: a scalar or a list of scalars, each as the string IAM compares.
fn condition_values(json: &Json) -> Option<Vec<String>> {
    let scalar = |j: &Json| match j {
        Json::String(s) | Json::Number(s) => Some(s.clone()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    match json {
        Json::Array(items) => items.iter().map(scalar).collect(),
        other => scalar(other).map(|s| vec![s]),
    }
}

fn principal(json: &Json) -> Option<Who> {
    match json {
        Json::String(s) if s == "*" => Some(Who::Everyone),
        Json::Object(kinds) => {
            let mut everyone = false;
            let mut wildcard = false;
            for (kind, value) in kinds {
                let names = strings(value)?;
                everyone |= kind == "AWS" && names.iter().any(|n| n == "*");
                wildcard |= names.iter().any(|n| n.contains(['*', '?']));
            }
            Some(if everyone {
                Who::Everyone
            } else {
                Who::Named { wildcard }
            })
        }
        _ => None,
    }
}

fn conditions(json: &Json) -> Option<Vec<Cond>> {
    let Json::Object(operators) = json else {
        return None;
    };
    let mut out = Vec::new();
    for (op, block) in operators {
        let Json::Object(keys) = block else {
            return None;
        };
        if keys.is_empty() {
            // An operator with no key: nothing IAM documents. Kept as a condition that is
            // understood by nobody, so it counts against guarding and admitting alike.
            out.push(Cond {
                op: op.clone(),
                key: String::new(),
                values: Vec::new(),
            });
        }
        for (key, value) in keys {
            out.push(Cond {
                op: op.clone(),
                key: key.clone(),
                values: condition_values(value)?,
            });
        }
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------
// Judging statements against this API and the hub.
// ---------------------------------------------------------------------------------------

/// The API under judgement: its ARN's fixed parts and the hub endpoint.
struct Api<'t> {
    hub: &'t str,
    /// `arn`, partition, `execute-api`, region, account.
    segments: [String; 5],
    api_id: &'t str,
}

impl<'t> Api<'t> {
    fn new(target: &Target<'t>) -> Self {
        // The target names no partition; the region implies it.
        let partition = if target.region.starts_with("cn-") {
            "aws-cn"
        } else if target.region.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        };
        Api {
            hub: target.hub.as_str(),
            segments: [
                "arn".into(),
                partition.into(),
                "execute-api".into(),
                target.region.into(),
                target.account.into(),
            ],
            api_id: target.api_id,
        }
    }

    /// `arn:aws:execute-api:{region}:{account}:{api_id}/`: what every request resource of
    /// this API starts with.
    fn arn_prefix(&self) -> String {
        format!("{}:{}/", self.segments.join(":"), self.api_id)
    }

    /// `{api_id}/`: the same, from the ARN's resource segment on.
    fn id_prefix(&self) -> String {
        format!("{}/", self.api_id)
    }

    /// May `pattern` match some request resource of this API? Errs towards yes: it is
    /// asked of Allows (could this one let someone in?) and of NotResource (could it spare
    /// part of this API?). So the ARN is matched as one string, where IAM matches segment
    /// by segment, and ignoring case throughout, where IAM ignores it only in the service.
    fn may_match(&self, pattern: &str) -> bool {
        match relative(pattern) {
            Some(Some(path)) => some_request_matches(
                &format!("{}{path}", self.api_id).to_ascii_lowercase(),
                &self.id_prefix().to_ascii_lowercase(),
            ),
            // `execute-api:` with something API Gateway may expand in ways we do not know.
            Some(None) => true,
            None => some_request_matches(
                &pattern.to_ascii_lowercase(),
                &self.arn_prefix().to_ascii_lowercase(),
            ),
        }
    }

    /// Does `pattern` certainly match every request resource of this API? Errs towards no:
    /// it is asked of guarding Denies and admitting Allows. Accepted: `*`; `execute-api:/…`
    /// (API Gateway's shorthand for this API); and ARNs whose arn, partition, region and
    /// account segments each match on their own, whose service is `execute-api`, and whose
    /// resource segment matches every `{api_id}/{stage}/{verb}/{path}`, or which end early
    /// in a segment of only `*` (IAM lets a trailing `*` run past the colons).
    fn covers(&self, pattern: &str) -> bool {
        if !pattern.is_empty() && pattern.chars().all(|c| c == '*') {
            return true;
        }
        match relative(pattern) {
            Some(Some(path)) => {
                every_request_matches(&format!("{}{path}", self.api_id), &self.id_prefix())
            }
            Some(None) => false,
            None => {
                let parts: Vec<&str> = pattern.splitn(6, ':').collect();
                let Some((last, leading)) = parts.split_last() else {
                    return false;
                };
                // Up to the service at least, so that it is `execute-api` for certain.
                if leading.len() < 3 {
                    return false;
                }
                let leading_ok =
                    leading
                        .iter()
                        .zip(&self.segments)
                        .enumerate()
                        .all(|(i, (part, segment))| match i {
                            2 => part.eq_ignore_ascii_case(segment),
                            _ => glob(part, segment, false),
                        });
                leading_ok
                    && if leading.len() == 5 {
                        every_request_matches(last, &self.id_prefix())
                    } else {
                        !last.is_empty() && last.chars().all(|c| c == '*')
                    }
            }
        }
    }

    /// Why the Deny `d` does not guard, if it does not. A guard denies every invoke of this
    /// API to everyone unless it comes through the hub endpoint: Principal `*`, Action
    /// covering invoke, Resource covering the whole API, and as its only condition
    /// `StringNotEquals aws:SourceVpce` naming only the hub. Anything ANDed to that lets
    /// through every request for which it is false, so the Deny then guards nothing. (A
    /// Deny with no condition at all guards too; it also blocks the front door, which
    /// `hub_block` reports.)
    fn guard_gap(&self, d: &Statement) -> Option<String> {
        match d.who {
            Who::AllBut => return Some("uses NotPrincipal, so it spares someone".into()),
            Who::Named { .. } => return Some("names principals instead of \"*\"".into()),
            Who::Everyone => {}
        }
        if !d.invokes() {
            return Some(format!("does not cover {INVOKE}"));
        }
        if !d.covers(self) {
            return Some(format!("does not cover all of {}*", self.arn_prefix()));
        }
        let is_guard_cond = |c: &Cond| c.op == "StringNotEquals" && c.on_source_vpce();
        match d.conditions.as_slice() {
            [] => None,
            [c] if is_guard_cond(c) => (!c.only_hub(self.hub)).then(|| {
                format!(
                    "exempts aws:SourceVpce {}, not only the hub {}",
                    c.values.join(", "),
                    self.hub
                )
            }),
            conds => Some(match conds.iter().find(|c| c.on_source_vpce()) {
                Some(c) if c.op != "StringNotEquals" => format!(
                    "uses {} on aws:SourceVpce; only StringNotEquals guards",
                    c.op
                ),
                Some(_) => match conds.iter().find(|c| !is_guard_cond(c)) {
                    Some(extra) => format!(
                        "also requires {} {}, so it guards nothing",
                        extra.op, extra.key
                    ),
                    None => {
                        "has a condition that is not only StringNotEquals aws:SourceVpce".into()
                    }
                },
                None => "has no StringNotEquals aws:SourceVpce condition".into(),
            }),
        }
    }

    /// Why the Allow `a` is not bound to the hub endpoint by its own condition, if it is
    /// not. `StringEquals aws:SourceVpce` naming only the hub is false for every other
    /// endpoint and for a missing key; other conditions ANDed to it only narrow it further.
    fn binding_gap(&self, a: &Statement) -> Option<String> {
        let on_vpce: Vec<&Cond> = a.conditions.iter().filter(|c| c.on_source_vpce()).collect();
        if on_vpce
            .iter()
            .any(|c| c.op == "StringEquals" && c.only_hub(self.hub))
        {
            return None;
        }
        Some(match on_vpce.first() {
            Some(c) if c.op == "StringEquals" => format!(
                "accepts aws:SourceVpce {}, not only the hub {}",
                c.values.join(", "),
                self.hub
            ),
            Some(c) => format!(
                "uses {} on aws:SourceVpce; only StringEquals binds an Allow",
                c.op
            ),
            None => format!("has no StringEquals aws:SourceVpce = {}", self.hub),
        })
    }

    /// Why the Allow `a` does not certainly grant the front door every invoke on this API,
    /// if it does not.
    fn admit_gap(&self, a: &Statement) -> Option<String> {
        if !matches!(a.who, Who::Everyone) {
            return Some(
                "names principals instead of \"*\" (the front door calls anonymously)".into(),
            );
        }
        if !a.covers(self) {
            return Some(format!("does not cover all of {}*", self.arn_prefix()));
        }
        a.conditions
            .iter()
            .find_map(|c| match c.holds_for_hub(self.hub) {
                Some(true) => None,
                Some(false) => Some(format!(
                    "has {} aws:SourceVpce {}, which leaves out the hub {}",
                    c.op,
                    c.values.join(", "),
                    self.hub
                )),
                None => Some(format!(
                    "has a condition ({} {}) the front door's requests may not meet",
                    c.op, c.key
                )),
            })
    }

    /// How the Deny `d` might block the front door's invoke on some part of this API, if
    /// it might: it can reach the anonymous caller, covers invoke and some of this API,
    /// and none of its conditions is known to be false for requests through the hub.
    fn hub_block(&self, d: &Statement) -> Option<String> {
        let anonymous = match d.who {
            Who::Everyone | Who::AllBut => true,
            Who::Named { wildcard } => wildcard,
        };
        if !(anonymous && d.invokes() && d.may_touch(self)) {
            return None;
        }
        let conds = &d.conditions;
        if conds
            .iter()
            .any(|c| c.holds_for_hub(self.hub) == Some(false))
        {
            return None;
        }
        Some(
            match conds.iter().find(|c| c.holds_for_hub(self.hub).is_none()) {
                Some(c) => format!(
                "may deny the front door's {INVOKE}: its condition {} {} can hold for requests \
                 through the hub",
                c.op, c.key
            ),
                None => format!("denies the front door's {INVOKE} on (part of) this API"),
            },
        )
    }
}

/// `execute-api:/…` (the service prefix in any case): API Gateway's shorthand for this
/// API, `Some(Some("/…"))`; other `execute-api:` text, `Some(None)`; anything else, `None`.
fn relative(pattern: &str) -> Option<Option<&str>> {
    const PREFIX: &str = "execute-api:";
    let head = pattern.get(..PREFIX.len())?;
    if !head.eq_ignore_ascii_case(PREFIX) {
        return None;
    }
    let rest = pattern.get(PREFIX.len()..)?;
    Some(rest.starts_with('/').then_some(rest))
}

// ---------------------------------------------------------------------------------------
// Wildcards. IAM's `*` matches any run of characters (none included) and `?` exactly one.
// ---------------------------------------------------------------------------------------

/// Does `pattern` match all of `text`?
fn glob(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let same = |a: char, b: char| a == b || (ignore_case && a.eq_ignore_ascii_case(&b));
    let (mut pi, mut ti) = (0, 0);
    // The last `*` seen and where in the text it started matching, to backtrack to.
    let mut star: Option<(usize, usize)> = None;
    while let Some(&tc) = t.get(ti) {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&pc) if pc == '?' || same(pc, tc) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    star = Some((sp, st + 1));
                    pi = sp + 1;
                    ti = st + 1;
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|&c| c == '*'))
}

// Resource patterns are matched against a set of request resources, not one string:
// every `{fixed}{stage}/{verb}/{path}`, stage and verb non-empty without `/`, path anything
// (empty for the root resource). That is more than API Gateway produces (it allows fewer
// characters), which keeps both questions on the safe side: "does every one match" is asked
// of more strings, and "does some one match" has more chances to say yes.
//
// Both questions are answered exactly for that set by running the pattern, as an automaton
// over positions in the pattern, alongside an automaton for the set. The alphabet is the
// characters of the pattern and the fixed part, `/`, and `None` for all other characters,
// which behave alike in both.

type Sym = Option<char>;

/// The automaton for the set of request resources.
struct Requests {
    fixed: Vec<char>,
}

impl Requests {
    fn accepting(&self) -> usize {
        self.fixed.len() + 4
    }

    /// States: positions in `fixed`, then (offsets past it) 0 stage empty, 1 in stage,
    /// 2 verb empty, 3 in verb, 4 in path. `None` when the string leaves the set.
    fn step(&self, state: usize, sym: Sym) -> Option<usize> {
        if let Some(&c) = self.fixed.get(state) {
            return (sym == Some(c)).then_some(state + 1);
        }
        let slash = sym == Some('/');
        match state - self.fixed.len() {
            0 | 2 => (!slash).then_some(state + 1),
            1 | 3 => Some(if slash { state + 1 } else { state }),
            _ => Some(state),
        }
    }
}

/// Where position `at` of a pattern goes on `sym` (a `*` stays, to take more).
fn glob_step(pattern: &[char], at: usize, sym: Sym) -> Option<usize> {
    match *pattern.get(at)? {
        '*' => Some(at),
        '?' => Some(at + 1),
        c => (sym == Some(c)).then_some(at + 1),
    }
}

/// Positions reachable from `positions` by letting `*`s match nothing; sorted.
fn skip_stars(pattern: &[char], positions: impl IntoIterator<Item = usize>) -> Vec<usize> {
    let mut out = Vec::new();
    for mut at in positions {
        out.push(at);
        while pattern.get(at) == Some(&'*') {
            at += 1;
            out.push(at);
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn alphabet(pattern: &[char], fixed: &[char]) -> Vec<Sym> {
    let mut chars: Vec<char> = pattern.iter().chain(fixed).copied().collect();
    chars.push('/');
    chars.sort_unstable();
    chars.dedup();
    chars.into_iter().map(Some).chain([None]).collect()
}

/// Does `pattern` match some `{fixed}{stage}/{verb}/{path}`?
fn some_request_matches(pattern: &str, fixed: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let requests = Requests {
        fixed: fixed.chars().collect(),
    };
    let syms = alphabet(&pattern, &requests.fixed);
    let mut seen = HashSet::new();
    let mut todo = vec![(0, 0)];
    while let Some((at, state)) = todo.pop() {
        if !seen.insert((at, state)) {
            continue;
        }
        if at == pattern.len() && state == requests.accepting() {
            return true;
        }
        if pattern.get(at) == Some(&'*') {
            todo.push((at + 1, state));
        }
        for &sym in &syms {
            if let (Some(a), Some(s)) = (glob_step(&pattern, at, sym), requests.step(state, sym)) {
                todo.push((a, s));
            }
        }
    }
    false
}

/// Does `pattern` match every `{fixed}{stage}/{verb}/{path}`? Searches for a request it
/// misses, tracking the set of pattern positions each prefix can reach.
fn every_request_matches(pattern: &str, fixed: &str) -> bool {
    // Past this many states, give up and say no, the safe answer. Glob patterns of policy
    // size stay far below it; only a contrived pattern gets near.
    const LIMIT: usize = 20_000;
    let pattern: Vec<char> = pattern.chars().collect();
    let requests = Requests {
        fixed: fixed.chars().collect(),
    };
    let syms = alphabet(&pattern, &requests.fixed);
    let mut seen = HashSet::new();
    let mut todo = vec![(skip_stars(&pattern, [0]), 0)];
    while let Some((positions, state)) = todo.pop() {
        if state == requests.accepting() && !positions.contains(&pattern.len()) {
            return false;
        }
        if seen.len() > LIMIT {
            return false;
        }
        if !seen.insert((positions.clone(), state)) {
            continue;
        }
        for &sym in &syms {
            if let Some(next) = requests.step(state, sym) {
                let moved = positions
                    .iter()
                    .filter_map(|&at| glob_step(&pattern, at, sym));
                todo.push((skip_stars(&pattern, moved), next));
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::sample::{select, Index};
    use proptest::test_runner::{RngSeed, TestRunner};
    use serde_json::{json, Map, Value};

    const HUB: &str = "vpce-0a1b2c3d4e5f60718";
    const OTHER: &str = "vpce-0ffffffffffffffff";
    const REGION: &str = "us-east-1";
    const ACCOUNT: &str = "222222222222";
    const API: &str = "abcdef0123";

    fn run(text: &str) -> Result<(), String> {
        let hub = VpceId::parse(HUB).unwrap();
        check(
            Some(text),
            &Target {
                hub: &hub,
                region: REGION,
                account: ACCOUNT,
                api_id: API,
            },
        )
    }

    fn check_json(doc: &Value) -> Result<(), String> {
        run(&doc.to_string())
    }

    #[track_caller]
    fn refused(doc: &Value, why: &str) -> String {
        let err = check_json(doc).expect_err("refused");
        assert!(err.contains(why), "{err:?} does not say {why:?}");
        err
    }

    fn arn(rest: &str) -> String {
        format!("arn:aws:execute-api:{REGION}:{ACCOUNT}:{API}/{rest}")
    }

    fn policy(statements: Vec<Value>) -> Value {
        json!({"Version": "2012-10-17", "Statement": statements})
    }

    fn allow(resource: &str) -> Value {
        json!({"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": resource})
    }

    /// The guarding Deny: everyone, invoke, `resource`, unless through the hub.
    fn guard(resource: &str) -> Value {
        json!({"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": resource,
               "Condition": {"StringNotEquals": {"aws:SourceVpce": HUB}}})
    }

    fn with(mut statement: Value, key: &str, value: Value) -> Value {
        statement[key] = value;
        statement
    }

    fn without(mut statement: Value, key: &str) -> Value {
        if let Some(map) = statement.as_object_mut() {
            map.remove(key);
        }
        statement
    }

    /// The seed's policy: Allow invoke, Deny unless through the hub endpoint.
    fn seed_policy() -> Value {
        policy(vec![allow("execute-api:/*"), guard("execute-api:/*")])
    }

    /// As AWS returns a policy: the contents of a JSON string.
    fn escaped(text: &str) -> String {
        let quoted = serde_json::to_string(text).unwrap();
        quoted[1..quoted.len() - 1].to_string()
    }

    // --- accepted ------------------------------------------------------------------------

    #[test]
    fn seed_policy_is_safe() {
        assert_eq!(check_json(&seed_policy()), Ok(()));
    }

    #[test]
    fn allow_bound_by_its_own_condition_is_safe() {
        let bound = with(
            allow(&arn("*")),
            "Condition",
            json!({"StringEquals": {"aws:sourceVpce": [HUB]}}),
        );
        assert_eq!(check_json(&policy(vec![bound.clone()])), Ok(()));
        // A single statement need not be in a list.
        assert_eq!(check_json(&json!({"Statement": bound})), Ok(()));
    }

    #[test]
    fn console_form_is_safe() {
        let doc = policy(vec![
            guard("execute-api:/*/*/*"),
            allow("execute-api:/*/*/*"),
        ]);
        assert_eq!(check_json(&doc), Ok(()));
    }

    #[test]
    fn pretty_printed_policy_as_aws_returns_it_is_safe() {
        let pretty = serde_json::to_string_pretty(&seed_policy()).unwrap();
        let aws = escaped(&pretty).replace('/', "\\/");
        assert!(aws.contains("\\n  ") && aws.contains("\\\"") && aws.contains("\\/"));
        assert_eq!(run(&aws), Ok(()));
        // And the same policy as a JSON string, quotes included.
        assert_eq!(run(&serde_json::to_string(&pretty).unwrap()), Ok(()));
    }

    #[test]
    fn full_arn_of_this_api_is_safe() {
        for (a, d) in [
            (arn("*"), arn("*")),
            (arn("*/*/*"), arn("*")),
            (
                "*".into(),
                format!("arn:aws:execute-api:{REGION}:{ACCOUNT}:*"),
            ),
            ("*".into(), "arn:aws:execute-api:*".into()),
        ] {
            assert_eq!(
                check_json(&policy(vec![allow(&a), guard(&d)])),
                Ok(()),
                "{a} {d}"
            );
        }
    }

    #[test]
    fn wildcard_and_negated_actions_guarded_are_safe() {
        for action in [
            json!({"Action": "execute-api:invoke"}),
            json!({"Action": "*"}),
            json!({"Action": ["execute-api:ManageConnections", "execute-api:Inv*"]}),
            json!({"NotAction": "execute-api:ManageConnections"}),
        ] {
            let key = action.as_object().unwrap().keys().next().unwrap().clone();
            let deny = with(without(guard("*"), "Action"), &key, action[&key].clone());
            let grant = with(without(allow("*"), "Action"), &key, action[&key].clone());
            assert_eq!(check_json(&policy(vec![grant, deny])), Ok(()), "{action}");
        }
    }

    #[test]
    fn allows_for_other_apis_and_actions_are_irrelevant() {
        let mut doc = seed_policy();
        let others = [
            json!({"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke",
                   "Resource": "arn:aws:execute-api:us-east-1:222222222222:zyxwvu9876/*"}),
            json!({"Effect": "Allow", "Principal": "*", "Action": "execute-api:ManageConnections",
                   "Resource": "*"}),
        ];
        for other in others {
            doc["Statement"].as_array_mut().unwrap().push(other);
        }
        assert_eq!(check_json(&doc), Ok(()));
    }

    #[test]
    fn bound_allow_with_a_narrowing_condition_is_restricted() {
        // Restricted (the extra key only narrows it) but it cannot vouch for the front
        // door; an unconditional Allow under a guard can.
        let narrowed = with(
            allow("*"),
            "Condition",
            json!({"StringEquals": {"aws:SourceVpce": HUB, "aws:SourceVpc": "vpc-0123456789abcdef0"}}),
        );
        let err = refused(&policy(vec![narrowed.clone()]), "does not admit the hub");
        assert!(err.contains("aws:SourceVpc"), "{err}");
        let doc = policy(vec![narrowed, allow("*"), guard("*")]);
        assert_eq!(check_json(&doc), Ok(()));
    }

    // --- refused: the Deny does not guard ------------------------------------------------

    #[test]
    fn deny_with_an_extra_condition_guards_nothing() {
        for (extra, key) in [
            (
                json!({"StringNotEquals": {"aws:SourceVpce": HUB},
                       "DateGreaterThan": {"aws:CurrentTime": "2024-01-01T00:00:00Z"}}),
                "aws:CurrentTime",
            ),
            (
                json!({"StringNotEquals": {"aws:SourceVpce": HUB, "aws:SourceVpc": "vpc-0123456789abcdef0"}}),
                "aws:SourceVpc",
            ),
        ] {
            let deny = with(guard("*"), "Condition", extra);
            let err = refused(&policy(vec![allow("*"), deny]), "not restricted");
            assert!(err.contains("also requires") && err.contains(key), "{err}");
        }
    }

    #[test]
    fn deny_naming_one_principal_guards_nothing() {
        let deny = with(guard("*"), "Principal", json!({"AWS": "111122223333"}));
        refused(&policy(vec![allow("*"), deny]), "names principals");
    }

    #[test]
    fn deny_with_not_principal_guards_nothing() {
        let deny = with(
            without(guard("*"), "Principal"),
            "NotPrincipal",
            json!({"AWS": "111122223333"}),
        );
        refused(&policy(vec![allow("*"), deny]), "NotPrincipal");
    }

    #[test]
    fn deny_on_another_api_account_region_or_service_guards_nothing() {
        for resource in [
            "arn:aws:execute-api:us-east-1:222222222222:zyxwvu9876/*",
            "arn:aws:execute-api:us-east-1:333333333333:abcdef0123/*",
            "arn:aws:execute-api:eu-west-1:222222222222:abcdef0123/*",
            "arn:aws:lambda:us-east-1:222222222222:function:abcdef0123/*",
            "arn:aws:execute-api:us-east-1:222222222222:abcdef0123/prd/*",
            "arn:aws:execute-api:us-east-1:222222222222:abcdef0123/*/*/*/*",
        ] {
            let err = refused(&policy(vec![allow("*"), guard(resource)]), "not restricted");
            assert!(err.contains("does not cover all of"), "{err}");
        }
    }

    #[test]
    fn deny_with_not_resource_guards_only_if_it_spares_nothing_of_this_api() {
        let spares = |resource: &str| {
            with(
                without(guard("*"), "Resource"),
                "NotResource",
                json!(resource),
            )
        };
        let other = "arn:aws:execute-api:us-east-1:222222222222:zyxwvu9876/*";
        assert_eq!(check_json(&policy(vec![allow("*"), spares(other)])), Ok(()));
        refused(
            &policy(vec![allow("*"), spares("execute-api:/prd/GET/health")]),
            "does not cover all of",
        );
    }

    #[test]
    fn deny_exempting_another_endpoint_too_guards_nothing() {
        let deny = with(
            guard("*"),
            "Condition",
            json!({"StringNotEquals": {"aws:SourceVpce": [HUB, OTHER]}}),
        );
        let err = refused(&policy(vec![allow("*"), deny]), "not restricted");
        assert!(err.contains(OTHER), "{err}");
    }

    #[test]
    fn deny_with_if_exists_guards_nothing() {
        let deny = with(
            guard("*"),
            "Condition",
            json!({"StringNotEqualsIfExists": {"aws:SourceVpce": HUB}}),
        );
        let err = refused(&policy(vec![allow("*"), deny]), "not restricted");
        assert!(err.contains("StringNotEqualsIfExists"), "{err}");
    }

    // --- refused: the Allow is not bound -------------------------------------------------

    #[test]
    fn unguarded_allow_with_wildcard_or_negated_action_is_unrestricted() {
        for action in [
            json!({"Action": "execute-api:Inv*"}),
            json!({"Action": "execute-api:I?voke"}),
            json!({"Action": "execute-api:*"}),
            json!({"Action": "*"}),
            json!({"NotAction": "execute-api:ManageConnections"}),
        ] {
            let key = action.as_object().unwrap().keys().next().unwrap().clone();
            let grant = with(without(allow("*"), "Action"), &key, action[&key].clone());
            refused(&policy(vec![grant]), "not restricted to the hub endpoint");
        }
    }

    #[test]
    fn allow_bound_to_another_endpoint_is_unrestricted() {
        let grant = with(
            allow("*"),
            "Condition",
            json!({"StringEquals": {"aws:SourceVpce": OTHER}}),
        );
        let err = refused(&policy(vec![grant]), "not restricted");
        assert!(err.contains(OTHER), "{err}");
        // The seed's shape for another endpoint: neither statement binds to the hub.
        let doc = policy(vec![
            allow("execute-api:/*"),
            with(
                guard("execute-api:/*"),
                "Condition",
                json!({"StringNotEquals": {"aws:SourceVpce": OTHER}}),
            ),
        ]);
        refused(&doc, "not restricted");
    }

    #[test]
    fn allow_with_if_exists_or_source_vpc_is_unrestricted() {
        for condition in [
            json!({"StringEqualsIfExists": {"aws:SourceVpce": HUB}}),
            json!({"StringEquals": {"aws:SourceVpc": "vpc-0123456789abcdef0"}}),
        ] {
            refused(
                &policy(vec![with(allow("*"), "Condition", condition)]),
                "not restricted",
            );
        }
    }

    // --- refused: the front door is not admitted, or is denied ---------------------------

    #[test]
    fn allow_naming_an_account_does_not_admit() {
        let grant = with(allow("*"), "Principal", json!({"AWS": "111122223333"}));
        let err = refused(&policy(vec![grant, guard("*")]), "does not admit the hub");
        assert!(err.contains("anonymously"), "{err}");
    }

    #[test]
    fn allow_on_one_stage_does_not_admit_the_whole_api() {
        let doc = policy(vec![allow("execute-api:/prd/*"), guard("*")]);
        refused(&doc, "does not cover all of");
    }

    #[test]
    fn deny_only_policy_does_not_admit() {
        refused(
            &policy(vec![guard("*")]),
            "no Allow grants execute-api:Invoke",
        );
    }

    #[test]
    fn deny_that_reaches_the_front_door_is_refused() {
        let everyone = without(guard("*"), "Condition");
        let err = refused(
            &policy(vec![allow("*"), everyone]),
            "denies the hub endpoint",
        );
        assert!(err.contains("statement #2"), "{err}");
        let path = without(guard("execute-api:/prd/GET/admin"), "Condition");
        refused(
            &policy(vec![allow("*"), guard("*"), path]),
            "denies the hub endpoint",
        );
        let by_ip = with(
            guard("*"),
            "Condition",
            json!({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
        );
        let err = refused(
            &policy(vec![allow("*"), guard("*"), by_ip]),
            "denies the hub endpoint",
        );
        assert!(err.contains("aws:SourceIp"), "{err}");
    }

    // --- refused: the document ----------------------------------------------------------

    #[test]
    fn no_policy_is_refused() {
        let hub = VpceId::parse(HUB).unwrap();
        let target = Target {
            hub: &hub,
            region: REGION,
            account: ACCOUNT,
            api_id: API,
        };
        for policy in [None, Some(""), Some("  \n")] {
            assert_eq!(
                check(policy, &target),
                Err("the API has no resource policy".into())
            );
        }
    }

    #[test]
    fn not_json_is_refused() {
        for text in [
            "{not json",
            "{\\\"Version\\\":",
            "Allow everything",
            "[1, 2",
        ] {
            let err = run(text).unwrap_err();
            assert!(err.contains("not valid JSON"), "{text}: {err}");
        }
        assert!(run("[1, 2]").unwrap_err().contains("not a JSON object"));
        // Nesting past serde_json's limit is an error, not a stack overflow.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(run(&deep).unwrap_err().contains("not valid JSON"));
    }

    #[test]
    fn no_statement_is_refused() {
        for doc in [
            json!({"Version": "2012-10-17"}),
            json!({"Version": "2012-10-17", "Statement": []}),
            json!({"Version": "2012-10-17", "Statement": "Allow"}),
        ] {
            refused(&doc, "has no Statement");
        }
    }

    #[test]
    fn repeated_condition_is_refused() {
        // serde_json would keep the second, unconditional one: a Deny that looks like a
        // guard but denies everything (or, reversed, a guard that is not there).
        let text = format!(
            r#"{{"Statement": [
                {{"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "*"}},
                {{"Sid": "OnlyHub", "Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke",
                  "Resource": "*", "Condition": {{"StringNotEquals": {{"aws:SourceVpce": "{HUB}"}}}},
                  "Condition": {{}}}}]}}"#
        );
        let err = run(&text).unwrap_err();
        assert!(
            err.contains("statement \"OnlyHub\" has the key \"Condition\" twice"),
            "{err}"
        );
    }

    #[test]
    fn case_variant_keys_are_refused() {
        let text = format!(
            r#"{{"Statement": {{"Effect": "Allow", "effect": "Deny", "Principal": "*",
                "Action": "execute-api:Invoke", "Resource": "*",
                "Condition": {{"StringEquals": {{"aws:SourceVpce": "{HUB}"}}}}}}}}"#
        );
        let err = run(&text).unwrap_err();
        assert!(err.contains("both \"Effect\" and \"effect\""), "{err}");
        // Condition keys are case-insensitive, so these are one key given twice.
        let text = format!(
            r#"{{"Statement": [{{"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke",
                "Resource": "*", "Condition": {{"StringEquals":
                {{"aws:SourceVpce": "{HUB}", "aws:sourcevpce": "{OTHER}"}}}}}}]}}"#
        );
        let err = run(&text).unwrap_err();
        assert!(err.contains("statement #1 has both"), "{err}");
    }

    #[test]
    fn misspelt_elements_are_refused() {
        let lower = with(without(guard("*"), "Condition"), "condition", json!({}));
        refused(
            &policy(vec![allow("*"), lower]),
            "unknown element \"condition\"",
        );
        let effect = with(allow("*"), "Effect", json!("allow"));
        refused(&policy(vec![effect]), "Effect other than");
        let both = with(
            allow("*"),
            "NotAction",
            json!("execute-api:ManageConnections"),
        );
        refused(&policy(vec![both]), "both Action and NotAction");
        refused(
            &policy(vec![without(allow("*"), "Principal")]),
            "no Principal",
        );
    }

    // --- the resource matcher ------------------------------------------------------------

    #[test]
    fn resource_patterns() {
        let hub = VpceId::parse(HUB).unwrap();
        let api = Api::new(&Target {
            hub: &hub,
            region: REGION,
            account: ACCOUNT,
            api_id: API,
        });
        // (pattern, covers the whole API, may match some of it)
        let table = [
            ("*", true, true),
            ("**", true, true),
            ("execute-api:/*", true, true),
            ("EXECUTE-API:/*", true, true),
            ("execute-api:/*/*/*", true, true),
            ("execute-api:/*/*", true, true),
            ("execute-api:/*/*/*/*", false, true),
            ("execute-api:/prd/*", false, true),
            ("execute-api:/*/GET/*", false, true),
            ("execute-api:/?*/*", true, true),
            ("execute-api:*", false, true),
            (
                "arn:aws:execute-api:us-east-1:222222222222:abcdef0123/*",
                true,
                true,
            ),
            (
                "arn:aws:execute-api:us-east-1:222222222222:abcdef0123*",
                true,
                true,
            ),
            (
                "arn:aws:Execute-API:us-east-1:222222222222:abcdef0123/*",
                true,
                true,
            ),
            (
                "arn:aws:execute-api:us-*-1:2222????????:abcdef0123/*",
                true,
                true,
            ),
            ("arn:aws:execute-api:*:*:*", true, true),
            ("arn:aws:execute-api:us-east-1:*", true, true),
            ("arn:aws:execute-api:*", true, true),
            ("arn:*", false, true),
            ("arn:aws:*:us-east-1:222222222222:abcdef0123/*", false, true),
            (
                "arn:aws:execute-api:us-east-1:222222222222:abcdef0123/prd/GET/",
                false,
                true,
            ),
            (
                "arn:aws:execute-api:us-east-1:222222222222:abcdef0123",
                false,
                false,
            ),
            (
                "arn:aws:execute-api:us-east-1:222222222222:zyxwvu9876/*",
                false,
                false,
            ),
            (
                "arn:aws:execute-api:us-east-1:333333333333:abcdef0123/*",
                false,
                false,
            ),
            (
                "arn:aws:execute-api:eu-west-1:222222222222:abcdef0123/*",
                false,
                false,
            ),
            (
                "arn:aws:lambda:us-east-1:222222222222:function:x",
                false,
                false,
            ),
            (
                "arn:aws:execute-api:us-east-1:222222222222:abcdef0123/*/*/*/*/*/*",
                false,
                true,
            ),
            ("", false, false),
        ];
        for (pattern, covers, may) in table {
            assert_eq!(api.covers(pattern), covers, "covers {pattern}");
            assert_eq!(api.may_match(pattern), may, "may_match {pattern}");
        }
    }

    #[test]
    fn action_wildcards() {
        for (pattern, hit) in [
            ("*", true),
            ("execute-api:*", true),
            ("EXECUTE-API:invoke", true),
            ("execute-api:Inv*", true),
            ("execute-api:I?voke", true),
            ("execute-api:*voke", true),
            ("execute-api:Invoke?", false),
            ("execute-api:Invoke*", true),
            ("execute-api:ManageConnections", false),
            ("execute-api", false),
            ("", false),
        ] {
            assert_eq!(glob(pattern, INVOKE, true), hit, "{pattern}");
        }
    }

    // --- properties ----------------------------------------------------------------------

    /// A small IAM evaluator, exact for what the generators below produce: explicit Deny
    /// wins, then any Allow, else the implicit deny.
    mod iam {
        use super::*;

        #[derive(Debug)]
        pub(super) struct Request {
            /// `None`: anonymous. Else the caller's account.
            pub principal: Option<&'static str>,
            pub vpce: Option<&'static str>,
            pub vpc: Option<&'static str>,
            pub time: &'static str,
            pub resource: String,
        }

        pub(super) fn allowed(policy: &Value, request: &Request) -> bool {
            let statements: Vec<&Value> = match &policy["Statement"] {
                Value::Array(items) => items.iter().collect(),
                one => vec![one],
            };
            let applies = |effect: &str| {
                statements
                    .iter()
                    .any(|s| s["Effect"] == effect && applies(s, request))
            };
            !applies("Deny") && applies("Allow")
        }

        fn list(value: &Value) -> Vec<&str> {
            match value {
                Value::String(s) => vec![s.as_str()],
                Value::Array(items) => items.iter().map(|i| i.as_str().unwrap()).collect(),
                other => panic!("generator made {other}"),
            }
        }

        /// The textbook recursive matcher: independent of the checker's.
        fn wildcard(pattern: &[u8], text: &[u8]) -> bool {
            match (pattern.first(), text.first()) {
                (None, _) => text.is_empty(),
                (Some(b'*'), _) => {
                    wildcard(&pattern[1..], text)
                        || (!text.is_empty() && wildcard(pattern, &text[1..]))
                }
                (Some(b'?'), Some(_)) => wildcard(&pattern[1..], &text[1..]),
                (Some(p), Some(t)) => p == t && wildcard(&pattern[1..], &text[1..]),
                (Some(_), None) => false,
            }
        }

        fn one_of(statement: &Value, plain: &str, not: &str, hit: impl Fn(&str) -> bool) -> bool {
            match statement.get(plain) {
                Some(v) => list(v).into_iter().any(hit),
                None => !list(&statement[not]).into_iter().any(hit),
            }
        }

        fn principal(value: &Value, request: &Request) -> bool {
            value == "*"
                || list(&value["AWS"])
                    .iter()
                    .any(|a| *a == "*" || Some(*a) == request.principal)
        }

        fn applies(s: &Value, request: &Request) -> bool {
            let who = match s.get("Principal") {
                Some(p) => principal(p, request),
                None => !principal(&s["NotPrincipal"], request),
            };
            let action = one_of(s, "Action", "NotAction", |a| {
                wildcard(a.to_ascii_lowercase().as_bytes(), b"execute-api:invoke")
            });
            let resource = one_of(s, "Resource", "NotResource", |r| {
                let full = match r.get(..13) {
                    Some(head) if head.eq_ignore_ascii_case("execute-api:/") => {
                        format!("arn:aws:execute-api:{REGION}:{ACCOUNT}:{API}{}", &r[12..])
                    }
                    _ => r.to_string(),
                };
                wildcard(full.as_bytes(), request.resource.as_bytes())
            });
            let conditions = match s.get("Condition") {
                None => true,
                Some(block) => block.as_object().unwrap().iter().all(|(op, keys)| {
                    keys.as_object()
                        .unwrap()
                        .iter()
                        .all(|(key, values)| condition(op, key, &list(values), request))
                }),
            };
            who && action && resource && conditions
        }

        fn condition(op: &str, key: &str, values: &[&str], request: &Request) -> bool {
            let present = match key.to_ascii_lowercase().as_str() {
                "aws:sourcevpce" => request.vpce,
                "aws:sourcevpc" => request.vpc,
                "aws:currenttime" => Some(request.time),
                other => panic!("generator made {other}"),
            };
            let (base, if_exists) = match op.strip_suffix("IfExists") {
                Some(base) => (base, true),
                None => (op, false),
            };
            match (present, base) {
                (None, _) if if_exists => true,
                (None, "StringEquals") => false,
                (None, "StringNotEquals") => true,
                (Some(v), "StringEquals") => values.contains(&v),
                (Some(v), "StringNotEquals") => !values.contains(&v),
                _ => panic!("generator made {op}"),
            }
        }
    }

    use iam::Request;

    const T1: &str = "2030-01-01T00:00:00Z";
    const T2: &str = "2031-01-01T00:00:00Z";

    /// Request resources of this API: two stages, several verbs, the root, nested paths.
    fn sampled_resources() -> Vec<String> {
        [
            "prd/GET/cats",
            "prd/POST/cats/1",
            "dev/GET/",
            "prd/DELETE/owners/7",
        ]
        .into_iter()
        .map(arn)
        .collect()
    }

    /// Everything that does not come through the hub: any caller, another or no endpoint.
    fn outsiders() -> Vec<Request> {
        let mut out = Vec::new();
        for principal in [None, Some("111122223333"), Some("444455556666")] {
            for vpce in [Some(OTHER), Some("vpce-0123456789abcdef0"), None] {
                for vpc in [Some("vpc-a"), Some("vpc-b"), None] {
                    for time in [T1, T2] {
                        for resource in sampled_resources() {
                            out.push(Request {
                                principal,
                                vpce,
                                vpc,
                                time,
                                resource,
                            });
                        }
                    }
                }
            }
        }
        out
    }

    /// The front door: anonymous, through the hub, from the hub's VPC (whichever it is).
    fn front_door() -> Vec<Request> {
        let mut out = Vec::new();
        for vpc in [Some("vpc-a"), Some("vpc-b")] {
            for time in [T1, T2] {
                for resource in sampled_resources() {
                    out.push(Request {
                        principal: None,
                        vpce: Some(HUB),
                        vpc,
                        time,
                        resource,
                    });
                }
            }
        }
        out
    }

    fn one_or_list(pool: &'static [&'static str]) -> BoxedStrategy<Value> {
        prop_oneof![
            3 => select(pool).prop_map(|s| json!(s)),
            1 => proptest::collection::vec(select(pool), 1..=2).prop_map(|v| json!(v)),
        ]
        .boxed()
    }

    /// (element name, value): the plain element more often than the negated one.
    fn element(
        plain: &'static str,
        not: &'static str,
        pool: &'static [&'static str],
    ) -> BoxedStrategy<(&'static str, Value)> {
        (
            prop_oneof![4 => Just(plain), 1 => Just(not)],
            one_or_list(pool),
        )
            .boxed()
    }

    const ACTIONS: &[&str] = &[
        "*",
        "execute-api:*",
        "execute-api:Invoke",
        "execute-api:invoke",
        "execute-api:Inv*",
        "execute-api:I?voke",
        "execute-api:Invoke?",
        "execute-api:*Connections",
        "execute-api:ManageConnections",
    ];

    const RESOURCES: &[&str] = &[
        "*",
        "execute-api:/*",
        "Execute-Api:/*",
        "execute-api:/*/*/*",
        "execute-api:/*/*/*/*",
        "execute-api:/prd/*",
        "execute-api:/*/GET/*",
        "execute-api:/prd/GET/cats",
        "arn:aws:execute-api:us-east-1:222222222222:abcdef0123/*",
        "arn:aws:execute-api:us-east-1:222222222222:abcdef0123/*/*/*",
        "arn:aws:execute-api:us-east-1:222222222222:abcdef0123/dev/*",
        "arn:aws:execute-api:us-east-1:222222222222:*",
        "arn:aws:execute-api:*",
        "arn:aws:execute-api:us-east-1:222222222222:zyxwvu9876/*",
        "arn:aws:execute-api:us-east-1:333333333333:abcdef0123/*",
        "arn:aws:execute-api:eu-west-1:222222222222:abcdef0123/*",
        "arn:aws:lambda:us-east-1:222222222222:function:abcdef0123",
    ];

    fn principal() -> BoxedStrategy<(&'static str, Value)> {
        select(vec![
            ("Principal", json!("*")),
            ("Principal", json!({"AWS": "*"})),
            ("Principal", json!({"AWS": "111122223333"})),
            ("Principal", json!({"AWS": ["111122223333", "*"]})),
            ("NotPrincipal", json!({"AWS": "111122223333"})),
        ])
        .boxed()
    }

    /// None, or one `aws:SourceVpce` test (any operator the evaluator knows, key in any
    /// case) with possibly another key ANDed, in the same operator block or another.
    fn condition() -> BoxedStrategy<Option<Value>> {
        let vpce = (
            select(vec![
                "StringEquals",
                "StringNotEquals",
                "StringEqualsIfExists",
                "StringNotEqualsIfExists",
            ]),
            select(vec!["aws:SourceVpce", "aws:sourcevpce", "AWS:SOURCEVPCE"]),
            select(vec![vec![HUB], vec![OTHER], vec![HUB, OTHER]]),
            any::<bool>(),
        );
        let extra = select(vec![
            ("StringEquals", "aws:SourceVpc", "vpc-a"),
            ("StringNotEquals", "aws:SourceVpc", "vpc-b"),
            ("StringEquals", "aws:CurrentTime", T1),
            ("StringNotEquals", "aws:CurrentTime", T2),
        ]);
        (
            proptest::option::weighted(0.8, vpce),
            proptest::option::weighted(0.3, extra),
        )
            .prop_map(|(vpce, extra)| {
                let mut block: Map<String, Value> = Map::new();
                let mut add = |op: &str, key: &str, value: Value| {
                    let keys = block.entry(op).or_insert_with(|| json!({}));
                    keys[key] = value;
                };
                if let Some((op, key, values, as_list)) = vpce {
                    let value = match values.as_slice() {
                        [one] if !as_list => json!(one),
                        many => json!(many),
                    };
                    add(op, key, value);
                }
                if let Some((op, key, value)) = extra {
                    add(op, key, json!(value));
                }
                (!block.is_empty()).then_some(Value::Object(block))
            })
            .boxed()
    }

    type Parts = (
        &'static str,
        (&'static str, Value),
        (&'static str, Value),
        (&'static str, Value),
        Option<Value>,
    );

    fn build((effect, who, action, resource, condition): Parts) -> Value {
        let mut s = json!({"Effect": effect});
        s[who.0] = who.1;
        s[action.0] = action.1;
        s[resource.0] = resource.1;
        if let Some(c) = condition {
            s["Condition"] = c;
        }
        s
    }

    fn statement() -> BoxedStrategy<Value> {
        (
            select(vec!["Allow", "Deny"]),
            principal(),
            element("Action", "NotAction", ACTIONS),
            element("Resource", "NotResource", RESOURCES),
            condition(),
        )
            .prop_map(build)
            .boxed()
    }

    /// The seed's Allow or Deny with each part kept, or (one time in four) replaced:
    /// near misses of a safe policy are where a checker goes wrong.
    fn near_seed(effect: &'static str) -> BoxedStrategy<Value> {
        let seed_condition =
            (effect == "Deny").then(|| json!({"StringNotEquals": {"aws:SourceVpce": HUB}}));
        (
            proptest::option::weighted(0.25, principal()),
            proptest::option::weighted(0.25, element("Action", "NotAction", ACTIONS)),
            proptest::option::weighted(0.25, element("Resource", "NotResource", RESOURCES)),
            proptest::option::weighted(0.25, condition()),
        )
            .prop_map(move |(who, action, resource, condition)| {
                build((
                    effect,
                    who.unwrap_or(("Principal", json!("*"))),
                    action.unwrap_or(("Action", json!("execute-api:Invoke"))),
                    resource.unwrap_or(("Resource", json!("execute-api:/*"))),
                    condition.unwrap_or(seed_condition.clone()),
                ))
            })
            .boxed()
    }

    fn policy_value() -> BoxedStrategy<Value> {
        let statements = prop_oneof![
            proptest::collection::vec(statement(), 1..=3),
            (
                near_seed("Allow"),
                near_seed("Deny"),
                proptest::option::of(statement())
            )
                .prop_map(|(a, d, extra)| {
                    let mut v = vec![a, d];
                    v.extend(extra);
                    v
                }),
        ];
        (statements, any::<bool>())
            .prop_map(|(statements, bare)| match statements.as_slice() {
                [one] if bare => json!({"Version": "2012-10-17", "Statement": one}),
                _ => policy(statements),
            })
            .boxed()
    }

    /// A generated policy and its text: plain JSON, or as AWS returns it (escaped,
    /// possibly pretty-printed with `\n` and with `\/`).
    fn policy_text() -> BoxedStrategy<(Value, String)> {
        (policy_value(), 0..3_u8)
            .prop_map(|(doc, form)| {
                let text = match form {
                    0 => doc.to_string(),
                    1 => escaped(&doc.to_string()),
                    _ => escaped(&serde_json::to_string_pretty(&doc).unwrap()).replace('/', "\\/"),
                };
                (doc, text)
            })
            .boxed()
    }

    fn config(cases: u32) -> ProptestConfig {
        ProptestConfig {
            cases,
            rng_seed: RngSeed::Fixed(0x5EED_F00D),
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    /// How many generated policies the checker accepts: the soundness properties say
    /// nothing about the ones it refuses, so enough must be accepted for them to bite.
    #[test]
    fn generator_yields_enough_accepted_policies() {
        let mut runner = TestRunner::new(config(1));
        let strategy = policy_text();
        let total = 2000;
        let mut accepted = 0;
        for _ in 0..total {
            let (_, text) = strategy.new_tree(&mut runner).unwrap().current();
            accepted += usize::from(run(&text).is_ok());
        }
        assert!(
            accepted * 10 >= total,
            "only {accepted} of {total} accepted"
        );
    }

    #[test]
    fn evaluator_agrees_with_the_seed_policy() {
        let doc = seed_policy();
        assert!(front_door().iter().all(|r| iam::allowed(&doc, r)));
        assert!(outsiders().iter().all(|r| !iam::allowed(&doc, r)));
    }

    proptest! {
        #![proptest_config(config(4096))]

        /// Accepted means: nothing but the hub gets in, and the front door gets in everywhere.
        #[test]
        fn accepted_policies_admit_only_and_all_of_the_front_door((doc, text) in policy_text()) {
            if run(&text).is_ok() {
                for request in outsiders() {
                    prop_assert!(!iam::allowed(&doc, &request), "{doc} lets in {request:?}");
                }
                for request in front_door() {
                    prop_assert!(iam::allowed(&doc, &request), "{doc} keeps out {request:?}");
                }
            }
        }
    }

    /// JSON-ish values: IAM's vocabulary as keys and values, nested a little.
    fn json_ish() -> BoxedStrategy<Value> {
        const WORDS: &[&str] = &[
            "Version",
            "Statement",
            "Effect",
            "effect",
            "Sid",
            "Principal",
            "NotPrincipal",
            "AWS",
            "Action",
            "NotAction",
            "Resource",
            "NotResource",
            "Condition",
            "StringEquals",
            "StringNotEquals",
            "aws:SourceVpce",
            "Allow",
            "Deny",
            "*",
            HUB,
            "execute-api:Invoke",
            "execute-api:/*",
            "execute-api:",
            "arn:aws:execute-api:*",
            "arn:aws:execute-api:us-east-1:222222222222:abcdef0123/*",
            "",
            "é/\u{1F600}:*?",
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<f64>().prop_map(|f| json!(f)),
            any::<i64>().prop_map(|i| json!(i)),
            select(WORDS).prop_map(|w| json!(w)),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::vec((select(WORDS), inner), 0..5).prop_map(|entries| {
                    Value::Object(
                        entries
                            .into_iter()
                            .map(|(k, v)| (k.to_string(), v))
                            .collect(),
                    )
                }),
            ]
        })
        .boxed()
    }

    proptest! {
        #![proptest_config(config(2048))]

        /// Whatever arrives, the answer is a verdict, never a panic.
        #[test]
        fn never_panics(text in prop_oneof![
            "[{}\\[\\]\",:\\\\/ a-zA-Z0-9*?-]{0,120}",
            "\\PC{0,80}",
            json_ish().prop_map(|v| v.to_string()),
            json_ish().prop_map(|v| escaped(&v.to_string())),
            (policy_text(), any::<Index>(), "\\PC{0,3}").prop_map(|((_, text), at, junk)| {
                let mut at = at.index(text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                format!("{}{junk}{}", &text[..at], &text[at..])
            }),
        ]) {
            if let Err(why) = run(&text) {
                prop_assert!(!why.is_empty());
            }
        }
    }
}
