//! Pure. Which private APIs a route reconcile looks at: what the events of a batch (or a
//! sweep) ask for, below both the event parser that builds it and the reconciler that takes
//! it.

use std::collections::BTreeSet;

use crate::ids::ApiRef;

/// Which private APIs a reconcile looks at.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scope {
    /// Every API of every allowed account, and every API the registry knows.
    pub sweep: bool,
    /// APIs named by events.
    pub apis: BTreeSet<ApiRef>,
    /// Also the APIs waiting on an owed deployment (a run that deploys gives them their
    /// status, `exposed` or `pending deployment`).
    pub owed: bool,
}
