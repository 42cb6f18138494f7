//! `frontdoor doctor`: checks a live deployment and says, one line each, ok or what to fix.
//! Reads only. Each check is independent: one that cannot run says why and the others
//! still run; the exit code is non-zero when any check fails.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;
use shared::error::AwsResultExt;
use shared::registry::Owned;
use shared::{targets, App, RouteSyncConfig, TargetSyncConfig};

/// One check's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Finding {
    /// What was checked.
    pub(crate) check: String,
    /// `ok`, `fail`, or `skip` (could not be checked with what was given).
    pub(crate) result: Verdict,
    /// What was seen, or what to fix.
    pub(crate) detail: String,
}

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Verdict {
    Ok,
    Fail,
    Skip,
}

/// What the doctor looks at beyond the functions' contract.
pub(crate) struct Extra<'a> {
    /// The hub event bus the spokes forward to (the stack's `HubEventBus`).
    pub(crate) hub_bus: Option<&'a str>,
    /// Why the cells' records could not be read, when they could not.
    pub(crate) records_unread: Option<&'a str>,
}

fn finding(check: impl Into<String>, result: Verdict, detail: impl Into<String>) -> Finding {
    Finding {
        check: check.into(),
        result,
        detail: detail.into(),
    }
}

fn verdict(check: impl Into<String>, outcome: Result<String, String>) -> Finding {
    match outcome {
        Ok(seen) => finding(check, Verdict::Ok, seen),
        Err(fix) => finding(check, Verdict::Fail, fix),
    }
}

/// Runs every check.
pub(crate) async fn examine(
    targets_app: &App<TargetSyncConfig>,
    routes_app: &App<RouteSyncConfig>,
    sdk: &aws_config::SdkConfig,
    extra: &Extra<'_>,
) -> Vec<Finding> {
    let mut out = vec![verdict(
        "trail",
        trail(sdk, &routes_app.clients.region).await,
    )];
    out.push(match extra.hub_bus {
        Some(bus) => verdict("hub bus policy", hub_bus(sdk, bus, routes_app).await),
        None => finding(
            "hub bus policy",
            Verdict::Skip,
            "give --hub-bus (the stack's HubEventBus name) to check it",
        ),
    });
    for account in &routes_app.config.allowed_accounts {
        out.push(verdict(
            format!("spoke {account}"),
            spoke(routes_app, account).await,
        ));
    }
    out.push(verdict("endpoint", endpoint(targets_app).await));
    out.push(verdict(
        "vpc link",
        vpc_link(routes_app, targets_app, sdk).await,
    ));
    out.push(verdict("targets", target_group(targets_app).await));
    out.push(verdict("public stage", public_stage(routes_app).await));
    // Cells: each other cell's stage, the domain's routing mode, and every routing rule
    // frontdoor recorded.
    for i in 1..routes_app.config.cells.len() {
        let Some(config) = routes_app.config.for_cell(i) else {
            continue;
        };
        let check = format!("cell {}", config.public_api_id);
        let cell = App {
            config,
            clients: routes_app.clients.clone(),
            own_account: routes_app.own_account.clone(),
        };
        out.push(verdict(check, public_stage(&cell).await));
    }
    if let Some(why) = extra.records_unread {
        out.push(finding(
            "cell records",
            Verdict::Fail,
            format!(
                "{} cannot be read ({why}): the cells the hub stack records are not checked, and route-sync's runs fail the same way",
                shared::routes::cell_records_folder(&routes_app.config.ssm_prefix)
            ),
        ));
    }
    // One finding per waiting cell, so the cells in use still pass their own checks.
    for waiting in &routes_app.config.waiting_cells {
        out.push(finding(
            format!(
                "cell {} ({})",
                waiting.name,
                waiting.api_id.as_ref().map_or("?", |a| a.as_str())
            ),
            Verdict::Fail,
            format!(
                "route-sync places nothing in it until {}",
                waiting.waits_for
            ),
        ));
    }
    if routes_app.config.cells.len() > 1 || !routes_app.config.waiting_cells.is_empty() {
        if let Some(domain) = &routes_app.config.public_domain {
            out.push(verdict(
                "routing rules",
                routing_rules(routes_app, domain).await,
            ));
        }
    }
    out.push(if routes_app.config.governance.api_key_required {
        verdict("usage plan", usage_plan(routes_app).await)
    } else {
        finding(
            "usage plan",
            Verdict::Skip,
            "FRONTDOOR_API_KEY_REQUIRED is false: routes need no API key",
        )
    });
    out.push(match &routes_app.config.public_domain {
        Some(domain) => verdict(
            "custom domain",
            custom_domain(routes_app, sdk, domain).await,
        ),
        None => finding(
            "custom domain",
            Verdict::Skip,
            "FRONTDOOR_PUBLIC_DOMAIN is not set: URLs are on the public API's execute-api name",
        ),
    });
    out.push(match &routes_app.config.route_queue_url {
        Some(url) => verdict("route queue", route_queue(routes_app, url).await),
        None => finding(
            "route queue",
            Verdict::Skip,
            "FRONTDOOR_ROUTE_QUEUE_URL is not set: route-sync deploys at the end of each run",
        ),
    });
    out
}

