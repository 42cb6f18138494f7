//! Reads only: the public API's resources (methods embedded), the registry records, the
//! APIs in scope through each spoke's read-only role, and the published parameters. Reads
//! grow with the number of APIs in scope: one GetResources page per 500 public resources,
//! one registry page per 10 records, and per opted-in API three spoke calls (GetRestApi or
//! its share of GetRestApis, GetStages, GetResources).

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_apigateway::error::ProvideErrorMetadata;
use aws_sdk_apigateway::types::Resource;

use super::desired::{intent, Context, TAG_EXPOSE};
use super::{
    Integration, LiveMethod, Observed, PrivateApi, PrivateResource, PublicResource, Record, Scope,
};
use crate::clients::App;
use crate::config::RouteSyncConfig;
use crate::error::{AwsResultExt, Result};
use crate::ids::{AccountId, ApiId, ApiRef};
use crate::{registry, urls};

/// GetResources' largest page.
const PAGE: i32 = 500;
/// GetParameters takes at most 10 names.
const SSM_BATCH: usize = 10;

/// Observes everything [`super::diff`] needs for `scope`.
pub async fn observe(app: &App<RouteSyncConfig>, scope: &Scope) -> Result<Observed> {
    let config = &app.config;
    let public = resources(&app.clients.apigateway, config.public_api_id.as_str())
        .await
        .map(|all| all.into_iter().map(public_resource).collect::<Vec<_>>())?;
    let records = records(app).await?;
    let owed = registry::load::<Option<String>>(
        &app.clients.ssm,
        &registry::deployment_owed_parameter(&config.ssm_prefix),
    )
    .await?
    .is_some();

    let mut apis: BTreeMap<ApiRef, Option<PrivateApi>> = BTreeMap::new();
    if scope.sweep {
        for account in &config.allowed_accounts {
            for api in list_apis(app, account).await? {
                let known = records.contains_key(&api.api);
                if known || api.tags.contains_key(TAG_EXPOSE) {
                    apis.insert(api.api.clone(), Some(api));
                }
            }
        }
        for api in records.keys() {
            apis.entry(api.clone()).or_insert(None);
        }
    }
    for api in &scope.apis {
        if !apis.contains_key(api) {
            let found = get_api(app, api).await?;
            apis.insert(api.clone(), found);
        }
    }
    for found in apis.values_mut().flatten() {
        if found.tags.get(TAG_EXPOSE).map(|v| v.trim()) == Some("true") {
            fill_stages_and_resources(app, found).await?;
        }
    }

    let context = Context::from_app(app);
    let mut names: BTreeSet<String> = BTreeSet::new();
    for (api, found) in &apis {
        if let Some(name) = records.get(api).and_then(|r| r.name.clone()) {
            names.insert(name);
        }
        if let Some(name) = found.as_ref().and_then(|a| intent(a, &context).name) {
            names.insert(name);
        }
    }
    let parameters = published(app, &names).await?;
    Ok(Observed {
        public,
        records,
        apis,
        parameters,
        deployment_owed: owed,
    })
}

/// Every resource of an API, methods and integrations embedded.
pub(super) async fn resources(
    client: &aws_sdk_apigateway::Client,
    api_id: &str,
) -> Result<Vec<Resource>> {
    let mut out = Vec::new();
    let mut position: Option<String> = None;
    // Bounded: 300 resources is API Gateway's default quota; 100 pages is far beyond it.
    for _ in 0..100 {
        let page = client
            .get_resources()
            .rest_api_id(api_id)
            .embed("methods")
            .limit(PAGE)
            .set_position(position.clone())
            .send()
            .await
            .op("GetResources")?;
        out.extend(page.items().iter().cloned());
        position = page
            .position()
            .map(str::to_string)
            .filter(|p| !p.is_empty());
        if position.is_none() {
            break;
        }
    }
    Ok(out)
}

fn public_resource(r: Resource) -> PublicResource {
    let methods = r
        .resource_methods()
        .map(|m| {
            m.iter()
                .map(|(verb, method)| {
                    let integration = method.method_integration().map(|i| Integration {
                        kind: i
                            .r#type()
                            .map(|t| t.as_str().to_string())
                            .unwrap_or_default(),
                        http_method: i.http_method().unwrap_or_default().to_string(),
                        uri: i.uri().unwrap_or_default().to_string(),
                        connection_type: i
                            .connection_type()
                            .map(|t| t.as_str().to_string())
                            .unwrap_or_default(),
                        connection_id: i.connection_id().unwrap_or_default().to_string(),
                        request_parameters: i
                            .request_parameters()
                            .map(|p| p.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                            .unwrap_or_default(),
                    });
                    (verb.clone(), LiveMethod { integration })
                })
                .collect()
        })
        .unwrap_or_default();
    PublicResource {
        id: r.id().unwrap_or_default().to_string(),
        path: r.path().unwrap_or_default().to_string(),
        methods,
    }
}

async fn records(app: &App<RouteSyncConfig>) -> Result<BTreeMap<ApiRef, Record>> {
    let prefix = &app.config.ssm_prefix;
    let mut out = BTreeMap::new();
    let mut pages = app
        .clients
        .ssm
        .get_parameters_by_path()
        .path(registry::apis_folder(prefix).trim_end_matches('/'))
        .recursive(true)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for p in page.op("GetParametersByPath")?.parameters() {
            let (Some(name), Some(value)) = (p.name(), p.value()) else {
                continue;
            };
            // A parameter under the folder that is not a record was not written by frontdoor.
            let Some(api) = registry::api_of_parameter(prefix, name) else {
                continue;
            };
            out.insert(api, registry::decode::<Record>(name, value)?);
        }
    }
    Ok(out)
}

