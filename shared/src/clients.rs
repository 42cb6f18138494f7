//! AWS clients, built once at cold start from one `SdkConfig` (the standard chain:
//! `AWS_REGION`, credentials, `AWS_ENDPOINT_URL` for an emulator) and shared by every warm
//! invocation. Retries and timeouts are set here and nowhere else.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::Provider;
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction};

use crate::calls::CallLog;
use crate::config::{RouteSyncConfig, TargetSyncConfig};
use crate::error::Result;
use crate::ids::AccountId;

/// Retries and timeouts for every client.
///
/// Adaptive mode: the SDK's token bucket slows the whole client down after throttling
/// instead of each call backing off alone, which suits API Gateway's shared ~10 rps
/// control-plane budget. Four attempts with the SDK's jittered exponential backoff ride out a
/// throttling burst; past that the error is transient and Lambda retries the invocation. The
/// attempt timeout keeps one stuck connection from eating the function's whole timeout.
///
/// The HTTPS client is rustls with ring (one shared connection pool for every client).
pub fn tuned(loader: ConfigLoader) -> ConfigLoader {
    loader
        .http_client(
            aws_smithy_http_client::Builder::new()
                .tls_provider(Provider::Rustls(CryptoMode::Ring))
                .build_https(),
        )
        .retry_config(
            RetryConfig::adaptive()
                .with_max_attempts(4)
                .with_initial_backoff(Duration::from_millis(200)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(10))
                .operation_timeout(Duration::from_secs(30))
                .build(),
        )
}

/// The clients of the hub account, each counting its calls into one [`CallLog`].
#[derive(Debug, Clone)]
pub struct Clients {
    /// EC2: the VPC endpoint and its network interfaces.
    pub ec2: aws_sdk_ec2::Client,
    /// ELBv2: the target group.
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    /// SSM: the registry and the published parameters.
    pub ssm: aws_sdk_ssm::Client,
    /// SQS: route-sync's "deploy" message on its own queue.
    pub sqs: aws_sdk_sqs::Client,
    /// API Gateway in the hub: the public API.
    pub apigateway: aws_sdk_apigateway::Client,
    /// API Gateway in each spoke, through its read-only role.
    pub spokes: Spokes,
    /// The region every client talks to.
    pub region: String,
    /// Every call the clients above made.
    pub calls: CallLog,
}

impl Clients {
    /// Builds every client from one `SdkConfig`.
    pub fn new(sdk: &SdkConfig) -> Self {
        let calls = CallLog::default();
        Self {
            ec2: aws_sdk_ec2::Client::from_conf(
                aws_sdk_ec2::config::Builder::from(sdk)
                    .interceptor(calls.clone())
                    .build(),
            ),
            elbv2: aws_sdk_elasticloadbalancingv2::Client::from_conf(
                aws_sdk_elasticloadbalancingv2::config::Builder::from(sdk)
                    .interceptor(calls.clone())
                    .build(),
            ),
            ssm: aws_sdk_ssm::Client::from_conf(
                aws_sdk_ssm::config::Builder::from(sdk)
                    .interceptor(calls.clone())
                    .build(),
            ),
            sqs: aws_sdk_sqs::Client::from_conf(
                aws_sdk_sqs::config::Builder::from(sdk)
                    .interceptor(calls.clone())
                    .build(),
            ),
            apigateway: aws_sdk_apigateway::Client::from_conf(
                aws_sdk_apigateway::config::Builder::from(sdk)
                    .interceptor(calls.clone())
                    .retry_classifier(QuotaIsNotThrottling)
                    .build(),
            ),
            spokes: Spokes {
                sdk: sdk.clone(),
                calls: calls.clone(),
                cache: Arc::new(tokio::sync::Mutex::new(HashMap::new())),
            },
            region: sdk.region().map(|r| r.to_string()).unwrap_or_default(),
            calls,
        }
    }
}

/// API Gateway answers a full resource quota with 429 `LimitExceededException` "Maximum
/// number of Resources for this API has been reached", a code the SDK retries as throttling.
/// The quota does not lift with time, so this forbids the retries: the first answer goes
/// straight to route sync, which refuses the API (DESIGN.md "Quota").
#[derive(Debug, Clone, Copy)]
struct QuotaIsNotThrottling;