/// A trail logs management write events in this region: without one, EventBridge sees no
/// "AWS API Call via CloudTrail" event and only the sweep keeps the front door right.
async fn trail(sdk: &aws_config::SdkConfig, region: &str) -> Result<String, String> {
    let ct = aws_sdk_cloudtrail::Client::new(sdk);
    let trails = ct
        .describe_trails()
        .include_shadow_trails(true)
        .send()
        .await
        .op("DescribeTrails")
        .map_err(|e| e.to_string())?;
    let mut seen = Vec::new();
    for t in trails.trail_list() {
        let (Some(name), Some(arn)) = (t.name(), t.trail_arn()) else {
            continue;
        };
        let covers = t.is_multi_region_trail().unwrap_or(false) || t.home_region() == Some(region);
        let logging = ct
            .get_trail_status()
            .name(arn)
            .send()
            .await
            .op("GetTrailStatus")
            .map_err(|e| e.to_string())?
            .is_logging()
            .unwrap_or(false);
        let selectors = ct
            .get_event_selectors()
            .trail_name(arn)
            .send()
            .await
            .op("GetEventSelectors")
            .map_err(|e| e.to_string())?;
        // No selectors at all is CloudTrail's default: management events, read and write.
        let basic = selectors.event_selectors();
        let advanced = selectors.advanced_event_selectors();
        let management = (basic.is_empty() && advanced.is_empty())
            || basic.iter().any(|s| {
                s.include_management_events().unwrap_or(true)
                    && !matches!(
                        s.read_write_type(),
                        Some(aws_sdk_cloudtrail::types::ReadWriteType::ReadOnly)
                    )
            })
            || advanced.iter().any(|s| {
                s.field_selectors().iter().any(|f| {
                    f.field() == "eventCategory" && f.equals().iter().any(|v| v == "Management")
                })
            });
        if covers && logging && management {
            return Ok(format!("{name} logs management events in {region}"));
        }
        seen.push(format!(
            "{name} (covers {region}: {covers}, logging: {logging}, management writes: {management})"
        ));
    }
    Err(format!(
        "no trail logs management write events in {region} ({}): deploy with EnableTrail=true, \
         or use an organization trail; until then only the sweep follows changes",
        if seen.is_empty() {
            "no trails".to_string()
        } else {
            seen.join("; ")
        }
    ))
}

/// The hub bus lets every allowed account (or the organization) put events.
async fn hub_bus(
    sdk: &aws_config::SdkConfig,
    bus: &str,
    app: &App<RouteSyncConfig>,
) -> Result<String, String> {
    let described = aws_sdk_eventbridge::Client::new(sdk)
        .describe_event_bus()
        .name(bus)
        .send()
        .await
        .op("DescribeEventBus")
        .map_err(|e| e.to_string())?;
    let policy: Value = described
        .policy()
        .and_then(|p| serde_json::from_str(p).ok())
        .ok_or(format!(
            "bus {bus} has no resource policy: no spoke can send to it"
        ))?;
    let text = policy.to_string();
    if text.contains("aws:PrincipalOrgID") {
        return Ok(format!("bus {bus} admits the organization"));
    }
    let missing: Vec<String> = app
        .config
        .allowed_accounts
        .iter()
        .filter(|a| !text.contains(a.as_str()))
        .map(ToString::to_string)
        .collect();
    if missing.is_empty() {
        Ok(format!(
            "bus {bus} admits all {} allowed accounts",
            app.config.allowed_accounts.len()
        ))
    } else {
        Err(format!(
            "bus {bus} does not admit {}: redeploy the hub with them in AllowedAccounts",
            missing.join(", ")
        ))
    }
}

