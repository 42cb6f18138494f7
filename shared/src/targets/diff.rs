//! Pure. From what was observed to the minimal ordered plan. Never deregisters a target the
//! registry does not own; changes nothing when the endpoint cannot be trusted (not
//! available, gone, no IPs, or a partial ENI read); widens the registry before registering
//! and narrows it after deregistering.
//!
//! Never empty, by construction rather than by a check: a plan changes anything only when
//! the endpoint reads back with at least one IP, every such IP ends up registered, and
//! registrations precede deregistrations. The property test below holds it to that.

use std::collections::BTreeSet;

use super::{EndpointView, Observed, Report, Target, Trigger};

/// The writes one reconcile makes, in this order: `registry_before` (if any), `register`,
/// `deregister`, `registry_after` (if any).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Registry value to store before registering (owned plus what is about to be).
    pub registry_before: Option<BTreeSet<Target>>,
    /// Targets to register.
    pub register: BTreeSet<Target>,
    /// Owned targets to deregister, each with the port it was registered with.
    pub deregister: BTreeSet<Target>,
    /// Registry value to store at the end.
    pub registry_after: Option<BTreeSet<Target>>,
    /// Desired targets already registered.
    pub kept: BTreeSet<Target>,
    /// Registered targets frontdoor does not own (left alone).
    pub foreign: BTreeSet<Target>,
    /// Set when the endpoint could not be trusted and nothing may change, with the reason.
    pub refused: Option<String>,
}

impl Plan {
    /// Whether applying it writes nothing.
    pub fn is_noop(&self) -> bool {
        self.registry_before.is_none()
            && self.register.is_empty()
            && self.deregister.is_empty()
            && self.registry_after.is_none()
    }

    /// The report of this plan, once applied.
    pub fn report(&self, trigger: &Trigger, reads: u64, writes: u64) -> Report {
        let names = |set: &BTreeSet<Target>| set.iter().map(Target::to_string).collect();
        Report {
            trigger: match trigger {
                Trigger::Sweep => "sweep".into(),
                Trigger::EndpointCall { call } => call.clone(),
            },
            registered: names(&self.register),
            deregistered: names(&self.deregister),
            kept: names(&self.kept),
            foreign: names(&self.foreign),
            refused: self.refused.clone(),
            reads,
            writes,
        }
    }
}

/// Computes the plan. Pure: no I/O, no clock, no randomness.
pub fn diff(observed: &Observed) -> Plan {
    let registered: BTreeSet<&Target> = observed
        .live
        .iter()
        .filter(|t| !t.draining)
        .map(|t| &t.target)
        .collect();
    let foreign = registered
        .iter()
        .filter(|t| !observed.owned.contains(t))
        .map(|t| (*t).clone())
        .collect();
    let desired: BTreeSet<Target> = match &observed.endpoint {
        EndpointView::Ready(ips) if !ips.is_empty() => ips
            .iter()
            .map(|ip| Target::endpoint_ip(ip.ip.clone()))
            .collect(),
        EndpointView::Ready(_) => {
            return refused(foreign, "endpoint reads back with no IPs".into())
        }
        EndpointView::NotReady(reason) => return refused(foreign, reason.clone()),
    };

    let register: BTreeSet<Target> = desired
        .iter()
        .filter(|t| !registered.contains(t))
        .cloned()
        .collect();
    let kept = desired
        .iter()
        .filter(|t| registered.contains(t))
        .cloned()
        .collect();
    let deregister: BTreeSet<Target> = observed
        .owned
        .iter()
        .filter(|t| registered.contains(t) && !desired.contains(t))
        .cloned()
        .collect();

    // Widen first: every target about to be registered is owned before the call is made.
    let widened: BTreeSet<Target> = observed.owned.union(&register).cloned().collect();
    let registry_before = (widened != observed.owned).then(|| widened.clone());
    // Narrow last: keep owned targets that are still registered or were just registered.
    let narrowed: BTreeSet<Target> = widened
        .iter()
        .filter(|t| (registered.contains(t) || register.contains(t)) && !deregister.contains(t))
        .cloned()
        .collect();
    let registry_after = (narrowed != widened).then_some(narrowed);

    Plan {
        registry_before,
        register,
        deregister,
        registry_after,
        kept,
        foreign,
        refused: None,
    }
}

fn refused(foreign: BTreeSet<Target>, reason: String) -> Plan {
    Plan {
        foreign,
        refused: Some(reason),
        ..Plan::default()
    }
}

