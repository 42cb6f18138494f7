//! Writes paced to AWS's rates by frontdoor itself, so that a throttle is the exception and
//! a run's time goes to work, not to backoff. One token bucket per limit AWS documents for
//! the hub account, shared by every client of the process (the limits are per account, and
//! a warm sandbox keeps them across invocations); a write takes a token from each bucket it
//! counts against, and waits (before it is sent, retries included) while one is empty.
//!
//! API Gateway, "Amazon API Gateway quotas" (fixed, per account): total operations 10
//! requests a second with a burst of 40; CreateResource and DeleteResource 5 a second;
//! CreateDeployment 1 every 5 seconds. frontdoor's writes take 8 a second, burst 20, of the
//! total: the rest is left to the hub's reads and to whatever else the hub team runs.
//! SSM PutParameter and DeleteParameter: 3 a second. AWS documents no figure for standard
//! throughput; 3 is AWS Support's, as quoted in github-aws-runners/terraform-aws-github-runner
//! #2944.
//!
//! Done as a wrapper of the HTTP client, so every write of every call site is paced and no
//! call site can forget: a request is classified by what is on the wire (API Gateway's REST
//! path and method, SSM's `X-Amz-Target`).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// A limit a write counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Every API Gateway write (its share of the account's 10 a second, burst 40).
    ApiGateway,
    /// CreateResource and DeleteResource: 5 a second each.
    Resources,
    /// CreateDeployment: 1 every 5 seconds.
    Deployments,
    /// SSM PutParameter and DeleteParameter: 3 a second.
    SsmWrites,
}

impl Limit {
    const ALL: [Limit; 4] = [
        Limit::ApiGateway,
        Limit::Resources,
        Limit::Deployments,
        Limit::SsmWrites,
    ];

    /// (requests a second, burst).
    fn rate(self) -> (f64, f64) {
        match self {
            Limit::ApiGateway => (8.0, 20.0),
            Limit::Resources => (5.0, 5.0),
            Limit::Deployments => (0.2, 1.0),
            Limit::SsmWrites => (3.0, 3.0),
        }
    }
}

/// The path of a request's URI (`https://host/restapis/...` -> `/restapis/...`).
fn path_of(uri: &str) -> &str {
    match uri.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |at| &rest[at..]),
        None => uri,
    }
}

/// The limits a request counts against, from what is on the wire (its method, its URI or
/// path, its `X-Amz-Target`).
pub fn limits_of(method: &str, uri: &str, target: Option<&str>) -> Vec<Limit> {
    let path = path_of(uri);
    if let Some(op) = target.and_then(|t| t.strip_prefix("AmazonSSM.")) {
        return match op {
            "PutParameter" | "DeleteParameter" | "DeleteParameters" => vec![Limit::SsmWrites],
            _ => Vec::new(),
        };
    }
    if !path.starts_with("/restapis") || method.eq_ignore_ascii_case("GET") {
        return Vec::new();
    }
    let segments: Vec<&str> = path
        .split('?')
        .next()
        .unwrap_or_default()
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let mut out = vec![Limit::ApiGateway];
    match (method.to_ascii_uppercase().as_str(), segments.as_slice()) {
        // POST /restapis/{api}/resources/{parent}, DELETE /restapis/{api}/resources/{id}
        ("POST" | "DELETE", ["restapis", _, "resources", _]) => out.push(Limit::Resources),
        // POST /restapis/{api}/deployments
        ("POST", ["restapis", _, "deployments"]) => out.push(Limit::Deployments),
        _ => {}
    }
    out
}

#[derive(Debug)]
struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

/// The buckets of one process; cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct Pacer {
    buckets: Arc<Mutex<Vec<(Limit, Bucket)>>>,
}

impl Pacer {
    /// Full buckets at AWS's rates.
    pub fn aws() -> Self {
        let now = Instant::now();
        let buckets = Limit::ALL
            .iter()
            .map(|l| {
                let (rate, burst) = l.rate();
                (
                    *l,
                    Bucket {
                        rate,
                        burst,
                        tokens: burst,
                        at: now,
                    },
                )
            })
            .collect();
        Self {
            buckets: Arc::new(Mutex::new(buckets)),
        }
    }

    /// Takes a token from each of `limits` at `now` and says how long the request must wait
    /// for the emptiest (a bucket may go below zero: the requests behind wait longer).
    pub fn reserve_at(&self, limits: &[Limit], now: Instant) -> Duration {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let mut wait = Duration::ZERO;
        for (limit, b) in buckets.iter_mut() {
            if !limits.contains(limit) {
                continue;
            }
            let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
            b.tokens = (b.tokens + elapsed * b.rate).min(b.burst);
            b.at = now.max(b.at);
            b.tokens -= 1.0;
            if b.tokens < 0.0 {
                wait = wait.max(Duration::from_secs_f64(-b.tokens / b.rate));
            }
        }
        wait
    }

