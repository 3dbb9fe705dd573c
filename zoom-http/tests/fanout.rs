//! The stream hub over real loopback sockets: many streams are fed by one reader of the log (its
//! reads do not grow with the number of streams), a stream that falls a whole ring behind is
//! closed with 4008 and resumes from its last id without loss, and a stream that starts behind
//! catches up from the store and switches to the hub with nothing lost or doubled while writes
//! keep coming.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use common::*;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use zoom_core::Engine;
use zoom_core::clock::{ManualClock, SeededEntropy};
use zoom_core::event::{RecordedEvent, StreamId};
use zoom_core::id::{MeetingId, WebhookId};
use zoom_core::meeting::{MeetingCommand, MeetingPatch};
use zoom_core::store::*;
use zoom_core::testing::kit;
use zoom_http::{ApiConfig, CommitSignal, StreamHub};
use zoom_store_memory::MemoryStore;

/// A memory store that counts the reads of the whole log.
struct Counting {
    store: MemoryStore,
    read_all: AtomicU64,
}

#[async_trait]
impl EventStore for Counting {
    async fn append(&self, request: AppendRequest) -> Result<Appended, StoreError> {
        self.store.append(request).await
    }
    async fn read_stream(&self, s: &StreamId, from: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        self.store.read_stream(s, from, limit).await
    }
    async fn read_all(&self, after: u64, limit: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        self.read_all.fetch_add(1, Ordering::SeqCst);
        self.store.read_all(after, limit).await
    }
    async fn stream_version(&self, s: &StreamId) -> Result<u64, StoreError> {
        self.store.stream_version(s).await
    }
    async fn head_position(&self) -> Result<u64, StoreError> {
        self.store.head_position().await
    }
    async fn load_snapshot(&self, s: &StreamId) -> Result<Option<Snapshot>, StoreError> {
        self.store.load_snapshot(s).await
    }
    async fn query_index(&self, q: &IndexQuery) -> Result<Vec<IndexEntry>, StoreError> {
        self.store.query_index(q).await
    }
    async fn resolve_link(&self, key: &str) -> Result<Option<StreamId>, StoreError> {
        self.store.resolve_link(key).await
    }
    async fn get_idempotency(&self, key: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.store.get_idempotency(key).await
    }
    async fn put_idempotency(&self, record: IdempotencyRecord) -> Result<(), StoreError> {
        self.store.put_idempotency(record).await
    }
    async fn prune_idempotency(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.store.prune_idempotency(before).await
    }
}

#[async_trait]
impl DeliveryStore for Counting {
    async fn checkpoint(&self, consumer: &str) -> Result<u64, StoreError> {
        self.store.checkpoint(consumer).await
    }
    async fn enqueue(&self, consumer: &str, position: u64, d: Vec<NewDelivery>) -> Result<(), StoreError> {
        self.store.enqueue(consumer, position, d).await
    }
    async fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        self.store.due(now, limit).await
    }
    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.store.next_due().await
    }
    async fn record_attempt(
        &self,
        a: DeliveryAttempt,
        state: DeliveryState,
        next: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        self.store.record_attempt(a, state, next).await
    }
    async fn attempts(
        &self,
        s: &WebhookId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, DeliveryAttempt)>, StoreError> {
        self.store.attempts(s, before, limit).await
    }
    async fn delivery(&self, id: u64) -> Result<Option<Delivery>, StoreError> {
        self.store.delivery(id).await
    }
    async fn requeue(&self, s: &WebhookId, from: u64, to: u64, at: DateTime<Utc>) -> Result<u64, StoreError> {
        self.store.requeue(s, from, to, at).await
    }
    async fn prune_attempts(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.store.prune_attempts(before).await
    }
}

/// A served router over a counting store whose hub polls once an hour, so it reads the log
/// only when a commit signal wakes it: `config` may set the ring's size.
struct Served {
    app: TestApp,
    addr: SocketAddr,
    store: Arc<Counting>,
    hub: StreamHub,
    signal: CommitSignal,
}

