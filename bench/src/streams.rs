//! Live event streams over WebSocket (issue 12), each beside a plain tokio-tungstenite server
//! measured in the same run, and beside the issue's budget.
//!
//! zoom-server runs in this process with its production wiring on the memory store (real access
//! tokens from `POST /oauth/token`, cached token verification, the default [`ApiConfig`]: one hub
//! per router reads the log for every stream, woken by the server's commit signal and at the
//! latest every `sse_poll`, 250 ms; streams check their token every second), served on
//! 127.0.0.1 by `axum::serve`; its rate limits are off, so that opening thousands of streams from
//! one account is not paced by the `light` category. Clients are in the same process, on a
//! runtime of their own.
//!
//! - Idle streams: `N` (5,000) WebSocket upgrades of `GET /v1/meetings/{id}/events`, held open
//!   and idle; the process's resident memory (VmRSS) before and after, divided by `N`. The peer:
//!   the same clients on a plain tokio-tungstenite echo server. The clients do the upgrade by
//!   hand and then only hold their socket (no WebSocket state, no task), so the delta is the
//!   server's memory and the kernel's socket buffers, which RSS does not count, are left out on
//!   both sides. Each run is a fresh process (this executable again, [`child_if_asked`]), since
//!   a side measured after the other reuses the heap that one grew and freed; two alternating
//!   runs of each side, the larger delta of each.
//! - Commit-to-client latency: `C` (1,000) WebSocket clients of `GET /v1/events` on one account;
//!   events are committed through the engine at a modest fixed rate, each timestamped just
//!   before its commit and followed by the server's `CommitSignal::notify` (what a write through
//!   the HTTP API does, and what an embedder writing through the engine is told to do), and every
//!   client notes when each arrives; p99 over all deliveries. The
//!   peer: a tokio-tungstenite server whose connections each forward a broadcast channel to their
//!   client, sending the very frames zoom-server sent, timestamped just before the broadcast.
//! - Throughput: one `GET /v1/events?after=` WebSocket reading a backlog of `E` (50,000) events
//!   written beforehand, events/s from the connect to the last frame. The peer: a
//!   tokio-tungstenite server sending the same frames (the same bytes) in a loop, one flush a
//!   frame as axum's socket does. Alternating rounds, the median.
//!
//! - Across instances (only with `ZOOM_TEST_POSTGRES_URL`; a skipped figure otherwise): two
//!   servers in this process on one fresh PostgreSQL schema (dropped at the end), each with its
//!   own engine, pool, hub and commit listener; clients of `GET /v1/events` on B; commits through
//!   A's engine, which B hears of only through NOTIFY, against the same commits made on B itself;
//!   the note adds a bare NOTIFY-to-LISTEN round trip between two tokio-postgres connections.
//!
//! Every wait is bounded in time and every loop in count: a stream that stalls shows as missing
//! deliveries in the note, not as a hang.
//!
//! Run: `cargo bench -p zoom-bench --bench streams` (`STREAMS_BENCH_IDLE`,
//! `STREAMS_BENCH_CLIENTS`, `STREAMS_BENCH_EVENTS`, `STREAMS_BENCH_CROSS_CLIENTS` change the
//! sizes).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use zoom_core::Engine;
use zoom_core::meeting::{MeetingCommand, ScheduleMeeting};
use zoom_core::principal::Principal;
use zoom_http::ApiConfig;
use zoom_server::Server;
use zoom_server::config::{Args, Bootstrap};

use crate::figure::{Benchmark, Figure, Mode};

const FAMILY: &str = "streams";

/// The issue's budgets.
const MEMORY_BUDGET_KIB: f64 = 64.0;
const LATENCY_BUDGET_MS: f64 = 10.0;
const THROUGHPUT_BUDGET: f64 = 50_000.0;

/// Upgrades in flight at once while opening streams.
const OPENING: usize = 64;
/// File descriptors kept for everything but the streams (the runtimes, the HTTP client, files).
const RESERVED_FDS: u64 = 256;

