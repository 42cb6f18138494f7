//! The Lambda edge, and the only module that sees Lambda types. Turns a payload into a
//! scope, runs the reconciler, and decides what Lambda sees: transient failures are `Err`
//! (Lambda's retry or the queue's redelivery runs the work again); permanent ones are logged
//! with their reason and answered `Ok`, so a bad event never becomes a retry storm.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde_json::Value;
use tracing::{error, info, warn};

use crate::clients::App;
use crate::config::{RouteSyncConfig, TargetSyncConfig};
use crate::error::{Error, Result};
use crate::events::{self, RouteBatch, TargetWake};
use crate::ids::AccountId;
use crate::metrics::{self, Metric, Unit};
use crate::routes::{self, StatusKind};
use crate::targets::{self, Report};

/// What an invocation returns (and what `cargo lambda invoke` prints).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome<R> {
    /// The reconcile ran.
    Reconciled(R),
    /// The event needed no work.
    Ignored {
        /// Why.
        reason: String,
    },
    /// A permanent failure: logged, not retried.
    Dropped {
        /// The error's kind, e.g. `BadEvent`.
        kind: &'static str,
        /// The error, in words.
        reason: String,
    },
}

/// `target-sync`'s handler.
pub async fn target_sync(
    app: &App<TargetSyncConfig>,
    event: LambdaEvent<Value>,
) -> Result<Outcome<Report>> {
    let started = Instant::now();
    // Boxed: the SDK futures nest deep enough to overflow the compiler's layout depth
    // when the runtime wraps them again.
    let own = account_of_function(&event.context.invoked_function_arn);
    let outcome = settle(Box::pin(target_sync_from(app, &event.payload, own.as_ref())).await);
    let mut out = vec![duration(started)];
    match &outcome {
        Ok(Outcome::Reconciled(r)) => out.extend([
            Metric::count("TargetsRegistered", r.registered.len()),
            Metric::count("TargetsDeregistered", r.deregistered.len()),
            Metric::count(
                "TargetGroupTargets",
                r.registered.len() + r.kept.len() + r.foreign.len(),
            ),
            Metric::count("Refusals", usize::from(r.refused.is_some())),
        ]),
        Ok(Outcome::Ignored { .. }) => {}
        Ok(Outcome::Dropped { .. }) => out.push(Metric::count("PermanentErrors", 1)),
        Err(_) => out.push(Metric::count("TransientErrors", 1)),
    }
    metrics::emit("target-sync", &out);
    outcome
}

fn duration(started: Instant) -> Metric {
    Metric {
        name: "ReconcileDuration",
        value: started.elapsed().as_secs_f64() * 1000.0,
        unit: Unit::Milliseconds,
    }
}

/// The handler minus the Lambda envelope: what tests and the CLI call.
pub async fn target_sync_payload(
    app: &App<TargetSyncConfig>,
    payload: &Value,
) -> Result<Outcome<Report>> {
    target_sync_from(app, payload, app.own_account.as_ref()).await
}

async fn target_sync_from(
    app: &App<TargetSyncConfig>,
    payload: &Value,
    own: Option<&AccountId>,
) -> Result<Outcome<Report>> {
    match events::target_wake(payload, &app.config.vpc_endpoint_id, own)? {
        TargetWake::Ignore { reason } => {
            info!(reason = %reason, "event needs no work");
            Ok(Outcome::Ignored { reason })
        }
        TargetWake::Reconcile(trigger) => Ok(Outcome::Reconciled(
            targets::reconcile(app, &trigger).await?,
        )),
    }
}

/// `route-sync`'s handler: an SQS batch or one EventBridge event is one reconcile.
pub async fn route_sync(
    app: &App<RouteSyncConfig>,
    event: LambdaEvent<Value>,
) -> Result<Outcome<routes::Report>> {
    let started = Instant::now();
    let own = account_of_function(&event.context.invoked_function_arn);
    let batch = events::route_batch(&event.payload, &app.config.allowed_accounts, own.as_ref());
    let lag = batch.oldest_event_ms.map(|t| Metric {
        name: "EventLag",
        value: (now_ms() as i64 - t).max(0) as f64 / 1000.0,
        unit: Unit::Seconds,
    });
    // One reading of the time left serves the budget and the backstop.
    let left = routes::budget::left_until(event.context.deadline, now_ms());
    let budget = left.map_or_else(routes::Budget::unlimited, |left| {
        routes::Budget::until(Instant::now() + left)
    });
    let run = Box::pin(reconcile_batch(app, &batch, &budget));
    let outcome = settle(match left {
        None => run.await,
        Some(left) => within(backstop(left), run).await,
    });
    let mut out: Vec<Metric> = [duration(started)].into_iter().chain(lag).collect();
    match &outcome {
        Ok(Outcome::Reconciled(r)) => {
            let with = |kind| routes::diff::count(&r.statuses, kind);
            out.extend([
                Metric::count("RoutesAdded", r.methods_put),
                Metric::count("RoutesRemoved", r.methods_deleted),
                Metric::count("Deployments", r.deployments),
                Metric::count("Refusals", with(StatusKind::Refused) + r.events_refused),
                Metric::count("Conflicts", with(StatusKind::Conflict)),
                Metric::count("DeploymentsRefused", r.deployments_refused),
                Metric::count("AccountsSkipped", r.accounts_skipped),
                Metric::count("AccountsDeferred", r.accounts_deferred),
                Metric::count("ApisDeferred", r.apis_deferred),
                Metric::count("ApisOverShare", r.apis_over_share),
                Metric::count("CellsWaiting", r.cells_waiting),
                Metric::count("ApisInIdleCells", r.apis_in_idle_cells),
                Metric::count("DriftRepaired", r.integrations_updated),
                Metric::count("PublicResources", r.public_resources),
                Metric::count("EventsDropped", r.events_dropped),
            ]);
        }
        Ok(Outcome::Ignored { .. }) => {}
        Ok(Outcome::Dropped { .. }) => out.push(Metric::count("PermanentErrors", 1)),
        Err(_) => out.push(Metric::count("TransientErrors", 1)),
    }
    metrics::emit("route-sync", &out);
    outcome
}

