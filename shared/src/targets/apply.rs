//! Writes only, in plan order (registry widened, register, deregister, registry narrowed),
//! then a re-read that proves the group holds what the plan says. Each list is one batched
//! call.

use std::collections::BTreeSet;

use aws_sdk_elasticloadbalancingv2::types::TargetDescription;

use super::{live_targets_for_verify, Plan, Target};
use crate::clients::App;
use crate::config::TargetSyncConfig;
use crate::error::{AwsResultExt, Error, Result};
use crate::registry::{self, Owned};

/// Applies a plan.
pub async fn apply(app: &App<TargetSyncConfig>, plan: &Plan) -> Result<()> {
    let registry_name =
        registry::targets_parameter(&app.config.ssm_prefix, &app.config.target_group_arn);
    if let Some(widened) = &plan.registry_before {
        registry::store(&app.clients.ssm, &registry_name, &keys(widened)).await?;
    }
    if !plan.register.is_empty() {
        app.clients
            .elbv2
            .register_targets()
            .target_group_arn(app.config.target_group_arn.as_str())
            .set_targets(Some(descriptions(&plan.register)))
            .send()
            .await
            .op("RegisterTargets")?;
    }
    if !plan.deregister.is_empty() {
        app.clients
            .elbv2
            .deregister_targets()
            .target_group_arn(app.config.target_group_arn.as_str())
            .set_targets(Some(descriptions(&plan.deregister)))
            .send()
            .await
            .op("DeregisterTargets")?;
    }
    if let Some(narrowed) = &plan.registry_after {
        registry::store(&app.clients.ssm, &registry_name, &keys(narrowed)).await?;
    }
    Ok(())
}

/// Re-reads the group after a plan that changed it: every registered or kept target is
/// there, every deregistered one is gone or draining. Drift is an error, never hidden.
pub async fn verify(app: &App<TargetSyncConfig>, plan: &Plan) -> Result<()> {
    if plan.register.is_empty() && plan.deregister.is_empty() {
        return Ok(());
    }
    let live = live_targets_for_verify(app).await?;
    let registered: BTreeSet<&Target> = live
        .iter()
        .filter(|t| !t.draining)
        .map(|t| &t.target)
        .collect();
    let missing: Vec<String> = plan
        .register
        .iter()
        .chain(&plan.kept)
        .filter(|t| !registered.contains(t))
        .map(Target::to_string)
        .collect();
    let lingering: Vec<String> = plan
        .deregister
        .iter()
        .filter(|t| registered.contains(t))
        .map(Target::to_string)
        .collect();
    if missing.is_empty() && lingering.is_empty() {
        Ok(())
    } else {
        Err(Error::Drift(format!(
            "target group after apply: missing [{}], still registered [{}]",
            missing.join(", "),
            lingering.join(", ")
        )))
    }
}

fn descriptions(targets: &BTreeSet<Target>) -> Vec<TargetDescription> {
    targets
        .iter()
        .map(|t| {
            TargetDescription::builder()
                .id(&t.id)
                .port(i32::from(t.port))
                .build()
        })
        .collect()
}

fn keys(targets: &BTreeSet<Target>) -> BTreeSet<String> {
    targets.iter().map(Owned::key).collect()
}