/// The spoke's reader role can be assumed and lists REST APIs.
async fn spoke(
    app: &App<RouteSyncConfig>,
    account: &shared::ids::AccountId,
) -> Result<String, String> {
    let client = app
        .clients
        .spokes
        .client(account, &app.config.spoke_role_name)
        .await;
    let listed = client
        .get_rest_apis()
        .limit(500)
        .send()
        .await
        .op("GetRestApis")
        .map_err(|e| {
            format!(
                "{e}: deploy spoke.yaml in {account} with HubRouteSyncRoleArn = the hub's \
                 RouteSyncRoleArn output, and SpokeRoleName = {}",
                app.config.spoke_role_name
            )
        })?;
    Ok(format!(
        "role {} assumed; {} REST APIs readable",
        app.config.spoke_role_name,
        listed.items().len()
    ))
}

/// The endpoint is available with one IP per subnet.
async fn endpoint(app: &App<TargetSyncConfig>) -> Result<String, String> {
    let vpce = app.config.vpc_endpoint_id.as_str();
    let found = app
        .clients
        .ec2
        .describe_vpc_endpoints()
        .vpc_endpoint_ids(vpce)
        .send()
        .await
        .op("DescribeVpcEndpoints")
        .map_err(|e| e.to_string())?;
    let ep = found
        .vpc_endpoints()
        .first()
        .ok_or(format!("endpoint {vpce} not found"))?;
    let state = ep
        .state()
        .map(|s| s.as_str().to_lowercase())
        .unwrap_or_default();
    let subnets = ep.subnet_ids().len();
    let enis = ep.network_interface_ids().len();
    if state != "available" {
        return Err(format!("endpoint {vpce} is {state}, not available"));
    }
    if subnets == 0 || enis != subnets {
        return Err(format!(
            "endpoint {vpce} has {enis} network interfaces for {subnets} subnets"
        ));
    }
    Ok(format!("{vpce} available, {enis} IPs in {subnets} subnets"))
}

/// What a VPC link V2's status means for traffic ("Set up VPC links V2": PENDING while its
/// network interfaces are made, INACTIVE after 60 days without traffic, when API Gateway has
/// deleted them and requests through it fail until it re-provisions them).
fn v2_link_status(id: &str, status: &str, message: Option<&str>) -> Result<(), String> {
    let why = message.map(|m| format!(": {m}")).unwrap_or_default();
    match status {
        "AVAILABLE" => Ok(()),
        "INACTIVE" => Err(format!(
            "V2 {id} is INACTIVE (no traffic for 60 days: API Gateway deleted its network \
             interfaces, and requests through it fail until they are back). Send a request \
             through any frontdoor route; API Gateway re-provisions them within minutes{why}"
        )),
        "PENDING" => Err(format!(
            "V2 {id} is PENDING: its network interfaces are being made; check again in a few minutes{why}"
        )),
        "FAILED" => Err(format!(
            "V2 {id} FAILED{why}: check that its subnets are in zones VPC link V2 supports \
             (README, \"Before you start\") and update the stack's VpcLinkSubnetIds"
        )),
        other => Err(format!("V2 {id} is {other}{why}")),
    }
}

/// The VPC link is available and targets the NLB in front of the target group: a V1 link
/// by its target ARNs, a V2 link (an integration target is configured) by the integration
/// target and its status in API Gateway's V2 API.
async fn vpc_link(
    routes: &App<RouteSyncConfig>,
    targets: &App<TargetSyncConfig>,
    sdk: &aws_config::SdkConfig,
) -> Result<String, String> {
    if let Some(target) = &routes.config.integration_target {
        let id = &routes.config.vpc_link_id;
        let link = aws_sdk_apigatewayv2::Client::new(sdk)
            .get_vpc_link()
            .vpc_link_id(id)
            .send()
            .await
            .op("GetVpcLink (V2)")
            .map_err(|e| e.to_string())?;
        v2_link_status(
            id,
            link.vpc_link_status().map_or("UNKNOWN", |s| s.as_str()),
            link.vpc_link_status_message(),
        )?;
        let balancers = target_group_balancers(targets).await?;
        return if balancers.contains(target.as_str()) {
            Ok(format!(
                "V2 {id} AVAILABLE: integration target is the target group's load balancer"
            ))
        } else {
            Err(format!(
                "V2 {id}: integration target {target} is not the load balancer of the target group ({balancers:?})"
            ))
        };
    }
    let link = routes
        .clients
        .apigateway
        .get_vpc_link()
        .vpc_link_id(&routes.config.vpc_link_id)
        .send()
        .await
        .op("GetVpcLink")
        .map_err(|e| e.to_string())?;
    let status = link.status().map(|s| s.as_str()).unwrap_or("UNKNOWN");
    let balancers = target_group_balancers(targets).await?;
    let points_at = link
        .target_arns()
        .iter()
        .any(|a| balancers.contains(a.as_str()));
    match (status, points_at) {
        ("AVAILABLE", true) => Ok(format!(
            "V1 (legacy) {} AVAILABLE, targets the target group's NLB",
            routes.config.vpc_link_id
        )),
        ("AVAILABLE", false) => Err(format!(
            "{} targets {:?}, not the NLB of the target group ({:?})",
            routes.config.vpc_link_id,
            link.target_arns(),
            balancers
        )),
        (other, _) => Err(format!(
            "{} is {other}{}",
            routes.config.vpc_link_id,
            link.status_message()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        )),
    }
}

