#![allow(clippy::unwrap_used)]
//! Two `zoom-server` processes on one PostgreSQL schema: a WebSocket of `GET /v1/events` on
//! process B carries everything committed through process A, in commit order, none twice; after
//! a disconnect, more commits through A and a restart of B (killed, started again), the stream
//! resumes with `?after=<last cursor>` and nothing is lost or doubled. The real binary, started
//! as an operator starts it (flags and bootstrap environment), over loopback sockets. Prints the
//! cross-process latency from a request sent to A to its event read on B (not asserted).
//!
//! Every wait is bounded; both processes are killed when the test ends, however it ends. Each
//! run uses a fresh schema (the URL's `schema` parameter), dropped at the end. Skipped, saying
//! so, when `ZOOM_TEST_POSTGRES_URL` is unset.

mod common;

use common::fresh_schema;

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const CLIENT_ID: &str = "admin";
const SECRET: &str = "s3cret-admin";
/// The cursor of log position 0, before every event (cursors are opaque to clients; this one is
/// what the server hands out for position 0).
const CURSOR_ZERO: &str = "cDE6MA";
/// The bound on every single wait of the test.
const WAIT: Duration = Duration::from_secs(20);

/// A running `zoom-server` process, killed (and reaped) when dropped.
struct Process {
    child: Child,
    /// `http://127.0.0.1:PORT`, as the process printed it.
    base: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    /// Starts the binary on `store`, on a port of its own choosing on 127.0.0.1, and waits until
    /// it printed where it listens and answers `/healthz`.
    async fn start(store: &str, http: &reqwest::Client) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_zoom-server"))
            .args(["--listen", "127.0.0.1:0", "--store", store, "--rate-limit", "off"])
            .env("ZOOM_BOOTSTRAP_CLIENT_ID", CLIENT_ID)
            .env("ZOOM_BOOTSTRAP_CLIENT_SECRET", SECRET)
            .env_remove("ZOOM_BOOTSTRAP_ACCOUNT_ID")
            .env("RUST_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        // The address it bound, from its first line; its stdout is then drained to the end, so
        // the process never blocks on a full pipe.
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if let Some(base) = line.strip_prefix("zoom-server listening on ")
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(base.trim().to_owned());
                }
            }
        });
        let mut process = Self {
            child,
            base: String::new(),
        };
        let started = Instant::now();
        process.base = loop {
            match rx.try_recv() {
                Ok(base) => break base,
                Err(std::sync::mpsc::TryRecvError::Empty) if started.elapsed() < WAIT => {
                    if let Ok(Some(status)) = process.child.try_wait() {
                        panic!("zoom-server exited before it listened: {status}");
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("zoom-server did not say where it listens within {WAIT:?}: {e}"),
            }
        };
        tokio::time::timeout(WAIT, async {
            loop {
                if let Ok(r) = http.get(format!("{}/healthz", process.base)).send().await
                    && r.status().is_success()
                {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("zoom-server answers /healthz");
        process
    }
}

/// Calls the API of one process with a bearer token, every call bounded in time.
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn new(http: &reqwest::Client, base: &str) -> Self {
        let resp = tokio::time::timeout(
            WAIT,
            http.post(format!("{base}/oauth/token"))
                .basic_auth(CLIENT_ID, Some(SECRET))
                .form(&[("grant_type", "client_credentials")])
                .send(),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        let body: Value = resp.json().await.unwrap();
        Self {
            http: http.clone(),
            base: base.to_owned(),
            token: body["access_token"].as_str().unwrap().to_owned(),
        }
    }

    /// POSTs `body` to `path`; the answer's JSON, after checking its status.
    async fn post(&self, path: &str, body: Value, status: u16) -> Value {
        let resp = tokio::time::timeout(
            WAIT,
            self.http
                .post(format!("{}{path}", self.base))
                .bearer_auth(&self.token)
                .json(&body)
                .send(),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(resp.status().as_u16(), status, "POST {path}");
        resp.json().await.unwrap_or(Value::Null)
    }
}

/// One meeting's life through process A: scheduled, a join token for its host redeemed at the
/// media seam (it goes live and the host joins), the host's video turned off, then ended. The
/// meeting id, and when the scheduling request was sent and answered.
async fn one_meeting(a: &Api, topic: &str) -> (String, Instant, Instant) {
    let sent = Instant::now();
    let meeting = a
        .post(
            "/v1/meetings",
            json!({"topic": topic, "start_time": "2030-01-01T09:00:00Z", "duration_minutes": 30, "host_id": "alice"}),
            201,
        )
        .await;
    let answered = Instant::now();
    let id = meeting["id"].as_str().unwrap().to_owned();
    let jwt = a
        .post(
            &format!("/v1/meetings/{id}/joinToken"),
            json!({"user_id": "alice"}),
            200,
        )
        .await;
    let joined = a.post("/v1/media/joins", json!({"token": jwt["jwt"]}), 201).await;
    let pid = joined["participant_id"].as_str().unwrap();
    a.post(
        &format!("/v1/meetings/{id}/participants/{pid}/mute"),
        json!({"video": true}),
        200,
    )
    .await;
    a.post(&format!("/v1/meetings/{id}:end"), json!({}), 200).await;
    (id, sent, answered)
}

/// One message of `/v1/events` as it arrived: its cursor, name, event id, meeting, when.
#[derive(Debug, Clone)]
struct Arrival {
    cursor: String,
    name: String,
    event_id: String,
    meeting: String,
    at: Instant,
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A WebSocket of `/v1/events` (after `after`, when given) on `base`.
async fn open(base: &str, token: &str, after: Option<&str>) -> Ws {
    let query = after.map(|c| format!("?after={c}")).unwrap_or_default();
    let url = format!("{}/v1/events{query}", base.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .expect("the upgrade answers in time")
        .expect("the upgrade succeeds");
    ws
}

/// Reads the frames of `ws` as they arrive, each noted with its arrival time, until the server
/// closes or `stop` is told (then it closes the socket itself).
fn follow(mut ws: Ws) -> (Follower, tokio::sync::mpsc::UnboundedReceiver<Arrival>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        loop {
            let next = tokio::select! {
                next = ws.next() => next,
                _ = &mut stopped => break,
            };
            match next {
                Some(Ok(Message::Text(text))) => {
                    let at = Instant::now();
                    let v: Value = serde_json::from_str(text.as_str()).unwrap();
                    let arrival = Arrival {
                        cursor: v["id"].as_str().unwrap().to_owned(),
                        name: v["event"].as_str().unwrap().to_owned(),
                        event_id: v["data"]["event_id"].as_str().unwrap().to_owned(),
                        meeting: v["data"]["data"]["meeting_id"].as_str().unwrap_or("").to_owned(),
                        at,
                    };
                    if tx.send(arrival).is_err() {
                        break;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return,
            }
        }
        let _ = tokio::time::timeout(WAIT, ws.close(None)).await;
    });
    (Follower { stop, task }, rx)
}

/// The reading side of [`follow`].
struct Follower {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Follower {
    /// Closes the socket (a client that disconnects) and waits until it is closed.
    async fn disconnect(self) {
        let _ = self.stop.send(());
        let _ = tokio::time::timeout(WAIT + WAIT, self.task).await;
    }
}

/// Takes arrivals until `done` holds for what arrived, or none came for `quiet`, or the overall
/// bound, or the stream ended.
async fn read_until(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<Arrival>,
    got: &mut Vec<Arrival>,
    quiet: Duration,
    done: impl Fn(&[Arrival]) -> bool,
) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done(got) {
        match tokio::time::timeout_at(deadline, tokio::time::timeout(quiet, rx.recv())).await {
            Ok(Ok(Some(arrival))) => got.push(arrival),
            Ok(Ok(None) | Err(_)) | Err(_) => return,
        }
    }
}

/// The meetings whose `meeting.created` appear in `got`, in order.
fn created(got: &[Arrival]) -> Vec<&str> {
    got.iter()
        .filter(|a| a.name == "meeting.created")
        .map(|a| a.meeting.as_str())
        .collect()
}

/// Whether `got` holds the `meeting.ended` of `meeting`, the last event each meeting causes.
fn ended(got: &[Arrival], meeting: &str) -> bool {
    got.iter().any(|a| a.name == "meeting.ended" && a.meeting == meeting)
}

/// Every meeting's events, in the order of its life: created, started, the host joined, muted,
/// ended (the host's leave at the end may come before the end or not be a catalogue event; it
/// is not asserted).
fn assert_each_life(got: &[Arrival], meetings: &[String]) {
    for m in meetings {
        let names: Vec<&str> = got
            .iter()
            .filter(|a| &a.meeting == m)
            .map(|a| a.name.as_str())
            .filter(|n| *n != "participant.left")
            .collect();
        assert_eq!(
            names,
            [
                "meeting.created",
                "meeting.started",
                "participant.joined",
                "participant.muted",
                "meeting.ended"
            ],
            "the events of {m}, in order"
        );
    }
}

fn quantiles(mut samples: Vec<Duration>) -> (Duration, Duration, Duration) {
    samples.sort();
    let pick = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (pick(0.5), pick(0.99), pick(1.0))
}

/// Two processes on one database: a stream on B carries A's commits in commit order; after a
/// disconnect, more commits and a restart of B, it resumes from its last cursor with nothing
/// lost or doubled, exactly what the log holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_on_one_process_carries_and_resumes_what_another_commits() {
    const LIVE: usize = 30;
    const AWAY: usize = 5;
    let Ok(url) = std::env::var("ZOOM_TEST_POSTGRES_URL") else {
        eprintln!(
            "skipped a_stream_on_one_process_carries_and_resumes_what_another_commits: ZOOM_TEST_POSTGRES_URL is not set"
        );
        return;
    };
    let (guard, store) = fresh_schema(&url, "procs");
    let http = reqwest::Client::new();
    // A first, so the bootstrap runs once on the empty schema; B finds it done.
    let process_a = Process::start(&store, &http).await;
    let mut process_b = Process::start(&store, &http).await;
    let a = Api::new(&http, &process_a.base).await;
    let token_b = Api::new(&http, &process_b.base).await.token;

    // Live: B's stream, A's commits.
    let (follower, mut arrivals) = follow(open(&process_b.base, &token_b, None).await);
    let mut live = Vec::new();
    let mut sent = Vec::new();
    for i in 0..LIVE {
        sent.push(one_meeting(&a, &format!("live {i}")).await);
    }
    let meetings: Vec<String> = sent.iter().map(|(m, _, _)| m.clone()).collect();
    let last = meetings.last().unwrap().clone();
    read_until(&mut arrivals, &mut live, WAIT, |got| ended(got, &last)).await;
    // Nothing more arrives after the last one.
    read_until(&mut arrivals, &mut live, Duration::from_millis(500), |_| false).await;
    follower.disconnect().await;
    assert_eq!(
        created(&live),
        meetings,
        "every meeting created on A reached B, in order"
    );
    assert_each_life(&live, &meetings);

    // Latency from A's request (and from A's answer) to B's message, of each meeting.created.
    let at_b = |m: &str| {
        live.iter()
            .find(|a| a.name == "meeting.created" && a.meeting == m)
            .unwrap()
            .at
    };
    let (p50, p99, max) = quantiles(
        sent.iter()
            .map(|(m, s, _)| at_b(m).saturating_duration_since(*s))
            .collect(),
    );
    let (a50, a99, amax) = quantiles(
        sent.iter()
            .map(|(m, _, r)| at_b(m).saturating_duration_since(*r))
            .collect(),
    );
    eprintln!(
        "{LIVE} meetings created through process A, read from a WebSocket on process B (two processes, one \
         PostgreSQL): request sent to A -> message on B p50 {p50:?} p99 {p99:?} max {max:?}; A's answer -> \
         message on B p50 {a50:?} p99 {a99:?} max {amax:?}"
    );

    // Away: more commits through A while nobody follows, then B is killed, more commits, and B
    // starts again.
    let cursor = live.last().unwrap().cursor.clone();
    let mut away = Vec::new();
    for i in 0..AWAY {
        away.push(one_meeting(&a, &format!("away before restart {i}")).await.0);
    }
    let killed = process_b.child.kill().and_then(|()| process_b.child.wait());
    assert!(killed.is_ok(), "process B is killed: {killed:?}");
    for i in 0..AWAY {
        away.push(one_meeting(&a, &format!("away during restart {i}")).await.0);
    }
    process_b = Process::start(&store, &http).await;
    let token_b = Api::new(&http, &process_b.base).await.token;
    let (follower, mut arrivals) = follow(open(&process_b.base, &token_b, Some(&cursor)).await);
    let mut resumed = Vec::new();
    let last = away.last().unwrap().clone();
    read_until(&mut arrivals, &mut resumed, WAIT, |got| ended(got, &last)).await;
    read_until(&mut arrivals, &mut resumed, Duration::from_millis(500), |_| false).await;
    follower.disconnect().await;
    assert_eq!(created(&resumed), away, "what was committed while away, once, in order");
    assert_each_life(&resumed, &away);

    // Together they are exactly what the log holds: the same events read from the store on A,
    // from the start of the log, with the same cursors, in the same order.
    let whole: Vec<Arrival> = live.iter().chain(&resumed).cloned().collect();
    let (follower, mut arrivals) = follow(open(&process_a.base, &a.token, Some(CURSOR_ZERO)).await);
    let mut replay = Vec::new();
    read_until(&mut arrivals, &mut replay, WAIT, |got| got.len() >= whole.len()).await;
    read_until(&mut arrivals, &mut replay, Duration::from_millis(500), |_| false).await;
    follower.disconnect().await;
    let ids = |v: &[Arrival]| {
        v.iter()
            .map(|a| (a.cursor.clone(), a.event_id.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(&whole),
        ids(&replay),
        "live and resumed on B = the log replayed on A"
    );
    let mut cursors: Vec<&str> = whole.iter().map(|a| a.cursor.as_str()).collect();
    cursors.dedup();
    assert_eq!(cursors.len(), whole.len(), "no cursor twice");

    drop(process_b);
    drop(process_a);
    drop(guard);
}
