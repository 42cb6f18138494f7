//! The hub's route policy (DESIGN.md "Governance"): what every method frontdoor makes on the
//! public API carries (the authorizer, "API key required", a throttle) and the bounds within
//! which a spoke's tags may change it. Pure: the configuration read at cold start, the
//! method and throttle values frontdoor writes and compares, and the reading of an API's
//! `expose:auth`, `expose:rate` and `expose:burst` tags (untrusted).
//!
//! Hand-made routes are never touched: the policy applies to the methods frontdoor owns.

use std::collections::{BTreeMap, BTreeSet};

use crate::ids::AccountId;

/// The public API's authorizer every frontdoor route uses (its id).
pub const AUTHORIZER_ID: &str = "FRONTDOOR_AUTHORIZER_ID";
/// OAuth scopes for a Cognito authorizer, space-separated.
pub const AUTHORIZATION_SCOPES: &str = "FRONTDOOR_AUTHORIZATION_SCOPES";
/// `true`: every frontdoor route requires an API key.
pub const API_KEY_REQUIRED: &str = "FRONTDOOR_API_KEY_REQUIRED";
/// Default per-route steady rate (requests per second).
pub const THROTTLE_RATE: &str = "FRONTDOOR_THROTTLE_RATE";
/// Default per-route burst.
pub const THROTTLE_BURST: &str = "FRONTDOOR_THROTTLE_BURST";
/// The most `expose:rate` may ask.
pub const THROTTLE_MAX_RATE: &str = "FRONTDOOR_THROTTLE_MAX_RATE";
/// The most `expose:burst` may ask.
pub const THROTTLE_MAX_BURST: &str = "FRONTDOOR_THROTTLE_MAX_BURST";
/// Spoke accounts whose APIs may ask for `expose:auth=none`.
pub const PUBLIC_ROUTE_ACCOUNTS: &str = "FRONTDOOR_PUBLIC_ROUTE_ACCOUNTS";
/// Whether `OPTIONS` methods carry the hub's authorizer and API key too (`true`), or are
/// left open so a browser's CORS preflight, sent without credentials, is answered (`false`).
pub const GOVERN_PREFLIGHT: &str = "FRONTDOOR_GOVERN_PREFLIGHT";
/// The load balancer a VPC link V2 sends to (`integrationTarget`); set: the VPC link is V2.
pub const INTEGRATION_TARGET_ARN: &str = "FRONTDOOR_INTEGRATION_TARGET_ARN";

/// Tag: `none` asks for routes without the hub's authorizer and API key.
pub const TAG_AUTH: &str = "expose:auth";
/// Tag: this API's per-route steady rate.
pub const TAG_RATE: &str = "expose:rate";
/// Tag: this API's per-route burst.
pub const TAG_BURST: &str = "expose:burst";

/// API Gateway's default account-level throttle per Region (10,000 requests per second,
/// burst 5,000; "Amazon API Gateway quotas"): the maximum a tag may ask when the hub sets
/// none. A method limit above the account's is capped by AWS anyway.
pub const ACCOUNT_RATE: u32 = 10_000;
/// See [`ACCOUNT_RATE`].
pub const ACCOUNT_BURST: u32 = 5_000;

/// A per-method throttle: steady requests per second and burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Throttle {
    /// Steady rate, requests per second.
    pub rate: u32,
    /// Burst, requests.
    pub burst: u32,
}

impl std::fmt::Display for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} rps, burst {}", self.rate, self.burst)
    }
}

/// The hub's policy, from the function's configuration. The default governs nothing: routes
/// are open, the stage's throttle applies, tags may ask up to the account's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The public API's authorizer, when routes need one.
    pub authorizer_id: Option<String>,
    /// Scopes, for a Cognito authorizer.
    pub scopes: BTreeSet<String>,
    /// Every route requires an API key.
    pub api_key_required: bool,
    /// The throttle of a route whose API asks for none.
    pub throttle: Option<Throttle>,
    /// The most a tag may ask.
    pub max: Throttle,
    /// Accounts whose APIs may publish routes without authorizer and API key.
    pub public_accounts: BTreeSet<AccountId>,
    /// `OPTIONS` methods carry what every other method does; else they are open.
    pub govern_preflight: bool,
}