/// Live streams against a plain tokio-tungstenite server.
pub const BENCH: Benchmark = Benchmark {
    family: FAMILY,
    title: "Live event streams (WebSocket)",
    about: "zoom-server in this process (production wiring on the memory store, real access \
tokens, the default stream settings: one reader of the log for every stream, woken by commits, \
a token check every second; rate limits off) on 127.0.0.1, its clients on a runtime of their own; each figure \
beside a plain tokio-tungstenite server driven by the same clients with the same bytes, and \
beside the budget of issue 12:

- idle streams: 5,000 WebSocket upgrades of `GET /v1/meetings/{id}/events` held open, the \
process's resident memory (VmRSS) delta per stream, against the same clients on a tokio-tungstenite \
echo server (the clients upgrade by hand and then only hold their socket, so the delta is the \
server's; each run in a fresh process, two alternating runs of each side, the larger delta of \
each);
- commit-to-client latency: 1,000 WebSocket clients of `GET /v1/events` on one account, events \
committed through the engine at 20/s, each timestamped just before its commit; p99 over every \
delivery, against a tokio-tungstenite server forwarding a broadcast channel to the same clients \
with the frames zoom-server sent (the floor);
- throughput: one `GET /v1/events?after=` WebSocket reading a backlog of 50,000 events written \
beforehand, against a tokio-tungstenite server sending the same frames; median of 3 alternating \
rounds;
- across instances (with `ZOOM_TEST_POSTGRES_URL` only, skipped otherwise): two servers in this \
process on one fresh PostgreSQL schema, each with its own engine, pool, stream hub and `LISTEN`; \
100 WebSocket clients of `GET /v1/events` on instance B; events committed through A's engine at \
20/s (B learns of them only through PostgreSQL's NOTIFY), p99 from just before the commit to \
each client, against the same commits made on B itself (the floor: the same store, hub and \
clients without the hop between instances), alternating, 2 × 200 commits each; the note adds a \
bare NOTIFY-to-LISTEN round trip between two connections.",
    command: "cargo bench -p zoom-bench --bench streams",
    run,
};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn run(mode: Mode) -> Vec<Figure> {
    let fds = raise_fd_limit();
    let wanted_idle = env_or("STREAMS_BENCH_IDLE", mode.pick(50, 5_000));
    let wanted_clients = env_or("STREAMS_BENCH_CLIENTS", mode.pick(20, 1_000));
    let events = env_or("STREAMS_BENCH_EVENTS", mode.pick(300, 50_000));
    let commits = mode.pick(5, 200);
    let rounds = mode.pick(1, 3);
    // Clients and servers in one process: two descriptors a stream.
    let fit = |wanted: usize| match fds {
        Some(soft) => wanted.min(usize::try_from(soft.saturating_sub(RESERVED_FDS) / 2).unwrap_or(usize::MAX)),
        None => wanted,
    };
    let fd_note = |wanted: usize, got: usize| {
        if got < wanted {
            format!(
                "the open-file limit ({}) fits only {got} of the {wanted} streams asked for",
                fds.unwrap_or(0)
            )
        } else {
            String::new()
        }
    };
    let (idle, clients) = (fit(wanted_idle), fit(wanted_clients));

    let (server_rt, client_rt) = runtimes();
    let zoom = server_rt.block_on(start_zoom());
    let http = reqwest::Client::new();
    let (token, principal) = client_rt.block_on(access_token(&http, &zoom));
    let peers = server_rt.block_on(start_peers(commits));

    let with_fd_note = |figures: Vec<Figure>, wanted: usize, got: usize| -> Vec<Figure> {
        let extra = fd_note(wanted, got);
        figures
            .into_iter()
            .map(|f| if extra.is_empty() { f } else { f.note(extra.clone()) })
            .collect()
    };
    let mut figures = Vec::new();
    // Throughput first: its backlog is the first thing written after the cursor it resumes from.
    figures.extend(client_rt.block_on(throughput(&zoom, &token, &principal, &peers, events, rounds)));
    let latency = client_rt.block_on(latency(&zoom, &token, &principal, &peers, clients, commits));
    figures.extend(with_fd_note(latency, wanted_clients, clients));
    drop(client_rt);
    drop(server_rt);
    figures.extend(cross_instance(mode));
    figures.extend(with_fd_note(idle_memory(idle, mode), wanted_idle, idle));
    figures
}

/// Raises the soft limit of open files to the hard one; returns the soft limit in force (`None`:
/// unlimited).
fn raise_fd_limit() -> Option<u64> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            eprintln!("   cannot raise the open-file limit to its hard limit: {e}");
        }
    }
    getrlimit(Resource::Nofile).current
}

/// The process's resident memory, in bytes (VmRSS of /proc/self/status).
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
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

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

// ---- zoom-server ----

/// The server's runtime (two workers) and the clients' own (one thread).
fn runtimes() -> (tokio::runtime::Runtime, tokio::runtime::Runtime) {
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let clients = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    (server, clients)
}

/// zoom-server on 127.0.0.1, with the engine behind it.
struct Zoom {
    addr: SocketAddr,
    engine: Arc<Engine>,
    commits: zoom_http::CommitSignal,
    tokens: Arc<zoom_server::tokens::AccessTokens>,
    /// The server itself, kept for what lives as long as it does (on PostgreSQL, its commit
    /// listener).
    server: Server,
}

async fn start_zoom() -> Zoom {
    start_zoom_on("memory").await.expect("the server starts")
}

/// zoom-server on `store`, as [`start_zoom`] starts it on memory.
async fn start_zoom_on(store: &str) -> Result<Zoom, String> {
    let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let args = Args::try_parse_from([
        "zoom-server",
        "--listen",
        &addr.to_string(),
        "--store",
        store,
        "--rate-limit",
        "off",
    ])
    .map_err(|e| e.to_string())?;
    let bootstrap = Bootstrap::from_values(Some("bench".into()), Some("bench-secret".into()), None).expect("bootstrap");
    let server = Server::start(&args, &bootstrap).await.map_err(|e| e.to_string())?;
    // The default stream settings; the router's hub is woken by the server's commit signal.
    let app = server.router_with(ApiConfig::default());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(Zoom {
        addr,
        engine: server.engine.clone(),
        commits: server.commits.clone(),
        tokens: server.tokens.clone(),
        server,
    })
}

