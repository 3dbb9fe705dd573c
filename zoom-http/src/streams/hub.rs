//! The stream hub: the one reader of the log that feeds every live stream of a router.
//!
//! One task follows the log from where it is (`read_all` after its position, in batches) when a
//! [`CommitSignal`] says something was committed, and at the latest every poll interval (which
//! is how it sees commits of other processes that nobody signals, such as another server on the
//! same SQLite file). It renders each catalogue event's webhook body and WebSocket frames once
//! (and reads its account once) and hands them, behind an `Arc`, to every subscriber through a bounded `tokio::sync::broadcast` channel: the ring is
//! shared, so a stream holds nothing but its place in it, and a subscriber that falls a whole
//! ring behind is told it lagged (its stream then closes, `End::TooSlow`).
//!
//! The task starts with the first subscriber, at the log's head, and stops when the last clone
//! of the hub is dropped.
//!
//! No gap, no double: a stream subscribes *before* it reads where it starts (the meeting's
//! version, the log's head) or catches up from the store. Positions grow in commit order and a
//! reader sees a prefix of the log, so everything beyond what its own later read saw is still to
//! come through the hub, and it skips what the hub sends up to where it stands.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use tokio::sync::{OnceCell, broadcast, oneshot};
use zoom_core::Engine;
use zoom_core::engine::EngineError;
use zoom_core::event::RecordedEvent;
use zoom_core::id::AccountId;

use super::{cursor, ws};
use crate::signal::{CommitSignal, CommitWaiter};

/// How many events one read of the log takes at most.
pub(crate) const BATCH: usize = 256;

/// The longest pause after failed reads of the log.
const MAX_RETRY: Duration = Duration::from_secs(5);

/// One catalogue event as the hub hands it out: the row, its account and its webhook body, and
/// its WebSocket frames, each worked out once for every stream.
#[derive(Debug)]
pub(crate) struct HubEvent {
    /// The stored event.
    pub(crate) row: RecordedEvent,
    /// The account it belongs to (read from its metadata once, not by every account stream).
    pub(crate) account: Option<AccountId>,
    /// Its catalogue name.
    pub(crate) name: &'static str,
    /// Its webhook body, as JSON text.
    pub(crate) body: Arc<str>,
    /// Its WebSocket frame in a meeting's stream (`id` its version), shared by every such
    /// stream: a clone is a reference count, not a copy.
    pub(crate) meeting_frame: Utf8Bytes,
    /// Its WebSocket frame in an account-wide stream (`id` its log cursor), shared likewise.
    pub(crate) log_frame: Utf8Bytes,
}

impl HubEvent {
    fn new(row: RecordedEvent, name: &'static str, body: String) -> Self {
        let meeting_frame = ws::frame(&row.version.to_string(), name, &body).into();
        let log_frame = ws::frame(&cursor::encode(row.position), name, &body).into();
        Self {
            account: row.account_id(),
            row,
            name,
            body: body.into(),
            meeting_frame,
            log_frame,
        }
    }
}

/// A subscription to the hub.
pub(crate) type Subscription = broadcast::Receiver<Arc<HubEvent>>;

/// The one reader of the log that feeds every event stream of a router (see the module docs).
/// Cheap to clone: clones are the same hub. `zoom_http::router` builds one unless
/// [`crate::ApiConfig::hub`] gives it, which lets several routers share one and lets an
/// embedder read its counters.
#[derive(Clone)]
pub struct StreamHub {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for StreamHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamHub")
            .field("position", &self.position())
            .field("reads", &self.reads())
            .field("subscribers", &self.subscribers())
            .finish_non_exhaustive()
    }
}

struct Shared {
    engine: Arc<Engine>,
    commits: CommitSignal,
    poll: Duration,
    sender: broadcast::Sender<Arc<HubEvent>>,
    counters: Arc<Counters>,
    started: OnceCell<()>,
    /// Dropped with the last clone of the hub, which stops its task.
    stop: Mutex<Option<oneshot::Sender<()>>>,
}

#[derive(Default)]
struct Counters {
    reads: AtomicU64,
    position: AtomicU64,
}

