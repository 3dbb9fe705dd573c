//! Shared parts of the integration tests: a real loopback receiver, an engine on the memory
//! store, and helpers to subscribe and commit events.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use zoom_core::clock::{Clock, SeededEntropy, SystemClock};
use zoom_core::id::{MeetingId, WebhookId};
use zoom_core::meeting::{MeetingCommand, MeetingPatch, ScheduleMeeting};
use zoom_core::principal::Principal;
use zoom_core::store::{DeliveryAttempt, Store};
use zoom_core::testing::kit;
use zoom_core::webhook::WebhookCommand;
use zoom_core::webhook::address::{AllowList, Cidr};
use zoom_core::{Engine, EngineConfig};
use zoom_store_memory::MemoryStore;
use zoom_webhooks::WorkerConfig;

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// What the receiver answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: vec![],
            body: String::new(),
            delay: Duration::ZERO,
        }
    }

    pub fn ok() -> Self {
        Self::status(200)
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn with_body(mut self, body: impl Into<String>) -> Self {
        self.body = body.into();
        self
    }

    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

type Behaviour = Arc<dyn Fn(usize, &Received) -> Reply + Send + Sync>;

/// A real HTTP server on 127.0.0.1 that records every request and answers by a script.
pub struct Receiver {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Received>>>,
    /// Requests being handled now, and the most ever handled at once.
    gauge: Arc<Mutex<(usize, usize)>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    /// Answers 200 to everything.
    pub async fn ok() -> Self {
        Self::start(|_, _| Reply::ok()).await
    }

    /// Answers `behaviour(n, request)` to the `n`-th request (0-based).
    pub async fn start(behaviour: impl Fn(usize, &Received) -> Reply + Send + Sync + 'static) -> Self {
        let seen: Arc<Mutex<Vec<Received>>> = Arc::default();
        let gauge: Arc<Mutex<(usize, usize)>> = Arc::default();
        let behaviour: Behaviour = Arc::new(behaviour);
        let state = (Arc::clone(&seen), behaviour, Arc::clone(&gauge));
        let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let (seen, behaviour, gauge) = state.clone();
            async move {
                {
                    let mut g = gauge.lock().unwrap();
                    g.0 += 1;
                    g.1 = g.1.max(g.0);
                }
                assert_eq!(method, Method::POST);
                let received = Received {
                    path: uri.path().to_owned(),
                    headers: headers
                        .iter()
                        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
                        .collect(),
                    body: String::from_utf8_lossy(&body).into_owned(),
                    at: chrono::Utc::now(),
                };
                let n = {
                    let mut seen = seen.lock().unwrap();
                    seen.push(received.clone());
                    seen.len() - 1
                };
                let reply = behaviour(n, &received);
                if !reply.delay.is_zero() {
                    tokio::time::sleep(reply.delay).await;
                }
                // Counted down before the answer is written, so the sender cannot have sent its
                // next request yet.
                gauge.lock().unwrap().0 -= 1;
                let mut response: Response = (StatusCode::from_u16(reply.status).unwrap(), reply.body).into_response();
                for (k, v) in reply.headers {
                    response.headers_mut().insert(k, v.parse().unwrap());
                }
                response
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            addr,
            seen,
            gauge,
            task,
        }
    }

    /// The most requests this receiver was handling at once.
    pub fn max_concurrency(&self) -> usize {
        self.gauge.lock().unwrap().1
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn seen(&self) -> Vec<Received> {
        self.seen.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    /// Waits (bounded) until at least `n` requests arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        eventually(&format!("{n} requests at {}", self.addr), || async {
            self.count() >= n
        })
        .await;
        self.seen()
    }
}

/// Polls `check` every 10 ms for up to 20 s; panics naming `what` if it never holds. The bound
/// only catches a hang: no assertion depends on how long it took.
pub async fn eventually<F, Fut>(what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..2000 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

pub fn loopback() -> AllowList {
    AllowList::new(vec![Cidr::parse("127.0.0.1/32").unwrap()])
}

/// An engine on a fresh memory store, allowing loopback subscriptions.
pub async fn engine_with(clock: Arc<dyn Clock>) -> Arc<Engine> {
    engine_on(Arc::new(MemoryStore::new()), clock).await
}

pub async fn engine_on(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Arc<Engine> {
    let config = EngineConfig {
        webhook_allow: loopback(),
        ..zoom_core::testing::kit::engine_config()
    };
    Arc::new(
        Engine::open(store, clock, Arc::new(SeededEntropy::new(42)), config)
            .await
            .unwrap(),
    )
}

pub async fn engine() -> Arc<Engine> {
    engine_with(Arc::new(SystemClock)).await
}

/// A worker configuration for tests: loopback allowed, quick polling, short retries.
pub fn config(schedule: &str) -> WorkerConfig {
    WorkerConfig {
        retry_schedule: zoom_webhooks::parse_schedule(schedule).unwrap(),
        allow: loopback(),
        poll_interval: Duration::from_millis(20),
        timeout: Duration::from_secs(5),
        ..WorkerConfig::default()
    }
}

pub fn admin() -> Principal {
    kit::admin_app()
}

/// Subscribes `url` to `events` as the admin app of `acme`; returns the id and the secret.
pub async fn subscribe(engine: &Engine, url: &str, events: &[&str]) -> (WebhookId, String) {
    subscribe_as(engine, &admin(), url, events).await
}

pub async fn subscribe_as(engine: &Engine, who: &Principal, url: &str, events: &[&str]) -> (WebhookId, String) {
    let out = engine
        .execute_webhook(
            who,
            None,
            WebhookCommand::Subscribe {
                url: url.to_owned(),
                events: events.iter().map(|e| (*e).to_owned()).collect(),
                url_validation: false,
            },
            None,
        )
        .await
        .unwrap();
    (out.subscription.id, out.secret.unwrap())
}

/// Schedules a meeting as `who` (a `meeting.created` webhook).
pub async fn schedule_as(engine: &Engine, who: &Principal, topic: &str) -> MeetingId {
    let m = engine
        .execute(
            who,
            None,
            MeetingCommand::Schedule(ScheduleMeeting {
                topic: topic.into(),
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
    m.id.clone()
}

pub async fn schedule(engine: &Engine, topic: &str) -> MeetingId {
    schedule_as(engine, &admin(), topic).await
}

/// Renames a meeting (a `meeting.updated` webhook).
pub async fn rename(engine: &Engine, id: &MeetingId, topic: &str) {
    engine
        .execute(
            &admin(),
            Some(id),
            MeetingCommand::Update(MeetingPatch {
                topic: Some(topic.into()),
                ..MeetingPatch::default()
            }),
            None,
        )
        .await
        .unwrap();
}

/// A subscription's delivery log, oldest first.
pub async fn log(engine: &Engine, id: &WebhookId) -> Vec<DeliveryAttempt> {
    let mut rows: Vec<DeliveryAttempt> = engine
        .store()
        .attempts(id, None, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, a)| a)
        .collect();
    rows.reverse();
    rows
}

/// Waits (bounded) until the subscription's log has at least `n` attempts.
pub async fn wait_log(engine: &Engine, id: &WebhookId, n: usize) -> Vec<DeliveryAttempt> {
    eventually(&format!("{n} attempts in the log of {id}"), || async {
        log(engine, id).await.len() >= n
    })
    .await;
    log(engine, id).await
}