/// The target group after `plan` is applied to `observed`: the model property tests check.
#[cfg(test)]
fn applied(observed: &Observed, plan: &Plan) -> Vec<super::LiveTarget> {
    let mut out: Vec<super::LiveTarget> = observed
        .live
        .iter()
        .filter(|t| {
            !(plan.deregister.contains(&t.target)
                || plan.register.contains(&t.target) && t.draining)
        })
        .cloned()
        .collect();
    out.extend(plan.register.iter().map(|t| super::LiveTarget {
        target: t.clone(),
        draining: false,
        health: "initial".into(),
    }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::targets::{EndpointIp, LiveTarget};
    use proptest::prelude::*;
    use proptest::test_runner::RngSeed;

    fn t(ip: &str) -> Target {
        Target::endpoint_ip(ip)
    }

    fn live(ips: &[&str]) -> Vec<LiveTarget> {
        ips.iter()
            .map(|ip| LiveTarget {
                target: t(ip),
                draining: false,
                health: "healthy".into(),
            })
            .collect()
    }

    fn ready(ips: &[&str]) -> EndpointView {
        EndpointView::Ready(
            ips.iter()
                .enumerate()
                .map(|(i, ip)| EndpointIp {
                    ip: ip.to_string(),
                    az: format!("us-east-1{}", (b'a' + i as u8) as char),
                })
                .collect(),
        )
    }

    fn owned(ips: &[&str]) -> BTreeSet<Target> {
        ips.iter().map(|ip| t(ip)).collect()
    }

    mod given_an_empty_group {
        use super::*;

        #[test]
        fn when_endpoint_has_two_ips_then_both_are_registered_and_owned_first() {
            // GIVEN nothing registered, nothing owned
            let observed = Observed {
                endpoint: ready(&["10.0.1.10", "10.0.2.10"]),
                live: vec![],
                owned: BTreeSet::new(),
            };
            // WHEN
            let plan = diff(&observed);
            // THEN both are registered, and the registry names them before the call
            assert_eq!(plan.register, owned(&["10.0.1.10", "10.0.2.10"]));
            assert_eq!(
                plan.registry_before,
                Some(owned(&["10.0.1.10", "10.0.2.10"]))
            );
            assert_eq!(plan.registry_after, None);
            assert!(plan.deregister.is_empty());
        }
    }

    mod given_two_owned_targets {
        use super::*;

        fn observed(endpoint: EndpointView) -> Observed {
            Observed {
                endpoint,
                live: live(&["10.0.1.10", "10.0.2.10"]),
                owned: owned(&["10.0.1.10", "10.0.2.10"]),
            }
        }

        #[test]
        fn when_endpoint_read_is_empty_then_plan_is_empty() {
            let plan = diff(&observed(ready(&[])));
            assert!(plan.is_noop());
            assert!(plan.refused.is_some());
        }

        #[test]
        fn when_endpoint_is_not_available_then_plan_is_empty() {
            let plan = diff(&observed(EndpointView::NotReady("pending".into())));
            assert!(plan.is_noop());
            assert_eq!(plan.refused.as_deref(), Some("pending"));
        }

        #[test]
        fn when_one_ip_moves_then_new_is_registered_and_old_deregistered() {
            let plan = diff(&observed(ready(&["10.0.1.10", "10.0.3.10"])));
            assert_eq!(plan.register, owned(&["10.0.3.10"]));
            assert_eq!(plan.deregister, owned(&["10.0.2.10"]));
            assert_eq!(
                plan.registry_before,
                Some(owned(&["10.0.1.10", "10.0.2.10", "10.0.3.10"]))
            );
            assert_eq!(
                plan.registry_after,
                Some(owned(&["10.0.1.10", "10.0.3.10"]))
            );
        }

        #[test]
        fn when_nothing_changed_then_plan_is_a_noop() {
            let plan = diff(&observed(ready(&["10.0.1.10", "10.0.2.10"])));
            assert!(plan.is_noop(), "{plan:?}");
            assert_eq!(plan.kept.len(), 2);
        }
    }

    mod given_a_hand_registered_target {
        use super::*;

        #[test]
        fn when_it_is_not_an_endpoint_ip_then_it_survives() {
            let observed = Observed {
                endpoint: ready(&["10.0.1.10"]),
                live: live(&["10.0.1.10", "10.0.9.9"]),
                owned: owned(&["10.0.1.10"]),
            };
            let plan = diff(&observed);
            assert!(plan.is_noop());
            assert_eq!(plan.foreign, owned(&["10.0.9.9"]));
        }

        #[test]
        fn when_it_is_an_endpoint_ip_then_it_is_kept_but_not_adopted() {
            let observed = Observed {
                endpoint: ready(&["10.0.1.10"]),
                live: live(&["10.0.1.10"]),
                owned: BTreeSet::new(),
            };
            let plan = diff(&observed);
            assert!(plan.is_noop(), "{plan:?}");
            assert_eq!(plan.kept, owned(&["10.0.1.10"]));
        }

        #[test]
        fn when_the_same_ip_is_on_another_port_then_that_port_is_left_alone() {
            // GIVEN frontdoor owns 10.0.1.10:443; someone registered 10.0.1.10:8443
            let mut observed = Observed {
                endpoint: ready(&["10.0.2.10"]),
                live: live(&["10.0.1.10"]),
                owned: owned(&["10.0.1.10"]),
            };
            observed.live.push(LiveTarget {
                target: Target {
                    id: "10.0.1.10".into(),
                    port: 8443,
                },
                draining: false,
                health: "healthy".into(),
            });
            // WHEN the endpoint moves away from 10.0.1.10
            let plan = diff(&observed);
            // THEN only the owned port is deregistered, with the port it was registered with
            assert_eq!(plan.deregister, owned(&["10.0.1.10"]));
            assert!(plan.foreign.contains(&Target {
                id: "10.0.1.10".into(),
                port: 8443
            }));
        }
    }

    mod given_an_owned_target_deregistered_by_hand {
        use super::*;

        #[test]
        fn when_still_desired_then_it_comes_back() {
            let observed = Observed {
                endpoint: ready(&["10.0.1.10", "10.0.2.10"]),
                live: live(&["10.0.1.10"]),
                owned: owned(&["10.0.1.10", "10.0.2.10"]),
            };
            let plan = diff(&observed);
            assert_eq!(plan.register, owned(&["10.0.2.10"]));
            assert_eq!(
                plan.registry_before, None,
                "already owned: no registry write"
            );
        }

        #[test]
        fn when_draining_and_desired_then_it_is_registered_again() {
            let mut observed = Observed {
                endpoint: ready(&["10.0.1.10"]),
                live: live(&["10.0.1.10"]),
                owned: owned(&["10.0.1.10"]),
            };
            observed.live[0].draining = true;
            let plan = diff(&observed);
            assert_eq!(plan.register, owned(&["10.0.1.10"]));
        }
    }

    // --- properties -------------------------------------------------------------------

    fn ip() -> impl Strategy<Value = String> {
        (1u8..4, 1u8..6).prop_map(|(subnet, host)| format!("10.0.{subnet}.{host}"))
    }

    fn target() -> impl Strategy<Value = Target> {
        (ip(), prop_oneof![4 => Just(443u16), 1 => Just(8443u16)])
            .prop_map(|(id, port)| Target { id, port })
    }

    prop_compose! {
        fn observed()(
            endpoint in prop_oneof![
                4 => proptest::collection::btree_set(ip(), 0..5).prop_map(|ips| EndpointView::Ready(
                    ips.into_iter().map(|ip| EndpointIp { ip, az: "us-east-1a".into() }).collect())),
                1 => Just(EndpointView::NotReady("pending".into())),
            ],
            live in proptest::collection::vec((target(), any::<bool>()), 0..8),
            owned in proptest::collection::btree_set(target(), 0..6),
        ) -> Observed {
            let mut seen = BTreeSet::new();
            let live = live
                .into_iter()
                .filter(|(t, _)| seen.insert(t.clone()))
                .map(|(target, draining)| LiveTarget { target, draining, health: String::new() })
                .collect();
            Observed { endpoint, live, owned }
        }
    }

    /// The registry after a plan is fully applied.
    fn registry_after(observed: &Observed, plan: &Plan) -> BTreeSet<Target> {
        plan.registry_after
            .clone()
            .or_else(|| plan.registry_before.clone())
            .unwrap_or_else(|| observed.owned.clone())
    }

    /// A plan, what it leaves registered, and the target group after it.
    fn outcome(observed: &Observed) -> (Plan, Vec<LiveTarget>, BTreeSet<Target>) {
        let plan = diff(observed);
        let after = applied(observed, &plan);
        let registered = after
            .iter()
            .filter(|t| !t.draining)
            .map(|t| t.target.clone())
            .collect();
        (plan, after, registered)
    }

    // Fixed seed: the same cases on every machine and every run.
    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 1000,
            rng_seed: RngSeed::Fixed(7),
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn never_deregisters_an_unowned_target(observed in observed()) {
            for t in &diff(&observed).deregister {
                prop_assert!(observed.owned.contains(t), "deregisters unowned {t}");
            }
        }

        #[test]
        fn never_empties_a_group_that_had_targets(observed in observed()) {
            let (plan, _, registered) = outcome(&observed);
            let before = observed.live.iter().filter(|t| !t.draining).count();
            prop_assert!(before == 0 && plan.register.is_empty() || !registered.is_empty());
        }

        #[test]
        fn registrations_are_owned_before_they_are_made(observed in observed()) {
            let plan = diff(&observed);
            for t in &plan.register {
                prop_assert!(plan
                    .registry_before
                    .as_ref()
                    .unwrap_or(&observed.owned)
                    .contains(t));
            }
        }

        #[test]
        fn converges_in_one_apply(observed in observed()) {
            let (plan, after, _) = outcome(&observed);
            let second = Observed {
                endpoint: observed.endpoint.clone(),
                live: after,
                owned: registry_after(&observed, &plan),
            };
            let again = diff(&second);
            prop_assert!(again.is_noop(), "second plan {again:?}");
        }

        #[test]
        fn every_endpoint_ip_is_registered_once_the_endpoint_is_ready(observed in observed()) {
            let (plan, _, registered) = outcome(&observed);
            if let EndpointView::Ready(ips) = &observed.endpoint {
                for ip in ips {
                    prop_assert!(registered.contains(&Target::endpoint_ip(ip.ip.clone())));
                }
            } else {
                prop_assert!(plan.is_noop());
            }
        }

        #[test]
        fn nothing_registered_by_someone_else_is_adopted(observed in observed()) {
            let plan = diff(&observed);
            for t in registry_after(&observed, &plan) {
                prop_assert!(observed.owned.contains(&t) || plan.register.contains(&t));
            }
        }
    }
}
