//! A small Lambda Runtime API on 127.0.0.1: enough of
//! <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html> to run a real function
//! binary as Lambda would (next, response, error, init/error), so a test drives the built
//! `target-sync` with a sample event and reads what it answered and logged.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// What the function answered for one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// `POST /runtime/invocation/{id}/response`.
    Response {
        /// The request id.
        request_id: String,
        /// The body.
        body: Value,
    },
    /// `POST /runtime/invocation/{id}/error`.
    Error {
        /// The request id.
        request_id: String,
        /// The body (`errorType`, `errorMessage`).
        body: Value,
    },
    /// `POST /runtime/init/error`: the function failed before its first poll.
    InitError {
        /// The body.
        body: Value,
    },
}

struct Shared {
    /// The function timeout each invocation's deadline is given from.
    timeout: Duration,
    /// When each invocation was handed out, by request id.
    started: Mutex<std::collections::BTreeMap<String, std::time::Instant>>,
    /// Each answered invocation: request id, time taken.
    took: Mutex<Vec<(String, Duration)>>,
    served: std::sync::atomic::AtomicUsize,
    first_poll: Mutex<Option<std::time::Instant>>,
    queue: Mutex<VecDeque<(String, Value)>>,
    answers: Sender<Answer>,
    stop: AtomicBool,
}

/// The server; stops accepting on drop.
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    answers: Receiver<Answer>,
}

const MAX_BODY: usize = 6 * 1024 * 1024;

impl RuntimeApi {
    /// Serves `events` in order, one per `next`, with request ids `req-1`, `req-2`, ...
    pub fn start(events: Vec<Value>) -> RuntimeApi {
        Self::start_with_timeout(events, Duration::from_secs(60))
    }