/// A real access token (client credentials) and the principal it stands for.
async fn access_token(http: &reqwest::Client, zoom: &Zoom) -> (String, Principal) {
    let answer: Value = http
        .post(format!("http://{}/oauth/token", zoom.addr))
        .basic_auth("bench", Some("bench-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token json");
    let token = answer["access_token"].as_str().expect("access_token").to_owned();
    let principal = zoom.tokens.verify(&token).expect("the server's own token verifies");
    (token, principal)
}

/// Schedules a meeting with topic `topic` (a `meeting.created` on the account's stream); its id.
async fn schedule(engine: &Engine, principal: &Principal, topic: &str) -> String {
    let command = MeetingCommand::Schedule(ScheduleMeeting {
        topic: topic.to_owned(),
        start_time: "2030-01-01T09:00:00Z".into(),
        duration_minutes: 30,
        timezone: None,
        passcode: None,
        waiting_room: None,
        settings: None,
        host_id: Some("alice".into()),
    });
    let meeting = engine
        .execute(principal, None, command, None)
        .await
        .unwrap_or_else(|e| panic!("schedule: {e}"));
    meeting.id.to_string()
}

// ---- the peers: plain tokio-tungstenite servers ----

/// The three plain tokio-tungstenite servers, on 127.0.0.1.
struct Peers {
    echo: SocketAddr,
    broadcast: SocketAddr,
    /// Feeds every connection of `broadcast`.
    feed: tokio::sync::broadcast::Sender<Utf8Bytes>,
    looping: SocketAddr,
    /// What `looping` sends to each connection; set before a round.
    frames: Arc<std::sync::Mutex<Arc<Vec<Utf8Bytes>>>>,
}

async fn start_peers(commits: usize) -> Peers {
    let bind = || async {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let a = l.local_addr().expect("addr");
        (l, a)
    };
    let (echo_l, echo) = bind().await;
    tokio::spawn(accept_each(echo_l, |mut ws| async move {
        while let Some(Ok(m)) = ws.next().await {
            if (m.is_text() || m.is_binary()) && ws.send(m).await.is_err() {
                break;
            }
        }
    }));
    let (feed, _) = tokio::sync::broadcast::channel::<Utf8Bytes>(commits.max(16) * 2);
    let (broadcast_l, broadcast) = bind().await;
    let sender = feed.clone();
    tokio::spawn(async move {
        for _ in 0..u32::MAX {
            let Ok((tcp, _)) = broadcast_l.accept().await else {
                continue;
            };
            // Subscribed before the handshake, so nothing sent after the client's 101 is missed.
            let mut rx = sender.subscribe();
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                loop {
                    tokio::select! {
                        incoming = ws.next() => match incoming {
                            Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                            Some(Ok(_)) => {}
                        },
                        frame = rx.recv() => match frame {
                            Ok(f) => if ws.send(Message::Text(f)).await.is_err() { return },
                            Err(_) => return,
                        }
                    }
                }
            });
        }
    });
    let frames: Arc<std::sync::Mutex<Arc<Vec<Utf8Bytes>>>> = Arc::default();
    let (looping_l, looping) = bind().await;
    let shared = frames.clone();
    tokio::spawn(accept_each(looping_l, move |mut ws| {
        let frames = shared.lock().map(|f| f.clone()).unwrap_or_default();
        async move {
            for f in frames.iter() {
                if ws.send(Message::Text(f.clone())).await.is_err() {
                    return;
                }
            }
            let _ = ws.close(None).await;
        }
    }));
    Peers {
        echo,
        broadcast,
        feed,
        looping,
        frames,
    }
}

/// Accepts connections (at most `u32::MAX`), runs the WebSocket handshake and `serve` on each.
async fn accept_each<F, Fut>(listener: TcpListener, serve: F)
where
    F: Fn(tokio_tungstenite::WebSocketStream<TcpStream>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let serve = Arc::new(serve);
    for _ in 0..u32::MAX {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let serve = serve.clone();
        tokio::spawn(async move {
            if let Ok(ws) = tokio_tungstenite::accept_async(tcp).await {
                serve(ws).await;
            }
        });
    }
}

// ---- clients ----

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// The read buffer of each of the many clients of the latency figures. tungstenite zeroes the
/// free part of its read buffer before every read (128 KiB by default), which for a thousand
/// clients in one process was most of the clients' time: a whole-process profile showed
/// `memset` and the kernel's page clearing on top of the clients' thread, on both sides of the
/// comparison alike. A frame larger than this still arrives whole (the buffer grows for it).
const CLIENT_READ_BUFFER: usize = 4 * 1024;

/// A tokio-tungstenite client of `path` on `addr`, with the bearer token when there is one.
async fn connect(addr: SocketAddr, path: &str, token: Option<&str>) -> Result<Ws, String> {
    connect_with(addr, path, token, None).await
}

/// [`connect`] with this WebSocket configuration (`None`: the library's defaults).
async fn connect_with(
    addr: SocketAddr,
    path: &str,
    token: Option<&str>,
    config: Option<WebSocketConfig>,
) -> Result<Ws, String> {
    let mut request = format!("ws://{addr}{path}")
        .into_client_request()
        .map_err(|e| e.to_string())?;
    if let Some(token) = token {
        let value = format!("Bearer {token}")
            .parse()
            .map_err(|_| "token header".to_owned())?;
        request.headers_mut().insert("authorization", value);
    }
    let connecting = tokio_tungstenite::connect_async_with_config(request, config, false);
    match tokio::time::timeout(Duration::from_secs(10), connecting).await {
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the upgrade took more than 10 s".into()),
    }
}

