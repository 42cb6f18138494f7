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
/// Standard mode: four attempts with jittered exponential backoff (at most 2 s) ride out a
/// burst of throttling or 5xx; past that the error is transient and the run is retried.
/// Not adaptive mode: its client-side rate limiter cuts the sending rate after each throttle
/// (down to half a request a second), so under 30% injected faults every run spent its whole
/// deadline waiting (RELIABILITY.md). frontdoor paces its writes to AWS's rates itself
/// ([`crate::pacing`]), so a throttle is the exception. The attempt timeout keeps one stuck
/// connection from eating the function's whole timeout.
///
/// The HTTPS client is rustls with ring (one shared connection pool for every client).
pub fn tuned(loader: ConfigLoader) -> ConfigLoader {
    loader
        .http_client(https_client())
        .retry_config(retry_config())
        .timeout_config(timeout_config())
}

fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(4)
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(2))
}

fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_attempt_timeout(Duration::from_secs(10))
        .operation_timeout(Duration::from_secs(30))
        .build()
}

/// The `SdkConfig` of a function running in Lambda, from what Lambda puts in its
/// environment: `AWS_REGION`, the execution role's `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, and `AWS_ENDPOINT_URL` when set (an
/// emulator), with [`tuned`]'s client, retries and timeouts.
///
/// Not `aws_config::defaults`: its profile files, IMDS, ECS, web-identity and process
/// credential chains never run in Lambda, yet they are linked into every binary that calls
/// it (BENCHMARKS.md, "Binary size"). The CLI and the tests keep the full chain.
pub fn lambda_sdk_config() -> Result<SdkConfig> {
    use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
    use aws_config::identity::IdentityCache;
    use aws_credential_types::provider::SharedCredentialsProvider;
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let Some(region) = env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")) else {
        return Err(crate::Error::Config(vec![crate::error::ConfigProblem {
            name: "AWS_REGION",
            problem: "is not set (Lambda sets it; elsewhere, set it)".into(),
        }]));
    };
    let sleep = aws_smithy_async::rt::sleep::default_async_sleep();
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(aws_config::Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .identity_cache(IdentityCache::lazy().build())
        .time_source(aws_smithy_async::time::SharedTimeSource::default())
        .http_client(https_client())
        .retry_config(retry_config())
        .timeout_config(timeout_config());
    builder.set_sleep_impl(sleep);
    builder.set_endpoint_url(env("AWS_ENDPOINT_URL"));
    Ok(builder.build())
}

/// One hub client of the SDK crate `$sdk`, counting its calls into `$calls`.
macro_rules! hub_client {
    ($sdk:ident, $config:expr, $calls:expr) => {
        $sdk::Client::from_conf(
            $sdk::config::Builder::from($config)
                .interceptor($calls.clone())
                .build(),
        )
    };
}

/// A function and the clients it calls. Each function builds, and so links, only its own:
/// target-sync never builds API Gateway, SQS or STS clients (binary size, BENCHMARKS.md).
pub trait Function: Sized {
    /// Its configuration, read once at cold start.
    fn from_env() -> Result<Self>;
    /// The function's clients.
    type Clients: std::fmt::Debug + Clone + Send + Sync;
    /// Builds them from one `SdkConfig`, as the configuration says.
    fn clients(&self, sdk: &SdkConfig) -> Self::Clients;
}

/// The region the clients talk to, from the standard chain (`AWS_REGION`).
fn region(sdk: &SdkConfig) -> String {
    sdk.region().map(|r| r.to_string()).unwrap_or_default()
}

/// target-sync's clients in the hub account.
#[derive(Debug, Clone)]
pub struct TargetClients {
    /// EC2: the VPC endpoint and its network interfaces.
    pub ec2: aws_sdk_ec2::Client,
    /// ELBv2: the target group.
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    /// SSM: the registry.
    pub ssm: aws_sdk_ssm::Client,
    /// The region every client talks to.
    pub region: String,
    /// Every call the clients above made.
    pub calls: CallLog,
}

impl Function for TargetSyncConfig {
    type Clients = TargetClients;

    fn from_env() -> Result<Self> {
        TargetSyncConfig::from_env()
    }

