//! zoom-server over loopback sockets, as a client sees it.
//!
//! 1. `GET /v1/meetings/{id}` requests/s, driven by `wrk` (an external load generator, from
//!    Debian: `apt-get install wrk`), against a minimal axum handler that returns the same bytes,
//!    on the same machine in the same run, alternating rounds; the ratio is reported.
//! 2. Open-loop latency at a fixed rate (2,000 requests/s by default) of `POST /v1/meetings` on
//!    SQLite and of `POST /v1/meetings/{id}/joinToken`: each request is sent at its scheduled
//!    instant, whether or not earlier ones have answered, and its latency is counted from that
//!    instant (so a stall is not hidden by coordinated omission). Driven by `oha` (an external
//!    load generator: `cargo install oha`) with `-q RATE --latency-correction`, or, when oha is
//!    not installed, by a generator inside this process.
//!
//! The same generator against the minimal handler is reported first: that floor is the
//! generator's and the loopback's own latency on these two cores.
//!
//! The server runs in this process on its own runtime with the production wiring
//! (`zoom_server::Server`: SQLite store, access tokens, cached token verification).
//!
//! Run: `cargo bench -p zoom-bench --bench server`
//! (`SERVER_BENCH_RATE`, `SERVER_BENCH_SECS`, `SERVER_BENCH_WRK_SECS` change the defaults 2000, 5, 5).

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use serde_json::{Value, json};
use zoom_server::Server;
use zoom_server::config::{Args, Bootstrap};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// Runs `wrk` against `url` and returns its requests/s, or `None` when wrk is missing or failed.
fn wrk(url: &str, token: Option<&str>, secs: u64) -> Option<f64> {
    let mut cmd = std::process::Command::new("wrk");
    cmd.args(["-t1", "-c32", &format!("-d{secs}s")]);
    if let Some(t) = token {
        cmd.args(["-H", &format!("Authorization: Bearer {t}")]);
    }
    let out = cmd.arg(url).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    if text.contains("Non-2xx") {
        eprintln!("wrk saw non-2xx answers from {url}:\n{text}");
        return None;
    }
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
}

/// One open-loop run of `oha` (an external load generator, `cargo install oha`): `rate`
/// requests/s for `secs` seconds with latency correction (each request's latency counts from its
/// scheduled instant, so a stall is not hidden). Returns the sorted latency percentiles as a
/// stand-in for the sample (p50, p99, max) and the failures, or `None` when oha is missing.
fn oha(url: &str, token: Option<&str>, json_body: Option<&str>, rate: u64, secs: u64) -> Option<OhaRun> {
    let mut cmd = std::process::Command::new("oha");
    cmd.args([
        "--no-tui",
        "--output-format",
        "json",
        "--latency-correction",
        "-c",
        "64",
    ]);
    cmd.args(["-q", &rate.to_string(), "-z", &format!("{secs}s"), "-w"]);
    if let Some(t) = token {
        cmd.args(["-H", &format!("Authorization: Bearer {t}")]);
    }
    if let Some(b) = json_body {
        cmd.args(["-m", "POST", "-T", "application/json", "-d", b]);
    }
    let out = cmd.arg(url).output().ok()?;
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    let secs_of = |k: &str| v["latencyPercentiles"][k].as_f64();
    let total: u64 = v["statusCodeDistribution"]
        .as_object()?
        .values()
        .filter_map(Value::as_u64)
        .sum();
    let ok = v["statusCodeDistribution"]
        .as_object()?
        .iter()
        .filter(|(code, _)| code.starts_with('2'))
        .filter_map(|(_, n)| n.as_u64())
        .sum::<u64>();
    let errors: u64 = v["errorDistribution"]
        .as_object()
        .map(|m| m.values().filter_map(Value::as_u64).sum())
        .unwrap_or(0);
    Some(OhaRun {
        n: ok,
        failed: total - ok + errors,
        p50: secs_of("p50")? * 1e3,
        p99: secs_of("p99")? * 1e3,
        max: v["summary"]["slowest"].as_f64()? * 1e3,
    })
}

/// What one oha run measured, in milliseconds.
struct OhaRun {
    n: u64,
    failed: u64,
    p50: f64,
    p99: f64,
    max: f64,
}

fn report_oha(name: &str, budget_ms: f64, brief_ms: f64, rate: u64, secs: u64, r: &OhaRun) -> Figure {
    Figure::new(FAMILY, format!("{name}, open loop at {rate}/s, p99"), r.p99, "ms")
        .peer("target", budget_ms)
        .at_most(1.0)
        .note(format!(
            "oha -q {rate} -z {secs}s --latency-correction -c 64: n={} failed={} p50 {:.2} ms, max {:.2} ms; p99 / the brief's {brief_ms} ms = {:.3}",
            r.n,
            r.failed,
            r.p50,
            r.max,
            r.p99 / brief_ms
        ))
}