impl Policy {
    /// What an `OPTIONS` method carries beside methods that carry `auth`: open, so a CORS
    /// preflight (sent without credentials) is answered, unless the hub governs preflights.
    pub fn preflight(&self, auth: &MethodAuth) -> MethodAuth {
        if self.govern_preflight {
            auth.clone()
        } else {
            MethodAuth::open()
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            authorizer_id: None,
            scopes: BTreeSet::new(),
            api_key_required: false,
            throttle: None,
            max: Throttle {
                rate: ACCOUNT_RATE,
                burst: ACCOUNT_BURST,
            },
            public_accounts: BTreeSet::new(),
            govern_preflight: false,
        }
    }
}

impl Policy {
    /// Whether routes are governed at all (an authorizer or an API key).
    pub fn is_closed(&self) -> bool {
        self.authorizer_id.is_some() || self.api_key_required
    }
}

/// What an authorizer of the public API is (GetAuthorizer `type`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizerKind {
    /// A Lambda authorizer (`TOKEN` or `REQUEST`): methods use `CUSTOM`.
    Lambda,
    /// A Cognito user pool authorizer: methods use `COGNITO_USER_POOLS`, with scopes.
    Cognito,
}

impl AuthorizerKind {
    /// From GetAuthorizer's `type`.
    pub fn from_type(t: &str) -> Option<Self> {
        match t {
            "TOKEN" | "REQUEST" => Some(AuthorizerKind::Lambda),
            "COGNITO_USER_POOLS" => Some(AuthorizerKind::Cognito),
            _ => None,
        }
    }
}

/// A method's authorization, as frontdoor writes and compares it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Authorization {
    /// `NONE`.
    Open,
    /// `CUSTOM` with this authorizer.
    Lambda {
        /// The authorizer's id.
        authorizer_id: String,
    },
    /// `COGNITO_USER_POOLS` with this authorizer and scopes.
    Cognito {
        /// The authorizer's id.
        authorizer_id: String,
        /// OAuth scopes (none: the identity token is enough).
        scopes: BTreeSet<String>,
    },
    /// Anything else found on a live method (`AWS_IAM`, or a type without its authorizer).
    Other(String),
}

impl Authorization {
    /// The method's `authorizationType`.
    pub fn type_name(&self) -> &str {
        match self {
            Authorization::Open => "NONE",
            Authorization::Lambda { .. } => "CUSTOM",
            Authorization::Cognito { .. } => "COGNITO_USER_POOLS",
            Authorization::Other(t) => t,
        }
    }

    /// The authorizer id it names.
    pub fn authorizer_id(&self) -> Option<&str> {
        match self {
            Authorization::Lambda { authorizer_id }
            | Authorization::Cognito { authorizer_id, .. } => Some(authorizer_id),
            _ => None,
        }
    }

    /// The scopes it names.
    pub fn scopes(&self) -> BTreeSet<String> {
        match self {
            Authorization::Cognito { scopes, .. } => scopes.clone(),
            _ => BTreeSet::new(),
        }
    }

    /// From a live method's fields.
    pub fn observed(kind: &str, authorizer_id: Option<&str>, scopes: &[String]) -> Self {
        match (kind, authorizer_id) {
            ("NONE", _) => Authorization::Open,
            ("CUSTOM", Some(id)) => Authorization::Lambda {
                authorizer_id: id.to_string(),
            },
            ("COGNITO_USER_POOLS", Some(id)) => Authorization::Cognito {
                authorizer_id: id.to_string(),
                scopes: scopes.iter().cloned().collect(),
            },
            (other, _) => Authorization::Other(other.to_string()),
        }
    }
}

/// What a method carries besides its integration.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MethodAuth {
    /// Who may call it.
    pub authorization: Authorization,
    /// Whether callers need an API key (of a usage plan with the public stage).
    pub api_key_required: bool,
}

impl Default for MethodAuth {
    fn default() -> Self {
        Self::open()
    }
}

impl MethodAuth {
    /// Whether a method carrying this lets in a caller `hub` would not: it lacks the
    /// hub's authorizer (or has another), or the API key the hub requires.
    pub fn is_weaker_than(&self, hub: &MethodAuth) -> bool {
        (hub.authorization != Authorization::Open && self.authorization != hub.authorization)
            || (hub.api_key_required && !self.api_key_required)
    }