    fn clients(&self, sdk: &SdkConfig) -> TargetClients {
        let calls = CallLog::default();
        TargetClients {
            ec2: hub_client!(aws_sdk_ec2, sdk, calls),
            elbv2: hub_client!(aws_sdk_elasticloadbalancingv2, sdk, calls),
            ssm: hub_client!(aws_sdk_ssm, sdk, calls),
            region: region(sdk),
            calls,
        }
    }
}

/// route-sync's clients: the hub's, and API Gateway in each spoke.
#[derive(Debug, Clone)]
pub struct RouteClients {
    /// SSM: the registry and the published parameters.
    pub ssm: aws_sdk_ssm::Client,
    /// SQS: route-sync's "deploy" message on its own queue.
    pub sqs: aws_sdk_sqs::Client,
    /// API Gateway in the hub: the public API.
    pub apigateway: aws_sdk_apigateway::Client,
    /// API Gateway's V2 API in the hub: the custom domain's routing rules (cells).
    pub apigatewayv2: aws_sdk_apigatewayv2::Client,
    /// API Gateway in each spoke, through its read-only role.
    pub spokes: Spokes,
    /// The region every client talks to.
    pub region: String,
    /// Every call the clients above made.
    pub calls: CallLog,
}

impl Function for RouteSyncConfig {
    type Clients = RouteClients;

    fn from_env() -> Result<Self> {
        RouteSyncConfig::from_env()
    }

    fn clients(&self, sdk: &SdkConfig) -> RouteClients {
        let calls = CallLog::default();
        // Hub writes paced to AWS's rates (spoke reads are not writes, so pass untouched).
        let paced;
        let sdk = match (self.write_pacing, sdk.http_client()) {
            (true, Some(http)) => {
                paced = sdk
                    .to_builder()
                    .http_client(crate::pacing::Pacer::aws().wrap(http))
                    .build();
                &paced
            }
            _ => sdk,
        };
        RouteClients {
            ssm: hub_client!(aws_sdk_ssm, sdk, calls),
            sqs: hub_client!(aws_sdk_sqs, sdk, calls),
            apigateway: aws_sdk_apigateway::Client::from_conf(
                aws_sdk_apigateway::config::Builder::from(sdk)
                    .interceptor(calls.clone())
                    .retry_classifier(resource_quota_is_not_throttling())
                    .build(),
            ),
            apigatewayv2: aws_sdk_apigatewayv2::Client::from_conf(
                aws_sdk_apigatewayv2::config::Builder::from(sdk)
                    .interceptor(calls.clone())
                    .retry_classifier(rule_quota_is_not_throttling())
                    .build(),
            ),
            spokes: Spokes {
                sdk: sdk.clone(),
                calls: calls.clone(),
                cache: Arc::new(tokio::sync::Mutex::new(HashMap::new())),
            },
            region: region(sdk),
            calls,
        }
    }
}

/// A quota AWS answers with a 429 the SDK retries as throttling, though waiting does not
/// lift it: this forbids the retries of one operation's quota answer (`is_quota` on its
/// error), so the first answer goes straight to route sync.
#[derive(Debug, Clone, Copy)]
struct QuotaIsNotThrottling<E> {
    name: &'static str,
    is_quota: fn(&E) -> bool,
}

impl<E> ClassifyRetry for QuotaIsNotThrottling<E>
where
    E: std::error::Error + std::fmt::Debug + Send + Sync + 'static,
{
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let quota = ctx
            .output_or_error()
            .and_then(Result::err)
            .and_then(|e| e.as_operation_error())
            .and_then(|e| e.downcast_ref::<E>())
            .is_some_and(self.is_quota);
        if quota {
            RetryAction::RetryForbidden
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        self.name
    }
}

/// API Gateway answers a full resource quota with 429 `LimitExceededException` "Maximum
/// number of Resources for this API has been reached": route sync refuses the API
/// (DESIGN.md "Quota").
fn resource_quota_is_not_throttling(
) -> QuotaIsNotThrottling<aws_sdk_apigateway::operation::create_resource::CreateResourceError> {
    use aws_sdk_apigateway::error::ProvideErrorMetadata;
    QuotaIsNotThrottling {
        name: "frontdoor: resource quota is not throttling",
        is_quota: |e| {
            crate::error::is_quota_message(
                e.code().unwrap_or_default(),
                e.message().unwrap_or_default(),
            )
        },
    }
}

