//! `bench`: frontdoor's figures in one table, measured in one run on the emulator.
//!
//! Counts are exact (the SDK interceptor); times are wall clock on this machine and only
//! their ratios mean much. Run in release: `./scripts/bench` (see BENCHMARKS.md).
#![allow(clippy::print_stdout, clippy::unwrap_used)] // a report on stdout; setup failures panic

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_apigateway::types::EndpointType;
use frontdoor_tests::pets::{
    self, api_event, private_api, seed, seed_policy, sqs_batch, Pets, ACCOUNT_B, ACCOUNT_C,
};
use frontdoor_tests::runtime_api::{Answer, FunctionProcess, RuntimeApi};
use frontdoor_tests::{aws_env, event, target_sync_app, workspace_root, Emulator};
use shared::calls::Calls;
use shared::entry::route_sync_payload;

/// Sweeps until a sweep writes nothing, at most `most` times: each sweep's report.
async fn sweep_until_quiet(
    app: &shared::App<shared::RouteSyncConfig>,
    sweep: &shared::routes::Scope,
    most: usize,
) -> Vec<shared::routes::Report> {
    let mut reports = Vec::new();
    for _ in 0..most {
        let report = shared::routes::reconcile(app, sweep).await.unwrap();
        let quiet = report.writes == 0;
        reports.push(report);
        if quiet {
            break;
        }
    }
    reports
}

/// How many published statuses read `exposed`.
fn exposed_count(published: &std::collections::BTreeMap<String, String>) -> usize {
    published
        .iter()
        .filter(|(k, v)| k.ends_with("/status") && v.as_str() == "exposed")
        .count()
}

struct Row {
    figure: String,
    value: String,
    goal: String,
    met: Option<bool>,
}

fn row(
    rows: &mut Vec<Row>,
    figure: impl Into<String>,
    value: impl ToString,
    goal: impl Into<String>,
    met: Option<bool>,
) {
    let r = Row {
        figure: figure.into(),
        value: value.to_string(),
        goal: goal.into(),
        met,
    };
    println!("  {:<58} {:>18}   {}", r.figure, r.value, r.goal);
    rows.push(r);
}

fn public_writes(c: &Calls) -> u64 {
    pets::public_writes(&c.sequence) as u64
}