/// The load balancers in front of the target group.
async fn target_group_balancers(
    targets: &App<TargetSyncConfig>,
) -> Result<BTreeSet<String>, String> {
    let group = targets
        .clients
        .elbv2
        .describe_target_groups()
        .target_group_arns(targets.config.target_group_arn.as_str())
        .send()
        .await
        .op("DescribeTargetGroups")
        .map_err(|e| e.to_string())?;
    Ok(group
        .target_groups()
        .iter()
        .flat_map(|g| g.load_balancer_arns())
        .cloned()
        .collect())
}

/// The target group's targets are the endpoint's IPs, and healthy.
async fn target_group(app: &App<TargetSyncConfig>) -> Result<String, String> {
    let observed = targets::observe(app).await.map_err(|e| e.to_string())?;
    let plan = targets::diff(&observed);
    if let Some(why) = &plan.refused {
        return Err(format!("the endpoint cannot be trusted: {why}"));
    }
    if !plan.register.is_empty() || !plan.deregister.is_empty() {
        return Err(format!(
            "targets differ from the endpoint's IPs (missing {:?}, stale {:?}): run \
             `frontdoor apply` or wait for the sweep",
            plan.register.iter().map(|t| t.key()).collect::<Vec<_>>(),
            plan.deregister.iter().map(|t| t.key()).collect::<Vec<_>>()
        ));
    }
    let unhealthy: Vec<String> = observed
        .live
        .iter()
        .filter(|t| !t.draining && !matches!(t.health.as_str(), "healthy" | "initial"))
        .map(|t| format!("{} {}", t.target.key(), t.health))
        .collect();
    if unhealthy.is_empty() {
        Ok(format!(
            "{} targets, the endpoint's IPs, healthy",
            plan.kept.len()
        ))
    } else {
        Err(format!(
            "unhealthy: {} (the endpoint's security group must admit 443 from the NLB's subnets)",
            unhealthy.join(", ")
        ))
    }
}

/// The public stage exists and serves the latest routes (no deployment owed).
async fn public_stage(app: &App<RouteSyncConfig>) -> Result<String, String> {
    let c = &app.config;
    let stage = app
        .clients
        .apigateway
        .get_stage()
        .rest_api_id(c.public_api_id.as_str())
        .stage_name(&c.public_stage)
        .send()
        .await
        .op("GetStage")
        .map_err(|e| e.to_string())?;
    // Any shape: the marker is a token, a list of waiting APIs, or the names of its parts.
    let owed = shared::registry::load::<Option<serde_json::Value>>(
        &app.clients.ssm,
        &shared::registry::deployment_owed_parameter(&c.cell_state_prefix()),
    )
    .await
    .map_err(|e| e.to_string())?;
    match owed {
        None => Ok(format!(
            "{}/{} deployed ({})",
            c.public_api_id,
            c.public_stage,
            stage.deployment_id().unwrap_or("?")
        )),
        Some(_) => Err(format!(
            "a deployment of {}/{} is owed: routes are written but not live; see the \
             `pending deployment` statuses (`frontdoor status`)",
            c.public_api_id, c.public_stage
        )),
    }
}

