//! Writes only, in plan order: records widened, deployment-owed marker, resources created
//! (parents first), methods and integrations put, methods and resources deleted (children
//! first), one deployment, marker cleared, records narrowed, URLs published. Then a re-read.

use std::collections::BTreeMap;

use aws_sdk_apigateway::error::ProvideErrorMetadata;
use aws_sdk_apigateway::types::{ConnectionType, IntegrationType};

use super::diff::Plan;
use super::observe::resources;
use super::{paths, Integration, Observed};
use crate::clients::App;
use crate::config::RouteSyncConfig;
use crate::error::{AwsResultExt, Error, Result};
use crate::registry;

const PARAMETER_DESCRIPTION: &str = "published by frontdoor";

/// Applies a plan.
pub async fn apply(app: &App<RouteSyncConfig>, observed: &Observed, plan: &Plan) -> Result<()> {
    let ssm = &app.clients.ssm;
    let prefix = &app.config.ssm_prefix;
    for (api, record) in &plan.records_before {
        registry::store(ssm, &registry::api_parameter(prefix, api), record).await?;
    }
    let owed = registry::deployment_owed_parameter(prefix);
    if plan.owe_deployment {
        registry::store(ssm, &owed, &Some(app.config.public_api_id.to_string())).await?;
    }

    let gw = &app.clients.apigateway;
    let api_id = app.config.public_api_id.as_str();
    let mut ids: BTreeMap<String, String> = observed
        .public
        .iter()
        .map(|r| (r.path.clone(), r.id.clone()))
        .collect();
    for path in &plan.creates {
        let (parent, part) = paths::split_last(path);
        let parent_id = ids
            .get(parent)
            .cloned()
            .ok_or_else(|| Error::Drift(format!("parent {parent} of {path} is missing")))?;
        let created = gw
            .create_resource()
            .rest_api_id(api_id)
            .parent_id(parent_id)
            .path_part(part)
            .send()
            .await;
        let id = match created {
            Ok(r) => r.id().unwrap_or_default().to_string(),
            // Another writer made it first: re-read and use theirs rather than fail.
            Err(e) if e.code() == Some("ConflictException") => resources(gw, api_id)
                .await?
                .into_iter()
                .find(|r| r.path() == Some(path.as_str()))
                .and_then(|r| r.id().map(str::to_string))
                .ok_or_else(|| Error::Drift(format!("{path} conflicted but cannot be found")))?,
            Err(e) => return Err(e).op("CreateResource"),
        };
        ids.insert(path.clone(), id);
    }

    let resource_id = |path: &str| {
        ids.get(path)
            .cloned()
            .ok_or_else(|| Error::Drift(format!("resource {path} is missing")))
    };
    for ((path, verb), integration) in &plan.put_methods {
        let mut put = gw
            .put_method()
            .rest_api_id(api_id)
            .resource_id(resource_id(path)?)
            .http_method(verb)
            .authorization_type("NONE");
        for p in paths::parameters(path) {
            put = put.request_parameters(format!("method.request.path.{p}"), true);
        }
        match put.send().await {
            // Already there: a retry of a call whose answer was lost, or another writer.
            // The integration put next makes it ours either way.
            Err(e) if e.code() == Some("ConflictException") => {}
            other => {
                other.op("PutMethod")?;
            }
        }
        put_integration(app, &resource_id(path)?, verb, integration).await?;
    }
    for ((path, verb), integration) in &plan.put_integrations {
        put_integration(app, &resource_id(path)?, verb, integration).await?;
    }
    // Already gone counts as done: a retry of a call whose answer was lost.
    for (path, verb) in &plan.delete_methods {
        let deleted = gw
            .delete_method()
            .rest_api_id(api_id)
            .resource_id(resource_id(path)?)
            .http_method(verb)
            .send()
            .await;
        match deleted {
            Err(e) if e.code() == Some("NotFoundException") => {}
            other => {
                other.op("DeleteMethod")?;
            }
        }
    }
    for path in &plan.delete_resources {
        let deleted = gw
            .delete_resource()
            .rest_api_id(api_id)
            .resource_id(resource_id(path)?)
            .send()
            .await;
        match deleted {
            Err(e) if e.code() == Some("NotFoundException") => {}
            other => {
                other.op("DeleteResource")?;
            }
        }
    }
    if plan.deploy {
        // CreateDeployment: 1 request per 5 s per account; one per reconcile at most.
        gw.create_deployment()
            .rest_api_id(api_id)
            .stage_name(&app.config.public_stage)
            .description("frontdoor route sync")
            .send()
            .await
            .op("CreateDeployment")?;
        if plan.owe_deployment || observed.deployment_owed {
            registry::delete(ssm, &owed).await?;
        }
    }

    for (api, record) in &plan.records_after {
        let name = registry::api_parameter(prefix, api);
        match record {
            Some(r) => registry::store(ssm, &name, r).await?,
            None => registry::delete(ssm, &name).await?,
        }
    }
    for (name, value) in &plan.parameters_put {
        registry::put(ssm, name, value.clone(), PARAMETER_DESCRIPTION).await?;
    }
    for name in &plan.parameters_delete {
        registry::delete(ssm, name).await?;
    }
    Ok(())
}

async fn put_integration(
    app: &App<RouteSyncConfig>,
    resource_id: &str,
    verb: &str,
    integration: &Integration,
) -> Result<()> {
    let mut put = app
        .clients
        .apigateway
        .put_integration()
        .rest_api_id(app.config.public_api_id.as_str())
        .resource_id(resource_id)
        .http_method(verb)
        .r#type(IntegrationType::from(integration.kind.as_str()))
        .integration_http_method(&integration.http_method)
        .uri(&integration.uri)
        .connection_type(ConnectionType::from(integration.connection_type.as_str()))
        .connection_id(&integration.connection_id);
    for (k, v) in &integration.request_parameters {
        put = put.request_parameters(k, v);
    }
    put.send().await.op("PutIntegration")?;
    Ok(())
}

/// Re-reads the public API after a plan that wrote to it: every route the plan wants is
/// there with its integration, and nothing it deleted remains.
pub async fn verify(app: &App<RouteSyncConfig>, plan: &Plan) -> Result<()> {
    if !plan.touches_public_api() {
        return Ok(());
    }
    let live = resources(&app.clients.apigateway, app.config.public_api_id.as_str()).await?;
    let mut problems = Vec::new();
    for ((path, verb), want) in &plan.routes_after {
        let found = live
            .iter()
            .find(|r| r.path() == Some(path.as_str()))
            .and_then(|r| r.resource_methods())
            .and_then(|m| m.get(verb));
        let Some(method) = found else {
            problems.push(format!("{verb} {path} missing"));
            continue;
        };
        let i = method.method_integration();
        if i.and_then(|i| i.uri()) != Some(want.uri.as_str())
            || i.and_then(|i| i.connection_id()) != Some(want.connection_id.as_str())
        {
            problems.push(format!("{verb} {path} has another integration"));
        }
    }
    for path in &plan.delete_resources {
        if live.iter().any(|r| r.path() == Some(path.as_str())) {
            problems.push(format!("{path} still exists"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Drift(format!(
            "public API after apply: {}",
            problems.join("; ")
        )))
    }
}