#[tokio::main]
async fn main() {
    let mut rows = Vec::new();
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--compare") {
        let (Some(a), Some(b)) = (args.get(at + 1), args.get(at + 2)) else {
            panic!("usage: bench --compare <binaries before> <binaries after>");
        };
        println!("frontdoor bench: two builds of the functions side by side, one run");
        compare(&mut rows, &PathBuf::from(a), &PathBuf::from(b)).await;
        print_table(&rows);
        return;
    }
    if std::env::args().any(|a| a == "--modes") {
        let apis = if std::env::args().any(|a| a == "--quick") {
            10
        } else {
            100
        };
        println!("frontdoor bench: mirror and proxy mode, {apis} APIs x 30 resources");
        for mode in ["mirror", "proxy"] {
            modes(&mut rows, mode, apis).await;
        }
        print_table(&rows);
        return;
    }
    if std::env::args().any(|a| a == "--cells") {
        let accounts = if std::env::args().any(|a| a == "--quick") {
            10
        } else {
            100
        };
        println!(
            "frontdoor bench: 4 cells, {accounts} accounts x 10 APIs (5 exposed, 30 resources, proxy mode)"
        );
        // The quick run keeps each cell small so it still spreads over the four.
        let quota = if accounts < 100 { 30 } else { 300 };
        cells(&mut rows, accounts, quota).await;
        print_table(&rows);
        return;
    }
    if std::env::args().any(|a| a == "--scale") {
        let accounts = if std::env::args().any(|a| a == "--quick") {
            10
        } else {
            100
        };
        println!("frontdoor bench: organisation scale, {accounts} spoke accounts x 10 APIs");
        scale(&mut rows, accounts).await;
        print_table(&rows);
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    println!(
        "frontdoor bench ({} mode)",
        if quick { "quick" } else { "full" }
    );

    // 1. Seed scenario: writes against the floor, then a no-op sweep.
    {
        let emulator = Emulator::start();
        let pets = seed(&emulator).await;
        let app = pets.app();
        let t = Instant::now();
        route_sync_payload(&app, &event("schedule.json", ""))
            .await
            .unwrap();
        let wall = t.elapsed();
        let calls = app.clients.calls.snapshot();
        let floor = 3 + 3 + 3 + 1; // resources + methods + integrations + 1 deployment
        let w = public_writes(&calls);
        row(
            &mut rows,
            "seed: public API writes / floor (3+3+3+1)",
            format!("{w} / {floor} = {:.2}", w as f64 / floor as f64),
            "ratio 1.0",
            Some(w == floor),
        );
        row(
            &mut rows,
            "seed: SSM writes (records, owed marker, 6 URLs)",
            calls.of("PutParameter") + calls.of("DeleteParameter"),
            "-",
            None,
        );
        row(
            &mut rows,
            "seed: reads / wall time",
            format!("{} / {:.0} ms", calls.reads(), ms(wall)),
            "-",
            None,
        );
        let before = app.clients.calls.snapshot();
        route_sync_payload(&app, &event("schedule.json", ""))
            .await
            .unwrap();
        let noop = app.clients.calls.snapshot().since(&before);
        row(
            &mut rows,
            "seed: no-op route sweep writes (reads)",
            format!("{} ({})", noop.writes(), noop.reads()),
            "0 writes",
            Some(noop.writes() == 0),
        );

        let tapp = target_sync_app(&pets.hub_sdk, &pets.hub);
        shared::entry::target_sync_payload(&tapp, &event("schedule.json", &pets.hub.vpce_id))
            .await
            .unwrap();
        let c = tapp.clients.calls.snapshot();
        row(
            &mut rows,
            "targets: writes for 2 targets (RegisterTargets + registry)",
            format!("{} + {}", c.of("RegisterTargets"), c.of("PutParameter")),
            "1 batched call",
            Some(c.of("RegisterTargets") == 1),
        );
        let before = tapp.clients.calls.snapshot();
        shared::entry::target_sync_payload(&tapp, &event("schedule.json", &pets.hub.vpce_id))
            .await
            .unwrap();
        let noop = tapp.clients.calls.snapshot().since(&before);
        row(
            &mut rows,
            "targets: no-op sweep writes (reads)",
            format!("{} ({})", noop.writes(), noop.reads()),
            "0 writes",
            Some(noop.writes() == 0),
        );
    }

    // 2. Fifty APIs: writes against the floor; burst through the queue in batches.
    {
        let emulator = Emulator::start();
        let pets = seed(&emulator).await;
        let app = pets.app();
        let n = if quick { 10 } else { 50 };
        let ids = many_apis(&pets, n, 1).await;
        let events: Vec<_> = ids
            .iter()
            .map(|(acct, id)| api_event("TagResource", acct, id))
            .collect();
        // SQS with a 5 s window hands a burst over in a few batches; here 3 of them.
        let t = Instant::now();
        for chunk in events.chunks(n.div_ceil(3)) {
            route_sync_payload(&app, &sqs_batch(chunk)).await.unwrap();
        }
        let wall = t.elapsed();
        let calls = app.clients.calls.snapshot();
        let floor = (n as u64) * 3 + 1;
        let w = public_writes(&calls) - calls.of("CreateDeployment") + 1;
        row(
            &mut rows,
            format!("{n} APIs: public writes / floor ({n}x(1+1+1)+1), counting 1 deployment"),
            format!("{w} / {floor} = {:.2}", w as f64 / floor as f64),
            "ratio 1.0",
            Some(w == floor),
        );
        row(
            &mut rows,
            format!("burst: {n} APIs tagged at once, 3 SQS batches: deployments"),
            calls.of("CreateDeployment"),
            "<= 3",
            Some(calls.of("CreateDeployment") <= 3),
        );
        row(
            &mut rows,
            "burst: wall time on the emulator, all routes live",
            format!("{:.0} ms", ms(wall)),
            "-",
            None,
        );
        row(
            &mut rows,
            "burst: throttling failures (retried attempts)",
            calls.attempts() - calls.per_operation.values().map(|c| c.calls).sum::<u64>(),
            "0",
            None,
        );
    }

    // 3. Reads per sweep, 10 / 50 / 100 exposed APIs of 20 resources each.
    let sizes: &[usize] = if quick { &[2, 4] } else { &[10, 50, 100] };
    let mut per_api = Vec::new();
    for &n in sizes {
        let emulator = Emulator::start();
        let pets = seed(&emulator).await;
        let app = pets.app();
        let _ = many_apis(&pets, n, 20).await;
        route_sync_payload(&app, &event("schedule.json", ""))
            .await
            .unwrap();
        let before = app.clients.calls.snapshot();
        let t = Instant::now();
        route_sync_payload(&app, &event("schedule.json", ""))
            .await
            .unwrap();
        let wall = t.elapsed();
        let c = app.clients.calls.snapshot().since(&before);
        per_api.push((n, c.reads()));
        let detail: Vec<String> = c
            .per_operation
            .iter()
            .map(|((_, op), k)| format!("{op} {}", k.calls))
            .collect();
        row(
            &mut rows,
            format!("sweep of {n} APIs x 20 resources: reads (writes), wall"),
            format!("{} ({}) {:.0} ms", c.reads(), c.writes(), ms(wall)),
            "linear",
            None,
        );
        println!("      {}", detail.join(", "));
    }
    if let (Some(&(n1, r1)), Some(&(n2, r2))) = (per_api.first(), per_api.last()) {
        let slope = (r2 - r1) as f64 / (n2 - n1) as f64;
        let constant = r1 as f64 - slope * n1 as f64;
        let linear = per_api
            .iter()
            .all(|&(n, r)| ((constant + slope * n as f64) - r as f64).abs() <= 1.0);
        row(
            &mut rows,
            "sweep reads = a + b x APIs",
            format!("{constant:.1} + {slope:.2} x N"),
            "linear",
            Some(linear),
        );
    }

    // 4. Cold start, size, memory: the release binaries vs Python + boto3.
    // The function binaries under test: FRONTDOOR_BIN_DIR (scripts/bench points it at the
    // release build), else beside this program.
    let dir = std::env::var_os("FRONTDOOR_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::current_exe()
                .unwrap()
                .parent()
                .unwrap()
                .to_path_buf()
        });
    let runs = if quick { 3 } else { 15 };
    for name in ["target-sync", "route-sync"] {
        let binary = dir.join(name);
        let size = std::fs::metadata(&binary).map(|m| m.len()).unwrap_or(0);
        row(
            &mut rows,
            format!(
                "{name}: binary size ({})",
                dir.file_name().unwrap().to_string_lossy()
            ),
            format!("{:.2} MB", size as f64 / 1e6),
            "<= 6 MB",
            Some(size <= 6_000_000),
        );
        let rust = cold_starts(|| Command::new(&binary), runs);
        let python = cold_starts(
            || {
                let mut c = Command::new(frontdoor_tests::python());
                c.arg(workspace_root().join("benches/python/cold_start.py"))
                    .arg(name);
                c
            },
            runs,
        );
        row(
            &mut rows,
            format!("{name}: cold start to first poll, median of {runs}"),
            format!("{:.1} ms", ms(rust)),
            "< 15 ms",
            Some(rust < Duration::from_millis(15)),
        );
        row(
            &mut rows,
            format!("{name}: Python + boto3, same clients, median of {runs}"),
            format!("{:.1} ms", ms(python)),
            "-",
            None,
        );
        row(
            &mut rows,
            format!("{name}: Rust / Python"),
            format!("{:.3}", ms(rust) / ms(python)),
            "<= 0.1",
            Some(ms(rust) / ms(python) <= 0.1),
        );
    }
    let rss = peak_rss_over_seed(&dir).await;
    row(
        &mut rows,
        "peak RSS over the seed scenario (target-sync, route-sync)",
        format!(
            "{:.1} / {:.1} MB",
            rss.0 as f64 / 1024.0,
            rss.1 as f64 / 1024.0
        ),
        "<= 32 MB",
        Some(rss.0.max(rss.1) <= 32 * 1024),
    );

    print_table(&rows);
}