/// A custom domain's full routing rule quota answers CreateRoutingRule with 429
/// `LimitExceededException` (the API reference's name; throttling is
/// `TooManyRequestsException`): the segment waits for the next run (routes::cell_sync).
fn rule_quota_is_not_throttling() -> QuotaIsNotThrottling<
    aws_sdk_apigatewayv2::operation::create_routing_rule::CreateRoutingRuleError,
> {
    use aws_sdk_apigatewayv2::error::ProvideErrorMetadata;
    QuotaIsNotThrottling {
        name: "frontdoor: routing rule quota is not throttling",
        is_quota: |e| e.code() == Some("LimitExceededException"),
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
        let provider = AssumeRole {
            sts: aws_sdk_sts::Client::from_conf(
                aws_sdk_sts::config::Builder::from(&self.sdk).build(),
            ),
            role_arn: role_arn.clone(),
        };
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

/// Credentials of a spoke's role, from STS AssumeRole with the function's own. The client's
/// identity cache keeps them until shortly before they expire.
///
/// Not `aws_config::sts::AssumeRoleProvider`: its builder falls back to `aws_config`'s
/// default chains, which then link into route-sync (BENCHMARKS.md, "Binary size"). The
/// failure is the SDK's AssumeRole error as the provider error's source, as there, so
/// `error.rs` classifies it the same way.
#[derive(Debug)]
struct AssumeRole {
    sts: aws_sdk_sts::Client,
    role_arn: String,
}

impl aws_credential_types::provider::ProvideCredentials for AssumeRole {
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        use aws_credential_types::provider::error::CredentialsError;
        aws_credential_types::provider::future::ProvideCredentials::new(async move {
            let out = self
                .sts
                .assume_role()
                .role_arn(&self.role_arn)
                .role_session_name("frontdoor-route-sync")
                .send()
                .await
                .map_err(CredentialsError::provider_error)?;
            let c = out
                .credentials()
                .ok_or_else(|| CredentialsError::unhandled("AssumeRole returned no credentials"))?;
            let expiry = std::time::SystemTime::try_from(*c.expiration())
                .map_err(CredentialsError::unhandled)?;
            Ok(aws_credential_types::Credentials::new(
                c.access_key_id(),
                c.secret_access_key(),
                Some(c.session_token().to_string()),
                Some(expiry),
                "frontdoor-assume-role",
            ))
        })
    }
}

/// Config and clients: what a function builds once and borrows on every invocation.
#[derive(Debug, Clone)]
pub struct App<C: Function> {
    /// The function's configuration.
    pub config: C,
    /// The function's clients.
    pub clients: C::Clients,
    /// The hub account the function runs in, when known without an invocation (tests, the
    /// CLI); a Lambda invocation names it in its function ARN.
    pub own_account: Option<AccountId>,
}

impl<C: Function> App<C> {
    /// Wraps a config and clients built elsewhere (tests, the CLI).
    pub fn new(config: C, sdk: &SdkConfig) -> Self {
        Self {
            clients: config.clients(sdk),
            config,
            own_account: None,
        }
    }

    /// The same clients and account with another configuration (one cell's, or the cells
    /// the hub stack records merged in).
    pub fn with_config(&self, config: C) -> Self
    where
        C::Clients: Clone,
    {
        Self {
            config,
            clients: self.clients.clone(),
            own_account: self.own_account.clone(),
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

impl<C: Function> App<C> {
    /// Cold start: the config first (fails fast, naming every bad variable), then the SDK's
    /// from Lambda's environment ([`lambda_sdk_config`]).
    pub async fn from_env() -> Result<Self> {
        let config = C::from_env().inspect_err(log_cold_start_failure)?;
        let sdk = lambda_sdk_config().inspect_err(log_cold_start_failure)?;
        Ok(Self::new(config, &sdk))
    }
}
