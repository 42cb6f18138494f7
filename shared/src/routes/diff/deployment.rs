//! Pure. Whether this reconcile deploys the public stage, and whether it first records
//! that a deployment is owed.
//!
//! "No deployment when nothing changed" means nothing changed since the last deployment:
//! a run that wrote to the public API and failed before deploying left the owed marker,
//! and the next run deploys even with nothing else to do. The marker is stored before the
//! first public write and cleared only after a deployment AWS accepted. The stage itself is
//! observed too: one that serves less or other than frontdoor made is deployed again, so
//! the marker is needed only for a crash between the last write and the deployment.

/// The deployment decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Decision {
    /// Create one deployment.
    pub(super) deploy: bool,
    /// Store the owed marker before the first public write.
    pub(super) owe: bool,
}

/// Decides from whether the plan writes to the public API, whether one is owed, and whether
/// the stage serves less or other than the working tree holds of frontdoor's routes.
pub(super) fn decide(writes_public: bool, owed: bool, stale: bool) -> Decision {
    Decision {
        deploy: writes_public || owed || stale,
        owe: writes_public && !owed,
    }
}

/// Whether the public stage serves less or other than frontdoor made: a route a record
/// claims that the working tree has is missing from the stage's deployment, or served with
/// another authorization type or API key requirement (someone pointed the stage at an older
/// deployment). Routes the working tree no longer has are left to the plan (being replaced
/// or removed), and a stage that is not there or not read is not judged.
pub(super) fn stage_is_stale(observed: &Observed) -> bool {
    let Some(served) = &observed.stage.served else {
        return false;
    };
    let live = observed.public_by_path();
    observed
        .records
        .values()
        .flat_map(|r| r.claims.iter())
        .flat_map(|(path, verbs)| verbs.iter().map(move |v| (path, v)))
        .filter_map(|(path, verb)| {
            let method = live.get(path.as_str())?.methods.get(verb)?;
            Some(((path.clone(), verb.clone()), &method.auth))
        })
        .any(|(key, auth)| match served.get(&key) {
            None => true,
            Some(s) => {
                s.authorization_type != auth.authorization.type_name()
                    || s.api_key_required != auth.api_key_required
            }
        })
}

use crate::routes::Observed;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deploys_when_written_or_owed_and_marks_only_once() {
        assert_eq!(
            decide(false, false, false),
            Decision {
                deploy: false,
                owe: false
            }
        );
        assert_eq!(
            decide(true, false, false),
            Decision {
                deploy: true,
                owe: true
            }
        );
        assert_eq!(
            decide(false, true, false),
            Decision {
                deploy: true,
                owe: false
            }
        );
        assert_eq!(
            decide(true, true, false),
            Decision {
                deploy: true,
                owe: false
            }
        );
    }
}