    /// No authorizer, no API key.
    pub fn open() -> Self {
        MethodAuth {
            authorization: Authorization::Open,
            api_key_required: false,
        }
    }
}

impl std::fmt::Display for MethodAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.authorization {
            Authorization::Open => f.write_str("open")?,
            Authorization::Lambda { authorizer_id } => write!(f, "authorizer {authorizer_id}")?,
            Authorization::Cognito {
                authorizer_id,
                scopes,
            } if scopes.is_empty() => write!(f, "cognito {authorizer_id}")?,
            Authorization::Cognito {
                authorizer_id,
                scopes,
            } => write!(
                f,
                "cognito {authorizer_id} ({})",
                scopes.iter().cloned().collect::<Vec<_>>().join(" ")
            )?,
            Authorization::Other(t) => f.write_str(t)?,
        }
        if self.api_key_required {
            f.write_str(" + API key")?;
        }
        Ok(())
    }
}

/// The hub's authorization for its routes, from the policy and what its authorizer is.
/// `Err` when the policy cannot be applied as configured (the run writes nothing).
pub fn hub_auth(policy: &Policy, kind: Option<&AuthorizerKind>) -> Result<MethodAuth, String> {
    let authorization = match (&policy.authorizer_id, kind) {
        (None, _) if !policy.scopes.is_empty() => {
            return Err(format!("{AUTHORIZATION_SCOPES} is set without {AUTHORIZER_ID}"))
        }
        (None, _) => Authorization::Open,
        (Some(id), None) => {
            return Err(format!(
                "{AUTHORIZER_ID} {id} is not an authorizer of the public API"
            ))
        }
        (Some(id), Some(AuthorizerKind::Lambda)) if !policy.scopes.is_empty() => {
            return Err(format!(
                "{AUTHORIZATION_SCOPES} needs a COGNITO_USER_POOLS authorizer; {id} is a Lambda authorizer"
            ))
        }
        (Some(id), Some(AuthorizerKind::Lambda)) => Authorization::Lambda {
            authorizer_id: id.clone(),
        },
        (Some(id), Some(AuthorizerKind::Cognito)) => Authorization::Cognito {
            authorizer_id: id.clone(),
            scopes: policy.scopes.clone(),
        },
    };
    Ok(MethodAuth {
        authorization,
        api_key_required: policy.api_key_required,
    })
}

/// What one API's routes carry: its authorization and throttle, from the hub's and its tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Governed {
    /// Authorization of each of its methods (`OPTIONS` aside).
    pub auth: MethodAuth,
    /// Authorization of its `OPTIONS` methods ([`Policy::preflight`]).
    pub preflight: MethodAuth,
    /// Throttle of each of its methods (`None`: the stage's default).
    pub throttle: Option<Throttle>,
}

/// Reads an API's governance tags within the hub's bounds; `Err` says why the API is refused.
pub fn governed(
    tags: &BTreeMap<String, String>,
    account: &AccountId,
    policy: &Policy,
    hub: &MethodAuth,
) -> Result<Governed, String> {
    let auth = match tags.get(TAG_AUTH).map(|v| v.trim()) {
        None | Some("") => hub.clone(),
        Some("none") if !policy.is_closed() => hub.clone(),
        Some("none") if policy.public_accounts.contains(account) => MethodAuth::open(),
        Some("none") => {
            return Err(format!(
                "{TAG_AUTH}=none: account {account} may not publish routes without the hub's \
                 authorizer and API key (the hub lists accounts that may in {PUBLIC_ROUTE_ACCOUNTS})"
            ))
        }
        Some(other) => {
            return Err(format!(
                "{TAG_AUTH} {} must be none or absent",
                crate::paths::shown(other)
            ))
        }
    };
    let rate = tag_number(tags, TAG_RATE, policy.max.rate)?;
    let burst = tag_number(tags, TAG_BURST, policy.max.burst)?;
    // A tag sets its half; the other half is the hub's default. Without one, both are
    // needed: filling the other half from the maximum would hand a spoke that asks for
    // less burst the whole maximum rate, above the stage's own throttle.
    let throttle = match (rate, burst, policy.throttle) {
        (None, None, default) => default,
        (Some(rate), Some(burst), _) => Some(Throttle { rate, burst }),
        (rate, burst, Some(default)) => Some(Throttle {
            rate: rate.unwrap_or(default.rate),
            burst: burst.unwrap_or(default.burst),
        }),
        (Some(_), None, None) => {
            return Err(format!(
                "{TAG_RATE} needs {TAG_BURST} too: the hub sets no default throttle"
            ))
        }
        (None, Some(_), None) => {
            return Err(format!(
                "{TAG_BURST} needs {TAG_RATE} too: the hub sets no default throttle"
            ))
        }
    };
    let preflight = policy.preflight(&auth);
    Ok(Governed {
        auth,
        preflight,
        throttle,
    })
}