/// `n` clients of `path`, `OPENING` upgrades at a time, each with a read buffer of
/// [`CLIENT_READ_BUFFER`]; those that could not connect are counted.
async fn connect_many(addr: SocketAddr, path: &str, token: Option<&str>, n: usize) -> (Vec<Ws>, usize) {
    let config = WebSocketConfig::default().read_buffer_size(CLIENT_READ_BUFFER);
    let results: Vec<_> = futures::stream::iter(0..n)
        .map(|_| connect_with(addr, path, token, Some(config)))
        .buffer_unordered(OPENING)
        .collect()
        .await;
    let failed = results.iter().filter(|r| r.is_err()).count();
    if let Some(Err(e)) = results.iter().find(|r| r.is_err()) {
        eprintln!("   {failed} of {n} WebSocket clients could not connect, e.g.: {e}");
    }
    (results.into_iter().filter_map(Result::ok).collect(), failed)
}

/// The RFC 6455 example key and the accept value it must be answered with.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// A WebSocket upgrade by hand, over a bare socket: the client then holds only the socket, so
/// an idle stream's memory is the server's. The 101 and its accept value are checked.
async fn raw_upgrade(addr: SocketAddr, path: &str, token: Option<&str>) -> Result<TcpStream, String> {
    let upgrade = async {
        let mut tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{auth}\r\n"
        );
        tcp.write_all(request.as_bytes()).await.map_err(|e| e.to_string())?;
        let mut head = Vec::with_capacity(512);
        let mut byte = [0u8; 256];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            if head.len() > 8192 {
                return Err("an answer head over 8 KiB".to_owned());
            }
            let n = tcp.read(&mut byte).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("closed before the answer".to_owned());
            }
            head.extend_from_slice(&byte[..n]);
        }
        let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
        if !head.starts_with("http/1.1 101") || !head.contains(&ACCEPT.to_ascii_lowercase()) {
            return Err(format!("not an upgrade: {}", head.lines().next().unwrap_or_default()));
        }
        Ok(tcp)
    };
    tokio::time::timeout(Duration::from_secs(10), upgrade)
        .await
        .unwrap_or_else(|_| Err("the upgrade took more than 10 s".into()))
}

// ---- 1. idle streams ----

/// One side's idle run.
struct Idle {
    /// Streams open during the measurement.
    open: usize,
    /// Resident memory per open stream, KiB.
    per_stream_kib: f64,
    /// CPU used while idle, in % of one core.
    cpu_percent: f64,
}

/// Opens `n` idle streams by hand, waits for them to settle, and measures.
async fn idle_run(addr: SocketAddr, path: &str, token: Option<&str>, n: usize, mode: Mode) -> Idle {
    // Whatever the last run left is let go first.
    tokio::time::sleep(mode.pick(Duration::from_millis(200), Duration::from_millis(1500))).await;
    let before = rss_bytes();
    let opened: Vec<_> = futures::stream::iter(0..n)
        .map(|_| raw_upgrade(addr, path, token))
        .buffer_unordered(OPENING)
        .collect()
        .await;
    let failed = opened.iter().filter(|r| r.is_err()).count();
    if let Some(Err(e)) = opened.iter().find(|r| r.is_err()) {
        eprintln!("   {failed} of {n} idle streams could not open, e.g.: {e}");
    }
    let sockets: Vec<TcpStream> = opened.into_iter().filter_map(Result::ok).collect();
    // Every stream has polled and checked its token at least once by then (250 ms, 1 s).
    tokio::time::sleep(mode.pick(Duration::from_millis(300), Duration::from_millis(1500))).await;
    let (cpu, started) = (cpu_seconds(), Instant::now());
    tokio::time::sleep(mode.pick(Duration::from_millis(300), Duration::from_secs(2))).await;
    let cpu_percent = (cpu_seconds() - cpu) / started.elapsed().as_secs_f64() * 100.0;
    let after = rss_bytes();
    let open = sockets.len();
    drop(sockets);
    Idle {
        open,
        per_stream_kib: after.saturating_sub(before) as f64 / open.max(1) as f64 / 1024.0,
        cpu_percent,
    }
}

/// The variable that makes a process of this benchmark measure one side of the idle figure and
/// exit: `zoom:N:quick`, `peer:N:full`.
const CHILD: &str = "ZOOM_BENCH_STREAMS_IDLE";
/// The line a child prints its measurement on: `<prefix> <KiB per stream> <open> <CPU %>`.
const CHILD_LINE: &str = "zoom-bench-streams-idle";

