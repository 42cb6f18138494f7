//! Pure. Whether this reconcile deploys the public stage, and whether it first records
//! that a deployment is owed.
//!
//! "No deployment when nothing changed" means nothing changed since the last deployment:
//! a run that wrote to the public API and failed before deploying left the owed marker,
//! and the next run deploys even with nothing else to do. The marker is stored before the
//! first public write and cleared only after a deployment AWS accepted.

/// The deployment decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Decision {
    /// Create one deployment.
    pub(super) deploy: bool,
    /// Store the owed marker before the first public write.
    pub(super) owe: bool,
}

/// Decides from whether the plan writes to the public API and whether one is owed.
pub(super) fn decide(writes_public: bool, owed: bool) -> Decision {
    Decision {
        deploy: writes_public || owed,
        owe: writes_public && !owed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deploys_when_written_or_owed_and_marks_only_once() {
        assert_eq!(
            decide(false, false),
            Decision {
                deploy: false,
                owe: false
            }
        );
        assert_eq!(
            decide(true, false),
            Decision {
                deploy: true,
                owe: true
            }
        );
        assert_eq!(
            decide(false, true),
            Decision {
                deploy: true,
                owe: false
            }
        );
        assert_eq!(
            decide(true, true),
            Decision {
                deploy: true,
                owe: false
            }
        );
    }
}
