//! Pure. From what was observed to the minimal ordered plan. Never deregisters a target the
//! registry does not own; never plans an empty group; changes nothing when the endpoint
//! cannot be trusted; widens the registry before registering and narrows it after
//! deregistering.

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
    /// Deregistrations withheld by a rail, with the reason.
    pub refused: Vec<(Target, &'static str)>,
    /// Set when nothing may change, with the reason.
    pub skipped: Option<String>,
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
            refused: self
                .refused
                .iter()
                .map(|(t, why)| format!("{t}: {why}"))
                .collect(),
            skipped: self.skipped.clone(),
            reads,
            writes,
        }
    }
}

/// Rail: the last targets of a group are never deregistered.
pub const WOULD_EMPTY_GROUP: &str = "deregistering would leave the target group empty";

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
            return skipped(foreign, "endpoint reads back with no IPs".into())
        }
        EndpointView::NotReady(reason) => return skipped(foreign, reason.clone()),
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
    let mut deregister: BTreeSet<Target> = observed
        .owned
        .iter()
        .filter(|t| registered.contains(t) && !desired.contains(t))
        .cloned()
        .collect();

    let mut refused = Vec::new();
    let remaining = registered
        .iter()
        .copied()
        .chain(&register)
        .filter(|t| !deregister.contains(t))
        .count();
    if remaining == 0 {
        refused = deregister
            .iter()
            .map(|t| (t.clone(), WOULD_EMPTY_GROUP))
            .collect();
        deregister.clear();
    }

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
        refused,
        skipped: None,
    }
}

fn skipped(foreign: BTreeSet<Target>, reason: String) -> Plan {
    Plan {
        foreign,
        skipped: Some(reason),
        ..Plan::default()
    }
}

/// The target group after `plan` is applied to `observed`: the model property tests check.
pub fn applied(observed: &Observed, plan: &Plan) -> Vec<super::LiveTarget> {
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
    }));
    out
}