/// In a child process started by the idle figure (the [`CHILD`] variable set): measures that
/// side, prints its line and exits. Otherwise returns at once. Called before any benchmark runs.
pub fn child_if_asked() {
    let Ok(spec) = std::env::var(CHILD) else { return };
    let mut parts = spec.split(':');
    let (side, n, mode) = (parts.next(), parts.next().and_then(|n| n.parse().ok()), parts.next());
    let (Some(side), Some(n)) = (side, n) else {
        eprintln!("{CHILD}={spec:?} is not side:count:mode");
        std::process::exit(2);
    };
    let mode = if mode == Some("quick") { Mode::Quick } else { Mode::Full };
    raise_fd_limit();
    let (server_rt, client_rt) = runtimes();
    let measured = if side == "zoom" {
        let zoom = server_rt.block_on(start_zoom());
        let http = reqwest::Client::new();
        let (token, principal) = client_rt.block_on(access_token(&http, &zoom));
        let meeting = client_rt.block_on(schedule(&zoom.engine, &principal, "idle"));
        let path = format!("/v1/meetings/{meeting}/events");
        client_rt.block_on(async {
            idle_run(zoom.addr, &path, Some(&token), 10.min(n), mode).await;
            idle_run(zoom.addr, &path, Some(&token), n, mode).await
        })
    } else {
        let peers = server_rt.block_on(start_peers(1));
        client_rt.block_on(async {
            idle_run(peers.echo, "/", None, 10.min(n), mode).await;
            idle_run(peers.echo, "/", None, n, mode).await
        })
    };
    println!(
        "{CHILD_LINE} {} {} {}",
        measured.per_stream_kib, measured.open, measured.cpu_percent
    );
    std::process::exit(0);
}

/// Runs one side of the idle figure in a fresh process (this executable, with [`CHILD`] set), so
/// neither side reuses the heap the other grew and freed; `None` when the child failed.
fn idle_child(side: &str, n: usize, mode: Mode) -> Option<Idle> {
    let exe = std::env::current_exe().ok()?;
    let mut child = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(CHILD, format!("{side}:{n}:{}", mode.pick("quick", "full")))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    // Bounded: a child that hangs is killed and the figure says so.
    let started = std::time::Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if started.elapsed() < Duration::from_secs(300) => {
                std::thread::sleep(Duration::from_millis(100));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take()?, &mut out).ok()?;
    let line = out.lines().find_map(|l| l.strip_prefix(CHILD_LINE))?;
    let mut v = line.split_whitespace();
    Some(Idle {
        per_stream_kib: v.next()?.parse().ok()?,
        open: v.next()?.parse().ok()?,
        cpu_percent: v.next()?.parse().ok()?,
    })
}

fn idle_memory(n: usize, mode: Mode) -> Vec<Figure> {
    // Each run in a process of its own, alternating sides; the larger delta of each side.
    let runs = mode.pick(1, 2);
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for _ in 0..runs {
        ours.extend(idle_child("zoom", n, mode));
        theirs.extend(idle_child("peer", n, mode));
    }
    let largest = |v: Vec<Idle>| {
        v.into_iter()
            .max_by(|a, b| a.per_stream_kib.total_cmp(&b.per_stream_kib))
    };
    let name = format!("{n} idle WebSocket streams: resident memory per stream");
    let (Some(ours), Some(theirs)) = (largest(ours), largest(theirs)) else {
        return vec![Figure::skipped(
            FAMILY,
            name,
            "KiB",
            "a child process of the measurement failed (its standard error says why)",
        )];
    };
    let note = format!(
        "{} streams open (peer {}), VmRSS delta / streams, each run in a fresh process, larger of {runs} alternating runs; CPU while idle {:.0} % of a core (peer {:.0} %)",
        ours.open, theirs.open, ours.cpu_percent, theirs.cpu_percent
    );
    vec![
        Figure::new(FAMILY, name.clone(), ours.per_stream_kib, "KiB")
            .peer("tokio-tungstenite echo server, same clients", theirs.per_stream_kib)
            .note(note.clone()),
        Figure::new(
            FAMILY,
            format!("{name}, against the budget"),
            ours.per_stream_kib,
            "KiB",
        )
        .peer("budget (issue 12)", MEMORY_BUDGET_KIB)
        .at_most(1.0)
        .note(note),
    ]
}

// ---- 2. commit-to-client latency ----

/// The index `k` of a frame whose event is a meeting scheduled with topic `bench k`.
///
/// A search for the topic's member rather than a parse of the frame: each of the thousand
/// clients does this for every frame on one thread before it reads the next, and parsing the
/// whole frame into a `serde_json::Value` was a third of their work per frame (a profile of the
/// run), delaying the clients after it on both sides of the comparison.
fn topic_index(frame: &str) -> Option<usize> {
    const MEMBER: &str = r#""topic":"bench "#;
    let at = frame.find(MEMBER)? + MEMBER.len();
    let digits = &frame[at..];
    let end = digits.find('"')?;
    digits[..end].parse().ok()
}

/// What one client saw: (k, arrival) for each frame, and the frames themselves when kept.
struct Marks {
    arrivals: Vec<(usize, Instant)>,
    frames: Vec<(usize, Utf8Bytes)>,
}

/// Reads frames until `want` of them, the end of the stream, or `deadline`.
async fn read_marks(mut ws: Ws, want: usize, deadline: Instant, keep: bool) -> Marks {
    let mut marks = Marks {
        arrivals: Vec::with_capacity(want),
        frames: Vec::new(),
    };
    for _ in 0..want * 4 + 16 {
        if marks.arrivals.len() >= want {
            break;
        }
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                let at = Instant::now();
                if let Some(k) = topic_index(text.as_str()) {
                    marks.arrivals.push((k, at));
                    if keep {
                        marks.frames.push((k, text));
                    }
                }
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_)) | None) | Err(_) => break,
        }
    }
    let _ = ws.close(None).await;
    marks
}

