//! The deployment and its marker. The marker (`{prefix}/registry/deployment-owed`, see
//! [`owed`]) is stored before the first public write with every API whose routes this run
//! may write; the run deploys, or enqueues one "deploy" message, and clears it once the
//! stage serves what was written. When the budget leaves APIs for the next run, they are
//! carried over in the marker (and, from the queue, a "deploy" message behind every batch
//! already waiting), so the next run that deploys reads them again and goes on.

use std::collections::BTreeSet;

use aws_sdk_apigateway::error::ProvideErrorMetadata;
use tracing::warn;

use super::super::diff::Plan;
use super::super::status::PENDING_PREFIX;
use super::super::{owed, Deploy, Observed, Owed, Status};
use super::Applied;
use crate::clients::App;
use crate::config::RouteSyncConfig;
use crate::error::{AwsResultExt, Result};
use crate::ids::ApiRef;

/// The marker as this run leaves it.
pub(super) struct Marker {
    /// Its token: the deduplication id of its "deploy" message.
    token: String,
    /// `{account}/{api-id}` of each API waiting on the deployment.
    waiting: BTreeSet<String>,
    /// Whether it is stored now.
    stored: bool,
    /// The parameters its list is split over now.
    parts: BTreeSet<String>,
    /// The token of the "deploy" message this run enqueued.
    enqueued: Option<String>,
}

impl Marker {
    /// The marker as observed (a fresh token when none is stored).
    pub(super) fn observed(app: &App<RouteSyncConfig>, observed: &Observed) -> Self {
        Self {
            token: observed
                .owed
                .as_ref()
                .map_or_else(|| owed_token(app), |o| o.token().to_string()),
            waiting: observed
                .owed
                .as_ref()
                .map(|o| o.waiting().iter().map(ToString::to_string).collect())
                .unwrap_or_default(),
            stored: observed.owed.is_some(),
            parts: observed.owed_parts.clone(),
            enqueued: None,
        }
    }

    async fn store(&mut self, app: &App<RouteSyncConfig>) -> Result<()> {
        let marker = Owed::Waiting {
            token: self.token.clone(),
            waiting: self.waiting.clone(),
        };
        self.parts = owed::store(
            &app.clients.ssm,
            &app.config.cell_state_prefix(),
            &marker,
            &self.parts,
        )
        .await?;
        self.stored = true;
        Ok(())
    }

    /// Before the first public write: the APIs this run writes routes for wait on the
    /// deployment, so a later run that deploys can tell them.
    pub(super) async fn owe(
        &mut self,
        app: &App<RouteSyncConfig>,
        observed: &Observed,
        plan: &Plan,
    ) -> Result<()> {
        let was_waiting = self.waiting.clone();
        self.waiting.extend(
            plan.apis
                .iter()
                .filter(|(_, g)| g.writes_public())
                .map(|(api, _)| api.to_string()),
        );
        if plan.owe_deployment || (observed.owed.is_some() && self.waiting != was_waiting) {
            self.store(app).await?;
        }
        Ok(())
    }

    /// Deploys (or enqueues the "deploy" message) as the plan and `deploy` say.
    pub(super) async fn deploy(
        &mut self,
        app: &App<RouteSyncConfig>,
        observed: &Observed,
        plan: &Plan,
        deploy: Deploy,
        hold: bool,
        applied: &mut Applied,
    ) -> Result<()> {
        if !plan.deploy {
            return Ok(());
        }
        if hold {
            // The marker (stored before the first write) keeps it owed; the carry-over
            // brings the run that finishes the replacement and deploys.
            warn!("a replacement was cut short: the deployment waits for the run that finishes it");
            return Ok(());
        }
        let queue = match deploy {
            Deploy::Enqueue => app.config.route_queue_url.as_deref(),
            Deploy::Now => None,
        };
        if let Some(queue) = queue {
            enqueue_deploy(app, queue, &self.token).await?;
            self.enqueued = Some(self.token.clone());
            applied.deploy_enqueued = true;
            return Ok(());
        }
        match create_deployment(app).await? {
            Ok(()) => {
                applied.deployed = true;
                self.waiting.clear();
                self.token = owed_token(app);
                if !applied.deferred.is_empty() {
                    // What the budget left is still owed: the marker is replaced, never
                    // cleared and written again, so no crash in between forgets it.
                    self.waiting
                        .extend(applied.deferred.iter().map(ToString::to_string));
                    self.store(app).await?;
                } else if self.stored {
                    owed::clear(
                        &app.clients.ssm,
                        &app.config.cell_state_prefix(),
                        &self.parts,
                    )
                    .await?;
                    self.stored = false;
                    self.parts.clear();
                }
            }
            Err(message) => {
                warn!(message = %message, "AWS refused the deployment; it stays owed");
                // From the queue, a fresh token: a later run's "deploy" message must not be
                // dropped as a duplicate of the one that just failed.
                if app.config.route_queue_url.is_some() {
                    self.token = owed_token(app);
                    self.store(app).await?;
                }
                applied.pending = waiting_apis(observed, plan, applied);
                applied.deployment_refused = Some(message);
            }
        }
        Ok(())
    }

