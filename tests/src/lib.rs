//! The emulator tier's harness: moto's server on 127.0.0.1 (started per test, stopped on
//! drop), real SDK clients pointed at it, and the hub's seed resources. Scenarios live in
//! `tests/*.rs`; what moto does differently from AWS is in `tests/README.md`.

// A harness: a failed setup call should panic the test that made it, with the SDK error.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::types::VpcEndpointType;
use aws_sdk_elasticloadbalancingv2::types::{ProtocolEnum, TargetTypeEnum};
use serde_json::Value;
use shared::{App, TargetSyncConfig};

pub mod faults;
pub mod fifo;
pub mod org;
pub mod pets;
pub mod runtime_api;
pub mod scenario;

/// The hub account (moto's default account).
pub const HUB_ACCOUNT: &str = "123456789012";
/// The region every scenario runs in.
pub const REGION: &str = "us-east-1";
/// The endpoint id the files under `events/` name; scenarios swap in the real one.
pub const SAMPLE_VPCE: &str = "vpce-0a1b2c3d4e5f60718";
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// The workspace root: found from where cargo runs this (its `CARGO_MANIFEST_DIR` at run
/// time, else the current directory), up to the `Cargo.toml` with `[workspace]`. Not the
/// path this crate was compiled at: a target dir shared by two clones (CI's cache) may hold
/// this crate built from the other clone, and its scripts would be the other clone's.
pub fn workspace_root() -> PathBuf {
    let compiled = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let start = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok());
    let is_root = |dir: &Path| {
        std::fs::read_to_string(dir.join("Cargo.toml"))
            .is_ok_and(|text| text.lines().any(|l| l.trim() == "[workspace]"))
    };
    start
        .and_then(|dir| dir.ancestors().find(|d| is_root(d)).map(Path::to_path_buf))
        .unwrap_or(compiled)
}

/// The Python that has moto: `FRONTDOOR_PYTHON`, else the workspace's `.venv`.
pub fn python() -> PathBuf {
    std::env::var_os("FRONTDOOR_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv/bin/python"))
}

/// A moto server on loopback, killed on drop.
pub struct Emulator {
    child: Child,
    // Held open: the server exits when it closes, even if this process dies without Drop.
    _stdin: ChildStdin,
    port: u16,
}

impl Emulator {
    /// Starts a fresh server (empty state) and waits until it serves.
    pub fn start() -> Emulator {
        let script = workspace_root().join("tests/emulator/moto_server.py");
        let python = python();
        let mut child = Command::new(&python)
            .arg(&script)
            .arg("0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start the emulator with {}: {e}. Run ./scripts/setup first \
                     (it creates .venv with moto), or set FRONTDOOR_PYTHON",
                    python.display()
                )
            });
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let ready = lines.next();
            let _ = tx.send(ready);
            // Keep draining so the server never blocks on a full pipe.
            for _ in lines {}
        });
        let line = match rx.recv_timeout(START_TIMEOUT) {
            Ok(Some(Ok(line))) => line,
            other => {
                let _ = child.kill();
                panic!("emulator did not report READY within {START_TIMEOUT:?}: {other:?}");
            }
        };
        let port = line
            .strip_prefix("READY ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("unexpected emulator banner {line:?}"));
        Emulator {
            child,
            _stdin: stdin,
            port,
        }
    }

    /// `http://127.0.0.1:{port}`.
    pub fn endpoint_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates an S3 bucket (path-style, as the emulator serves S3 on its own port), e.g.
    /// for a CloudTrail trail; S3 is not worth an SDK crate here.
    pub fn create_bucket(&self, name: &str) {
        self.raw("PUT", &format!("/{name}"), "", "");
    }

    fn raw(&self, method: &str, path: &str, content_type: &str, body: &str) -> String {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream.set_read_timeout(Some(START_TIMEOUT)).unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200"),
            "{method} {path}: {answer}"
        );
        answer
    }

    /// Changes the launcher's settings (tests/README.md, "Control endpoint"), e.g.
    /// `{"resource_quota": 8}` or `{"deny_assume_role": ["333333333333"]}`.
    pub fn settings(&self, body: &Value) {
        self.raw(
            "POST",
            "/_frontdoor/settings",
            "application/json",
            &body.to_string(),
        );
    }

    /// An `SdkConfig` for the hub account, with frontdoor's own retry and timeout settings.
    pub async fn sdk_config(&self) -> SdkConfig {
        sdk_config_at(&self.endpoint_url()).await
    }
}