/// One side's latency run.
struct Latency {
    /// Every delivery's latency, sorted.
    deliveries: Vec<Duration>,
    /// Deliveries that did not arrive in time.
    missing: usize,
    /// Clients that could not connect.
    failed: usize,
    /// The frames the first client received, by `k`.
    frames: Vec<Option<Utf8Bytes>>,
}

/// `clients` clients follow the stream; `commit(k)` is called at the fixed rate, `commits`
/// times, and returns the instant just before its commit.
async fn latency_run<C, Fut>(clients: Vec<Ws>, failed: usize, commits: usize, mut commit: C) -> Latency
where
    C: FnMut(usize) -> Fut,
    Fut: Future<Output = Instant>,
{
    const RATE: f64 = 20.0;
    let interval = Duration::from_secs_f64(1.0 / RATE);
    let start = Instant::now() + Duration::from_millis(200);
    let deadline = start + interval * u32::try_from(commits).unwrap_or(u32::MAX) + Duration::from_secs(5);
    let n = clients.len();
    let readers: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, ws)| tokio::spawn(read_marks(ws, commits, deadline, i == 0)))
        .collect();
    let mut committed = Vec::with_capacity(commits);
    for k in 0..commits {
        tokio::time::sleep_until(start + interval * u32::try_from(k).unwrap_or(u32::MAX)).await;
        committed.push(commit(k).await);
    }
    let mut deliveries = Vec::with_capacity(n * commits);
    let mut frames = vec![None; commits];
    for reader in readers {
        let Ok(marks) = reader.await else { continue };
        for (k, at) in marks.arrivals {
            if let Some(t) = committed.get(k) {
                deliveries.push(at.saturating_duration_since(*t));
            }
        }
        for (k, f) in marks.frames {
            if let Some(slot) = frames.get_mut(k) {
                *slot = Some(f);
            }
        }
    }
    deliveries.sort();
    Latency {
        missing: (n * commits).saturating_sub(deliveries.len()),
        deliveries,
        failed,
        frames,
    }
}

async fn latency(
    zoom: &Zoom,
    token: &str,
    principal: &Principal,
    peers: &Peers,
    clients: usize,
    commits: usize,
) -> Vec<Figure> {
    let (ws, failed) = connect_many(zoom.addr, "/v1/events", Some(token), clients).await;
    let engine = zoom.engine.clone();
    let signal = zoom.commits.clone();
    let ours = latency_run(ws, failed, commits, |k| {
        let (engine, principal, signal) = (engine.clone(), principal.clone(), signal.clone());
        async move {
            let before = Instant::now();
            schedule(&engine, &principal, &format!("bench {k}")).await;
            signal.notify();
            before
        }
    })
    .await;
    let name = format!("commit to client, {clients} streams of one account, p99");
    let describe = |l: &Latency| {
        format!(
            "{} deliveries, {} missing, {} clients failed to connect, p50 {:.2} ms, max {:.2} ms",
            l.deliveries.len(),
            l.missing,
            l.failed,
            ms(percentile(&l.deliveries, 0.5)),
            ms(percentile(&l.deliveries, 1.0))
        )
    };
    let p99 = ms(percentile(&ours.deliveries, 0.99));
    let poll = ApiConfig::default().sse_poll;
    let setup = format!(
        "{commits} commits through the engine at 20/s, each followed by the commit signal (`sse_poll` {} ms, the default, only as the fallback)",
        poll.as_millis()
    );
    let budget = Figure::new(FAMILY, format!("{name}, against the budget"), p99, "ms")
        .peer("budget (issue 12)", LATENCY_BUDGET_MS)
        .at_most(1.0)
        .note(format!("{setup}; {}", describe(&ours)));
    let Some(frames) = ours.frames.iter().cloned().collect::<Option<Vec<_>>>() else {
        return vec![
            Figure::skipped(
                FAMILY,
                name,
                "ms",
                "the first client missed frames, so the peer has no bytes to send",
            ),
            budget,
        ];
    };
    let (ws, failed) = connect_many(peers.broadcast, "/", None, clients).await;
    let feed = peers.feed.clone();
    let theirs = latency_run(ws, failed, commits, |k| {
        let before = Instant::now();
        let _ = feed.send(frames[k].clone());
        async move { before }
    })
    .await;
    vec![
        Figure::new(FAMILY, name, p99, "ms")
            .peer(
                "tokio-tungstenite broadcast to the same clients, same frames",
                ms(percentile(&theirs.deliveries, 0.99)),
            )
            .note(format!(
                "{setup}; ours: {}; peer: {}",
                describe(&ours),
                describe(&theirs)
            )),
        budget,
    ]
}

// ---- 3. one account-wide stream's throughput ----