    /// After publishing: what the budget left for the next run waits on the marker, and
    /// from the queue a "deploy" message (one per token) brings the run that reads it.
    pub(super) async fn carry_over(
        &mut self,
        app: &App<RouteSyncConfig>,
        applied: &Applied,
    ) -> Result<()> {
        if applied.deferred.is_empty() {
            return Ok(());
        }
        let before = self.waiting.len();
        self.waiting
            .extend(applied.deferred.iter().map(ToString::to_string));
        if !self.stored || self.waiting.len() != before {
            self.store(app).await?;
        }
        if let Some(queue) = app.config.route_queue_url.as_deref() {
            if self.enqueued.as_deref() != Some(self.token.as_str()) {
                enqueue_deploy(app, queue, &self.token).await?;
                self.enqueued = Some(self.token.clone());
            }
        }
        Ok(())
    }
}

/// A new owed deployment's token: unique per public API and moment, so each owed
/// deployment gets exactly one "deploy" message however many batches ask for it.
pub(super) fn owed_token(app: &App<RouteSyncConfig>) -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    format!("{}-{ms}", app.config.public_api_id)
}

/// Sends the "deploy" message to the route queue's one message group, deduplicated by the
/// owed deployment's token (SQS drops a repeat within its 5-minute deduplication window).
async fn enqueue_deploy(app: &App<RouteSyncConfig>, queue: &str, token: &str) -> Result<()> {
    app.clients
        .sqs
        .send_message()
        .queue_url(queue)
        .message_body(crate::config::DEPLOY_MESSAGE)
        .message_group_id(crate::config::ROUTE_MESSAGE_GROUP)
        .message_deduplication_id(token)
        .send()
        .await
        .op("SendMessage")?;
    Ok(())
}

/// `Ok(Ok(()))` deployed; `Ok(Err(message))` AWS refused it (400: e.g. "No integration
/// defined for method" on a hand-made method), which no retry can fix.
async fn create_deployment(app: &App<RouteSyncConfig>) -> Result<Result<(), String>> {
    // CreateDeployment: 1 request per 5 s per account; one per reconcile at most.
    let created = app
        .clients
        .apigateway
        .create_deployment()
        .rest_api_id(app.config.public_api_id.as_str())
        .stage_name(&app.config.public_stage)
        .description("frontdoor route sync")
        .send()
        .await;
    match created {
        Ok(_) => Ok(Ok(())),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_bad_request_exception()) =>
        {
            Ok(Err(e
                .as_service_error()
                .and_then(|s| s.message())
                .unwrap_or("BadRequestException")
                .to_string()))
        }
        Err(e) => Err(e).op("CreateDeployment").map(Ok),
    }
}

/// APIs whose routes wait on a refused deployment: those this run wrote for, and those a
/// previous refused deployment left pending.
fn waiting_apis(observed: &Observed, plan: &Plan, applied: &Applied) -> BTreeSet<ApiRef> {
    let recorded = observed
        .owed
        .as_ref()
        .map(Owed::waiting)
        .unwrap_or_default();
    plan.apis
        .iter()
        .filter(|(api, _)| applied.finished(api))
        .filter(|(_, group)| {
            let was_pending = group.status_parameter.as_ref().is_some_and(|p| {
                observed
                    .parameters
                    .get(p)
                    .is_some_and(|v| v.starts_with(PENDING_PREFIX))
            });
            let routed = matches!(
                group.status,
                Some(Status::Exposed { .. } | Status::Conflict { .. })
            );
            routed && (group.writes_public() || was_pending)
        })
        .chain(plan.apis.iter().filter(|(api, group)| {
            recorded.contains(*api)
                && !applied.refused.contains_key(*api)
                && matches!(
                    group.status,
                    Some(Status::Exposed { .. } | Status::Conflict { .. })
                )
        }))
        .map(|(api, _)| api.clone())
        .collect()
}