async fn serve(stream_buffer: usize) -> Served {
    let store = Arc::new(Counting {
        store: MemoryStore::new(),
        read_all: AtomicU64::new(0),
    });
    let clock = Arc::new(ManualClock::new(kit::t0()));
    let engine = Arc::new(
        Engine::open(
            store.clone(),
            clock.clone(),
            Arc::new(SeededEntropy::new(42)),
            kit::engine_config(),
        )
        .await
        .unwrap(),
    );
    let signal = CommitSignal::new();
    let poll = Duration::from_secs(3600);
    let hub = StreamHub::new(engine.clone(), signal.clone(), poll, stream_buffer);
    let config = ApiConfig {
        sse_poll: poll,
        commits: Some(signal.clone()),
        hub: Some(hub.clone()),
        stream_buffer,
        ..ApiConfig::default()
    };
    let router = zoom_http::router(engine.clone(), Arc::new(tokens()), config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(axum::serve(listener, router.clone()).into_future());
    Served {
        app: TestApp { router, engine, clock },
        addr,
        store,
        hub,
        signal,
    }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

async fn connect(addr: SocketAddr, path: &str, token: &str) -> Ws {
    let mut request = format!("ws://{addr}{path}").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (ws, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    ws
}

/// Data frames until `want` of them, a close frame, or the deadline.
async fn read(ws: &mut Ws, want: usize, deadline: Duration) -> (Vec<Value>, Option<(u16, String)>) {
    let mut frames = Vec::new();
    let mut close = None;
    let _ = tokio::time::timeout(deadline, async {
        while frames.len() < want {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => frames.push(serde_json::from_str::<Value>(t.as_str()).unwrap()),
                Some(Ok(Message::Close(frame))) => {
                    close = frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                    return;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return,
            }
        }
    })
    .await;
    (frames, close)
}

fn versions(frames: &[Value]) -> Vec<u64> {
    frames
        .iter()
        .map(|f| f["id"].as_str().unwrap().parse().unwrap())
        .collect()
}

fn event_ids(frames: &[Value]) -> Vec<String> {
    frames
        .iter()
        .map(|f| f["data"]["event_id"].as_str().unwrap().to_owned())
        .collect()
}

/// Renames the meeting through the engine, which tells no commit signal.
async fn rename_quietly(app: &TestApp, id: &str, topic: String) {
    let meeting = MeetingId::parse(id).unwrap();
    let patch = MeetingPatch {
        topic: Some(topic),
        ..Default::default()
    };
    app.engine
        .execute(&kit::host_user(), Some(&meeting), MeetingCommand::Update(patch), None)
        .await
        .unwrap();
}

/// Renames the meeting over HTTP, which wakes the hub.
async fn rename(app: &TestApp, id: &str, topic: &str) {
    let a = patch(format!("/v1/meetings/{id}"))
        .token("alice")
        .json(json!({"topic": topic}))
        .send(app)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
}

/// However many streams are open, the log is read by the hub alone, once per wake-up: with one
/// stream of each kind and with forty, five commits cost the same few reads, and every stream
/// gets every event once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_streams_are_fed_by_one_reader_of_the_log() {
    const COMMITS: usize = 5;
    let s = serve(4096).await;
    let id = schedule(&s.app, "alice", json!({})).await;
    let mut round = 0;
    for streams in [1usize, 40] {
        let mut account = Vec::new();
        let mut meeting = Vec::new();
        for _ in 0..streams {
            account.push(connect(s.addr, "/v1/events?events=meeting.updated", "reader").await);
            meeting.push(connect(s.addr, &format!("/v1/meetings/{id}/events"), "alice").await);
        }
        assert_eq!(s.hub.subscribers(), 2 * streams);
        let before = s.store.read_all.load(Ordering::SeqCst);
        let hub_before = s.hub.reads();
        let mut want = Vec::new();
        for _ in 0..COMMITS {
            round += 1;
            rename(&s.app, &id, &format!("round {round}")).await;
            want.push(format!("round {round}"));
        }
        let mut seen = Vec::new();
        for ws in account.iter_mut().chain(meeting.iter_mut()) {
            let (frames, close) = read(ws, COMMITS, Duration::from_secs(10)).await;
            assert_eq!(close, None);
            let topics: Vec<String> = frames
                .iter()
                .map(|f| f["data"]["data"]["topic"].as_str().unwrap_or_default().to_owned())
                .collect();
            assert_eq!(topics, want, "every event once, in order");
            seen.push(event_ids(&frames));
        }
        assert!(seen.windows(2).all(|w| w[0] == w[1]), "the same events on every stream");
        let reads = s.store.read_all.load(Ordering::SeqCst) - before;
        assert_eq!(reads, s.hub.reads() - hub_before, "every read of the log was the hub's");
        assert!(
            reads <= COMMITS as u64 + 1,
            "{reads} reads of the log for {COMMITS} commits to {} streams",
            2 * streams
        );
        for ws in account.iter_mut().chain(meeting.iter_mut()) {
            ws.close(None).await.unwrap();
        }
    }
}

/// Opens `/v1/events?events=meeting.updated` over SSE, resuming after `last` if given.
async fn open_sse(addr: SocketAddr, last: Option<&str>) -> TcpStream {
    let mut conn = TcpStream::connect(addr).await.unwrap();
    let resume = last.map(|c| format!("Last-Event-ID: {c}\r\n")).unwrap_or_default();
    conn.write_all(
        format!(
            "GET /v1/events?events=meeting.updated HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer reader\r\n{resume}\r\n"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    conn
}

/// SSE messages' ids read until `want` of them, the end of the response, or the deadline; and
/// whether the response ended.
async fn read_sse(conn: &mut TcpStream, text: &mut String, want: usize) -> (Vec<String>, bool) {
    let ids = |text: &str| -> Vec<String> {
        text.lines()
            .filter_map(|l| l.strip_prefix("id: ").map(|v| v.trim().to_owned()))
            .collect()
    };
    let mut ended = false;
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 16 * 1024];
        // At least the response's head, which is sent once the stream has subscribed.
        while ids(text).len() < want || !text.contains("\r\n\r\n") {
            let n = conn.read(&mut buf).await.unwrap_or(0);
            text.push_str(&String::from_utf8_lossy(&buf[..n]));
            if n == 0 || text.ends_with("0\r\n\r\n") {
                ended = true;
                return;
            }
        }
    })
    .await;
    (ids(text), ended)
}

/// A stream that falls more than the ring behind the hub is closed with 4008 after the last id
/// it was sent (named in the reason), and resuming from that id loses nothing; over SSE the
/// response ends and `Last-Event-ID` resumes. The test runs on one thread, so the hub hands out
/// the whole burst before a stream can take any of it.
#[tokio::test]
async fn a_stream_that_falls_a_ring_behind_is_closed_with_4008_and_resumes() {
    const BURST: u64 = 40;
    let s = serve(8).await;
    let id = schedule(&s.app, "alice", json!({})).await;
    let mut ws = connect(s.addr, &format!("/v1/meetings/{id}/events"), "alice").await;
    let mut sse = open_sse(s.addr, None).await;
    let mut sse_text = String::new();
    // The SSE stream is subscribed once its response has begun.
    let (none, _) = read_sse(&mut sse, &mut sse_text, 0).await;
    assert!(none.is_empty());
    rename_quietly(&s.app, &id, "first".into()).await;
    s.signal.notify();
    let (sse_first, ended) = read_sse(&mut sse, &mut sse_text, 1).await;
    assert_eq!((sse_first.len(), ended), (1, false), "{sse_text}");
    let (frames, _) = read(&mut ws, 1, Duration::from_secs(10)).await;
    let first = versions(&frames);
    assert_eq!(first.len(), 1, "{frames:?}");
    let last = first[0];

    for i in 0..BURST {
        rename_quietly(&s.app, &id, format!("burst {i}")).await;
    }
    s.signal.notify();
    let (frames, close) = read(&mut ws, usize::MAX, Duration::from_secs(10)).await;
    let (code, reason) = close.expect("a close frame");
    assert_eq!(code, 4008, "{reason}");
    let received = versions(&frames);
    let last = received.last().copied().unwrap_or(last);
    assert_eq!(reason, format!("cannot keep up; last id {last}"));

    let mut again = connect(s.addr, &format!("/v1/meetings/{id}/events?after={last}"), "alice").await;
    let (frames, close) = read(&mut again, (first[0] + BURST - last) as usize, Duration::from_secs(10)).await;
    assert_eq!(close, None);
    let resumed = versions(&frames);
    assert_eq!(resumed, ((last + 1)..=(first[0] + BURST)).collect::<Vec<_>>());
    let (more, _) = read(&mut again, 1, Duration::from_millis(100)).await;
    assert!(more.is_empty(), "{more:?}");

    // The SSE stream fell behind too: its response ended after what it was sent.
    let (sse_ids, ended) = read_sse(&mut sse, &mut sse_text, usize::MAX).await;
    assert!(ended, "the SSE response ended: {sse_text}");
    let last_sse = sse_ids.last().unwrap().clone();
    let mut again = open_sse(s.addr, Some(&last_sse)).await;
    let mut text = String::new();
    let sent = sse_ids.len();
    let (resumed, ended) = read_sse(&mut again, &mut text, 1 + BURST as usize - sent).await;
    assert!(!ended, "{text}");
    assert_eq!(sent + resumed.len(), 1 + BURST as usize, "nothing lost: {text}");
    let mut all = sse_ids.clone();
    all.extend(resumed);
    let mut distinct = all.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), all.len(), "nothing twice");
}