/// The AWS part of a function process's environment: the emulator (or proxy) at
/// `endpoint_url`, the region, and the hub's test credentials.
pub fn aws_env(endpoint_url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint_url.to_string()),
        ("AWS_REGION", REGION.into()),
        // boto3 reads the region from AWS_DEFAULT_REGION.
        ("AWS_DEFAULT_REGION", REGION.into()),
        ("AWS_ACCESS_KEY_ID", "AKIAFRONTDOORTEST".into()),
        ("AWS_SECRET_ACCESS_KEY", "secret".into()),
    ]
}

/// An `SdkConfig` for the hub account talking to `endpoint_url` (the emulator, or a proxy
/// in front of it).
pub async fn sdk_config_at(endpoint_url: &str) -> SdkConfig {
    shared::clients::tuned(aws_config::defaults(BehaviorVersion::latest()))
        .region(Region::new(REGION))
        .endpoint_url(endpoint_url)
        .credentials_provider(aws_sdk_ec2::config::Credentials::new(
            "AKIAFRONTDOORTEST",
            "secret",
            None,
            None,
            "frontdoor-tests",
        ))
        .load()
        .await
}

impl Emulator {
    /// An `SdkConfig` acting in `account` (moto switches account on assumed-role
    /// credentials, as AWS does), for seeding a spoke.
    pub async fn account_sdk_config(&self, account: &str) -> SdkConfig {
        let hub = self.sdk_config().await;
        let provider = aws_config::sts::AssumeRoleProvider::builder(format!(
            "arn:aws:iam::{account}:role/frontdoor-test-seeder"
        ))
        .session_name("seed")
        .configure(&hub)
        .build()
        .await;
        hub.into_builder()
            .credentials_provider(aws_sdk_ec2::config::SharedCredentialsProvider::new(
                provider,
            ))
            .build()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The hub's seed resources for target sync.
#[derive(Debug, Clone)]
pub struct Hub {
    /// The VPC.
    pub vpc_id: String,
    /// Three subnets, one per AZ (a, b, c); the endpoint starts in the first two.
    pub subnet_ids: Vec<String>,
    /// The execute-api interface endpoint.
    pub vpce_id: String,
    /// The IP target group (TCP 443).
    pub target_group_arn: String,
    /// The internal NLB.
    pub nlb_arn: String,
}

/// Builds the hub: VPC, three subnets, an execute-api endpoint in two of them, an internal
/// NLB with a TCP 443 listener forwarding to an IP target group.
pub async fn seed_hub(sdk: &SdkConfig) -> Hub {
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let elbv2 = aws_sdk_elasticloadbalancingv2::Client::new(sdk);
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .send()
        .await
        .unwrap();
    let vpc_id = vpc.vpc().and_then(|v| v.vpc_id()).unwrap().to_string();
    let mut subnet_ids = Vec::new();
    for (i, az) in ["a", "b", "c"].iter().enumerate() {
        let subnet = ec2
            .create_subnet()
            .vpc_id(&vpc_id)
            .cidr_block(format!("10.0.{}.0/24", i + 1))
            .availability_zone(format!("{REGION}{az}"))
            .send()
            .await
            .unwrap();
        subnet_ids.push(
            subnet
                .subnet()
                .and_then(|s| s.subnet_id())
                .unwrap()
                .to_string(),
        );
    }
    let endpoint = ec2
        .create_vpc_endpoint()
        .vpc_id(&vpc_id)
        .vpc_endpoint_type(VpcEndpointType::Interface)
        .service_name(format!("com.amazonaws.{REGION}.execute-api"))
        .subnet_ids(&subnet_ids[0])
        .subnet_ids(&subnet_ids[1])
        .private_dns_enabled(true)
        .send()
        .await
        .unwrap();
    let vpce_id = endpoint
        .vpc_endpoint()
        .and_then(|e| e.vpc_endpoint_id())
        .unwrap()
        .to_string();
    let tg = elbv2
        .create_target_group()
        .name("frontdoor-endpoint")
        .protocol(ProtocolEnum::Tcp)
        .port(443)
        .vpc_id(&vpc_id)
        .target_type(TargetTypeEnum::Ip)
        .send()
        .await
        .unwrap();
    let target_group_arn = tg.target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_string();
    let nlb = elbv2
        .create_load_balancer()
        .name("frontdoor-nlb")
        .r#type(aws_sdk_elasticloadbalancingv2::types::LoadBalancerTypeEnum::Network)
        .scheme(aws_sdk_elasticloadbalancingv2::types::LoadBalancerSchemeEnum::Internal)
        .set_subnets(Some(subnet_ids.clone()))
        .send()
        .await
        .unwrap();
    let nlb_arn = nlb.load_balancers()[0]
        .load_balancer_arn()
        .unwrap()
        .to_string();
    elbv2
        .create_listener()
        .load_balancer_arn(&nlb_arn)
        .protocol(ProtocolEnum::Tcp)
        .port(443)
        .default_actions(
            aws_sdk_elasticloadbalancingv2::types::Action::builder()
                .r#type(aws_sdk_elasticloadbalancingv2::types::ActionTypeEnum::Forward)
                .target_group_arn(&target_group_arn)
                .build(),
        )
        .send()
        .await
        .unwrap();
    Hub {
        vpc_id,
        subnet_ids,
        vpce_id,
        target_group_arn,
        nlb_arn,
    }
}

/// `target-sync`'s app for the hub, as its cold start would build it.
pub fn target_sync_app(sdk: &SdkConfig, hub: &Hub) -> App<TargetSyncConfig> {
    let config = TargetSyncConfig::from_lookup(|name| match name {
        "FRONTDOOR_VPC_ENDPOINT_ID" => Some(hub.vpce_id.clone()),
        "FRONTDOOR_TARGET_GROUP_ARN" => Some(hub.target_group_arn.clone()),
        _ => None,
    })
    .unwrap();
    App::new(config, sdk).in_account(pets::hub_account())
}

/// A file under `events/`, with the sample endpoint id replaced by `vpce_id`.
pub fn event(file: &str, vpce_id: &str) -> Value {
    let path = workspace_root().join("events").join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text.replace(SAMPLE_VPCE, vpce_id)).unwrap()
}

/// The private IPs of the endpoint's ENIs, read straight from EC2.
pub async fn endpoint_ips(sdk: &SdkConfig, vpce_id: &str) -> BTreeSet<String> {
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let out = ec2
        .describe_vpc_endpoints()
        .vpc_endpoint_ids(vpce_id)
        .send()
        .await
        .unwrap();
    let enis = out.vpc_endpoints()[0].network_interface_ids().to_vec();
    if enis.is_empty() {
        return BTreeSet::new();
    }
    let out = ec2
        .describe_network_interfaces()
        .set_network_interface_ids(Some(enis))
        .send()
        .await
        .unwrap();
    out.network_interfaces()
        .iter()
        .filter_map(|e| e.private_ip_address().map(str::to_string))
        .collect()
}

/// The target group's registered (not draining) targets as `ip:port`.
pub async fn registered(sdk: &SdkConfig, target_group_arn: &str) -> BTreeSet<String> {
    let elbv2 = aws_sdk_elasticloadbalancingv2::Client::new(sdk);
    let out = elbv2
        .describe_target_health()
        .target_group_arn(target_group_arn)
        .send()
        .await
        .unwrap();
    out.target_health_descriptions()
        .iter()
        .filter(|d| {
            d.target_health().and_then(|h| h.state())
                != Some(&aws_sdk_elasticloadbalancingv2::types::TargetHealthStateEnum::Draining)
        })
        .filter_map(|d| d.target())
        .map(|t| {
            format!(
                "{}:{}",
                t.id().unwrap_or_default(),
                t.port().unwrap_or_default()
            )
        })
        .collect()
}

/// Adds `:443` to each IP.
pub fn on_443(ips: &BTreeSet<String>) -> BTreeSet<String> {
    ips.iter().map(|ip| format!("{ip}:443")).collect()
}