/// Sends `rate` requests/s for `secs` seconds, open loop; returns the sorted latencies and the
/// number of failed requests.
async fn open_loop(rate: u64, secs: u64, make: impl Fn(u64) -> reqwest::RequestBuilder) -> (Vec<Duration>, usize) {
    let total = rate * secs;
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let at = start + interval * i as u32;
        tokio::time::sleep_until(at).await;
        let req = make(i);
        tasks.push(tokio::spawn(async move {
            let ok = matches!(req.send().await, Ok(r) if r.status().is_success());
            (at.elapsed(), ok)
        }));
    }
    let mut latencies = Vec::with_capacity(tasks.len());
    let mut failed = 0;
    for t in tasks {
        match t.await {
            Ok((d, true)) => latencies.push(d),
            _ => failed += 1,
        }
    }
    latencies.sort();
    (latencies, failed)
}

fn report(name: &str, budget_ms: f64, brief_ms: f64, rate: u64, (lat, failed): &(Vec<Duration>, usize)) -> Figure {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let p99 = ms(percentile(lat, 0.99));
    Figure::new(FAMILY, format!("{name}, open loop at {rate}/s, p99"), p99, "ms")
        .peer("target", budget_ms)
        .at_most(1.0)
        .note(format!(
            "in-process generator (oha is not installed: cargo install oha), whose own tail on shared cores hides the server's: n={} failed={failed} p50 {:.2} ms, max {:.2} ms; p99 / the brief's {brief_ms} ms = {:.3}",
            lat.len(),
            ms(percentile(lat, 0.50)),
            ms(percentile(lat, 1.0)),
            p99 / brief_ms
        ))
}

use crate::figure::{Benchmark, Figure, Mode};

const FAMILY: &str = "server";

/// zoom-server over loopback sockets.
pub const BENCH: Benchmark = Benchmark {
    family: FAMILY,
    title: "zoom-server over sockets",
    about: "zoom-server in this process with its production wiring (SQLite store, real access \
tokens, cached token verification, `EngineConfig::exclusive`; rate limits off, their cost is the \
HTTP family's), driven over loopback by external \
load generators sharing the same two cores:

- `GET /v1/meetings/{id}` by `wrk -t1 -c32` (`apt-get install wrk`) against a minimal axum \
handler returning the same bytes, best of 3 alternating rounds;
- `POST /v1/meetings` and `POST /v1/meetings/{id}/joinToken` open loop at a fixed rate by `oha \
--latency-correction` (`cargo install oha`), so each latency counts from the request's scheduled \
instant (no coordinated omission); the same run against the minimal handler first is the \
generator's own floor. Without oha an in-process generator stands in, and says so.

A figure whose tool is missing is skipped with a note.",
    command: "cargo bench -p zoom-bench --bench server",
    run,
};

