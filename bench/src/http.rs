//! `GET /v1/meetings/{id}` through the `zoom-http` router against a minimal axum handler that
//! returns the same bytes, in the same run, both through `tower::ServiceExt::oneshot` (no socket):
//! the ratio is what the API layer (auth, id parsing, engine read, view, JSON, request id,
//! tracing span) costs over axum's own floor.
//!
//! A second section serves both over loopback TCP and drives them with a small keep-alive HTTP/1.1
//! client in the same process (4 connections): a rough socket-level ratio until the load test
//! with an external generator lands.
//!
//! A third section measures what the rate limiter costs: the same router with limits on (every
//! category far above the load, so nothing is refused but every request is counted and stamped
//! with its `X-RateLimit-*` headers) against limits off, both behind the server's caching token
//! verifier, through the router alone and over loopback TCP (the target: at most 5 % of GET
//! throughput, that is a ratio of at least 0.95).
//!
//! Run: `cargo bench -p zoom-bench --bench http` (set `HTTP_BENCH_REQUESTS` to change the
//! requests per round; default 20000, 5 rounds, interleaved, median reported).

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use http_body_util::BodyExt;
use tower::ServiceExt;
use zoom_core::id::Name;
use zoom_core::principal::{Principal, Scope};
use zoom_http::{ApiConfig, AuthError, Authenticator};

struct OneKey(Principal);

#[async_trait::async_trait]
impl Authenticator for OneKey {
    async fn authenticate(&self, token: &str) -> Result<Principal, AuthError> {
        if token == "bench" {
            Ok(self.0.clone())
        } else {
            Err(AuthError::invalid_token("unknown"))
        }
    }
}

async fn call(app: &Router, uri: &str) -> Bytes {
    let req = Request::get(uri)
        .header(header::AUTHORIZATION, "Bearer bench")
        .body(Body::empty())
        .unwrap_or_default();
    let response = match app.clone().oneshot(req).await {
        Ok(r) => r,
        Err(e) => match e {},
    };
    assert_eq!(response.status(), StatusCode::OK);
    response
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default()
}

async fn rate(app: &Router, uri: &str, n: usize) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(call(app, uri).await);
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// Sends `n` GETs on one keep-alive connection, reading each answer by its content-length.
async fn drive(addr: std::net::SocketAddr, uri: String, n: usize) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut conn = tokio::net::TcpStream::connect(addr).await?;
    conn.set_nodelay(true)?;
    let request = format!("GET {uri} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer bench\r\n\r\n");
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    for _ in 0..n {
        conn.write_all(request.as_bytes()).await?;
        buf.clear();
        loop {
            let read = conn.read(&mut chunk).await?;
            if read == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            buf.extend_from_slice(&chunk[..read]);
            let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                break;
            }
        }
    }
    Ok(())
}

async fn socket_rate(addr: std::net::SocketAddr, uri: &str, connections: usize, n: usize) -> f64 {
    let start = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|_| tokio::spawn(drive(addr, uri.to_owned(), n / connections)))
        .collect();
    for t in tasks {
        match t.await {
            Ok(Ok(())) => {}
            other => panic!("load connection failed: {other:?}"),
        }
    }
    n as f64 / start.elapsed().as_secs_f64()
}