/// A stream that lags before the hub has delivered anything to it (a burst larger than the ring
/// right after it opened) is not the client's fault: it catches up from the store again and
/// sends everything, without closing.
#[tokio::test]
async fn a_stream_that_lags_before_its_first_event_catches_up_instead() {
    const BURST: u64 = 40;
    let s = serve(8).await;
    let id = schedule(&s.app, "alice", json!({})).await;
    let mut ws = connect(s.addr, &format!("/v1/meetings/{id}/events"), "alice").await;
    for i in 0..BURST {
        rename_quietly(&s.app, &id, format!("burst {i}")).await;
    }
    s.signal.notify();
    let (frames, close) = read(&mut ws, BURST as usize, Duration::from_secs(10)).await;
    assert_eq!(close, None);
    assert_eq!(versions(&frames), (2..=1 + BURST).collect::<Vec<_>>());
}

/// A stream that starts far behind (more than two batches) catches up from the store while
/// writes keep coming, then follows the hub: the meeting stream and the account stream both
/// carry every event of the meeting exactly once, in order, as the log holds them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catching_up_then_following_the_hub_loses_and_doubles_nothing() {
    const BEFORE: usize = 600;
    const DURING: usize = 150;
    let s = serve(4096).await;
    let id = schedule(&s.app, "alice", json!({})).await;
    for i in 0..BEFORE {
        rename_quietly(&s.app, &id, format!("before {i}")).await;
    }
    let writer = {
        let app = TestApp {
            router: s.app.router.clone(),
            engine: s.app.engine.clone(),
            clock: s.app.clock.clone(),
        };
        let id = id.clone();
        tokio::spawn(async move {
            for i in 0..DURING {
                rename(&app, &id, &format!("during {i}")).await;
            }
        })
    };
    // The cursor of position 0, before every event.
    let mut account = connect(s.addr, &format!("/v1/events?meeting_id={id}&after=cDE6MA"), "reader").await;
    let mut meeting = connect(s.addr, &format!("/v1/meetings/{id}/events?after=0"), "alice").await;
    let total = 1 + BEFORE + DURING;
    let (by_meeting, close) = read(&mut meeting, total, Duration::from_secs(20)).await;
    assert_eq!(close, None);
    let (by_account, close) = read(&mut account, total, Duration::from_secs(20)).await;
    assert_eq!(close, None);
    writer.await.unwrap();

    assert_eq!(versions(&by_meeting), (1..=total as u64).collect::<Vec<_>>());
    let stored: Vec<String> = s
        .app
        .engine
        .store()
        .read_stream(&StreamId::from(&MeetingId::parse(&id).unwrap()), 1, total + 1)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event_id.to_string())
        .collect();
    assert_eq!(
        event_ids(&by_meeting),
        stored,
        "the meeting stream, as the log holds it"
    );
    assert_eq!(
        event_ids(&by_account),
        stored,
        "the account stream, as the log holds it"
    );
    let cursors: Vec<&str> = by_account.iter().map(|f| f["id"].as_str().unwrap()).collect();
    let mut distinct = cursors.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), cursors.len(), "no cursor twice");
    for ws in [&mut meeting, &mut account] {
        let (more, _) = read(ws, 1, Duration::from_millis(200)).await;
        assert!(more.is_empty(), "{more:?}");
        ws.send(Message::Close(None)).await.unwrap();
    }
}
