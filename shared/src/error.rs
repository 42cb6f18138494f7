//! The one error type. Every failure is either transient (the caller should run the same
//! work again: Lambda's retry or the queue's redelivery) or permanent (retrying cannot help:
//! log the reason, count it, return Ok). [`Error::is_transient`] is the only retry policy.

use std::fmt;

use aws_runtime::retries::classifiers::{THROTTLING_ERRORS, TRANSIENT_ERRORS};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// `Result` with frontdoor's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One configuration variable that is missing or malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The environment variable's name.
    pub name: &'static str,
    /// What is wrong with it, in words an operator can act on.
    pub problem: String,
}

/// Everything that can go wrong in frontdoor.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Configuration is missing or malformed; every bad variable is named. Permanent.
    #[error("bad configuration: {}", list_problems(.0))]
    Config(Vec<ConfigProblem>),

    /// The event cannot be understood. Permanent: the same bytes will never parse.
    #[error("bad event: {reason}")]
    BadEvent {
        /// What was wrong with it.
        reason: String,
        /// The parser's error, when there was one.
        #[source]
        source: Option<serde_json::Error>,
    },

    /// An AWS call failed.
    #[error("{op} failed: {failure}: {message}")]
    Aws {
        /// The API operation, e.g. `RegisterTargets`.
        op: &'static str,
        /// How: AWS's answer (its code), or why there was none.
        failure: Failure,
        /// AWS's message, or the error chain when there was no response.
        message: String,
        /// Throttling, 5xx, timeouts and connection failures are transient.
        transient: bool,
        /// The SDK error, kept whole (request id, raw response, cause chain).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The registry holds a value frontdoor cannot read. Permanent until a person fixes it:
    /// guessing would risk deregistering what someone else owns.
    #[error("registry parameter {name} is unreadable: {problem}")]
    Registry {
        /// The SSM parameter's name.
        name: String,
        /// What is wrong with its value.
        problem: String,
    },

    /// Re-reading after apply did not show what was applied. Transient: a retry re-observes.
    #[error("drift after apply: {0}")]
    Drift(String),

    /// The invocation reached its last moments before its deadline with a call still in
    /// flight (the budget stops starting work well before; this is the backstop). Transient:
    /// what was written is crash-safe, and the next run goes on from there.
    #[error("out of time: {0}")]
    OutOfTime(String),

    /// A write this run cannot make because another of its writes was refused first (a
    /// parent another API was to create). Permanent for this run; the next one plans again.
    #[error("{0}")]
    Blocked(String),
}

/// How an AWS call failed: AWS's own error code when it answered, else why it did not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// AWS answered with an error.
    Service {
        /// AWS's code, e.g. `AccessDeniedException` (`Unknown` when the answer had none).
        code: String,
        /// The HTTP status.
        status: u16,
    },
    /// The call's credentials could not be had: STS answered AssumeRole with this code.
    AssumeRole {
        /// STS's code, e.g. `AccessDenied`.
        code: String,
    },
    /// No answer: the connection could not be made, or broke.
    Unreachable,
    /// No answer within the timeout.
    Timeout,
    /// An answer that could not be read.
    Unreadable,
    /// The request could not be built: a bug or bad input.
    NotSent,
}

impl Failure {
    /// AWS's error code, when AWS (or STS for the credentials) answered.
    pub fn code(&self) -> Option<&str> {
        match self {
            Failure::Service { code, .. } | Failure::AssumeRole { code } => Some(code),
            _ => None,
        }
    }

    /// AWS refused the caller's permissions (IAM or a resource policy).
    pub fn is_access_denied(&self) -> bool {
        self.code()
            .is_some_and(|c| c.contains("AccessDenied") || c.contains("Unauthorized"))
    }

    /// AWS was never reached, or did not answer in time.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Failure::Unreachable | Failure::Timeout)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Service { code, .. } => f.write_str(code),
            Failure::AssumeRole { code } => write!(f, "AssumeRole {code}"),
            Failure::Unreachable => f.write_str("no connection"),
            Failure::Timeout => f.write_str("timed out"),
            Failure::Unreadable => f.write_str("unreadable answer"),
            Failure::NotSent => f.write_str("request not sent"),
        }
    }
}

fn list_problems(problems: &[ConfigProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("{}: {}", p.name, p.problem))
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    /// Whether running the same work again may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Aws { transient, .. } => *transient,
            Error::Drift(_) | Error::OutOfTime(_) => true,
            Error::Config(_)
            | Error::BadEvent { .. }
            | Error::Registry { .. }
            | Error::Blocked(_) => false,
        }
    }

    /// A bounded label for logs, metrics and Lambda's `errorType`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Config(_) => "Config",
            Error::BadEvent { .. } => "BadEvent",
            Error::Aws { .. } => "Aws",
            Error::Registry { .. } => "Registry",
            Error::Drift(_) => "Drift",
            Error::OutOfTime(_) => "OutOfTime",
            Error::Blocked(_) => "Blocked",
        }
    }

    /// The AWS error code, when this is an AWS error.
    pub fn aws_code(&self) -> Option<&str> {
        match self {
            Error::Aws { failure, .. } => failure.code(),
            _ => None,
        }
    }

    /// A bad event with a reason and no parser error.
    pub fn bad_event(reason: impl Into<String>) -> Self {
        Error::BadEvent {
            reason: reason.into(),
            source: None,
        }
    }
}