async fn serve(app: Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("addr: {e}"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

use crate::figure::{Benchmark, Figure, Mode};

const FAMILY: &str = "http";

/// The API layer against a minimal axum handler.
pub const BENCH: Benchmark = Benchmark {
    family: FAMILY,
    title: "HTTP API layer",
    about: "`GET /v1/meetings/{id}` through the zoom-http router (auth, id parsing, engine read, \
view, JSON, request id, tracing span) on a memory store, against a minimal axum handler that \
returns the same bytes: through `tower::ServiceExt::oneshot` (no socket) and over loopback TCP \
with a small keep-alive client in the same process (4 connections). Median of 5 interleaved \
rounds after a warm-up. Then the rate limiter's cost: the same route with limits on (every \
category far above the load, so each request is counted and stamped with its `X-RateLimit-*` \
headers) against limits off, both behind the server's caching token verifier, 11 alternating \
rounds (target: a cost of at most 5 %).",
    command: "cargo bench -p zoom-bench --bench http",
    run,
};

fn run(mode: Mode) -> Vec<Figure> {
    let mut figures = Vec::new();
    let n: usize = std::env::var("HTTP_BENCH_REQUESTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(mode.pick(500, 20_000));
    let rounds = mode.pick(1, 5);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    };
    rt.block_on(async {
        let engine = zoom_core::Engine::open(
            Arc::new(zoom_store_memory::MemoryStore::new()),
            Arc::new(zoom_core::clock::SystemClock),
            Arc::new(zoom_core::clock::SystemEntropy),
            crate::engine_config(),
        )
        .await
        .unwrap_or_else(|e| panic!("engine: {e}"));
        let principal = Principal::app(
            Name::parse("acme").unwrap_or_else(|e| panic!("{e}")),
            Name::parse("bench").unwrap_or_else(|e| panic!("{e}")),
            Scope::ALL,
        );
        let command = zoom_core::meeting::MeetingCommand::Schedule(zoom_core::meeting::ScheduleMeeting {
            topic: "Bench".into(),
            start_time: "2030-01-01T09:00:00Z".into(),
            duration_minutes: 30,
            timezone: None,
            passcode: None,
            waiting_room: None,
            settings: None,
            host_id: Some("alice".into()),
        });
        let m = engine
            .execute(&principal, None, command, None)
            .await
            .unwrap_or_else(|e| panic!("schedule: {e}"));
        let engine = Arc::new(engine);
        let engine_for_limits = Arc::clone(&engine);
        let principal_for_limits = principal.clone();
        let api = zoom_http::router(engine, Arc::new(OneKey(principal)), ApiConfig::default());
        let uri = format!("/v1/meetings/{}", m.id);
        let bytes = call(&api, &uri).await;
        let same = bytes.clone();
        let floor = Router::new().route(
            "/v1/meetings/{id}",
            get(move || {
                let body = same.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], body) }
            }),
        );
        assert_eq!(call(&floor, &uri).await, bytes);

        // Warm both up, then interleave rounds so drift affects both alike.
        rate(&api, &uri, n / 10).await;
        rate(&floor, &uri, n / 10).await;
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            ours.push(rate(&api, &uri, n).await);
            theirs.push(rate(&floor, &uri, n).await);
        }
        let (ours, theirs) = (median(ours), median(theirs));
        figures.push(
            Figure::new(FAMILY, "GET /v1/meetings/{id}, oneshot (no socket)", ours, "req/s")
                .peer("minimal axum handler, same bytes", theirs)
                .note(format!("{} bytes, {n} requests x {rounds} rounds, median", bytes.len())),
        );

        let (api_addr, floor_addr) = (serve(api.clone()).await, serve(floor.clone()).await);
        socket_rate(api_addr, &uri, 4, n / 10).await;
        socket_rate(floor_addr, &uri, 4, n / 10).await;
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            ours.push(socket_rate(api_addr, &uri, 4, n).await);
            theirs.push(socket_rate(floor_addr, &uri, 4, n).await);
        }
        let (ours, theirs) = (median(ours), median(theirs));
        figures.push(
            Figure::new(
                FAMILY,
                "GET /v1/meetings/{id}, loopback TCP, 4 keep-alive connections",
                ours,
                "req/s",
            )
            .peer("minimal axum handler, same bytes", theirs)
            .note(format!("in-process client, {n} requests x {rounds} rounds, median")),
        );

        figures.extend(limiter_cost(engine_for_limits, principal_for_limits, &uri, n, mode).await);
    });
    figures
}

/// The rate limiter's cost: limits on, every category far above the load, against limits off,
/// alternating rounds, the median of the round ratios (through the router, then over TCP).
async fn limiter_cost(
    engine: Arc<zoom_core::Engine>,
    principal: Principal,
    uri: &str,
    n: usize,
    mode: Mode,
) -> Vec<Figure> {
    let build = |limits: zoom_http::limits::Limits| {
        let auth = zoom_http::CachingAuthenticator::new(
            OneKey(principal.clone()),
            std::time::Duration::from_secs(30),
            100_000,
        );
        zoom_http::router(
            engine.clone(),
            Arc::new(auth),
            ApiConfig {
                limits,
                ..ApiConfig::default()
            },
        )
    };
    let huge = 100_000_000;
    let on = build(zoom_http::limits::Limits {
        rate: Some(zoom_http::limits::RateLimits {
            light: huge,
            medium: huge,
            heavy: huge,
        }),
        daily_meeting_writes: None,
    });
    let off = build(zoom_http::limits::Limits::default());
    let rounds = mode.pick(1, 11);
    rate(&on, uri, n / 10).await;
    rate(&off, uri, n / 10).await;
    let (mut with, mut without, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        // Alternate which side goes first, so a drift in the machine's load favours neither.
        let (a, b) = if round % 2 == 0 {
            let a = rate(&on, uri, n).await;
            (a, rate(&off, uri, n).await)
        } else {
            let b = rate(&off, uri, n).await;
            (rate(&on, uri, n).await, b)
        };
        with.push(a);
        without.push(b);
        ratios.push(a / b);
    }
    let oneshot = (median(ratios), median(with), median(without));
    let (on_addr, off_addr) = (serve(on).await, serve(off).await);
    socket_rate(on_addr, uri, 4, n / 10).await;
    socket_rate(off_addr, uri, 4, n / 10).await;
    let (mut with, mut without, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (a, b) = if round % 2 == 0 {
            let a = socket_rate(on_addr, uri, 4, n).await;
            (a, socket_rate(off_addr, uri, 4, n).await)
        } else {
            let b = socket_rate(off_addr, uri, 4, n).await;
            (socket_rate(on_addr, uri, 4, n).await, b)
        };
        with.push(a);
        without.push(b);
        ratios.push(a / b);
    }
    let socket = (median(ratios), median(with), median(without));
    let note = format!("{n} requests x {rounds} alternating rounds; the ratio is the median of the round ratios");
    vec![
        Figure::new(
            FAMILY,
            "rate limits on (far above the load), oneshot",
            oneshot.1,
            "req/s",
        )
        .peer("rate limits off", oneshot.2)
        .note(format!("{note} ({:.3})", oneshot.0)),
        Figure::new(
            FAMILY,
            "rate limits on (far above the load), loopback TCP",
            socket.1,
            "req/s",
        )
        .peer("rate limits off", socket.2)
        .at_least(0.95)
        .note(format!("{note} ({:.3})", socket.0)),
    ]
}