/// The handler minus the Lambda envelope. Unknown accounts and records that cannot be
/// understood are logged and set aside; the rest of the batch is reconciled. A transient
/// failure fails the whole batch (it is one reconcile) and the queue redelivers it.
pub async fn route_sync_payload(
    app: &App<RouteSyncConfig>,
    payload: &Value,
) -> Result<Outcome<routes::Report>> {
    route_sync_payload_within(app, payload, &routes::Budget::unlimited()).await
}

/// [`route_sync_payload`] within a budget, as an invocation with a deadline runs it.
pub async fn route_sync_payload_within(
    app: &App<RouteSyncConfig>,
    payload: &Value,
    budget: &routes::Budget,
) -> Result<Outcome<routes::Report>> {
    let batch = events::route_batch(
        payload,
        &app.config.allowed_accounts,
        app.own_account.as_ref(),
    );
    reconcile_batch(app, &batch, budget).await
}

/// Milliseconds since the epoch, as Lambda gives deadlines and EventBridge event times.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// When a run still going is stopped: at 95% of the time left (at most 3 s before the
/// deadline), so the invocation answers, with its error, before Lambda kills it.
fn backstop(left: Duration) -> Duration {
    left.saturating_sub((left / 20).min(Duration::from_secs(3)))
}

/// `run`, stopped after `limit` with [`Error::OutOfTime`]. Stopping between two awaits is a
/// crash at that point, which every write order is made to survive.
async fn within<T>(
    limit: Duration,
    run: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    match tokio::time::timeout(limit, run).await {
        Ok(done) => done,
        Err(_) => Err(Error::OutOfTime(format!(
            "the run was still going {} ms before its deadline; what it wrote is kept and the \
             next run goes on from there",
            limit.as_millis()
        ))),
    }
}

/// The account of `arn:aws:lambda:{region}:{account}:function:{name}`.
fn account_of_function(arn: &str) -> Option<AccountId> {
    AccountId::parse(arn.split(':').nth(4)?).ok()
}

/// One reconcile of what a batch names.
async fn reconcile_batch(
    app: &App<RouteSyncConfig>,
    batch: &RouteBatch,
    budget: &routes::Budget,
) -> Result<Outcome<routes::Report>> {
    for reason in &batch.refused {
        warn!(reason = %reason, "event refused");
    }
    for reason in &batch.dropped {
        warn!(reason = %reason, "event dropped");
    }
    if !batch.scope.sweep && batch.scope.apis.is_empty() && !batch.deploy_requested {
        let reason = format!(
            "no API to look at ({} refused, {} dropped)",
            batch.refused.len(),
            batch.dropped.len()
        );
        info!(reason = %reason, "event needs no work");
        return Ok(Outcome::Ignored { reason });
    }
    // From the FIFO queue, deployments wait for the "deploy" message behind this batch.
    let deploy = if batch.from_queue && !batch.deploy_requested {
        routes::Deploy::Enqueue
    } else {
        routes::Deploy::Now
    };
    // A run that deploys also looks at the APIs waiting on an owed deployment, to give
    // them `exposed` or `pending deployment` (the deploy message's batch names no API).
    let scope = routes::Scope {
        owed: deploy == routes::Deploy::Now,
        ..batch.scope.clone()
    };
    let mut report = routes::reconcile_with(app, &scope, deploy, budget).await?;
    report.events_refused = batch.refused.len();
    report.events_dropped = batch.dropped.len();
    Ok(Outcome::Reconciled(report))
}

/// Transient -> `Err` (retry); permanent -> logged, `Ok(Dropped)` (no retry).
fn settle<R>(result: Result<Outcome<R>>) -> Result<Outcome<R>> {
    match result {
        Err(e) if e.is_transient() => {
            error!(kind = e.kind(), code = e.aws_code(), error = %e, "transient failure; the invocation will be retried");
            Err(e)
        }
        Err(e) => {
            warn!(kind = e.kind(), code = e.aws_code(), reason = %e, "permanent failure; dropped, not retried");
            Ok(Outcome::Dropped {
                kind: e.kind(),
                reason: e.to_string(),
            })
        }
        ok => ok,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn the_backstop_leaves_time_to_answer_whatever_the_timeout() {
        assert_eq!(
            backstop(Duration::from_secs(30)),
            Duration::from_millis(28_500)
        );
        assert_eq!(backstop(Duration::from_secs(120)), Duration::from_secs(117));
        assert_eq!(backstop(Duration::from_secs(900)), Duration::from_secs(897));
        assert_eq!(backstop(Duration::ZERO), Duration::ZERO);
    }

    #[tokio::test]
    async fn a_run_past_its_backstop_answers_out_of_time() {
        let slow = async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(())
        };
        let err = within(Duration::from_millis(20), slow).await.unwrap_err();
        assert_eq!(err.kind(), "OutOfTime");
        assert!(err.is_transient());
    }

    #[test]
    fn permanent_errors_become_dropped_and_transient_stay_errors() {
        let dropped = settle::<()>(Err(Error::bad_event("no detail"))).unwrap();
        assert_eq!(
            dropped,
            Outcome::Dropped {
                kind: "BadEvent",
                reason: "bad event: no detail".into()
            }
        );
        assert!(settle::<()>(Err(Error::Drift("x".into()))).is_err());
    }
}