    /// The HTTP client `inner`, each write paced by this pacer.
    pub fn wrap(&self, inner: SharedHttpClient) -> SharedHttpClient {
        SharedHttpClient::new(PacedClient {
            inner,
            pacer: self.clone(),
        })
    }
}

#[derive(Debug)]
struct PacedClient {
    inner: SharedHttpClient,
    pacer: Pacer,
}

impl HttpClient for PacedClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(PacedConnector {
            inner: self.inner.http_connector(settings, components),
            pacer: self.pacer.clone(),
        })
    }
}

#[derive(Debug)]
struct PacedConnector {
    inner: SharedHttpConnector,
    pacer: Pacer,
}

impl HttpConnector for PacedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let limits = limits_of(
            request.method(),
            request.uri(),
            request.headers().get("x-amz-target"),
        );
        let wait = if limits.is_empty() {
            Duration::ZERO
        } else {
            self.pacer.reserve_at(&limits, Instant::now())
        };
        let inner = self.inner.clone();
        HttpConnectorFuture::new(async move {
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            inner.call(request).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_classified_by_what_is_on_the_wire() {
        use Limit::*;
        let l = |m, p, t| limits_of(m, p, t);
        assert_eq!(
            l("POST", "/restapis/abc/resources/r1", None),
            [ApiGateway, Resources]
        );
        assert_eq!(
            l("DELETE", "/restapis/abc/resources/r1", None),
            [ApiGateway, Resources]
        );
        assert_eq!(
            l("POST", "/restapis/abc/deployments", None),
            [ApiGateway, Deployments]
        );
        assert_eq!(
            l(
                "PUT",
                "/restapis/abc/resources/r1/methods/GET/integration",
                None
            ),
            [ApiGateway]
        );
        assert_eq!(l("PATCH", "/restapis/abc/stages/prd", None), [ApiGateway]);
        assert!(l("GET", "/restapis/abc/resources?embed=methods", None).is_empty());
        // As the SDK hands a request over: the whole URI.
        assert_eq!(
            l(
                "POST",
                "https://apigateway.us-east-1.amazonaws.com/restapis/abc/deployments",
                None
            ),
            [ApiGateway, Deployments]
        );
        assert_eq!(
            l(
                "PUT",
                "http://127.0.0.1:4566/restapis/abc/resources/r1/methods/GET",
                None
            ),
            [ApiGateway]
        );
        assert!(l("GET", "http://127.0.0.1:4566/restapis/abc/resources", None).is_empty());
        assert_eq!(l("POST", "/", Some("AmazonSSM.PutParameter")), [SsmWrites]);
        assert!(l("POST", "/", Some("AmazonSSM.GetParametersByPath")).is_empty());
        assert!(l("POST", "/", Some("AmazonSQS.SendMessage")).is_empty());
    }

    #[test]
    fn a_burst_goes_at_once_and_then_at_the_rate() {
        let pacer = Pacer::aws();
        let t0 = Instant::now();
        // Three SSM writes at once are the burst; the fourth waits a third of a second.
        for _ in 0..3 {
            assert_eq!(pacer.reserve_at(&[Limit::SsmWrites], t0), Duration::ZERO);
        }
        let wait = pacer.reserve_at(&[Limit::SsmWrites], t0);
        assert!((wait.as_secs_f64() - 1.0 / 3.0).abs() < 1e-6, "{wait:?}");
        // Two deployments at once: the second waits 5 s.
        assert_eq!(pacer.reserve_at(&[Limit::Deployments], t0), Duration::ZERO);
        let wait = pacer.reserve_at(&[Limit::Deployments], t0);
        assert!((wait.as_secs_f64() - 5.0).abs() < 1e-6, "{wait:?}");
        // A second later the SSM bucket has refilled by three.
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(pacer.reserve_at(&[Limit::SsmWrites], t1), Duration::ZERO);
    }

    #[test]
    fn a_thousand_api_gateway_writes_take_what_the_documented_rate_says() {
        // 1,000 writes at 8 a second after a burst of 20: (1000 - 20) / 8 = 122.5 s. This
        // is what a 1,200-method flip costs and why a run stops and carries over.
        let pacer = Pacer::aws();
        let t0 = Instant::now();
        let last = (0..1000)
            .map(|_| pacer.reserve_at(&[Limit::ApiGateway], t0))
            .max()
            .unwrap_or_default();
        assert!((last.as_secs_f64() - 122.5).abs() < 1e-6, "{last:?}");
    }
}