/// A whole number from 0 to `max` in tag `name`, if present.
fn tag_number(
    tags: &BTreeMap<String, String>,
    name: &str,
    max: u32,
) -> Result<Option<u32>, String> {
    let Some(raw) = tags.get(name).map(|v| v.trim()) else {
        return Ok(None);
    };
    match raw.parse::<u32>() {
        Ok(n) if n <= max => Ok(Some(n)),
        Ok(n) => Err(format!("{name} {n} is above the hub's maximum of {max}")),
        Err(_) => Err(format!(
            "{name} {} is not a whole number from 0 to {max}",
            crate::paths::shown(raw)
        )),
    }
}

/// The key of a method in a stage's `methodSettings` (GetStage) and the start of its
/// UpdateStage patch paths: the resource path without its leading `/`, each `/` escaped as
/// `~1` (JSON Pointer, RFC 6901; `~` first, as `~0`), then `/` and the verb: `/cats/{id}`
/// GET is `~1cats~1{id}/GET`.
pub fn method_setting_key(path: &str, verb: &str) -> String {
    let escaped = path.replace('~', "~0").replace('/', "~1");
    format!("{escaped}/{verb}")
}

/// The verbs an `ANY` method answers, each with a `methodSettings` key of its own. AWS
/// documents the keys per HTTP method and not whether an `ANY` key applies, so an `ANY`
/// method's throttle is written under each of these as well as under `ANY`, and they go
/// together (as the serverless-api-gateway-throttling plugin does).
pub const ANY_VERBS: [&str; 7] = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"];

/// The verbs a throttle on `verb` is written for: the verb itself, and for `ANY` each verb
/// it answers too.
pub fn answered_verbs(verb: &str) -> impl Iterator<Item = &str> {
    let answers: &[&str] = if verb == "ANY" { &ANY_VERBS } else { &[] };
    std::iter::once(verb).chain(answers.iter().copied())
}

