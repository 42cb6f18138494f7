//! Counts AWS API calls per operation with an SDK interceptor, so every reconcile can say
//! what it spent of the control-plane budget, and tests and benchmarks can assert exact
//! numbers (a no-op sweep makes 0 writes) without a mock.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// How often one operation ran.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    /// Calls the code made (one per `send()`).
    pub calls: u64,
    /// HTTP requests sent, retries included.
    pub attempts: u64,
}

/// Calls per `(service, operation)`, e.g. `("Elastic Load Balancing v2", "RegisterTargets")`,
/// and every call's operation in the order made.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Calls {
    /// Counts per `(service, operation)`.
    pub per_operation: BTreeMap<(String, String), Count>,
    /// Operation names, in call order: the last [`SEQUENCE_KEPT`] or so (a warm sandbox
    /// runs for hours; the counts above are bounded by the operations there are).
    pub sequence: Vec<String>,
    /// Calls made before the first one `sequence` still holds.
    pub dropped: u64,
}

/// Calls `sequence` keeps: more than a first sweep of a large organisation makes (BENCHMARKS.md).
pub const SEQUENCE_KEPT: usize = 16_384;

impl Calls {
    /// Calls to operations that change state.
    pub fn writes(&self) -> u64 {
        self.sum(|op| !is_read(op))
    }

    /// Calls to operations that only read.
    pub fn reads(&self) -> u64 {
        self.sum(is_read)
    }

    /// Calls to one operation, whatever the service.
    pub fn of(&self, operation: &str) -> u64 {
        self.sum(|op| op == operation)
    }

    /// HTTP requests in all, retries included.
    pub fn attempts(&self) -> u64 {
        self.per_operation.values().map(|c| c.attempts).sum()
    }

    /// HTTP requests to one operation, retries included.
    pub fn attempts_of(&self, operation: &str) -> u64 {
        self.per_operation
            .iter()
            .filter(|((_, op), _)| op == operation)
            .map(|(_, c)| c.attempts)
            .sum()
    }

    /// What happened after `earlier` was taken.
    pub fn since(&self, earlier: &Calls) -> Calls {
        let mut out = BTreeMap::new();
        for (key, now) in &self.per_operation {
            let before = earlier.per_operation.get(key).copied().unwrap_or_default();
            let delta = Count {
                calls: now.calls - before.calls,
                attempts: now.attempts - before.attempts,
            };
            if delta != Count::default() {
                out.insert(key.clone(), delta);
            }
        }
        // Positions counted from the first call ever made, so a sequence that dropped its
        // oldest entries in between still lines up.
        let earlier_end = earlier.dropped + earlier.sequence.len() as u64;
        let skip = usize::try_from(earlier_end.saturating_sub(self.dropped))
            .unwrap_or(usize::MAX)
            .min(self.sequence.len());
        Calls {
            per_operation: out,
            sequence: self.sequence[skip..].to_vec(),
            dropped: earlier_end.max(self.dropped),
        }
    }

    /// The write operations made, one entry per call, in call order.
    pub fn write_ops(&self) -> Vec<String> {
        self.sequence
            .iter()
            .filter(|op| !is_read(op))
            .cloned()
            .collect()
    }

    fn sum(&self, pick: impl Fn(&str) -> bool) -> u64 {
        self.per_operation
            .iter()
            .filter(|((_, op), _)| pick(op))
            .map(|(_, c)| c.calls)
            .sum()
    }
}

fn is_read(operation: &str) -> bool {
    ["Describe", "Get", "List"]
        .iter()
        .any(|p| operation.starts_with(p))
}

/// The interceptor; clones share one log. Add it to every client of an [`crate::App`].
#[derive(Debug, Default, Clone)]
pub struct CallLog {
    inner: Arc<Mutex<Calls>>,
}

impl CallLog {
    /// A copy of the counts so far.
    pub fn snapshot(&self) -> Calls {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn bump(&self, cfg: &ConfigBag, first_attempt: bool) {
        let Some(meta) = cfg.load::<Metadata>() else {
            return;
        };
        let key = (meta.service().to_string(), meta.name().to_string());
        let mut calls = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let count = calls.per_operation.entry(key).or_default();
        if first_attempt {
            count.calls += 1;
            calls.sequence.push(meta.name().to_string());
            if calls.sequence.len() > SEQUENCE_KEPT * 2 {
                // Amortised: drop the older half at once.
                calls.sequence.drain(..SEQUENCE_KEPT);
                calls.dropped += SEQUENCE_KEPT as u64;
            }
        } else {
            count.attempts += 1;
        }
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "frontdoor::CallLog"
    }

    // Once per call, before the retry loop; the operation's metadata is in the bag by now
    // (it is not yet at `read_before_execution`).
    fn read_after_serialization(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.bump(cfg, true);
        Ok(())
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.bump(cfg, false);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calls(entries: &[(&str, u64)]) -> Calls {
        let mut c = Calls::default();
        for (op, n) in entries {
            c.per_operation.insert(
                ("svc".to_string(), op.to_string()),
                Count {
                    calls: *n,
                    attempts: *n,
                },
            );
            c.sequence
                .extend(std::iter::repeat_n(op.to_string(), *n as usize));
        }
        c
    }

    #[test]
    fn reads_and_writes_are_told_apart_by_operation_name() {
        let c = calls(&[
            ("DescribeTargetHealth", 2),
            ("GetParameter", 1),
            ("RegisterTargets", 1),
            ("PutParameter", 1),
        ]);
        assert_eq!(c.reads(), 3);
        assert_eq!(c.writes(), 2);
        assert_eq!(c.write_ops(), vec!["RegisterTargets", "PutParameter"]);
    }

    #[test]
    fn since_subtracts_and_drops_unchanged() {
        let before = calls(&[("GetParameter", 1)]);
        let after = calls(&[("GetParameter", 1), ("PutParameter", 2)]);
        let delta = after.since(&before);
        assert_eq!(
            delta.per_operation,
            calls(&[("PutParameter", 2)]).per_operation
        );
        assert_eq!(delta.sequence, vec!["PutParameter", "PutParameter"]);
    }

    #[test]
    fn a_warm_sandbox_keeps_a_bounded_sequence_and_since_still_lines_up() {
        // GIVEN a log that has seen far more calls than it keeps
        let log = CallLog::default();
        let mut layer = aws_smithy_types::config_bag::Layer::new("test");
        layer.store_put(Metadata::new("PutParameter", "ssm"));
        let cfg = ConfigBag::of_layers(vec![layer]);
        let total = SEQUENCE_KEPT * 5 + 3;
        for _ in 0..total {
            log.bump(&cfg, true);
        }
        let before = log.snapshot();
        // THEN it holds at most twice what it keeps, and counts what it dropped
        assert!(before.sequence.len() <= SEQUENCE_KEPT * 2);
        assert_eq!(before.dropped + before.sequence.len() as u64, total as u64);
        // AND the calls after a snapshot are exactly those, even across a drop
        for _ in 0..SEQUENCE_KEPT {
            log.bump(&cfg, true);
        }
        let delta = log.snapshot().since(&before);
        assert_eq!(delta.sequence.len(), SEQUENCE_KEPT);
        assert_eq!(delta.of("PutParameter"), SEQUENCE_KEPT as u64);
    }
}
