//! Webhook delivery benchmarks, each against a floor measured in the same run.
//!
//! - Throughput: deliveries/s from the worker to a loopback receiver, against a plain reqwest
//!   POST loop to the same receiver at the same concurrency, sending the same bytes: a body of
//!   the same size and the headers a delivery carries (user agent and the five signature
//!   headers, computed once), so that the ratio is the worker's own cost (follow, store, sign,
//!   schedule, record) and not the wire format's (target ratio >= 0.7).
//! - Signing: `sign_request` (both schemes) against the two raw HMAC-SHA256 computations over
//!   the same bytes (target ratio >= 0.8).
//! - First-attempt latency: from just before the commit to the request's arrival at the
//!   receiver, with `notify()` after the commit and with polling alone (target p99 < 100 ms).
//!
//! Each throughput run also reports the process's CPU time per delivery (from /proc/self/stat),
//! which moves less than wall time when the machine is shared.
//!
//! Run: `cargo bench -p zoom-bench --bench webhooks` (about half a minute). Set
//! `WEBHOOK_BENCH_EVENTS` to change the throughput run's size (default 20000).
//! Needs the loopback interface only.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use zoom_core::clock::{SeededEntropy, SystemClock};
use zoom_core::meeting::{MeetingCommand, ScheduleMeeting};
use zoom_core::principal::{Principal, Scope};
use zoom_core::signature::{WebhookSecret, sign_request};
use zoom_core::webhook::WebhookCommand;
use zoom_core::webhook::address::{AllowList, Cidr};
use zoom_core::{Engine, EngineConfig};
use zoom_store_memory::MemoryStore;
use zoom_webhooks::{USER_AGENT, Worker, WorkerConfig};

/// Requests in flight, for the worker (pool and per-subscription limit) and the plain loop alike.
const CONCURRENCY: usize = 16;

fn admin() -> Principal {
    use zoom_core::id::Name;
    Principal::app(Name::parse("acme").unwrap(), Name::parse("bench").unwrap(), Scope::ALL)
}

fn loopback() -> AllowList {
    AllowList::new(vec![Cidr::parse("127.0.0.1/32").unwrap()])
}

/// A receiver that answers 200 and notes each arrival's instant.
struct Receiver {
    url: String,
    count: Arc<AtomicUsize>,
    arrivals: Arc<Mutex<Vec<Instant>>>,
}