/// Reads `n` text frames from `path` on `addr`: frames/s from the connect to the last frame,
/// how many arrived, and the frames when `keep`.
async fn drain(
    addr: SocketAddr,
    path: &str,
    token: Option<&str>,
    n: usize,
    keep: bool,
) -> (f64, usize, Vec<Utf8Bytes>) {
    let started = Instant::now();
    let Ok(mut ws) = connect(addr, path, token).await else {
        return (0.0, 0, Vec::new());
    };
    let deadline = started + Duration::from_secs(120);
    let (mut got, mut frames) = (0, Vec::new());
    for _ in 0..n * 2 + 16 {
        if got >= n {
            break;
        }
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                got += 1;
                if keep {
                    frames.push(t);
                }
            }
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(_)) | None) | Err(_) => break,
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let _ = ws.close(None).await;
    (got as f64 / elapsed, got, frames)
}

async fn throughput(
    zoom: &Zoom,
    token: &str,
    principal: &Principal,
    peers: &Peers,
    events: usize,
    rounds: usize,
) -> Vec<Figure> {
    // A cursor from the stream itself (cursors are opaque): a live stream, one marker event.
    let Ok(mut live) = connect(zoom.addr, "/v1/events", Some(token)).await else {
        return vec![Figure::skipped(
            FAMILY,
            "backlog",
            "events/s",
            "the stream did not open",
        )];
    };
    schedule(&zoom.engine, principal, "marker").await;
    let cursor = match tokio::time::timeout(Duration::from_secs(10), live.next()).await {
        Ok(Some(Ok(Message::Text(t)))) => serde_json::from_str::<Value>(t.as_str())
            .ok()
            .and_then(|v| v["id"].as_str().map(str::to_owned)),
        _ => None,
    };
    let _ = live.close(None).await;
    let Some(cursor) = cursor else {
        return vec![Figure::skipped(
            FAMILY,
            "backlog",
            "events/s",
            "no marker frame arrived",
        )];
    };
    let written = Instant::now();
    for i in 0..events {
        schedule(&zoom.engine, principal, &format!("backlog {i}")).await;
    }
    let written = written.elapsed().as_secs_f64();
    let path = format!("/v1/events?after={cursor}");
    let (mut ours, mut theirs, mut short) = (Vec::new(), Vec::new(), 0);
    for round in 0..rounds {
        let (rate, got, frames) = drain(zoom.addr, &path, Some(token), events, round == 0).await;
        short += events - got.min(events);
        if round == 0
            && let Ok(mut slot) = peers.frames.lock()
        {
            *slot = Arc::new(frames);
        }
        ours.push(rate);
        let (rate, got, _) = drain(peers.looping, "/", None, events, false).await;
        short += events - got.min(events);
        theirs.push(rate);
    }
    let (ours, theirs) = (median(ours), median(theirs));
    let name = format!("one /v1/events stream reading a backlog of {events} events");
    let note = format!(
        "memory store, backlog written through the engine at {:.0} events/s; median of {rounds} alternating rounds; {short} frames short",
        events as f64 / written
    );
    vec![
        Figure::new(FAMILY, name.clone(), ours, "events/s")
            .peer("tokio-tungstenite server sending the same frames", theirs)
            .note(note.clone()),
        Figure::new(FAMILY, format!("{name}, against the budget"), ours, "events/s")
            .peer("budget (issue 12)", THROUGHPUT_BUDGET)
            .at_least(1.0)
            .note(note),
    ]
}

// ---- 4. across instances on PostgreSQL ----

/// The issue's budget from a commit on one instance to a client of another.
const CROSS_BUDGET_MS: f64 = 50.0;

/// A schema of its own for one run, dropped at the end however the run ends.
struct Schema {
    url: String,
    name: String,
}

impl Schema {
    fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            name: format!(
                "zb_streams_{}_{}",
                std::process::id(),
                chrono::Utc::now().timestamp_micros()
            ),
        }
    }

    /// The store URL naming the schema.
    fn store(&self) -> String {
        let sep = if self.url.contains('?') { '&' } else { '?' };
        format!("{}{sep}schema={}", self.url, self.name)
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let (url, sql) = (self.url.clone(), format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async move {
                let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.ok()?;
                let conn = tokio::spawn(conn);
                let done = client.batch_execute(&sql).await.ok();
                drop(client);
                let _ = conn.await;
                done
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("   could not drop the benchmark's schema {}", self.name);
        }
    }
}

/// `n` round trips of a bare `NOTIFY` on one connection to a `LISTEN` on another: the physical
/// floor of the wake-up between instances.
async fn notify_round_trips(url: &str, channel: &str, n: usize) -> Result<Vec<Duration>, String> {
    use tokio_postgres::AsyncMessage;
    let (listener, mut conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| e.to_string())?;
    let (told, mut heard) = tokio::sync::mpsc::unbounded_channel();
    let relay = tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| conn.poll_message(cx));
        while let Some(Ok(message)) = messages.next().await {
            if let AsyncMessage::Notification(_) = message
                && told.send(Instant::now()).is_err()
            {
                return;
            }
        }
    });
    listener
        .batch_execute(&format!("LISTEN {channel}"))
        .await
        .map_err(|e| e.to_string())?;
    let (sender, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| e.to_string())?;
    let sending = tokio::spawn(conn);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let before = Instant::now();
        sender
            .batch_execute(&format!("NOTIFY {channel}, '{i}'"))
            .await
            .map_err(|e| e.to_string())?;
        match tokio::time::timeout(Duration::from_secs(5), heard.recv()).await {
            Ok(Some(at)) => out.push(at.saturating_duration_since(before)),
            _ => return Err("a notification did not arrive within 5 s".into()),
        }
    }
    drop((sender, listener));
    sending.abort();
    relay.abort();
    out.sort();
    Ok(out)
}