fn run(mode: Mode) -> Vec<Figure> {
    let mut figures = Vec::new();
    let rate = env_or("SERVER_BENCH_RATE", mode.pick(200, 2000));
    let secs = env_or("SERVER_BENCH_SECS", mode.pick(1, 5));
    let wrk_secs = env_or("SERVER_BENCH_WRK_SECS", mode.pick(1, 5));
    let wrk_rounds = mode.pick(1, 3);
    let dir = tempfile::tempdir().expect("a temporary directory");

    // The servers: zoom-server and the minimal peer, on a runtime of their own.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let db = dir.path().join("bench.db");
    let base = server_rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let args = Args::try_parse_from([
            "zoom-server",
            "--listen",
            &addr.to_string(),
            "--store",
            &format!("sqlite://{}", db.display()),
            // The open loops send far more than one app's default limits allow; the limiter's
            // own cost is the `http` family's figure.
            "--rate-limit",
            "off",
        ])
        .expect("flags");
        let bootstrap =
            Bootstrap::from_values(Some("bench".into()), Some("bench-secret".into()), None).expect("bootstrap");
        let server = Server::start(&args, &bootstrap).await.expect("the server starts");
        let app = server.router();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    });

    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let client = reqwest::Client::new();
    let (token, meeting_id, body) = client_rt.block_on(async {
        let token: Value = client
            .post(format!("{base}/oauth/token"))
            .basic_auth("bench", Some("bench-secret"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .expect("token")
            .json()
            .await
            .expect("token json");
        let token = token["access_token"].as_str().expect("access_token").to_owned();
        let meeting: Value = client
            .post(format!("{base}/v1/meetings"))
            .bearer_auth(&token)
            .json(&json!({"topic": "Bench", "start_time": "2030-01-01T09:00:00Z", "duration_minutes": 30, "host_id": "alice",
                "waiting_room": false, "settings": {"allow_join_before_host": true}}))
            .send()
            .await
            .expect("schedule")
            .json()
            .await
            .expect("meeting json");
        let id = meeting["id"].as_str().expect("id").to_owned();
        let body = client
            .get(format!("{base}/v1/meetings/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("read")
            .bytes()
            .await
            .expect("body");
        (token, id, body)
    });
    let peer = server_rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let bytes = Arc::new(body);
        let app = axum::Router::new().route(
            "/v1/meetings/{id}",
            axum::routing::get(move || {
                let bytes = bytes.clone();
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        (*bytes).clone(),
                    )
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    });

    // 1. Reads, by wrk, alternating rounds.
    let path = format!("/v1/meetings/{meeting_id}");
    let mut ours = Vec::new();
    let mut floor = Vec::new();
    for _ in 0..wrk_rounds {
        match (
            wrk(&format!("{base}{path}"), Some(&token), wrk_secs),
            wrk(&format!("{peer}{path}"), None, wrk_secs),
        ) {
            (Some(a), Some(b)) => {
                ours.push(a);
                floor.push(b);
            }
            _ => break,
        }
    }
    let get = "GET /v1/meetings/{id} (SQLite, real access tokens)";
    if ours.is_empty() {
        figures.push(Figure::skipped(
            FAMILY,
            get,
            "req/s",
            "wrk is not installed (apt-get install wrk) or failed",
        ));
    } else {
        let best = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
        figures.push(
            Figure::new(FAMILY, get, best(&ours), "req/s")
                .peer("minimal axum handler, same bytes", best(&floor))
                .at_least(0.7)
                .note(format!("wrk -t1 -c32 -d{wrk_secs}s, best of {}", ours.len())),
        );
    }

    // 2. Writes at a fixed rate, open loop, after the floor: the same generator against the
    //    minimal handler, so the generator's own cost on these two cores is visible. oha when it
    //    is installed (a separate process, as a client would be), else an in-process generator.
    let schedule_body =
        r#"{"topic":"Load","start_time":"2030-01-01T09:00:00Z","duration_minutes":30,"host_id":"alice"}"#;
    let join_body = r#"{"user_id":"loadtest","display_name":"Load"}"#;
    let floor = oha(&format!("{peer}{path}"), None, None, rate, secs);
    if let Some(floor) = floor {
        figures.push(report_oha(
            "floor: GET on the minimal axum handler",
            5.0,
            200.0,
            rate,
            secs,
            &floor,
        ));
        if let Some(r) = oha(
            &format!("{base}/v1/meetings"),
            Some(&token),
            Some(schedule_body),
            rate,
            secs,
        ) {
            figures.push(report_oha("POST /v1/meetings (SQLite)", 5.0, 200.0, rate, secs, &r));
        }
        if let Some(r) = oha(
            &format!("{base}/v1/meetings/{meeting_id}/joinToken"),
            Some(&token),
            Some(join_body),
            rate,
            secs,
        ) {
            figures.push(report_oha(
                "POST /v1/meetings/{id}/joinToken",
                2.0,
                100.0,
                rate,
                secs,
                &r,
            ));
        }
        drop(server_rt);
        return figures;
    }
    //    minimal handler, so the generator's own cost on these two cores is visible.
    client_rt.block_on(async {
        let floor = open_loop(rate, secs, |_| client.get(format!("{peer}{path}"))).await;
        figures.push(report("floor: GET on the minimal axum handler", 5.0, 200.0, rate, &floor));
        let schedule = open_loop(rate, secs, |i| {
            client
                .post(format!("{base}/v1/meetings"))
                .bearer_auth(&token)
                .json(&json!({"topic": format!("Load {i}"), "start_time": "2030-01-01T09:00:00Z", "duration_minutes": 30, "host_id": "alice"}))
        })
        .await;
        figures.push(report("POST /v1/meetings (SQLite)", 5.0, 200.0, rate, &schedule));
        let join = open_loop(rate, secs, |i| {
            client
                .post(format!("{base}/v1/meetings/{meeting_id}/joinToken"))
                .bearer_auth(&token)
                .json(&json!({"user_id": format!("user{i}"), "display_name": "Load"}))
        })
        .await;
        figures.push(report("POST /v1/meetings/{id}/joinToken", 2.0, 100.0, rate, &join));
    });
    drop(server_rt);
    figures
}