async fn receiver() -> Receiver {
    let count = Arc::new(AtomicUsize::new(0));
    let arrivals: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let (c, a) = (Arc::clone(&count), Arc::clone(&arrivals));
    let app = axum::Router::new().fallback(move |_body: axum::body::Bytes| {
        let (c, a) = (Arc::clone(&c), Arc::clone(&a));
        async move {
            a.lock().unwrap().push(Instant::now());
            c.fetch_add(1, Ordering::SeqCst);
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Receiver { url, count, arrivals }
}

async fn engine() -> Arc<Engine> {
    let config = EngineConfig {
        webhook_allow: loopback(),
        ..crate::engine_config()
    };
    Arc::new(
        Engine::open(
            Arc::new(MemoryStore::new()),
            Arc::new(SystemClock),
            Arc::new(SeededEntropy::new(1)),
            config,
        )
        .await
        .unwrap(),
    )
}

async fn subscribe(engine: &Engine, url: &str) {
    engine
        .execute_webhook(
            &admin(),
            None,
            WebhookCommand::Subscribe {
                url: url.to_owned(),
                events: vec!["meeting.created".into()],
                url_validation: false,
            },
            None,
        )
        .await
        .unwrap();
}

async fn schedule(engine: &Engine, i: usize) {
    engine
        .execute(
            &admin(),
            None,
            MeetingCommand::Schedule(ScheduleMeeting {
                topic: format!("Benchmark meeting {i}"),
                start_time: "2030-01-01T09:00:00Z".into(),
                duration_minutes: 30,
                timezone: None,
                passcode: None,
                waiting_room: None,
                settings: None,
                host_id: Some("alice".into()),
            }),
            None,
        )
        .await
        .unwrap();
}

fn worker_config() -> WorkerConfig {
    WorkerConfig {
        allow: loopback(),
        pool_size: CONCURRENCY,
        max_in_flight_per_subscription: CONCURRENCY,
        ..WorkerConfig::default()
    }
}

async fn wait_count(count: &AtomicUsize, n: usize) {
    // Bounded: a benchmark that stalls reports it rather than hanging.
    for _ in 0..120_000 {
        if count.load(Ordering::SeqCst) >= n {
            return;
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    panic!("only {} of {n} deliveries arrived", count.load(Ordering::SeqCst));
}

/// What one throughput run measured.
struct Run {
    per_second: f64,
    /// CPU time of the whole process per delivery, in microseconds.
    cpu_us: f64,
}

/// The CPU time this process has used so far, in seconds (user + system, 10 ms resolution).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or_default().split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(f64::NAN);
    (ticks(11) + ticks(12)) / 100.0
}

/// Deliveries/s of the worker: events committed first, then the worker drains the outbox.
async fn worker_throughput(events: usize) -> (Run, Delivered) {
    let engine = engine().await;
    let r = receiver().await;
    subscribe(&engine, &r.url).await;
    for i in 0..events {
        schedule(&engine, i).await;
    }
    // Building the HTTP client (loading the system's root certificates) is a start-up cost,
    // not a per-delivery one; the plain loop's client is built outside its timing too.
    let worker = Worker::spawn(Arc::clone(&engine), worker_config()).unwrap();
    let cpu = cpu_seconds();
    let started = Instant::now();
    let head = engine.store().head_position().await.unwrap();
    let e2 = Arc::clone(&engine);
    let enqueued = tokio::spawn(async move {
        while e2.store().checkpoint("zoom-webhooks").await.unwrap() < head {
            tokio::time::sleep(Duration::from_micros(500)).await;
        }
        started.elapsed()
    });
    wait_count(&r.count, events).await;
    let elapsed = started.elapsed();
    let cpu = cpu_seconds() - cpu;
    let enqueued = enqueued.await.unwrap();
    eprintln!(
        "  (the worker enqueued all {events} deliveries after {:.0} ms, delivered all after {:.0} ms)",
        enqueued.as_secs_f64() * 1e3,
        elapsed.as_secs_f64() * 1e3
    );
    worker.shutdown().await;
    // The plain loop sends the same body and the same headers as the worker's first delivery.
    let first = engine.store().delivery(1).await.unwrap().unwrap();
    let signed = sign_request(
        &[WebhookSecret::from_bytes([7; 32])],
        first.event_id.as_str(),
        chrono::Utc::now().timestamp(),
        first.body.as_bytes(),
    );
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::USER_AGENT, USER_AGENT.parse().unwrap());
    headers.insert(reqwest::header::CONTENT_TYPE, "application/json".parse().unwrap());
    for (name, value) in signed.pairs() {
        headers.insert(name, value.parse().unwrap());
    }
    let body = Delivered {
        body: first.body,
        headers,
    };
    let run = Run {
        per_second: events as f64 / elapsed.as_secs_f64(),
        cpu_us: cpu * 1e6 / events as f64,
    };
    (run, body)
}

/// What the worker sent: the plain loop sends the same.
struct Delivered {
    body: String,
    headers: reqwest::header::HeaderMap,
}

/// Requests/s of a plain reqwest loop: the same receiver, concurrency, body and headers; no
/// store, no signing, no log.
async fn plain_throughput(events: usize, sent: &Delivered) -> Run {
    let r = receiver().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    let cpu = cpu_seconds();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let (client, next, url) = (client.clone(), Arc::clone(&next), r.url.clone());
        let (body, headers) = (sent.body.clone(), sent.headers.clone());
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::SeqCst) < events {
                let response = client
                    .post(&url)
                    .headers(headers.clone())
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap();
                let _ = response.bytes().await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    wait_count(&r.count, events).await;
    Run {
        per_second: events as f64 / started.elapsed().as_secs_f64(),
        cpu_us: (cpu_seconds() - cpu) * 1e6 / events as f64,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// First-attempt latency: commit, optionally notify, wait for the arrival; one at a time.
async fn first_attempt_latency(samples: usize, notify: bool) -> Vec<Duration> {
    let engine = engine().await;
    let r = receiver().await;
    subscribe(&engine, &r.url).await;
    let worker = Worker::spawn(Arc::clone(&engine), worker_config()).unwrap();
    let mut out = Vec::with_capacity(samples);
    for i in 0..samples {
        let before = Instant::now();
        schedule(&engine, i).await;
        if notify {
            worker.notify();
        }
        wait_count(&r.count, i + 1).await;
        let arrived = r.arrivals.lock().unwrap()[i];
        out.push(arrived - before);
    }
    worker.shutdown().await;
    out.sort();
    out
}

fn raw_hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap();
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// ns per call of `f`, the best of five rounds of `iterations`.
fn time_ns(iterations: u32, mut f: impl FnMut()) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..5 {
        let started = Instant::now();
        for _ in 0..iterations {
            f();
        }
        best = best.min(started.elapsed().as_nanos() as f64 / f64::from(iterations));
    }
    best
}

fn signing(body_len: usize, iterations: u32) -> (f64, f64) {
    let secret = WebhookSecret::from_bytes([7; 32]);
    let body = vec![b'x'; body_len];
    let id = "evt_0123456789abcdef0123456789abcdef";
    let ts = 1_900_000_000_i64;
    let ts_text = ts.to_string();
    let sign = time_ns(iterations, || {
        std::hint::black_box(sign_request(
            std::slice::from_ref(&secret),
            std::hint::black_box(id),
            ts,
            std::hint::black_box(&body),
        ));
    });
    // The floor: the two MACs the schemes require over the same bytes, with the same keys,
    // and nothing else (no hex, no base64, no headers).
    let zoom_key = secret.as_str().as_bytes().to_vec();
    let std_key = secret.key_bytes().to_vec();
    let raw = time_ns(iterations, || {
        std::hint::black_box(raw_hmac(
            &zoom_key,
            &[b"v1:", ts_text.as_bytes(), b":", std::hint::black_box(&body)],
        ));
        std::hint::black_box(raw_hmac(
            &std_key,
            &[
                id.as_bytes(),
                b".",
                ts_text.as_bytes(),
                b".",
                std::hint::black_box(&body),
            ],
        ));
    });
    (sign, raw)
}

use crate::figure::{Benchmark, Figure, Mode};

const FAMILY: &str = "webhooks";

/// Webhook delivery against plain HTTP and raw HMAC.
pub const BENCH: Benchmark = Benchmark {
    family: FAMILY,
    title: "Webhook delivery",
    about: "- Throughput: deliveries/s from the worker (follow the log, store, sign, schedule, \
record) to a loopback receiver, against a plain reqwest POST loop to the same receiver at the same \
concurrency (16) sending the same bytes (body, user agent, signature headers); after one \
warm-up round of each, the round with the median ratio of 5.
- Signing: `sign_request` (both schemes) against the two raw HMAC-SHA256 computations over the \
same bytes, as signatures per second.
- First attempt after commit: from just before the commit to the request's arrival, one at a \
time, woken by `notify()` after the commit and by polling alone, against the 100 ms budget.",
    command: "cargo bench -p zoom-bench --bench webhooks",
    run,
};

fn run(mode: Mode) -> Vec<Figure> {
    let full = mode == Mode::Full;
    let events: usize = std::env::var("WEBHOOK_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { 20_000 } else { 50 });
    let samples = if full { 200 } else { 5 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut figures = Vec::new();
    for len in [256, 1024, 4096] {
        let (sign, raw) = signing(len, mode.pick(200, 20_000));
        figures.push(
            Figure::new(
                FAMILY,
                format!("signing a {len} B body (both schemes)"),
                1e9 / sign,
                "signatures/s",
            )
            .peer("two raw HMAC-SHA256", 1e9 / raw)
            .at_least(0.8),
        );
    }
    runtime.block_on(async {
        // Alternating rounds, the median ratio reported: the two runs share the machine with
        // whatever else it is doing, and alternation spreads that over both.
        let rounds = if full { 5 } else { 1 };
        // One warm-up round of each, not counted: the first run of either pays for growing
        // the heap to its size (page faults) and for the runtime's first connections.
        if full {
            let (_, sent) = worker_throughput(events).await;
            plain_throughput(events, &sent).await;
        }
        let mut measured = Vec::new();
        for _ in 0..rounds {
            let (worker, body) = worker_throughput(events).await;
            let plain = plain_throughput(events, &body).await;
            measured.push((worker, plain));
        }
        measured.sort_by(|a, b| (a.0.per_second / a.1.per_second).total_cmp(&(b.0.per_second / b.1.per_second)));
        let (worker, plain) = &measured[measured.len() / 2];
        figures.push(
            Figure::new(FAMILY, "deliveries to a loopback receiver", worker.per_second, "deliveries/s")
                .peer("plain reqwest POST loop, same bytes", plain.per_second)
                .at_least(0.7)
                .note(format!(
                    "{events} events, concurrency {CONCURRENCY}, median of {rounds}; CPU per delivery {:.1} µs vs {:.1} µs per plain request",
                    worker.cpu_us, plain.cpu_us
                )),
        );
        for notify in [true, false] {
            let lat = first_attempt_latency(samples, notify).await;
            figures.push(
                Figure::new(
                    FAMILY,
                    format!(
                        "first attempt after commit, p99 ({})",
                        if notify { "notify()" } else { "polling only" }
                    ),
                    percentile(&lat, 0.99).as_secs_f64() * 1e3,
                    "ms",
                )
                .peer("budget", 100.0)
                .at_most(1.0)
                .note(format!(
                    "{samples} samples, p50 {:.1} ms, max {:.1} ms",
                    percentile(&lat, 0.5).as_secs_f64() * 1e3,
                    lat[lat.len() - 1].as_secs_f64() * 1e3
                )),
            );
        }
    });
    figures
}