async fn list_apis(app: &App<RouteSyncConfig>, account: &AccountId) -> Result<Vec<PrivateApi>> {
    let client = app
        .clients
        .spokes
        .client(account, &app.config.spoke_role_name)
        .await;
    let mut out = Vec::new();
    let mut pages = client.get_rest_apis().limit(PAGE).into_paginator().send();
    while let Some(page) = pages.next().await {
        for api in page.op("GetRestApis")?.items() {
            if let Some(found) = private_api(account, api) {
                out.push(found);
            }
        }
    }
    Ok(out)
}

async fn get_api(app: &App<RouteSyncConfig>, api: &ApiRef) -> Result<Option<PrivateApi>> {
    let client = app
        .clients
        .spokes
        .client(&api.account, &app.config.spoke_role_name)
        .await;
    match client
        .get_rest_api()
        .rest_api_id(api.api.as_str())
        .send()
        .await
    {
        Ok(out) => Ok(private_api_from_parts(
            &api.account,
            out.id(),
            out.name(),
            out.tags(),
            out.endpoint_configuration().map(|e| e.types()),
            out.policy(),
        )),
        Err(e) if e.code() == Some("NotFoundException") => Ok(None),
        Err(e) => Err(e).op("GetRestApi"),
    }
}

fn private_api(
    account: &AccountId,
    api: &aws_sdk_apigateway::types::RestApi,
) -> Option<PrivateApi> {
    private_api_from_parts(
        account,
        api.id(),
        api.name(),
        api.tags(),
        api.endpoint_configuration().map(|e| e.types()),
        api.policy(),
    )
}

fn private_api_from_parts(
    account: &AccountId,
    id: Option<&str>,
    name: Option<&str>,
    tags: Option<&std::collections::HashMap<String, String>>,
    types: Option<&[aws_sdk_apigateway::types::EndpointType]>,
    policy: Option<&str>,
) -> Option<PrivateApi> {
    Some(PrivateApi {
        api: ApiRef {
            account: account.clone(),
            api: ApiId::parse(id?).ok()?,
        },
        name: name.unwrap_or_default().to_string(),
        tags: tags
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
        endpoint_types: types
            .unwrap_or_default()
            .iter()
            .map(|t| t.as_str().to_string())
            .collect(),
        policy: policy.map(str::to_string),
        stages: BTreeMap::new(),
        resources: Vec::new(),
    })
}

async fn fill_stages_and_resources(app: &App<RouteSyncConfig>, api: &mut PrivateApi) -> Result<()> {
    let client = app
        .clients
        .spokes
        .client(&api.api.account, &app.config.spoke_role_name)
        .await;
    let stages = client
        .get_stages()
        .rest_api_id(api.api.api.as_str())
        .send()
        .await
        .op("GetStages")?;
    api.stages = stages
        .item()
        .iter()
        .filter_map(|s| {
            Some((
                s.stage_name()?.to_string(),
                s.deployment_id().unwrap_or_default().to_string(),
            ))
        })
        .collect();
    api.resources = resources(&client, api.api.api.as_str())
        .await?
        .into_iter()
        .map(|r| PrivateResource {
            path: r.path().unwrap_or_default().to_string(),
            methods: r
                .resource_methods()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default(),
        })
        .collect();
    Ok(())
}

async fn published(
    app: &App<RouteSyncConfig>,
    names: &BTreeSet<String>,
) -> Result<BTreeMap<String, String>> {
    let all: Vec<String> = names
        .iter()
        .flat_map(|n| urls::parameter_names(&app.config.ssm_prefix, n))
        .collect();
    let mut out = BTreeMap::new();
    for chunk in all.chunks(SSM_BATCH) {
        let got = app
            .clients
            .ssm
            .get_parameters()
            .set_names(Some(chunk.to_vec()))
            .send()
            .await
            .op("GetParameters")?;
        for p in got.parameters() {
            if let (Some(n), Some(v)) = (p.name(), p.value()) {
                out.insert(n.to_string(), v.to_string());
            }
        }
    }
    Ok(out)
}
