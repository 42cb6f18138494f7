//! Counts AWS API calls per operation with an SDK interceptor, so every reconcile can say
//! what it spent of the control-plane budget, and tests and benchmarks can assert exact
//! numbers (a no-op sweep makes 0 writes) without a mock.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
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

/// Calls per `(service, operation)`, e.g. `("elasticloadbalancingv2", "RegisterTargets")`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Calls(pub BTreeMap<(String, String), Count>);

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
        self.0.values().map(|c| c.attempts).sum()
    }

    /// What happened after `earlier` was taken.
    pub fn since(&self, earlier: &Calls) -> Calls {
        let mut out = BTreeMap::new();
        for (key, now) in &self.0 {
            let before = earlier.0.get(key).copied().unwrap_or_default();
            let delta = Count {
                calls: now.calls - before.calls,
                attempts: now.attempts - before.attempts,
            };
            if delta != Count::default() {
                out.insert(key.clone(), delta);
            }
        }
        Calls(out)
    }

    /// Names of the write operations made, one entry per call, sorted.
    pub fn write_ops(&self) -> Vec<String> {
        self.0
            .iter()
            .filter(|((_, op), _)| !is_read(op))
            .flat_map(|((_, op), c)| std::iter::repeat_n(op.clone(), c.calls as usize))
            .collect()
    }

    fn sum(&self, pick: impl Fn(&str) -> bool) -> u64 {
        self.0
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

    fn bump(&self, cfg: &ConfigBag, field: impl Fn(&mut Count)) {
        let Some(meta) = cfg.load::<Metadata>() else {
            return;
        };
        let key = (meta.service().to_string(), meta.name().to_string());
        let mut calls = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        field(calls.0.entry(key).or_default());
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "frontdoor::CallLog"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.bump(cfg, |c| c.calls += 1);
        Ok(())
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.bump(cfg, |c| c.attempts += 1);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calls(entries: &[(&str, u64)]) -> Calls {
        Calls(
            entries
                .iter()
                .map(|(op, n)| {
                    (
                        ("svc".to_string(), op.to_string()),
                        Count {
                            calls: *n,
                            attempts: *n,
                        },
                    )
                })
                .collect(),
        )
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
        assert_eq!(c.write_ops(), vec!["PutParameter", "RegisterTargets"]);
    }

    #[test]
    fn since_subtracts_and_drops_unchanged() {
        let before = calls(&[("GetParameter", 1)]);
        let after = calls(&[("GetParameter", 1), ("PutParameter", 2)]);
        assert_eq!(after.since(&before), calls(&[("PutParameter", 2)]));
    }
}