/// The `methodSettings` keys a throttle on `verb` at `path` is written under
/// ([`answered_verbs`]).
pub fn setting_keys(path: &str, verb: &str) -> Vec<String> {
    answered_verbs(verb)
        .map(|v| method_setting_key(path, v))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(a: &str) -> AccountId {
        AccountId::parse(a).unwrap_or_else(|e| panic!("{e}"))
    }

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn closed() -> (Policy, MethodAuth) {
        let policy = Policy {
            authorizer_id: Some("auth01".into()),
            throttle: Some(Throttle {
                rate: 100,
                burst: 50,
            }),
            max: Throttle {
                rate: 500,
                burst: 200,
            },
            public_accounts: [account("222222222222")].into(),
            ..Policy::default()
        };
        let hub =
            hub_auth(&policy, Some(&AuthorizerKind::Lambda)).unwrap_or_else(|e| panic!("{e}"));
        (policy, hub)
    }

    #[test]
    fn the_key_escapes_the_path_as_aws_does() {
        assert_eq!(method_setting_key("/cats/{id}", "GET"), "~1cats~1{id}/GET");
        assert_eq!(method_setting_key("/a~b", "ANY"), "~1a~0b/ANY");
    }

    #[test]
    fn no_route_can_name_the_stage_wide_setting() {
        // A hostile path cannot reach `*/*` (every method of the stage) or another route's
        // key: every key starts with the escaped leading `/`, and the escape is one-to-one.
        for (path, verb) in [("/*", "*"), ("/", "*"), ("/~1x", "GET"), ("/a/b", "GET")] {
            let key = method_setting_key(path, verb);
            assert!(key.starts_with("~1") && key != "*/*", "{key}");
        }
        assert_ne!(
            method_setting_key("/a~1b", "GET"),
            method_setting_key("/a/b", "GET")
        );
    }

    #[test]
    fn no_tags_get_the_hub_policy() {
        let (policy, hub) = closed();
        let g = governed(&tags(&[]), &account("111111111111"), &policy, &hub);
        assert_eq!(
            g,
            Ok(Governed {
                auth: MethodAuth {
                    authorization: Authorization::Lambda {
                        authorizer_id: "auth01".into()
                    },
                    api_key_required: false
                },
                preflight: MethodAuth::open(),
                throttle: policy.throttle
            })
        );
    }

    #[test]
    fn a_rate_tag_within_bounds_sets_its_half() {
        let (policy, hub) = closed();
        let g = governed(
            &tags(&[("expose:rate", "400")]),
            &account("111111111111"),
            &policy,
            &hub,
        );
        assert_eq!(
            g.map(|g| g.throttle),
            Ok(Some(Throttle {
                rate: 400,
                burst: 50
            }))
        );
    }

    #[test]
    fn hostile_throttle_tags_are_refused_with_the_reason() {
        let (policy, hub) = closed();
        for (tag, value, why) in [
            ("expose:rate", "501", "above the hub's maximum of 500"),
            ("expose:burst", "100000", "above the hub's maximum of 200"),
            ("expose:rate", "-1", "not a whole number"),
            ("expose:rate", "1e9", "not a whole number"),
            ("expose:burst", "NaN", "not a whole number"),
            ("expose:rate", "99999999999999999999", "not a whole number"),
        ] {
            let g = governed(
                &tags(&[(tag, value)]),
                &account("111111111111"),
                &policy,
                &hub,
            );
            assert!(
                g.as_ref().is_err_and(|e| e.contains(why)),
                "{tag}={value}: {g:?}"
            );
        }
    }

    #[test]
    fn half_a_throttle_without_a_hub_default_is_refused() {
        let (mut policy, hub) = closed();
        policy.throttle = None;
        let g = governed(
            &tags(&[("expose:burst", "10")]),
            &account("111111111111"),
            &policy,
            &hub,
        );
        assert!(g.is_err_and(|e| e.contains("needs expose:rate too")));
        let both = governed(
            &tags(&[("expose:rate", "10"), ("expose:burst", "5")]),
            &account("111111111111"),
            &policy,
            &hub,
        );
        assert_eq!(
            both.map(|g| g.throttle),
            Ok(Some(Throttle { rate: 10, burst: 5 }))
        );
    }

    #[test]
    fn auth_none_only_for_listed_accounts() {
        let (policy, hub) = closed();
        let none = tags(&[("expose:auth", "none")]);
        assert_eq!(
            governed(&none, &account("222222222222"), &policy, &hub).map(|g| g.auth),
            Ok(MethodAuth::open())
        );
        let refused = governed(&none, &account("111111111111"), &policy, &hub);
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.contains("111111111111 may not")),
            "{refused:?}"
        );
        let odd = governed(
            &tags(&[("expose:auth", "AWS_IAM")]),
            &account("222222222222"),
            &policy,
            &hub,
        );
        assert!(odd.is_err_and(|e| e.contains("must be none or absent")));
    }

    #[test]
    fn auth_none_on_an_open_hub_changes_nothing() {
        let policy = Policy {
            max: Throttle {
                rate: ACCOUNT_RATE,
                burst: ACCOUNT_BURST,
            },
            ..Policy::default()
        };
        let hub = hub_auth(&policy, None).unwrap_or_else(|e| panic!("{e}"));
        let g = governed(
            &tags(&[("expose:auth", "none")]),
            &account("111111111111"),
            &policy,
            &hub,
        );
        assert_eq!(g.map(|g| g.auth), Ok(MethodAuth::open()));
    }

    #[test]
    fn a_policy_that_cannot_apply_is_an_error() {
        let mut policy = Policy {
            authorizer_id: Some("auth01".into()),
            scopes: ["pets/read".to_string()].into(),
            ..Policy::default()
        };
        assert!(hub_auth(&policy, Some(&AuthorizerKind::Lambda)).is_err());
        assert!(hub_auth(&policy, None).is_err());
        assert_eq!(
            hub_auth(&policy, Some(&AuthorizerKind::Cognito)).map(|a| a.authorization.scopes()),
            Ok(["pets/read".to_string()].into())
        );
        policy.authorizer_id = None;
        assert!(hub_auth(&policy, None).is_err());
    }
}