impl ClassifyRetry for QuotaIsNotThrottling {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        use aws_sdk_apigateway::error::ProvideErrorMetadata;
        use aws_sdk_apigateway::operation::create_resource::CreateResourceError;
        let quota = ctx
            .output_or_error()
            .and_then(Result::err)
            .and_then(|e| e.as_operation_error())
            .and_then(|e| e.downcast_ref::<CreateResourceError>())
            .is_some_and(|e| {
                crate::error::is_quota_message(
                    e.code().unwrap_or_default(),
                    e.message().unwrap_or_default(),
                )
            });
        if quota {
            RetryAction::RetryForbidden
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "frontdoor: resource quota is not throttling"
    }
}

/// The process exits next and Lambda reports `Runtime.ExitError`; this line is what the
/// operator reads in the function's log to know which variables to fix.
fn log_cold_start_failure(error: &crate::Error) {
    tracing::error!(kind = error.kind(), error = %error, "cold start failed");
}

/// API Gateway clients for spoke accounts, one per role, cached for the life of the
/// process: the assume-role provider caches its credentials and refreshes them before they
/// expire, so a warm function calls STS about once an hour per spoke, not once per event.
#[derive(Debug, Clone)]
pub struct Spokes {
    sdk: SdkConfig,
    calls: CallLog,
    cache: Arc<tokio::sync::Mutex<HashMap<String, aws_sdk_apigateway::Client>>>,
}

impl Spokes {
    /// The client for `account`, acting as `arn:aws:iam::{account}:role/{role_name}`.
    pub async fn client(&self, account: &AccountId, role_name: &str) -> aws_sdk_apigateway::Client {
        let role_arn = format!("arn:aws:iam::{account}:role/{role_name}");
        let mut cache = self.cache.lock().await;
        if let Some(client) = cache.get(&role_arn) {
            return client.clone();
        }
        let provider = aws_config::sts::AssumeRoleProvider::builder(&role_arn)
            .session_name("frontdoor-route-sync")
            .configure(&self.sdk)
            .build()
            .await;
        let client = aws_sdk_apigateway::Client::from_conf(
            aws_sdk_apigateway::config::Builder::from(&self.sdk)
                .credentials_provider(provider)
                .interceptor(self.calls.clone())
                .build(),
        );
        cache.insert(role_arn, client.clone());
        client
    }
}

/// Config and clients: what a function builds once and borrows on every invocation.
#[derive(Debug, Clone)]
pub struct App<C> {
    /// The function's configuration.
    pub config: C,
    /// The hub's clients.
    pub clients: Clients,
    /// The hub account the function runs in, when known without an invocation (tests, the
    /// CLI); a Lambda invocation names it in its function ARN.
    pub own_account: Option<AccountId>,
}

impl<C> App<C> {
    /// Wraps a config and clients built elsewhere (tests, the CLI).
    pub fn new(config: C, sdk: &SdkConfig) -> Self {
        Self {
            config,
            clients: Clients::new(sdk),
            own_account: None,
        }
    }

    /// The same, running in `account`.
    pub fn in_account(self, account: AccountId) -> Self {
        Self {
            own_account: Some(account),
            ..self
        }
    }
}

impl App<RouteSyncConfig> {
    /// Cold start for `route-sync`.
    pub async fn route_sync_from_env() -> Result<Self> {
        let config = RouteSyncConfig::from_env().inspect_err(log_cold_start_failure)?;
        let sdk = tuned(aws_config::defaults(BehaviorVersion::latest()))
            .load()
            .await;
        Ok(Self::new(config, &sdk))
    }
}

impl App<TargetSyncConfig> {
    /// Cold start for `target-sync`: config first (fails fast, naming every bad variable),
    /// then the standard AWS chain.
    pub async fn target_sync_from_env() -> Result<Self> {
        let config = TargetSyncConfig::from_env().inspect_err(log_cold_start_failure)?;
        let sdk = tuned(aws_config::defaults(BehaviorVersion::latest()))
            .load()
            .await;
        Ok(Self::new(config, &sdk))
    }
}