/// The cross-instance figures: two servers in this process, each with its own engine, pool,
/// hub and commit listener, on one fresh PostgreSQL schema.
fn cross_instance(mode: Mode) -> Vec<Figure> {
    let name = "commit on instance A to a client of instance B on PostgreSQL, p99";
    let Ok(url) = std::env::var("ZOOM_TEST_POSTGRES_URL") else {
        return vec![Figure::skipped(
            FAMILY,
            name,
            "ms",
            "skipped: ZOOM_TEST_POSTGRES_URL is not set (no PostgreSQL to run two instances on)",
        )];
    };
    let clients = env_or("STREAMS_BENCH_CROSS_CLIENTS", mode.pick(5, 100));
    let commits = mode.pick(5, 200);
    let schema = Schema::new(&url);
    let store = schema.store();
    let (server_rt, client_rt) = runtimes();
    let started = server_rt.block_on(async {
        // A first, so the bootstrap runs once on the empty schema; B finds it done.
        let a = start_zoom_on(&store).await?;
        let b = start_zoom_on(&store).await?;
        let listener = b.server.commit_listener.as_ref().ok_or("B has no commit listener")?;
        tokio::time::timeout(Duration::from_secs(10), listener.listening())
            .await
            .map_err(|_| "B's commit listener did not listen within 10 s")?;
        Ok::<_, String>((a, b))
    });
    let (a, b) = match started {
        Ok(ab) => ab,
        Err(e) => {
            return vec![Figure::skipped(
                FAMILY,
                name,
                "ms",
                format!("the servers did not start: {e}"),
            )];
        }
    };
    let http = reqwest::Client::new();
    let (token, principal) = client_rt.block_on(access_token(&http, &b));
    let run = |on: &Zoom, signal: Option<zoom_http::CommitSignal>| {
        client_rt.block_on(async {
            let (ws, failed) = connect_many(b.addr, "/v1/events", Some(&token), clients).await;
            let engine = on.engine.clone();
            latency_run(ws, failed, commits, |k| {
                let (engine, principal, signal) = (engine.clone(), principal.clone(), signal.clone());
                async move {
                    let before = Instant::now();
                    schedule(&engine, &principal, &format!("bench {k}")).await;
                    // What a write through the HTTP API of that instance does; B hears A's
                    // commits only through PostgreSQL.
                    if let Some(signal) = signal {
                        signal.notify();
                    }
                    before
                }
            })
            .await
        })
    };
    // Alternating halves: A to B, B to B, A to B, B to B.
    let (mut cross, mut local) = (Vec::new(), Vec::new());
    let (mut cross_missing, mut local_missing, mut failed) = (0, 0, 0);
    for _ in 0..2 {
        let l = run(&a, Some(a.commits.clone()));
        (cross_missing, failed) = (cross_missing + l.missing, failed + l.failed);
        cross.extend(l.deliveries);
        let l = run(&b, Some(b.commits.clone()));
        (local_missing, failed) = (local_missing + l.missing, failed + l.failed);
        local.extend(l.deliveries);
    }
    cross.sort();
    local.sort();
    let floor = client_rt.block_on(notify_round_trips(&url, &schema.name, commits));
    drop((a, b));
    drop(server_rt);
    let p99 = ms(percentile(&cross, 0.99));
    let floor_note = match &floor {
        Ok(f) => format!(
            "a bare NOTIFY to LISTEN round trip between two connections: p50 {:.2} ms, p99 {:.2} ms",
            ms(percentile(f, 0.5)),
            ms(percentile(f, 0.99))
        ),
        Err(e) => format!("the bare NOTIFY round trip failed: {e}"),
    };
    let note = format!(
        "two servers in this process on one PostgreSQL schema, each with its own engine, pool, stream hub and \
         LISTEN; {clients} WebSocket clients of `/v1/events` on B; 2 × {commits} commits through the engine at \
         20/s, alternating A's (B learns of them only by NOTIFY) and B's own (followed by B's commit signal); \
         A to B: {} deliveries, {cross_missing} missing, p50 {:.2} ms, max {:.2} ms; on B alone: {} deliveries, \
         {local_missing} missing, p50 {:.2} ms; {failed} clients failed to connect; {floor_note}",
        cross.len(),
        ms(percentile(&cross, 0.5)),
        ms(percentile(&cross, 1.0)),
        local.len(),
        ms(percentile(&local, 0.5)),
    );
    drop(schema);
    vec![
        Figure::new(FAMILY, name, p99, "ms")
            .peer(
                "the same commits on B itself, to the same clients",
                ms(percentile(&local, 0.99)),
            )
            .note(note.clone()),
        Figure::new(FAMILY, format!("{name}, against the budget"), p99, "ms")
            .peer("budget (issue 12)", CROSS_BUDGET_MS)
            .at_most(1.0)
            .note(note),
    ]
}