fn print_table(rows: &[Row]) {
    println!();
    println!("| figure | value | goal | met |");
    println!("|---|---|---|---|");
    for r in rows {
        let met = match r.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "",
        };
        println!("| {} | {} | {} | {} |", r.figure, r.value, r.goal, met);
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `n` more exposed private APIs, alternating spokes, each with `resources` GET resources
/// under its own top-level path.
async fn many_apis(pets: &Pets, n: usize, resources: usize) -> Vec<(String, String)> {
    let policy = seed_policy(&pets.hub.vpce_id);
    let mut out = Vec::new();
    for i in 0..n {
        let (sdk, account) = if i % 2 == 0 {
            (&pets.b, ACCOUNT_B)
        } else {
            (&pets.c, ACCOUNT_C)
        };
        let root = format!("/svc{i}");
        let paths: Vec<String> = std::iter::once(root.clone())
            .chain((1..resources).map(|k| format!("{root}/r{k}")))
            .collect();
        let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
        let id = private_api(
            sdk,
            &format!("svc-{i}"),
            EndpointType::Private,
            Some(&policy),
            &[("expose", "true")],
            &refs,
        )
        .await;
        out.push((account.to_string(), id));
    }
    out
}

/// Size, cold start and peak RSS of two builds of the functions, measured in one run: cold
/// starts interleaved in rounds (A then B, three times), so drift on the machine falls on both.
async fn compare(rows: &mut Vec<Row>, a: &std::path::Path, b: &std::path::Path) {
    let label = |d: &std::path::Path| d.display().to_string();
    for name in ["target-sync", "route-sync"] {
        let size = |d: &std::path::Path| {
            std::fs::metadata(d.join(name))
                .map(|m| m.len())
                .unwrap_or_else(|e| panic!("{}: {e}", d.join(name).display()))
        };
        let (sa, sb) = (size(a), size(b));
        row(
            rows,
            format!("{name}: binary size, before -> after"),
            format!("{:.2} -> {:.2} MB", sa as f64 / 1e6, sb as f64 / 1e6),
            "<= 6 MB",
            Some(sb <= 6_000_000),
        );
        let (mut ta, mut tb) = (Vec::new(), Vec::new());
        for _ in 0..3 {
            ta.push(cold_starts(|| Command::new(a.join(name)), 7));
            tb.push(cold_starts(|| Command::new(b.join(name)), 7));
        }
        ta.sort();
        tb.sort();
        row(
            rows,
            format!("{name}: cold start to first poll, before -> after (median of 3 x 7)"),
            format!("{:.1} -> {:.1} ms", ms(ta[1]), ms(tb[1])),
            "after <= before",
            None,
        );
    }
    let (ra, rb) = (peak_rss_over_seed(a).await, peak_rss_over_seed(b).await);
    row(
        rows,
        "peak RSS over the seed (target-sync, route-sync), before",
        format!(
            "{:.1} / {:.1} MB",
            ra.0 as f64 / 1024.0,
            ra.1 as f64 / 1024.0
        ),
        label(a),
        None,
    );
    row(
        rows,
        "peak RSS over the seed (target-sync, route-sync), after",
        format!(
            "{:.1} / {:.1} MB",
            rb.0 as f64 / 1024.0,
            rb.1 as f64 / 1024.0
        ),
        label(b),
        Some(rb.0.max(rb.1) <= 32 * 1024),
    );
}

fn cold_starts(make: impl Fn() -> Command, runs: usize) -> Duration {
    let mut times = Vec::new();
    for _ in 0..runs {
        let api = RuntimeApi::start(vec![serde_json::json!({})]);
        // No AWS call is made before the first poll; nothing listens on port 9.
        let mut env = aws_env("http://127.0.0.1:9");
        env.extend([
            ("FRONTDOOR_VPC_ENDPOINT_ID", "vpce-0123456789abcdef0".into()),
            ("FRONTDOOR_TARGET_GROUP_ARN", "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/x/0123456789abcdef".into()),
            ("FRONTDOOR_PUBLIC_API_ID", "abcdef0123".into()),
            ("FRONTDOOR_VPC_LINK_ID", "vl0001".into()),
            ("FRONTDOOR_ALLOWED_ACCOUNTS", ACCOUNT_B.into()),
        ]);
        let start = Instant::now();
        let function = FunctionProcess::spawn_command(make(), &api, &env);
        let answered = api.answer(Duration::from_secs(30));
        assert!(
            answered.is_some(),
            "no answer; logs: {:#?}",
            function.logs()
        );
        times.push(api.first_poll().map(|t| t - start).unwrap_or_default());
    }
    times.sort();
    times[times.len() / 2]
}

async fn peak_rss_over_seed(dir: &std::path::Path) -> (u64, u64) {
    let emulator = Emulator::start();
    let pets = seed(&emulator).await;
    let mut base = aws_env(&emulator.endpoint_url());
    base.push(("FRONTDOOR_VPC_ENDPOINT_ID", pets.hub.vpce_id.clone()));
    let measure =
        |binary: PathBuf, extra: Vec<(&'static str, String)>, events: Vec<serde_json::Value>| {
            let n = events.len();
            let api = RuntimeApi::start(events);
            let env: Vec<(&str, String)> = base.iter().cloned().chain(extra).collect();
            let function = FunctionProcess::spawn(&binary, &api, &env);
            for _ in 0..n {
                match api.answer(Duration::from_secs(60)) {
                    Some(Answer::Response { .. }) => {}
                    other => panic!("{other:?}: {:#?}", function.logs()),
                }
            }
            function.peak_rss_kib().unwrap_or(0)
        };
    let t = measure(
        dir.join("target-sync"),
        vec![(
            "FRONTDOOR_TARGET_GROUP_ARN",
            pets.hub.target_group_arn.clone(),
        )],
        vec![
            event("schedule.json", &pets.hub.vpce_id),
            event("schedule.json", &pets.hub.vpce_id),
        ],
    );
    let r = measure(
        dir.join("route-sync"),
        vec![
            ("FRONTDOOR_PUBLIC_API_ID", pets.public_api_id.clone()),
            ("FRONTDOOR_VPC_LINK_ID", pets.vpc_link_id.clone()),
            (
                "FRONTDOOR_ALLOWED_ACCOUNTS",
                format!("{ACCOUNT_B},{}", pets::ACCOUNT_C),
            ),
        ],
        vec![event("schedule.json", ""), event("schedule.json", "")],
    );
    (t, r)
}

/// Organisation scale (issue 14): `accounts` spoke accounts x 10 APIs (half exposed, two
/// routes each), every AWS call through the proxy with 50 and 100 ms of latency; a no-op
/// sweep read sequentially (1 account, 1 call at a time) and concurrently (the defaults,
/// 8 accounts x 2 calls), side by side; the first sweep's writes against the floor.
async fn scale(rows: &mut Vec<Row>, accounts: usize) {
    use frontdoor_tests::faults::FaultProxy;
    use frontdoor_tests::pets::hub_account;
    use frontdoor_tests::sdk_config_at;
    use shared::routes::{self, Scope};
    use shared::{App, RouteSyncConfig};

    let emulator = Emulator::start();
    emulator.settings(&serde_json::json!({"resource_quota": 20000}));
    let pets = seed(&emulator).await;
    let policy = seed_policy(&pets.hub.vpce_id);
    let mut allowed = vec![ACCOUNT_B.to_string(), ACCOUNT_C.to_string()];
    let t = Instant::now();
    for a in 0..accounts {
        let account = format!("5{a:011}");
        let sdk = emulator.account_sdk_config(&account).await;
        for i in 0..10 {
            let root = format!("/s{a:03}-{i}");
            let (x, y) = (format!("{root}/x"), format!("{root}/y"));
            let (tags, paths): (&[(&str, &str)], Vec<&str>) = if i % 2 == 0 {
                (&[("expose", "true")], vec![&x, &y])
            } else {
                // Not opted in: one resource (a deployment needs a method).
                (&[], vec![&x])
            };
            private_api(
                &sdk,
                &format!("api-{a:03}-{i}"),
                EndpointType::Private,
                Some(&policy),
                tags,
                &paths,
            )
            .await;
        }
        allowed.push(account);
    }
    println!("  (seeded in {:.0} s)", t.elapsed().as_secs_f64());
    let proxy = FaultProxy::start(&emulator.endpoint_url(), 0, 0.0);
    let sdk = sdk_config_at(&proxy.endpoint_url()).await;
    let app = |spokes: &str, per_account: &str| {
        let list = allowed.join(",");
        let config = RouteSyncConfig::from_lookup(|name| match name {
            "FRONTDOOR_VPC_ENDPOINT_ID" => Some(pets.hub.vpce_id.clone()),
            "FRONTDOOR_PUBLIC_API_ID" => Some(pets.public_api_id.clone()),
            "FRONTDOOR_VPC_LINK_ID" => Some(pets.vpc_link_id.clone()),
            "FRONTDOOR_ALLOWED_ACCOUNTS" => Some(list.clone()),
            "FRONTDOOR_RESOURCE_QUOTA" => Some("10000".into()),
            "FRONTDOOR_SPOKE_CONCURRENCY" => Some(spokes.into()),
            "FRONTDOOR_ACCOUNT_CONCURRENCY" => Some(per_account.into()),
            "FRONTDOOR_ACCOUNT_RESOURCE_QUOTA" => Some("10000".into()),
            "FRONTDOOR_WRITE_PACING" => Some("off".into()),
            _ => None,
        })
        .unwrap();
        App::new(config, &sdk).in_account(hub_account())
    };
    let sweep = Scope {
        sweep: true,
        apis: Default::default(),
        owed: false,
    };

    // The first sweep, on loopback: its writes against the floor.
    let first = app("8", "2");
    let t = Instant::now();
    routes::reconcile(&first, &sweep).await.unwrap();
    let wall = t.elapsed();
    let calls = first.clients.calls.snapshot();
    let exposed = accounts * 5 + 2;
    // Per new API: its root and two children, two methods, two integrations; the seed's 9;
    // one deployment.
    let floor = (accounts * 5) as u64 * (3 + 2 + 2) + 9 + 1;
    let w = public_writes(&calls);
    row(
        rows,
        format!("first sweep of {exposed} exposed APIs: public writes / floor"),
        format!("{w} / {floor} = {:.2}", w as f64 / floor as f64),
        "ratio 1.0",
        Some(w == floor),
    );
    row(
        rows,
        "first sweep on loopback: wall, reads, all writes (SSM included)",
        format!(
            "{:.1} s, {}, {}",
            wall.as_secs_f64(),
            calls.reads(),
            calls.writes()
        ),
        "-",
        None,
    );
    row(
        rows,
        "first sweep at 50 / 100 ms per call: writes x latency (writes are sequential)",
        format!(
            "{:.0} s / {:.0} s",
            calls.writes() as f64 * 0.05,
            calls.writes() as f64 * 0.1
        ),
        "-",
        None,
    );

    for latency in [50u64, 100] {
        proxy.set_latency(Duration::from_millis(latency));
        for (mode, spokes, per) in [("sequential", "1", "1"), ("concurrent", "8", "2")] {
            let a = app(spokes, per);
            let t = Instant::now();
            let report = routes::reconcile(&a, &sweep).await.unwrap();
            let wall = t.elapsed();
            let calls = a.clients.calls.snapshot();
            let goal = if latency == 50 && mode == "concurrent" {
                "< 20 s"
            } else {
                "-"
            };
            row(
                rows,
                format!("no-op sweep at {latency} ms per call, {mode} ({spokes} x {per})"),
                format!(
                    "{:.1} s, {} reads, {} writes",
                    wall.as_secs_f64(),
                    calls.reads(),
                    report.writes
                ),
                goal,
                (goal != "-").then(|| wall < Duration::from_secs(20) && report.writes == 0),
            );
            if mode == "concurrent" && latency == 50 {
                let spoke_reads =
                    calls.of("GetRestApis") + calls.of("GetStages") + calls.of("GetDeployment");
                row(
                    rows,
                    "spoke reads per exposed API in a no-op sweep",
                    format!("{:.2}", spoke_reads as f64 / exposed as f64),
                    "-",
                    None,
                );
            }
        }
    }
}

/// One route mode at size: the seed plus `apis` more APIs of 30 resources each, every one
/// with `expose:paths` its subtree, each spoke's share the whole quota (300): how many get
/// routed, the public resources and writes it takes, and what one API's stage flip costs.
async fn modes(rows: &mut Vec<Row>, mode: &str, apis: usize) {
    use shared::routes::{self, Scope};
    let emulator = Emulator::start();
    let pets = seed(&emulator).await;
    let policy = seed_policy(&pets.hub.vpce_id);
    let t = Instant::now();
    let mut ids = Vec::new();
    for i in 0..apis {
        let sdk = if i % 2 == 0 { &pets.b } else { &pets.c };
        let root = format!("/svc{i}");
        let paths: Vec<String> = std::iter::once(root.clone())
            .chain((1..30).map(|k| format!("{root}/r{k}")))
            .collect();
        let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
        let tags = [
            ("expose", "true"),
            ("expose:paths", root.as_str()),
            ("expose:mode", mode),
        ];
        ids.push(
            private_api(
                sdk,
                &format!("svc-{i}"),
                EndpointType::Private,
                Some(&policy),
                &tags,
                &refs,
            )
            .await,
        );
    }
    // The seed's APIs follow the hub's default mode (their subtrees named for proxy mode).
    for (sdk, api, path) in [
        (&pets.b, &pets.cats, "/cats"),
        (&pets.c, &pets.dogs, "/dogs"),
    ] {
        pets.tag(sdk, api, &[("expose:paths", path), ("expose:mode", mode)])
            .await;
    }
    println!("  ({mode}: seeded in {:.0} s)", t.elapsed().as_secs_f64());
    // Two spoke accounts stand for a hundred: each may hold the whole quota and 100 APIs.
    let app = pets.app_with(&[
        ("FRONTDOOR_ACCOUNT_RESOURCE_QUOTA", "300"),
        ("FRONTDOOR_ACCOUNT_API_QUOTA", "100"),
    ]);
    let sweep = Scope {
        sweep: true,
        ..Scope::default()
    };
    let t = Instant::now();
    let runs = sweep_until_quiet(&app, &sweep, 5).await.len();
    let wall = t.elapsed();
    let calls = app.clients.calls.snapshot();
    let published = pets.published().await;
    let exposed = exposed_count(&published);
    let resources = pets.public_paths().await.len() - 1; // the root is not counted
    row(
        rows,
        format!(
            "{mode}: APIs exposed of {} (seed + {apis} x 30 resources)",
            apis + 2
        ),
        exposed,
        if mode == "proxy" { "all" } else { "-" },
        (mode == "proxy").then_some(exposed == apis + 2),
    );
    row(
        rows,
        format!("{mode}: public resources (quota 300)"),
        resources,
        "<= 300",
        Some(resources <= 300),
    );
    row(
        rows,
        format!("{mode}: public API writes / SSM writes / deployments"),
        format!(
            "{} / {} / {}",
            public_writes(&calls),
            calls.of("PutParameter") + calls.of("DeleteParameter"),
            calls.of("CreateDeployment")
        ),
        "-",
        None,
    );
    row(
        rows,
        format!("{mode}: sweeps to converge / wall time"),
        format!("{runs} / {:.1} s", wall.as_secs_f64()),
        "-",
        None,
    );
    // One routed API's stage flip (spoke B's): the same 30 resources on a second stage.
    let routed = |i: &usize| {
        published
            .get(&format!("/frontdoor/apis/svc-{i}/status"))
            .map(String::as_str)
            == Some("exposed")
    };
    let Some(flip) = (0..apis).step_by(2).find(routed).map(|i| &ids[i]) else {
        println!("  ({mode}: no API of spoke B routed: no flip to measure)");
        return;
    };
    aws_sdk_apigateway::Client::new(&pets.b)
        .create_deployment()
        .rest_api_id(flip)
        .stage_name("blue")
        .send()
        .await
        .unwrap();
    pets.tag(&pets.b, flip, &[("expose:stage", "blue")]).await;
    let before = app.clients.calls.snapshot();
    routes::reconcile(&app, &sweep).await.unwrap();
    let flipped = app.clients.calls.snapshot().since(&before);
    row(
        rows,
        format!("{mode}: one 30-resource API's stage flip: public writes"),
        public_writes(&flipped),
        if mode == "proxy" {
            "2 + deployment"
        } else {
            "-"
        },
        None,
    );
}

/// Cells at size (issue 23): `accounts` spoke accounts of 10 APIs each, 5 exposed in proxy
/// mode with 30 resources under a first segment of their own, 4 cells of `quota` resources
/// behind one domain. Placement, routing rules, deployments per batch, the first sweep on
/// loopback and a no-op sweep at 50 ms per call.
async fn cells(rows: &mut Vec<Row>, accounts: usize, quota: usize) {
    use frontdoor_tests::faults::FaultProxy;
    use frontdoor_tests::pets::{add_cells, hub_account};
    use frontdoor_tests::sdk_config_at;
    use shared::routes::{self, Scope};
    use shared::{App, RouteSyncConfig};

    const DOMAIN: &str = "api.example.com";
    let emulator = Emulator::start();
    let pets = seed(&emulator).await;
    let ids = add_cells(&pets, 3, DOMAIN).await;
    let policy = seed_policy(&pets.hub.vpce_id);
    let mut allowed = vec![ACCOUNT_B.to_string(), ACCOUNT_C.to_string()];
    let t = Instant::now();
    for a in 0..accounts {
        let account = format!("6{a:011}");
        let sdk = emulator.account_sdk_config(&account).await;
        for i in 0..10 {
            let root = format!("/c{a:03}-{i}");
            let (tags, paths): (Vec<(&str, &str)>, Vec<String>) = if i % 2 == 0 {
                (
                    vec![
                        ("expose", "true"),
                        ("expose:paths", &root),
                        ("expose:mode", "proxy"),
                    ],
                    std::iter::once(root.clone())
                        .chain((1..30).map(|k| format!("{root}/r{k}")))
                        .collect(),
                )
            } else {
                (Vec::new(), vec![root.clone()])
            };
            let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
            private_api(
                &sdk,
                &format!("api-{a:03}-{i}"),
                EndpointType::Private,
                Some(&policy),
                &tags,
                &refs,
            )
            .await;
        }
        allowed.push(account);
    }
    println!("  (seeded in {:.0} s)", t.elapsed().as_secs_f64());
    let proxy = FaultProxy::start(&emulator.endpoint_url(), 0, 0.0);
    let sdk = sdk_config_at(&proxy.endpoint_url()).await;
    let app = |rule_quota: &str| {
        let list = allowed.join(",");
        let cells = ids.join(",");
        let config = RouteSyncConfig::from_lookup(|name| match name {
            "FRONTDOOR_VPC_ENDPOINT_ID" => Some(pets.hub.vpce_id.clone()),
            "FRONTDOOR_PUBLIC_API_ID" => Some(pets.public_api_id.clone()),
            "FRONTDOOR_VPC_LINK_ID" => Some(pets.vpc_link_id.clone()),
            "FRONTDOOR_ALLOWED_ACCOUNTS" => Some(list.clone()),
            "FRONTDOOR_CELLS" => Some(cells.clone()),
            "FRONTDOOR_PUBLIC_DOMAIN" => Some(DOMAIN.into()),
            "FRONTDOOR_ROUTING_RULE_QUOTA" => Some(rule_quota.into()),
            "FRONTDOOR_RESOURCE_QUOTA" => Some(quota.to_string()),
            "FRONTDOOR_ACCOUNT_RESOURCE_QUOTA" => Some((quota / 3).to_string()),
            "FRONTDOOR_WRITE_PACING" => Some("off".into()),
            _ => None,
        })
        .unwrap();
        App::new(config, &sdk).in_account(hub_account())
    };
    let sweep = Scope {
        sweep: true,
        ..Scope::default()
    };
    let exposed_of = accounts * 5 + 2;
    // First with AWS's default 50 rules, then with the quota raised (it is adjustable).
    for rule_quota in ["50", "1000"] {
        // The operator had AWS raise the quota before configuring the new one.
        let granted: u64 = rule_quota.parse().unwrap();
        emulator.settings(&serde_json::json!({"routing_rule_quota": granted}));
        let a = app(rule_quota);
        let t = Instant::now();
        let deployments: Vec<usize> = sweep_until_quiet(&a, &sweep, 4)
            .await
            .iter()
            .map(|r| r.deployments)
            .collect();
        let wall = t.elapsed();
        let calls = a.clients.calls.snapshot();
        let exposed = exposed_count(&pets.published().await);
        let mut per_cell = Vec::new();
        for id in &ids {
            per_cell.push(
                frontdoor_tests::pets::resource_ids(&pets.hub_sdk, id)
                    .await
                    .len(),
            );
        }
        let v2 = aws_sdk_apigatewayv2::Client::new(&pets.hub_sdk);
        let mut rules = 0;
        let mut token = None;
        for _ in 0..100 {
            let page = v2
                .list_routing_rules()
                .domain_name(DOMAIN)
                .set_next_token(token)
                .send()
                .await
                .unwrap();
            rules += page.routing_rules().len();
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        row(
            rows,
            format!("rule quota {rule_quota}: APIs exposed of {exposed_of}"),
            exposed,
            "-",
            None,
        );
        row(
            rows,
            format!("rule quota {rule_quota}: resources per cell (quota {quota}) / routing rules"),
            format!("{per_cell:?} / {rules}"),
            format!("<= {quota} each"),
            Some(per_cell.iter().all(|r| *r <= quota)),
        );
        row(
            rows,
            format!("rule quota {rule_quota}: deployments per sweep until a no-op"),
            format!("{deployments:?}"),
            "<= 4 (one per changed cell)",
            Some(deployments.iter().all(|d| *d <= 4)),
        );
        row(
            rows,
            format!("rule quota {rule_quota}: to converge on loopback: wall, reads, writes"),
            format!(
                "{:.1} s, {}, {}",
                wall.as_secs_f64(),
                calls.reads(),
                calls.writes()
            ),
            "-",
            None,
        );
    }
    proxy.set_latency(Duration::from_millis(50));
    let a = app("1000");
    let t = Instant::now();
    let report = routes::reconcile(&a, &sweep).await.unwrap();
    let wall = t.elapsed();
    row(
        rows,
        "no-op sweep over 4 cells at 50 ms per call: wall, reads, writes",
        format!(
            "{:.1} s, {}, {}",
            wall.as_secs_f64(),
            a.clients.calls.snapshot().reads(),
            report.writes
        ),
        "0 writes",
        Some(report.writes == 0),
    );
}