    /// [`RuntimeApi::start`] with each invocation's deadline `timeout` after it is handed
    /// out, as a function with that timeout has.
    pub fn start_with_timeout(events: Vec<Value>, timeout: Duration) -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let (tx, rx) = mpsc::channel();
        let count = events.len();
        let shared = Arc::new(Shared {
            timeout,
            started: Mutex::new(std::collections::BTreeMap::new()),
            took: Mutex::new(Vec::new()),
            served: std::sync::atomic::AtomicUsize::new(count),
            first_poll: Mutex::new(None),
            queue: Mutex::new(
                events
                    .into_iter()
                    .enumerate()
                    .map(|(i, e)| (format!("req-{}", i + 1), e))
                    .collect(),
            ),
            answers: tx,
            stop: AtomicBool::new(false),
        });
        let accept = Arc::clone(&shared);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accept.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let conn = Arc::clone(&accept);
                std::thread::spawn(move || serve(stream, &conn));
            }
        });
        RuntimeApi {
            addr,
            shared,
            answers: rx,
        }
    }

    /// Queues one more event (request id `req-{n}`), for a function already running.
    pub fn push(&self, event: Value) {
        if let Ok(mut queue) = self.shared.queue.lock() {
            let n = self.shared.served.fetch_add(1, Ordering::SeqCst) + 1;
            queue.push_back((format!("req-{n}"), event));
        }
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// When the function first asked for an event (the end of its cold start).
    pub fn first_poll(&self) -> Option<std::time::Instant> {
        self.shared.first_poll.lock().ok().and_then(|t| *t)
    }

    /// Each answered invocation so far: request id and how long it took, in answer order.
    pub fn durations(&self) -> Vec<(String, Duration)> {
        self.shared
            .took
            .lock()
            .map(|t| t.clone())
            .unwrap_or_default()
    }

    /// The next answer, or `None` after `timeout`.
    pub fn answer(&self, timeout: Duration) -> Option<Answer> {
        self.answers.recv_timeout(timeout).ok()
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(120)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut writer = stream;
    // Keep-alive: the runtime client reuses the connection; bounded by the read timeout.
    for _ in 0..10_000 {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Some((method, path, body)) = read_request(&mut reader) else {
            return;
        };
        let reply = route(&method, &path, body, shared);
        match reply {
            Some((status, headers, body)) => {
                let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
                for (k, v) in headers {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                if writer.write_all(head.as_bytes()).is_err() || writer.write_all(&body).is_err() {
                    return;
                }
            }
            None => return,
        }
    }
}

type Reply = (&'static str, Vec<(&'static str, String)>, Vec<u8>);

fn route(method: &str, path: &str, body: Vec<u8>, shared: &Shared) -> Option<Reply> {
    let json = || serde_json::from_slice(&body).unwrap_or(Value::Null);
    let accepted = Some(("202 Accepted", vec![], b"{}".to_vec()));
    let rest = path.strip_prefix("/2018-06-01/runtime/")?;
    match (method, rest) {
        ("GET", "invocation/next") => {
            if let Ok(mut first) = shared.first_poll.lock() {
                first.get_or_insert_with(std::time::Instant::now);
            }
            // Wait (bounded) for an event; with none left, the function idles as in Lambda.
            for _ in 0..1200 {
                if shared.stop.load(Ordering::SeqCst) {
                    return None;
                }
                let next = shared.queue.lock().ok()?.pop_front();
                if let Some((id, event)) = next {
                    let deadline = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .unwrap_or_default()
                        .as_millis()
                        + shared.timeout.as_millis();
                    if let Ok(mut started) = shared.started.lock() {
                        started.insert(id.clone(), std::time::Instant::now());
                    }
                    return Some((
                        "200 OK",
                        vec![
                            ("Content-Type", "application/json".into()),
                            ("Lambda-Runtime-Aws-Request-Id", id),
                            ("Lambda-Runtime-Deadline-Ms", deadline.to_string()),
                            (
                                "Lambda-Runtime-Invoked-Function-Arn",
                                "arn:aws:lambda:us-east-1:123456789012:function:frontdoor-test"
                                    .into(),
                            ),
                            (
                                "Lambda-Runtime-Trace-Id",
                                "Root=1-00000000-000000000000000000000000;Sampled=0".into(),
                            ),
                        ],
                        serde_json::to_vec(&event).unwrap_or_default(),
                    ));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            None
        }
        ("POST", "init/error") => {
            let _ = shared.answers.send(Answer::InitError { body: json() });
            accepted
        }
        ("POST", rest) => {
            let rest = rest.strip_prefix("invocation/")?;
            let (id, kind) = rest.split_once('/')?;
            let answer = match kind {
                "response" => Answer::Response {
                    request_id: id.into(),
                    body: json(),
                },
                "error" => Answer::Error {
                    request_id: id.into(),
                    body: json(),
                },
                _ => return Some(("404 Not Found", vec![], vec![])),
            };
            let began = shared.started.lock().ok().and_then(|s| s.get(id).copied());
            if let (Some(began), Ok(mut took)) = (began, shared.took.lock()) {
                took.push((id.to_string(), began.elapsed()));
            }
            let _ = shared.answers.send(answer);
            accepted
        }
        _ => Some(("404 Not Found", vec![], vec![])),
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(String, String, Vec<u8>)> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut length = 0usize;
    for _ in 0..100 {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            }
        }
    }
    if length > MAX_BODY {
        return None;
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((method, path, body))
}

/// A function binary running against a [`RuntimeApi`]; killed on drop.
pub struct FunctionProcess {
    child: Child,
    logs: Arc<Mutex<Vec<String>>>,
}

impl FunctionProcess {
    /// Starts `binary` with Lambda's environment plus `env`.
    pub fn spawn(binary: &Path, api: &RuntimeApi, env: &[(&str, String)]) -> FunctionProcess {
        Self::spawn_command(Command::new(binary), api, env)
    }

    /// Starts `cmd` (a binary, or an interpreter with a script) the same way.
    pub fn spawn_command(
        mut cmd: Command,
        api: &RuntimeApi,
        env: &[(&str, String)],
    ) -> FunctionProcess {
        let program = cmd.get_program().to_string_lossy().to_string();
        cmd.env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", api.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", "frontdoor-test")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/frontdoor-test")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        let logs = Arc::new(Mutex::new(Vec::new()));
        for pipe in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let sink = Arc::clone(&logs);
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if let Ok(mut l) = sink.lock() {
                        l.push(line);
                    }
                }
            });
        }
        FunctionProcess { child, logs }
    }

    /// The log lines so far (stdout and stderr).
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Peak resident memory so far (VmHWM), in KiB, from /proc on Linux.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// Whether the process has exited.
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }
}

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
