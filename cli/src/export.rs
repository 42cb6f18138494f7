//! `frontdoor export`: one exposed API's contract, for the teams that consume it. The public
//! stage's OpenAPI 3 export (GetExport `oas30`: what the stage serves, not the working tree),
//! cut to the routes that API's registry record claims, on its public base URL (the custom
//! domain when set), with the hub's security schemes those routes carry.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};
use shared::error::AwsResultExt;
use shared::ids::ApiRef;
use shared::routes::desired::Context;
use shared::routes::{Observed, Record};
use shared::{urls, App, RouteSyncConfig};

/// Why an API cannot be exported.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// No exposed API publishes under the name.
    NotExposed(String),
    /// The stage's export could not be read.
    Aws(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NotExposed(why) => f.write_str(why),
            Refusal::Aws(why) => write!(f, "the public stage's export: {why}"),
        }
    }
}

/// The key of a verb in an OpenAPI path item (API Gateway exports `ANY` as its extension).
fn operation_key(verb: &str) -> String {
    if verb == "ANY" {
        "x-amazon-apigateway-any-method".into()
    } else {
        verb.to_ascii_lowercase()
    }
}

/// The exposed APIs by published name: a record with a name whose status is `exposed`.
pub(crate) fn exposed(observed: &Observed, config: &RouteSyncConfig) -> BTreeMap<String, ApiRef> {
    observed
        .records
        .iter()
        .filter_map(|(api, record)| {
            let name = record.name.clone()?;
            let [_, _, status] = urls::parameter_names(&config.ssm_prefix, &name);
            let status = observed.parameters.get(&status)?;
            status.starts_with("exposed").then(|| (name, api.clone()))
        })
        .collect()
}

/// The stage's OpenAPI 3 export.
pub(crate) async fn stage_export(app: &App<RouteSyncConfig>) -> Result<Value, Refusal> {
    let out = app
        .clients
        .apigateway
        .get_export()
        .rest_api_id(app.config.public_api_id.as_str())
        .stage_name(&app.config.public_stage)
        .export_type("oas30")
        .accepts("application/json")
        .send()
        .await
        .op("GetExport")
        .map_err(|e| Refusal::Aws(e.to_string()))?;
    let body = out.body().map(|b| b.as_ref()).unwrap_or_default();
    serde_json::from_slice(body).map_err(|e| Refusal::Aws(format!("not JSON: {e}")))
}

/// The document of `name`'s routes, cut from the stage's `export`. Pure.
pub(crate) fn contract(
    name: &str,
    observed: &Observed,
    config: &RouteSyncConfig,
    ctx: &Context,
    export: &Value,
) -> Result<Value, Refusal> {
    let exposed = exposed(observed, config);
    let Some(api) = exposed.get(name) else {
        let [_, _, status] = urls::parameter_names(&config.ssm_prefix, name);
        let why = match observed.parameters.get(&status) {
            Some(status) => format!("{name} is not exposed: its status is `{status}`"),
            None => format!("no exposed API publishes under the name {name}"),
        };
        return Err(Refusal::NotExposed(why));
    };
    let record: &Record = &observed.records[api];
    let paths = export.get("paths").and_then(Value::as_object);
    let mut kept = Map::new();
    let mut schemes_used: BTreeSet<String> = BTreeSet::new();
    for (path, verbs) in &record.claims {
        let Some(item) = paths.and_then(|p| p.get(path)).and_then(Value::as_object) else {
            continue; // claimed, but not served by the stage yet
        };
        let mut out = Map::new();
        for verb in verbs {
            let key = operation_key(verb);
            let Some(op) = item.get(&key) else { continue };
            let mut op = op.clone();
            for requirement in op
                .get("security")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(r) = requirement.as_object() {
                    schemes_used.extend(r.keys().cloned());
                }
            }
            // HTTP_PROXY passes the private API's answers through: say so where the stage
            // defines none (OpenAPI requires at least one response).
            let empty = op
                .get("responses")
                .and_then(Value::as_object)
                .is_none_or(Map::is_empty);
            if empty {
                op["responses"] = json!({"default": {
                    "description": "the private API's response, passed through"
                }});
            }
            with_path_parameters(&mut op, path);
            out.insert(key, op);
        }
        if !out.is_empty() {
            kept.insert(path.clone(), Value::Object(out));
        }
    }
    let schemes: Map<String, Value> = export
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object)
        .map(|all| {
            all.iter()
                .filter(|(k, _)| schemes_used.contains(*k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    let version = export
        .pointer("/info/version")
        .cloned()
        .unwrap_or_else(|| json!(""));
    Ok(json!({
        "openapi": export.get("openapi").cloned().unwrap_or_else(|| json!("3.0.1")),
        "info": {"title": name, "version": version, "x-frontdoor-owner": api.to_string()},
        "servers": [{"url": ctx.public_url(None)}],
        "paths": kept,
        "components": {"securitySchemes": schemes},
    }))
}

/// Declares each variable of `path` (`{id}`, `{proxy+}` as `proxy`) as a required path
/// parameter of `op` where the export does not: OpenAPI requires every one declared.
fn with_path_parameters(op: &mut Value, path: &str) {
    let declared: BTreeSet<String> = op
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|p| p.get("in") == Some(&json!("path")))
        .filter_map(|p| p.get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    let missing: Vec<Value> = shared::paths::parameters(path)
        .into_iter()
        .filter(|name| !declared.contains(name))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    if missing.is_empty() {
        return;
    }
    match op.get_mut("parameters").and_then(Value::as_array_mut) {
        Some(list) => list.extend(missing),
        None => op["parameters"] = Value::Array(missing),
    }
}

#[cfg(test)]
mod tests {
    use super::{operation_key, with_path_parameters};
    use serde_json::json;

    #[test]
    fn every_path_variable_is_declared_once() {
        let mut op = json!({"parameters": [{"name": "id", "in": "path", "required": true}]});
        with_path_parameters(&mut op, "/cats/{id}/toys/{proxy+}");
        let names: Vec<&str> = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["id", "proxy"]);
    }

    #[test]
    fn any_is_api_gateways_extension_and_verbs_are_lowercase() {
        assert_eq!(operation_key("ANY"), "x-amazon-apigateway-any-method");
        assert_eq!(operation_key("GET"), "get");
    }
}
