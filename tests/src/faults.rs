//! A fault-injecting HTTP proxy on 127.0.0.1 between the SDK and the emulator. Seeded, so a
//! run is repeatable: each request draws from one xorshift generator in arrival order.
//!
//! Faults, each in the wire shape of the service it hits: throttling (API Gateway 429
//! `TooManyRequestsException`; EC2 503 `RequestLimitExceeded`; ELBv2/STS query `Throttling`;
//! SSM JSON `ThrottlingException`), 500, 503, a connection reset before forwarding, a reset
//! *after* forwarding (the write happened, its answer is lost), and a slow reply. Separately,
//! `crash_after_writes(k)` lets the first k writes through and refuses everything after, as if
//! the process had died. Every exchange is recorded.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// One kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The service's throttling error.
    Throttle,
    /// HTTP 500.
    InternalError,
    /// HTTP 503.
    Unavailable,
    /// The connection closes before the request reaches the emulator.
    ResetBefore,
    /// The request reaches the emulator; the connection closes before the answer.
    ResetAfter,
    /// The answer comes 300 ms late.
    Slow,
}

const KINDS: [Fault; 6] = [
    Fault::Throttle,
    Fault::InternalError,
    Fault::Unavailable,
    Fault::ResetBefore,
    Fault::ResetAfter,
    Fault::Slow,
];

/// Which service a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// API Gateway (REST JSON).
    ApiGateway,
    /// EC2 (EC2 query).
    Ec2,
    /// ELBv2 (AWS query).
    Elbv2,
    /// SSM (AWS JSON 1.1).
    Ssm,
    /// STS (AWS query).
    Sts,
}

/// One request as the proxy saw it.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The service.
    pub service: Service,
    /// The operation (`Action`, `X-Amz-Target`'s operation, or `METHOD /path`).
    pub action: String,
    /// Whether it changes state.
    pub write: bool,
    /// The fault injected, if any.
    pub fault: Option<Fault>,
    /// The request body (form or JSON), for tests that follow writes.
    pub body: String,
}

/// An answer the proxy gives instead of forwarding, to every request that matches: an error
/// AWS could send that the emulator never does.
#[derive(Debug, Clone)]
pub struct Scripted {
    /// The HTTP method, e.g. `PUT`.
    pub method: &'static str,
    /// Text the request path contains, e.g. `/integration`.
    pub path_contains: String,
    /// Text the request body contains.
    pub body_contains: String,
    /// The status, e.g. 429.
    pub status: u16,
    /// The error code (`x-amzn-ErrorType`), e.g. `LimitExceededException`.
    pub code: &'static str,
    /// The error message.
    pub message: String,
}

struct State {
    scripted: Vec<Scripted>,
    latency: Duration,
    rng: u64,
    rate_per_mille: u64,
    crash_after_writes: Option<usize>,
    writes: usize,
    log: Vec<Exchange>,
}

