//! Reads only: the endpoint and its ENIs (EC2), the target group (ELBv2), the registry
//! (SSM), reduced to plain values. Five calls at most, whatever the number of targets.

use std::collections::BTreeSet;

use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::VpcEndpointType;
use aws_sdk_elasticloadbalancingv2::types::TargetHealthStateEnum;

use super::{EndpointIp, EndpointView, LiveTarget, Observed, Target};
use crate::clients::App;
use crate::config::TargetSyncConfig;
use crate::error::{AwsResultExt, Error, Result};
use crate::registry;

/// Observes everything [`super::diff`] needs.
pub async fn observe(app: &App<TargetSyncConfig>) -> Result<Observed> {
    let (endpoint, live, owned) =
        tokio::try_join!(endpoint_view(app), live_targets(app), owned_targets(app))?;
    Ok(Observed {
        endpoint,
        live,
        owned,
    })
}

async fn endpoint_view(app: &App<TargetSyncConfig>) -> Result<EndpointView> {
    let id = &app.config.vpc_endpoint_id;
    let out = app
        .clients
        .ec2
        .describe_vpc_endpoints()
        .vpc_endpoint_ids(id.as_str())
        .send()
        .await;
    let out = match out {
        Err(e) if e.code() == Some("InvalidVpcEndpointId.NotFound") => {
            return Ok(EndpointView::NotReady(format!("endpoint {id} not found")));
        }
        other => other.op("DescribeVpcEndpoints")?,
    };
    let Some(endpoint) = out
        .vpc_endpoints()
        .iter()
        .find(|e| e.vpc_endpoint_id() == Some(id.as_str()))
    else {
        return Ok(EndpointView::NotReady(format!("endpoint {id} not found")));
    };
    // AWS documents the state as "Available"; EC2 answers "available" (as does moto).
    let state = endpoint.state().map(|s| s.as_str()).unwrap_or("unknown");
    if !state.eq_ignore_ascii_case("available") {
        return Ok(EndpointView::NotReady(format!(
            "endpoint {id} is {state}, not available"
        )));
    }
    if endpoint.vpc_endpoint_type() != Some(&VpcEndpointType::Interface) {
        return Ok(EndpointView::NotReady(format!(
            "endpoint {id} is not an interface endpoint"
        )));
    }
    let service = endpoint.service_name().unwrap_or_default();
    if !service.ends_with(".execute-api") {
        return Ok(EndpointView::NotReady(format!(
            "endpoint {id} serves {service}, not execute-api"
        )));
    }
    let eni_ids = endpoint.network_interface_ids();
    if eni_ids.is_empty() {
        return Ok(EndpointView::NotReady(format!(
            "endpoint {id} has no network interfaces"
        )));
    }
    let enis = app
        .clients
        .ec2
        .describe_network_interfaces()
        .set_network_interface_ids(Some(eni_ids.to_vec()))
        .send()
        .await;
    let enis = match enis {
        // An ENI listed by the endpoint but not found is the endpoint changing under us:
        // a partial read must never shrink the desired set.
        Err(e) if e.code() == Some("InvalidNetworkInterfaceID.NotFound") => {
            return Ok(EndpointView::NotReady(format!(
                "endpoint {id} lists a network interface that EC2 cannot find"
            )));
        }
        other => other.op("DescribeNetworkInterfaces")?,
    };
    let ips: BTreeSet<EndpointIp> = enis
        .network_interfaces()
        .iter()
        .filter_map(|eni| {
            Some(EndpointIp {
                ip: eni.private_ip_address()?.to_string(),
                az: eni.availability_zone().unwrap_or_default().to_string(),
            })
        })
        .collect();
    if ips.len() != eni_ids.len() {
        return Ok(EndpointView::NotReady(format!(
            "endpoint {id} lists {} network interfaces but {} private IPs read back",
            eni_ids.len(),
            ips.len()
        )));
    }
    Ok(EndpointView::Ready(ips))
}

pub(super) async fn live_targets(app: &App<TargetSyncConfig>) -> Result<Vec<LiveTarget>> {
    let out = app
        .clients
        .elbv2
        .describe_target_health()
        .target_group_arn(app.config.target_group_arn.as_str())
        .send()
        .await
        .op("DescribeTargetHealth")?;
    Ok(out
        .target_health_descriptions()
        .iter()
        .filter_map(|d| {
            let target = d.target()?;
            let state = d.target_health().and_then(|h| h.state());
            Some(LiveTarget {
                target: Target {
                    id: target.id()?.to_string(),
                    // A target is registered with a port; the group's port is the default.
                    port: target
                        .port()
                        .and_then(|p| u16::try_from(p).ok())
                        .unwrap_or(0),
                },
                draining: state == Some(&TargetHealthStateEnum::Draining),
                health: state.map(|s| s.as_str().to_string()).unwrap_or_default(),
            })
        })
        .collect())
}

async fn owned_targets(app: &App<TargetSyncConfig>) -> Result<BTreeSet<Target>> {
    let name = registry::targets_parameter(&app.config.ssm_prefix, &app.config.target_group_arn);
    registry::load::<BTreeSet<String>>(&app.clients.ssm, &name)
        .await?
        .iter()
        .map(|key| {
            Target::from_key(key).ok_or_else(|| Error::Registry {
                name: name.clone(),
                problem: format!("{key:?} is not ip:port"),
            })
        })
        .collect()
}