impl StreamHub {
    /// A hub over `engine`'s log, woken by `commits` and at the latest every `poll`, whose
    /// subscribers may fall at most `capacity` events behind (at least 1). Nothing runs until
    /// the first stream subscribes.
    pub fn new(engine: Arc<Engine>, commits: CommitSignal, poll: Duration, capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity.max(1));
        Self {
            shared: Arc::new(Shared {
                engine,
                commits,
                poll,
                sender,
                counters: Arc::default(),
                started: OnceCell::new(),
                stop: Mutex::new(None),
            }),
        }
    }

    /// The signal that wakes this hub.
    pub fn commits(&self) -> &CommitSignal {
        &self.shared.commits
    }

    /// How many reads of the log the hub has made: one per wake-up with nothing new, one per
    /// batch otherwise, however many streams it feeds.
    pub fn reads(&self) -> u64 {
        self.shared.counters.reads.load(Ordering::Relaxed)
    }

    /// The last log position the hub has read (0 before it starts).
    pub fn position(&self) -> u64 {
        self.shared.counters.position.load(Ordering::Relaxed)
    }

    /// How many streams it feeds now.
    pub fn subscribers(&self) -> usize {
        self.shared.sender.receiver_count()
    }

    /// A new subscription, starting the hub's task (at the log's head) if it is not running.
    /// Must be called inside a tokio runtime.
    ///
    /// # Errors
    /// A store failure reading the head when the hub starts.
    pub(crate) async fn subscribe(&self) -> Result<Subscription, EngineError> {
        let shared = &self.shared;
        shared
            .started
            .get_or_try_init(|| async {
                let head = shared.engine.store().head_position().await?;
                shared.counters.position.store(head, Ordering::Relaxed);
                let (stop, stopped) = oneshot::channel();
                *shared.stop.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(stop);
                let follower = Follower {
                    engine: Arc::clone(&shared.engine),
                    sender: shared.sender.clone(),
                    counters: Arc::clone(&shared.counters),
                    waiter: shared.commits.subscribe(),
                    poll: shared.poll,
                    position: head,
                };
                tokio::spawn(follower.run(stopped));
                Ok::<(), EngineError>(())
            })
            .await?;
        Ok(shared.sender.subscribe())
    }
}

/// The hub's task.
struct Follower {
    engine: Arc<Engine>,
    sender: broadcast::Sender<Arc<HubEvent>>,
    counters: Arc<Counters>,
    waiter: CommitWaiter,
    poll: Duration,
    position: u64,
}

impl Follower {
    async fn run(mut self, mut stopped: oneshot::Receiver<()>) {
        let mut failures = 0u32;
        loop {
            let pause = match self.drain().await {
                Ok(()) => {
                    failures = 0;
                    self.poll
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(error = %e, failures, "the stream hub cannot read the log; retrying");
                    self.poll
                        .saturating_mul(2u32.saturating_pow(failures.min(6)))
                        .min(MAX_RETRY.max(self.poll))
                }
            };
            tokio::select! {
                () = self.waiter.wait() => {}
                () = tokio::time::sleep(pause) => {}
                _ = &mut stopped => return,
            }
        }
    }

    /// Reads everything after the position and hands each catalogue event to the subscribers.
    async fn drain(&mut self) -> Result<(), EngineError> {
        loop {
            let rows = self.engine.store().read_all(self.position, BATCH).await?;
            self.counters.reads.fetch_add(1, Ordering::Relaxed);
            let full = rows.len() == BATCH;
            // Nobody to tell: the rows only move the position. A stream that subscribes later
            // starts from its own read, which comes after this one.
            let listening = self.sender.receiver_count() > 0;
            let now = self.engine.clock().now();
            for row in rows {
                self.position = row.position;
                if !listening {
                    continue;
                }
                let file_urls = &self.engine.config().file_urls;
                if let Some((name, body)) = zoom_core::webhook_body::body_text(&row, file_urls, now) {
                    // An error means nobody listens any more: nothing to do.
                    let _ = self.sender.send(Arc::new(HubEvent::new(row, name, body)));
                }
            }
            self.counters.position.store(self.position, Ordering::Relaxed);
            if !full {
                return Ok(());
            }
        }
    }
}
