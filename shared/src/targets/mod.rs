//! Target sync: the NLB target group holds the private IPs of the hub's execute-api
//! endpoint (one ENI per subnet), and nothing frontdoor did not put there is ever removed.
//!
//! [`reconcile`] is observe -> diff (pure; the desired set is the endpoint's IPs) -> apply ->
//! verify. Safety rails, each tested: register before deregister; deregister only what the
//! registry owns, with the port it was registered with; never plan an empty group; an
//! endpoint that is not `available`, gone, reads back with no IPs or with fewer IPs than
//! ENIs changes nothing (a partial read must never shrink the group).

mod apply;
pub mod diff;
mod observe;

use observe::live_targets as live_targets_for_verify;

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;
use tracing::{info, instrument, warn};

use crate::clients::App;
use crate::config::TargetSyncConfig;
use crate::error::Result;
pub use crate::events::Trigger;
use crate::registry::Owned;

pub use apply::{apply, verify};
pub use diff::{diff, Plan};
pub use observe::observe;

/// The port the execute-api endpoint listens on; every target frontdoor registers uses it.
pub const ENDPOINT_PORT: u16 = 443;

/// One target: an IP and the port it is registered with.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Target {
    /// The target id: for an IP target group, the IP address.
    pub id: String,
    /// The port; deregistration must pass the same one.
    pub port: u16,
}

impl Target {
    /// A target on the endpoint's port.
    pub fn endpoint_ip(ip: impl Into<String>) -> Self {
        Self {
            id: ip.into(),
            port: ENDPOINT_PORT,
        }
    }

    /// Parses a registry key, `{id}:{port}`.
    pub fn from_key(key: &str) -> Option<Self> {
        let (id, port) = key.rsplit_once(':')?;
        Some(Self {
            id: id.to_string(),
            port: port.parse().ok()?,
        })
    }
}

impl Owned for Target {
    fn key(&self) -> String {
        format!("{}:{}", self.id, self.port)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.id, self.port)
    }
}

/// What the endpoint looks like, reduced to what target sync needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointView {
    /// Available, every ENI read: these IPs (with their AZs) are the desired targets.
    Ready(BTreeSet<EndpointIp>),
    /// Anything else: gone, not `available`, no ENIs, an ENI that did not read back, not an
    /// execute-api interface endpoint. The reason is reported; nothing changes.
    NotReady(String),
}

/// One private IP of the endpoint.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EndpointIp {
    /// The IPv4 address.
    pub ip: String,
    /// Its availability zone.
    pub az: String,
}

/// A target as the target group reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveTarget {
    /// Id and port.
    pub target: Target,
    /// `draining` targets are on their way out; everything else counts as registered.
    pub draining: bool,
    /// The health state as ELB reports it (`healthy`, `initial`, `unused`...), for status.
    pub health: String,
}

/// Everything observed, as plain values: the input of [`diff`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// The endpoint.
    pub endpoint: EndpointView,
    /// The target group's targets.
    pub live: Vec<LiveTarget>,
    /// What the registry says frontdoor registered.
    pub owned: BTreeSet<Target>,
}

/// What one reconcile did, logged as one line and returned to the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Why it ran.
    pub trigger: String,
    /// Targets registered.
    pub registered: Vec<String>,
    /// Targets deregistered.
    pub deregistered: Vec<String>,
    /// Desired targets already in place.
    pub kept: Vec<String>,
    /// Targets someone else registered, left alone.
    pub foreign: Vec<String>,
    /// Why nothing was changed, when the endpoint could not be trusted.
    pub refused: Option<String>,
    /// AWS calls that only read.
    pub reads: u64,
    /// AWS calls that wrote.
    pub writes: u64,
}

/// One whole target sync: observe, diff, apply, verify.
#[instrument(skip_all, fields(trigger = ?trigger, endpoint = %app.config.vpc_endpoint_id))]
pub async fn reconcile(app: &App<TargetSyncConfig>, trigger: &Trigger) -> Result<Report> {
    let before = app.clients.calls.snapshot();
    let observed = observe(app).await?;
    let plan = diff(&observed);
    if let Some(reason) = &plan.refused {
        warn!(reason = %reason, "endpoint not usable; targets left as they are");
    }
    apply(app, &plan).await?;
    verify(app, &plan).await?;
    let calls = app.clients.calls.snapshot().since(&before);
    let report = plan.report(trigger, calls.reads(), calls.writes());
    info!(
        registered = report.registered.len(),
        deregistered = report.deregistered.len(),
        kept = report.kept.len(),
        foreign = report.foreign.len(),
        refused = report.refused.as_deref().unwrap_or(""),
        reads = report.reads,
        writes = report.writes,
        "target sync done"
    );
    Ok(report)
}