impl From<Error> for lambda_runtime::Diagnostic {
    fn from(error: Error) -> Self {
        let class = if error.is_transient() {
            "Transient"
        } else {
            "Permanent"
        };
        lambda_runtime::Diagnostic {
            error_type: format!("frontdoor.{class}.{}", error.kind()),
            error_message: error.to_string(),
        }
    }
}

/// Names the operation of an SDK call's result and turns its error into [`Error::Aws`].
///
/// `client.describe_vpc_endpoints().send().await.op("DescribeVpcEndpoints")?`
pub trait AwsResultExt<T, E> {
    /// Converts the SDK error, recording which operation failed.
    fn op(self, op: &'static str) -> Result<T>;

    /// The same, with "not found" (as the operation's `is_not_found`, e.g.
    /// `GetStageError::is_not_found_exception`, tells it) as `Ok(None)`: for reads of
    /// something that may not exist yet, and deletes that a lost answer may have done.
    fn op_or_missing(self, op: &'static str, is_not_found: fn(&E) -> bool) -> Result<Option<T>>;
}

impl<T, E> AwsResultExt<T, E> for std::result::Result<T, SdkError<E, Response>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fn op(self, op: &'static str) -> Result<T> {
        self.map_err(|e| classify(op, e))
    }

    fn op_or_missing(self, op: &'static str, is_not_found: fn(&E) -> bool) -> Result<Option<T>> {
        match self {
            Ok(found) => Ok(Some(found)),
            Err(e) if e.as_service_error().is_some_and(is_not_found) => Ok(None),
            Err(e) => Err(classify(op, e)),
        }
    }
}

fn classify<E>(op: &'static str, err: SdkError<E, Response>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (failure, message, transient) = match &err {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("Unknown").to_string();
            let status = service.raw().status().as_u16();
            let message = service.err().message().unwrap_or_default().to_string();
            // API Gateway answers a full quota with 429 LimitExceededException, the code the
            // SDK lists as throttling: retrying never helps (DESIGN.md principle 5).
            let transient = !is_quota_message(&code, &message)
                && (THROTTLING_ERRORS.contains(&code.as_str())
                    || TRANSIENT_ERRORS.contains(&code.as_str())
                    || status == 429
                    || status >= 500);
            (Failure::Service { code, status }, message, transient)
        }
        // A spoke call whose credentials could not be had: the SDK reports the failed
        // AssumeRole as a dispatch failure, but STS answered, and its code decides. A role
        // that is gone or does not trust the hub (AccessDenied) fails the same way every
        // time; only STS throttling or 5xx is worth a retry.
        SdkError::DispatchFailure(_) => match assume_role_error(&err) {
            Some((code, message, transient)) => (Failure::AssumeRole { code }, message, transient),
            // No usable answer from AWS: the network, or a connection that failed.
            None => (Failure::Unreachable, chain(&err), true),
        },
        // No usable answer from AWS: a timeout, or a garbled reply.
        SdkError::TimeoutError(_) => (Failure::Timeout, chain(&err), true),
        SdkError::ResponseError(_) => (Failure::Unreadable, chain(&err), true),
        // The request could not be built: a bug or bad input, retrying will not help.
        _ => (Failure::NotSent, chain(&err), false),
    };
    Error::Aws {
        op,
        failure,
        message,
        transient,
        source: Box::new(err),
    }
}

/// API Gateway's "Maximum number of Resources for this API has been reached" (and its
/// siblings for other per-API quotas), told apart from its rate-limit LimitExceededException
/// by the message, which is all AWS gives.
pub fn is_quota_message(code: &str, message: &str) -> bool {
    code == "LimitExceededException" && message.starts_with("Maximum number of")
}

/// The code, message and transience of an STS AssumeRole failure somewhere in `err`'s
/// source chain.
fn assume_role_error(err: &(dyn std::error::Error + 'static)) -> Option<(String, String, bool)> {
    use aws_sdk_sts::operation::assume_role::AssumeRoleError;
    let mut at: Option<&(dyn std::error::Error + 'static)> = Some(err);
    // Bounded: source chains are a handful of links deep.
    for _ in 0..16 {
        let current = at?;
        if let Some(e) = current.downcast_ref::<AssumeRoleError>() {
            let code = e.code().unwrap_or("Unknown").to_string();
            let transient = THROTTLING_ERRORS.contains(&code.as_str())
                || TRANSIENT_ERRORS.contains(&code.as_str())
                || code == "Unknown";
            return Some((code, e.message().unwrap_or_default().to_string(), transient));
        }
        at = current.source();
    }
    None
}

fn chain(err: &dyn std::error::Error) -> String {
    DisplayErrorContext(err).to_string()
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.problem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_error_names_every_variable() {
        // GIVEN two bad variables
        let err = Error::Config(vec![
            ConfigProblem {
                name: "FRONTDOOR_A",
                problem: "is not set".into(),
            },
            ConfigProblem {
                name: "FRONTDOOR_B",
                problem: "is empty".into(),
            },
        ]);
        // THEN the message names both, and it is permanent
        let text = err.to_string();
        assert!(text.contains("FRONTDOOR_A: is not set"), "{text}");
        assert!(text.contains("FRONTDOOR_B: is empty"), "{text}");
        assert!(!err.is_transient());
    }

    #[test]
    fn diagnostic_type_says_transient_or_permanent() {
        let d: lambda_runtime::Diagnostic = Error::Drift("x".into()).into();
        assert_eq!(d.error_type, "frontdoor.Transient.Drift");
        let d: lambda_runtime::Diagnostic = Error::bad_event("x").into();
        assert_eq!(d.error_type, "frontdoor.Permanent.BadEvent");
    }
}