/// The proxy; stops accepting on drop.
pub struct FaultProxy {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl FaultProxy {
    /// Proxies to `upstream` (`http://127.0.0.1:port`), faulting `rate` of requests (0..=1).
    pub fn start(upstream: &str, seed: u64, rate: f64) -> FaultProxy {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .parse()
            .expect("upstream is http://127.0.0.1:port");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(Mutex::new(State {
            scripted: Vec::new(),
            latency: Duration::ZERO,
            rng: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            rate_per_mille: (rate.clamp(0.0, 1.0) * 1000.0) as u64,
            crash_after_writes: None,
            writes: 0,
            log: Vec::new(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (Arc::clone(&state), Arc::clone(&stop));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let st = Arc::clone(&st);
                std::thread::spawn(move || handle(stream, upstream, &st));
            }
        });
        FaultProxy { addr, state, stop }
    }

    /// `http://127.0.0.1:{port}`: point `AWS_ENDPOINT_URL` here.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Adds `latency` to every request before it is forwarded, as an AWS control-plane call
    /// costs tens of milliseconds where the emulator on loopback costs one. Requests on
    /// separate connections wait in parallel, as they would in AWS.
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    /// Changes the fault rate (0 turns faults off).
    pub fn set_rate(&self, rate: f64) {
        self.lock().rate_per_mille = (rate.clamp(0.0, 1.0) * 1000.0) as u64;
    }

    /// Lets `k` more writes through, then refuses every request (a crash); `None` lifts it.
    pub fn crash_after_writes(&self, k: Option<usize>) {
        let mut s = self.lock();
        s.writes = 0;
        s.crash_after_writes = k;
    }

    /// Answers every request that matches `answer` with its error from now on.
    pub fn script(&self, answer: Scripted) {
        self.lock().scripted.push(answer);
    }

    /// Every exchange so far.
    pub fn log(&self) -> Vec<Exchange> {
        self.lock().log.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

struct Request {
    head: String,
    method: String,
    path: String,
    target: Option<String>,
    body: Vec<u8>,
}

fn handle(client: TcpStream, upstream: SocketAddr, state: &Mutex<State>) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(read_half) = client.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut client = client;
    let Some(req) = read_request(&mut reader) else {
        return;
    };
    let (service, action, write) = classify(&req);
    let (fault, latency, scripted) = {
        let mut s = state.lock().unwrap_or_else(PoisonError::into_inner);
        let body = String::from_utf8_lossy(&req.body);
        let scripted = s
            .scripted
            .iter()
            .find(|a| {
                req.method == a.method
                    && req.path.contains(&a.path_contains)
                    && body.contains(&a.body_contains)
            })
            .cloned();
        let crashed = s.crash_after_writes.is_some_and(|k| s.writes >= k);
        let fault = if crashed {
            Some(Fault::ResetBefore)
        } else {
            let roll = next(&mut s.rng) % 1000;
            (roll < s.rate_per_mille)
                .then(|| KINDS[(next(&mut s.rng) % KINDS.len() as u64) as usize])
        };
        let reaches = !matches!(
            fault,
            Some(Fault::ResetBefore | Fault::Throttle | Fault::InternalError | Fault::Unavailable)
        );
        if write && reaches {
            s.writes += 1;
        }
        s.log.push(Exchange {
            service,
            action,
            write,
            fault,
            body: String::from_utf8_lossy(&req.body).to_string(),
        });
        (fault, s.latency, scripted)
    };
    if let Some(answer) = scripted {
        let bytes = response(
            answer.status,
            &[
                ("Content-Type", "application/json"),
                ("x-amzn-ErrorType", answer.code),
            ],
            &format!(r#"{{"message":"{}"}}"#, answer.message),
        );
        let _ = client.write_all(&bytes);
        let _ = client.shutdown(Shutdown::Both);
        return;
    }
    if !latency.is_zero() {
        std::thread::sleep(latency);
    }
    let reply = match fault {
        Some(Fault::ResetBefore) => None,
        Some(Fault::Throttle) => Some(throttle(service)),
        Some(Fault::InternalError) => Some(status(500, "InternalFailure")),
        Some(Fault::Unavailable) => Some(status(503, "ServiceUnavailable")),
        Some(Fault::ResetAfter) => {
            let _ = forward(&req, upstream);
            None
        }
        Some(Fault::Slow) => {
            std::thread::sleep(Duration::from_millis(300));
            forward(&req, upstream)
        }
        None => forward(&req, upstream),
    };
    // One request per connection: every answer says `Connection: close`.
    if let Some(bytes) = reply {
        let _ = client.write_all(&bytes);
    }
    let _ = client.shutdown(Shutdown::Both);
}

fn next(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut head = String::new();
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    head.push_str(&line);
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut length = 0usize;
    let mut target = None;
    for _ in 0..200 {
        line.clear();
        reader.read_line(&mut line).ok()?;
        if line.trim_end().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().ok()?;
            } else if name.eq_ignore_ascii_case("x-amz-target") {
                target = Some(value.to_string());
            }
            if name.eq_ignore_ascii_case("connection") {
                continue;
            }
        }
        head.push_str(&line);
    }
    let mut body = vec![0; length.min(16 * 1024 * 1024)];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        head,
        method,
        path,
        target,
        body,
    })
}

fn classify(req: &Request) -> (Service, String, bool) {
    let is_read = |op: &str| {
        ["Describe", "Get", "List"]
            .iter()
            .any(|p| op.starts_with(p))
    };
    if let Some(target) = &req.target {
        let op = target.rsplit('.').next().unwrap_or_default().to_string();
        let write = !is_read(&op);
        return (Service::Ssm, op, write);
    }
    let body = String::from_utf8_lossy(&req.body);
    let field = |key: &str| {
        body.split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
            .map(str::to_string)
    };
    if let (Some(action), Some(version)) = (field("Action"), field("Version")) {
        let service = match version.as_str() {
            "2016-11-15" => Service::Ec2,
            "2015-12-01" => Service::Elbv2,
            _ => Service::Sts,
        };
        let write = service != Service::Sts && !is_read(&action);
        return (service, action, write);
    }
    let write = req.method != "GET";
    (
        Service::ApiGateway,
        format!("{} {}", req.method, req.path),
        write,
    )
}

fn forward(req: &Request, upstream: SocketAddr) -> Option<Vec<u8>> {
    let mut up = TcpStream::connect(upstream).ok()?;
    let _ = up.set_read_timeout(Some(Duration::from_secs(30)));
    up.write_all(req.head.as_bytes()).ok()?;
    up.write_all(b"Connection: close\r\n\r\n").ok()?;
    up.write_all(&req.body).ok()?;
    let mut out = Vec::new();
    up.read_to_end(&mut out).ok()?;
    Some(out)
}

fn throttle(service: Service) -> Vec<u8> {
    let (code, kind, body) = match service {
        Service::ApiGateway => (429, "TooManyRequestsException", r#"{"message":"Too Many Requests"}"#.to_string()),
        Service::Ssm => (400, "ThrottlingException", r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_string()),
        Service::Ec2 => (
            503,
            "RequestLimitExceeded",
            "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>fault</RequestID></Response>".to_string(),
        ),
        Service::Elbv2 | Service::Sts => (
            400,
            "Throttling",
            "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>fault</RequestId></ErrorResponse>".to_string(),
        ),
    };
    let content_type = if body.starts_with('<') {
        "text/xml"
    } else {
        "application/x-amz-json-1.1"
    };
    response(
        code,
        &[("Content-Type", content_type), ("x-amzn-ErrorType", kind)],
        &body,
    )
}

fn status(code: u16, kind: &str) -> Vec<u8> {
    response(
        code,
        &[
            ("Content-Type", "application/json"),
            ("x-amzn-ErrorType", kind),
        ],
        &format!(r#"{{"message":"{kind}"}}"#),
    )
}

fn response(code: u16, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let reason = match code {
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Bad Request",
    };
    let mut out = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    out.into_bytes()
}
