//! AWS clients, built once at cold start from one `SdkConfig` (the standard chain:
//! `AWS_REGION`, credentials, `AWS_ENDPOINT_URL` for an emulator) and shared by every warm
//! invocation. Retries and timeouts are set here and nowhere else.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, SdkConfig};

use crate::calls::CallLog;
use crate::config::TargetSyncConfig;
use crate::error::Result;

/// Retries and timeouts for every client.
///
/// Adaptive mode: the SDK's token bucket slows the whole client down after throttling
/// instead of each call backing off alone, which suits API Gateway's shared ~10 rps
/// control-plane budget. Four attempts with the SDK's jittered exponential backoff ride out a
/// throttling burst; past that the error is transient and Lambda retries the invocation. The
/// attempt timeout keeps one stuck connection from eating the function's whole timeout.
pub fn tuned(loader: ConfigLoader) -> ConfigLoader {
    loader
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
            calls,
        }
    }
}

/// The process exits next and Lambda reports `Runtime.ExitError`; this line is what the
/// operator reads in the function's log to know which variables to fix.
fn log_cold_start_failure(error: &crate::Error) {
    tracing::error!(kind = error.kind(), error = %error, "cold start failed");
}

/// Config and clients: what a function builds once and borrows on every invocation.
#[derive(Debug, Clone)]
pub struct App<C> {
    /// The function's configuration.
    pub config: C,
    /// The hub's clients.
    pub clients: Clients,
}

impl<C> App<C> {
    /// Wraps a config and clients built elsewhere (tests, the CLI).
    pub fn new(config: C, sdk: &SdkConfig) -> Self {
        Self {
            config,
            clients: Clients::new(sdk),
        }
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
