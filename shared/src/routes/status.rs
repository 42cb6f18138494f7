//! An API's status: a fixed vocabulary (DESIGN.md "Contract"), published in SSM as text and
//! counted in metrics by kind. Code compares kinds, never the text.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::ids::ApiRef;

/// What became of one API in a reconcile.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Its routes are live; `skipped` names methods that cannot be proxied
    /// (`POST /cats (AWS_IAM)`).
    Exposed {
        /// Methods left out, each `VERB /path (why)`.
        skipped: Vec<String>,
    },
    /// Its routes are written but AWS refused the deployment; the deployment stays owed.
    PendingDeployment(String),
    /// Nothing new of it is routed, and why.
    Refused(String),
    /// Its published name belongs to another API: nothing is published for it (its routes
    /// still are), and this status is only logged, counted and shown by `frontdoor status`.
    NameConflict {
        /// The name, normalised.
        name: String,
        /// The API that owns it.
        owner: ApiRef,
        /// When the owner left and another account waits out the hold: when it ends
        /// (RFC 3339).
        held_until: Option<String>,
    },
    /// A public path it wants stays with someone else; its other paths are routed.
    Conflict {
        /// The path it does not get.
        path: String,
        /// Who or what holds it.
        with: Holder,
    },
}

/// What keeps a path from an API.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Holder {
    /// Another exposed API owns it.
    Api(ApiRef),
    /// A route frontdoor did not make.
    HandMade,
    /// A variable sibling (`/items/{id}` beside `/items/{itemId}`): API Gateway allows one
    /// variable path part per parent.
    Sibling(String),
    /// Released by an API of another account that left: held for that account until then.
    Held {
        /// The account it is held for.
        account: crate::ids::AccountId,
        /// When the hold ends (RFC 3339).
        until: String,
    },
    /// Another owner's route (an API's, or a hand-made one when `api` is `None`) that one
    /// request path could match as well (`/files/secret` beside `/files/{proxy+}`).
    Overlaps {
        /// The owner, `None` for a hand-made route.
        api: Option<ApiRef>,
        /// Its path.
        path: String,
    },
    /// Its first path segment lives in another cell (another public REST API behind the
    /// domain, reached by that segment's routing rule): an API is served by one cell.
    Cell {
        /// The first segment, e.g. `/orders`.
        segment: String,
        /// The REST API id of the cell it lives in.
        cell: String,
    },
    /// The API's `expose:prefix` mount would take in another owner's route, or start under
    /// one: a mount is a whole subtree, and that subtree is not free.
    Mount {
        /// The mount asked for.
        mount: String,
        /// The owner of the route it meets.
        api: ApiRef,
        /// That route's path.
        path: String,
    },
}

/// The kind of a [`Status`], for metrics and counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StatusKind {
    /// [`Status::Exposed`].
    Exposed,
    /// [`Status::PendingDeployment`].
    PendingDeployment,
    /// [`Status::Refused`].
    Refused,
    /// [`Status::Conflict`].
    Conflict,
}

/// How a pending status starts when published; the only text the code reads back (a run
/// that deploys turns every such API back to its computed status).
pub const PENDING_PREFIX: &str = "pending deployment: ";

impl Status {
    /// Exposed with nothing skipped.
    pub fn exposed() -> Self {
        Status::Exposed {
            skipped: Vec::new(),
        }
    }

    /// Its kind.
    pub fn kind(&self) -> StatusKind {
        match self {
            Status::Exposed { .. } => StatusKind::Exposed,
            Status::PendingDeployment(_) => StatusKind::PendingDeployment,
            Status::Refused(_) => StatusKind::Refused,
            Status::Conflict { .. } | Status::NameConflict { .. } => StatusKind::Conflict,
        }
    }
}

/// Longest status text: a status is one standard SSM parameter (4096 characters), and a
/// hostile or just large API (hundreds of AWS_IAM methods, a long policy) must not make
/// one status fail the run that publishes everyone's.
pub const MAX_STATUS_CHARS: usize = 1024;

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let full = self.full_text();
        if full.chars().count() <= MAX_STATUS_CHARS {
            return f.write_str(&full);
        }
        let cut: String = full.chars().take(MAX_STATUS_CHARS - 20).collect();
        write!(f, "{cut} ... (cut short)")
    }
}