/// With cells: the domain routes by rule first (`ROUTING_RULE_THEN_BASE_PATH_MAPPING`, or
/// no cell but the first is reached), and every rule frontdoor recorded exists, matches its
/// segment and invokes a configured cell's stage with the full path; a rule frontdoor did
/// not make that meets one of its segments is named (whichever has the lower priority
/// takes the requests).
async fn routing_rules(app: &App<RouteSyncConfig>, domain: &str) -> Result<String, String> {
    let mode = app
        .clients
        .apigateway
        .get_domain_name()
        .domain_name(domain)
        .send()
        .await
        .op("GetDomainName")
        .map_err(|e| e.to_string())?
        .routing_mode()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "BASE_PATH_MAPPING_ONLY".into());
    if mode != "ROUTING_RULE_THEN_BASE_PATH_MAPPING" {
        return Err(format!(
            "{domain} routes by {mode}: with cells it must be ROUTING_RULE_THEN_BASE_PATH_MAPPING \
             (rules to the cells, the base path mapping to the first); set the domain's routingMode"
        ));
    }
    let (live, recorded) = shared::routes::rules_as_they_are(app, domain)
        .await
        .map_err(|e| e.to_string())?;
    // A waiting cell is a cell still: its rules are not another's.
    let cells: BTreeSet<String> = app
        .config
        .cells
        .iter()
        .map(|c| c.api_id.to_string())
        .chain(
            app.config
                .waiting_cells
                .iter()
                .filter_map(|w| w.api_id.as_ref().map(ToString::to_string)),
        )
        .collect();
    let ours: BTreeSet<&str> = recorded.values().filter_map(|r| r.id.as_deref()).collect();
    let mut problems = Vec::new();
    for (segment, record) in &recorded {
        let rule = record
            .id
            .as_deref()
            .and_then(|id| live.iter().find(|r| r.id == id));
        match rule {
            None => problems.push(format!(
                "/{segment}: its recorded rule is gone (route-sync makes it again next run)"
            )),
            Some(r) if r.base_path.as_deref() != Some(segment.as_str()) => problems.push(format!(
                "/{segment}: rule {} matches {:?} (route-sync puts it back next run)",
                r.id, r.base_path
            )),
            Some(r) if !cells.contains(&r.api_id) || r.stage != app.config.public_stage || r.strip_base_path => {
                problems.push(format!(
                    "/{segment}: rule {} invokes {}/{} (strip {}), not a cell's {} with the full path",
                    r.id, r.api_id, r.stage, r.strip_base_path, app.config.public_stage
                ))
            }
            Some(_) => {}
        }
        for other in live.iter().filter(|r| !ours.contains(r.id.as_str())) {
            if other.meets(segment) {
                problems.push(format!(
                    "/{segment}: rule {} (priority {}), not frontdoor's, also matches it",
                    other.id, other.priority
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(format!(
            "{domain}: {} rules of frontdoor's route {} cells ({} rules in all)",
            recorded.len(),
            cells.len(),
            live.len()
        ))
    } else {
        Err(problems.join("; "))
    }
}

/// With API keys required, a usage plan covers the public stage: a key works only through a
/// plan that lists the stage, so without one every caller gets 403 ("Create and use usage
/// plans with API keys").
async fn usage_plan(app: &App<RouteSyncConfig>) -> Result<String, String> {
    let c = &app.config;
    let mut covering = Vec::new();
    let mut position = None;
    // Bounded: 500 plans a page, at most 20 pages.
    for _ in 0..20 {
        let page = app
            .clients
            .apigateway
            .get_usage_plans()
            .set_position(position.take())
            .limit(500)
            .send()
            .await
            .op("GetUsagePlans")
            .map_err(|e| e.to_string())?;
        for plan in page.items() {
            let covers = plan.api_stages().iter().any(|s| {
                s.api_id() == Some(c.public_api_id.as_str())
                    && s.stage() == Some(c.public_stage.as_str())
            });
            if covers {
                covering.push(plan.name().unwrap_or("?").to_string());
            }
        }
        position = page.position().map(str::to_string);
        if position.is_none() {
            break;
        }
    }
    if covering.is_empty() {
        Err(format!(
            "API keys are required but no usage plan lists {}/{}: every caller gets 403. \
             Add the stage to a plan (aws apigateway update-usage-plan --usage-plan-id ... \
             --patch-operations op=add,path=/apiStages,value={}:{}) and give callers keys of it",
            c.public_api_id, c.public_stage, c.public_api_id, c.public_stage
        ))
    } else {
        Ok(format!(
            "{}/{} is in {}",
            c.public_api_id,
            c.public_stage,
            covering.join(", ")
        ))
    }
}

/// How long before its end a certificate is reported: time to renew or replace it.
const CERTIFICATE_MARGIN_DAYS: i64 = 30;

/// Whether a certificate in `status` that ends at `not_after` (seconds since the epoch) is
/// fit to serve `domain` at `now`.
fn certificate_verdict(
    domain: &str,
    status: &str,
    not_after: Option<i64>,
    now: i64,
) -> Result<String, String> {
    if status != "ISSUED" {
        return Err(format!(
            "{domain}'s certificate is {status}, not ISSUED: complete its validation in ACM"
        ));
    }
    let Some(end) = not_after else {
        return Err(format!("{domain}'s certificate has no end date"));
    };
    let days = (end - now) / 86_400;
    if days < CERTIFICATE_MARGIN_DAYS {
        return Err(format!(
            "{domain}'s certificate ends in {days} days: renew or replace it (CertificateArn)"
        ));
    }
    Ok(format!("certificate ISSUED, {days} days left"))
}

/// The custom domain every published URL is on exists, is a regional TLS 1.2 domain that
/// API Gateway reports available, maps its root to the public stage, and its certificate is
/// issued and not ending within 30 days.
async fn custom_domain(
    app: &App<RouteSyncConfig>,
    sdk: &aws_config::SdkConfig,
    domain: &str,
) -> Result<String, String> {
    let c = &app.config;
    let gw = &app.clients.apigateway;
    let found = gw
        .get_domain_name()
        .domain_name(domain)
        .send()
        .await
        .op("GetDomainName")
        .map_err(|e| {
            format!("{domain}: {e}; create it (template DomainName and CertificateArn)")
        })?;
    if let Some(status) = found
        .domain_name_status()
        .filter(|s| s.as_str() != "AVAILABLE")
    {
        return Err(format!(
            "{domain} is {}: {}",
            status.as_str(),
            found
                .domain_name_status_message()
                .unwrap_or("see the API Gateway console")
        ));
    }
    let Some(certificate_arn) = found.regional_certificate_arn() else {
        return Err(format!(
            "{domain} has no regional certificate: frontdoor's URLs need a REGIONAL domain \
             (template DomainName and CertificateArn)"
        ));
    };
    let certificate = aws_sdk_acm::Client::new(sdk)
        .describe_certificate()
        .certificate_arn(certificate_arn)
        .send()
        .await
        .op("DescribeCertificate")
        .map_err(|e| format!("{domain}'s certificate {certificate_arn}: {e}"))?;
    let detail = certificate.certificate();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let certified = certificate_verdict(
        domain,
        detail
            .and_then(|c| c.status())
            .map_or("UNKNOWN", |s| s.as_str()),
        detail.and_then(|c| c.not_after()).map(|t| t.secs()),
        now,
    )?;
    // TLS 1.2 or stricter (AWS's newer policies name TLS 1.3); only TLS 1.0 is too weak.
    if let Some(policy) = found
        .security_policy()
        .filter(|p| p.as_str().eq_ignore_ascii_case("TLS_1_0"))
    {
        return Err(format!(
            "{domain} allows {}: set its security policy to TLS_1_2",
            policy.as_str()
        ));
    }
    let mut mappings = Vec::new();
    let mut position = None;
    // Bounded: 500 a page, at most 20 pages.
    for _ in 0..20 {
        let page = gw
            .get_base_path_mappings()
            .domain_name(domain)
            .set_position(position.take())
            .limit(500)
            .send()
            .await
            .op("GetBasePathMappings")
            .map_err(|e| e.to_string())?;
        mappings.extend(page.items().iter().cloned());
        position = page.position().map(str::to_string);
        if position.is_none() {
            break;
        }
    }
    let is_root = |m: &&aws_sdk_apigateway::types::BasePathMapping| {
        matches!(m.base_path(), None | Some("(none)") | Some(""))
    };
    // Another mapping takes every URL under its base path from the public stage.
    if let Some(other) = mappings.iter().find(|m| !is_root(m)) {
        return Err(format!(
            "{domain}/{} maps to {}/{}: URLs frontdoor publishes under /{} reach that API, \
             not the public stage; remove the mapping or keep that path free",
            other.base_path().unwrap_or("?"),
            other.rest_api_id().unwrap_or("?"),
            other.stage().unwrap_or("?"),
            other.base_path().unwrap_or("?"),
        ));
    }
    let at_root = mappings.iter().find(is_root);
    match at_root {
        Some(m)
            if m.rest_api_id() == Some(c.public_api_id.as_str())
                && m.stage() == Some(c.public_stage.as_str()) =>
        {
            Ok(format!(
                "https://{domain} -> {}/{} ({}); {certified}",
                c.public_api_id,
                c.public_stage,
                found
                    .regional_domain_name()
                    .unwrap_or("no regional name yet")
            ))
        }
        Some(m) => Err(format!(
            "{domain}'s root maps to {}/{}, not {}/{}: published URLs would reach another API",
            m.rest_api_id().unwrap_or("?"),
            m.stage().unwrap_or("?"),
            c.public_api_id,
            c.public_stage
        )),
        None => Err(format!(
            "{domain} does not map its root to {}/{}: add a base path mapping with no base path",
            c.public_api_id, c.public_stage
        )),
    }
}

/// The route queue is FIFO and nothing waits in its dead-letter queue.
async fn route_queue(app: &App<RouteSyncConfig>, url: &str) -> Result<String, String> {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let sqs = &app.clients.sqs;
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::All)
        .send()
        .await
        .op("GetQueueAttributes")
        .map_err(|e| e.to_string())?;
    let get = |name: A| attrs.attributes().and_then(|a| a.get(&name)).cloned();
    if get(A::FifoQueue).as_deref() != Some("true") {
        return Err(format!(
            "{url} is not a FIFO queue: route-sync would not be one writer"
        ));
    }
    let redrive: Option<Value> = get(A::RedrivePolicy).and_then(|p| serde_json::from_str(&p).ok());
    let dlq_arn = redrive
        .as_ref()
        .and_then(|r| r.get("deadLetterTargetArn"))
        .and_then(Value::as_str)
        .ok_or(format!("{url} has no dead-letter queue"))?;
    // arn:aws:sqs:{region}:{account}:{name}
    let mut parts = dlq_arn.rsplitn(3, ':');
    let (name, account) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let dlq_url = sqs
        .get_queue_url()
        .queue_name(name)
        .queue_owner_aws_account_id(account)
        .send()
        .await
        .op("GetQueueUrl")
        .map_err(|e| e.to_string())?
        .queue_url()
        .unwrap_or_default()
        .to_string();
    let waiting = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .send()
        .await
        .op("GetQueueAttributes")
        .map_err(|e| e.to_string())?
        .attributes()
        .and_then(|a| a.get(&A::ApproximateNumberOfMessages))
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    if waiting == 0 {
        Ok(format!("FIFO, dead-letter queue {name} empty"))
    } else {
        Err(format!(
            "{waiting} events in the dead-letter queue {name}: read them (each failed 5 \
             deliveries), fix the cause, then redrive them"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::{certificate_verdict, v2_link_status};

    #[test]
    fn a_certificate_must_be_issued_and_last_thirty_days_more() {
        let day = 86_400;
        let now = 1_800_000_000;
        assert!(
            certificate_verdict("d", "ISSUED", Some(now + 90 * day), now)
                .unwrap()
                .contains("90 days left")
        );
        let ending = certificate_verdict("d", "ISSUED", Some(now + 10 * day), now).unwrap_err();
        assert!(ending.contains("ends in 10 days"), "{ending}");
        assert!(
            certificate_verdict("d", "PENDING_VALIDATION", Some(now + 90 * day), now)
                .unwrap_err()
                .contains("not ISSUED")
        );
        assert!(certificate_verdict("d", "EXPIRED", Some(now - day), now).is_err());
    }

    #[test]
    fn each_v2_link_status_says_what_it_means_for_traffic() {
        assert_eq!(v2_link_status("vl1", "AVAILABLE", None), Ok(()));
        let inactive = v2_link_status("vl1", "INACTIVE", None).unwrap_err();
        assert!(
            inactive.contains("60 days") && inactive.contains("Send a request"),
            "{inactive}"
        );
        let failed = v2_link_status("vl1", "FAILED", Some("subnet in use1-az3")).unwrap_err();
        assert!(
            failed.contains("subnet in use1-az3") && failed.contains("VpcLinkSubnetIds"),
            "{failed}"
        );
        assert!(v2_link_status("vl1", "PENDING", None).is_err());
        assert!(v2_link_status("vl1", "DELETING", None).is_err());
    }
}