impl Status {
    fn full_text(&self) -> String {
        match self {
            Status::Exposed { skipped } if skipped.is_empty() => "exposed".to_string(),
            Status::Exposed { skipped } => format!("exposed; skipped: {}", skipped.join(", ")),
            Status::PendingDeployment(why) => format!("{PENDING_PREFIX}{why}"),
            Status::Refused(reason) => format!("refused: {reason}"),
            Status::Conflict { path, with } => match with {
                Holder::Api(api) => format!("conflict: {path} owned by {api}"),
                Holder::HandMade => format!("conflict: {path} owned by a hand-made route"),
                Holder::Sibling(sibling) => format!("conflict: {path} beside {sibling}"),
                Holder::Held { account, until } => {
                    format!("conflict: {path} held for {account} until {until}")
                }
                Holder::Overlaps {
                    api: Some(api),
                    path: theirs,
                } => format!("conflict: {path} overlaps {api}'s {theirs}"),
                Holder::Overlaps {
                    api: None,
                    path: theirs,
                } => format!("conflict: {path} overlaps a hand-made route's {theirs}"),
                Holder::Cell { segment, cell } => format!(
                    "conflict: {path} is under {segment}, which lives in cell {cell}; an API is served by one cell"
                ),
                Holder::Mount {
                    mount,
                    api,
                    path: theirs,
                } => {
                    format!("conflict: {path} is under mount {mount}, which meets {api}'s {theirs}")
                }
            },
            Status::NameConflict {
                name,
                owner,
                held_until: None,
            } => format!("conflict: name {name} owned by {owner}"),
            Status::NameConflict {
                name,
                owner,
                held_until: Some(until),
            } => format!(
                "conflict: name {name} held for {} until {until}",
                owner.account
            ),
        }
    }
}

/// Published and reported as its text.
impl Serialize for Status {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Seconds since the epoch as RFC 3339 (UTC, whole seconds), as statuses show a hold's end.
pub fn rfc3339(secs: u64) -> String {
    let at = aws_smithy_types::DateTime::from_secs(i64::try_from(secs).unwrap_or(i64::MAX));
    at.fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| secs.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{AccountId, ApiId};

    #[test]
    fn a_status_never_outgrows_one_parameter() {
        // An API with hundreds of long AWS_IAM paths must not fail everyone's publishing.
        let skipped = (0..400)
            .map(|i| format!("POST /{}/{i} (AWS_IAM)", "x".repeat(200)))
            .collect();
        let text = Status::Exposed { skipped }.to_string();
        assert!(text.chars().count() <= MAX_STATUS_CHARS, "{}", text.len());
        assert!(text.starts_with("exposed; skipped: POST /xxx"));
        assert!(text.ends_with("(cut short)"));
    }

    #[test]
    fn texts_follow_the_contract() {
        let api = ApiRef {
            account: AccountId::parse("222222222222").unwrap(),
            api: ApiId::parse("abcdef0123").unwrap(),
        };
        let cases = [
            (Status::exposed(), "exposed"),
            (
                Status::Exposed {
                    skipped: vec!["POST /cats (AWS_IAM)".into()],
                },
                "exposed; skipped: POST /cats (AWS_IAM)",
            ),
            (
                Status::PendingDeployment("No integration defined for method".into()),
                "pending deployment: No integration defined for method",
            ),
            (Status::Refused("why".into()), "refused: why"),
            (
                Status::Conflict {
                    path: "/x".into(),
                    with: Holder::Api(api.clone()),
                },
                "conflict: /x owned by 222222222222/abcdef0123",
            ),
            (
                Status::Conflict {
                    path: "/x".into(),
                    with: Holder::HandMade,
                },
                "conflict: /x owned by a hand-made route",
            ),
            (
                Status::Conflict {
                    path: "/items/{itemId}".into(),
                    with: Holder::Sibling("/items/{id}".into()),
                },
                "conflict: /items/{itemId} beside /items/{id}",
            ),
        ];
        let more = [
            (
                Status::Conflict {
                    path: "/files/secret".into(),
                    with: Holder::Overlaps {
                        api: Some(api.clone()),
                        path: "/files/{proxy+}".into(),
                    },
                },
                "conflict: /files/secret overlaps 222222222222/abcdef0123's /files/{proxy+}",
            ),
            (
                Status::Conflict {
                    path: "/admin/x".into(),
                    with: Holder::Overlaps {
                        api: None,
                        path: "/admin/{proxy+}".into(),
                    },
                },
                "conflict: /admin/x overlaps a hand-made route's /admin/{proxy+}",
            ),
            (
                Status::Conflict {
                    path: "/cats/c/x".into(),
                    with: Holder::Mount {
                        mount: "/cats/c".into(),
                        api: api.clone(),
                        path: "/cats".into(),
                    },
                },
                "conflict: /cats/c/x is under mount /cats/c, which meets 222222222222/abcdef0123's /cats",
            ),
            (
                Status::NameConflict {
                    name: "private-cats".into(),
                    owner: api.clone(),
                    held_until: None,
                },
                "conflict: name private-cats owned by 222222222222/abcdef0123",
            ),
            (
                Status::NameConflict {
                    name: "private-cats".into(),
                    owner: api.clone(),
                    held_until: Some(rfc3339(1_796_169_600)),
                },
                "conflict: name private-cats held for 222222222222 until 2026-12-02T00:00:00Z",
            ),
            (
                Status::Conflict {
                    path: "/cats".into(),
                    with: Holder::Held {
                        account: api.account.clone(),
                        until: rfc3339(1_796_169_600),
                    },
                },
                "conflict: /cats held for 222222222222 until 2026-12-02T00:00:00Z",
            ),
        ];
        for (status, text) in cases.into_iter().chain(more) {
            assert_eq!(status.to_string(), text);
            assert_eq!(
                serde_json::to_value(&status).unwrap(),
                serde_json::json!(text)
            );
        }
    }
}
