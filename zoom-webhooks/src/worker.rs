//! The worker: a follower that turns log events into durable deliveries, and a dispatcher that
//! sends due deliveries under the pool and per-subscription limits.
//!
//! Both run as tasks on the caller's tokio runtime and share nothing but the store and the
//! engine, so a crash of the process at any point loses nothing: the follower's progress is the
//! checkpoint that [`DeliveryStore::enqueue`](zoom_core::store::DeliveryStore::enqueue) moves in
//! the same transaction that stores the deliveries, and a delivery leaves `pending` only in the
//! transaction that records its attempt.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, watch};
use tokio::task::{JoinHandle, JoinSet};
use zoom_core::Engine;
use zoom_core::event::{RecordedEvent, StreamId};
use zoom_core::id::{AccountId, Name, WebhookId};
use zoom_core::principal::{Principal, Scope};
use zoom_core::signature::WebhookSecret;
use zoom_core::store::{Delivery, DeliveryAttempt, DeliveryState, IndexQuery, NewDelivery};
use zoom_core::webhook::{Health, Subscription, WebhookCommand, catalogue};

use crate::config::WorkerConfig;
use crate::policy::{self, Verdict};
use crate::send::{self, Request};
use crate::{WebhookError, redeliver};

/// The subject the worker acts as when it records a subscription's health.
const SYSTEM_SUBJECT: &str = "system:zoom-webhooks";

/// How many subscriptions are read per index page when matching an account's events.
const SUBSCRIPTION_PAGE: usize = 1000;

/// How long a subscription's blocked deliveries are pushed back when the due window is full of
/// them, so that other subscriptions' deliveries behind them in the queue surface.
const SATURATION_BACKOFF: chrono::Duration = chrono::Duration::seconds(1);

/// How long a loop waits after a store error before trying again.
const ERROR_BACKOFF: Duration = Duration::from_millis(500);

/// The delivery worker. See [`Worker::spawn`].
#[derive(Debug)]
pub struct Worker;

/// State shared by the worker's tasks and its handle.
pub(crate) struct Shared {
    pub(crate) engine: Arc<Engine>,
    pub(crate) config: WorkerConfig,
    client: reqwest::Client,
    /// Wakes the follower: something was committed.
    log_wake: Arc<Notify>,
    /// Wakes the dispatcher: something became due.
    due_wake: Notify,
    shutdown: watch::Sender<bool>,
    /// When each failing subscription's current run of failures began (learnt from the delivery
    /// log after a restart).
    failing_since: Mutex<HashMap<WebhookId, DateTime<Utc>>>,
    /// The last time attempt rows were pruned.
    last_prune: Mutex<Option<DateTime<Utc>>>,
    /// Each subscription as last read, with its URL and secrets parsed, so that an attempt
    /// parses nothing while the subscription's stream is unchanged.
    prepared: Mutex<HashMap<WebhookId, Arc<Prepared>>>,
}

/// A subscription at one version, with what every attempt needs already parsed: the URL, and
/// both signing secrets with their HMAC keys set up.
struct Prepared {
    sub: Subscription,
    /// The parsed URL, or why it does not parse.
    url: Result<url::Url, String>,
    /// The current secret (when it parses), then the previous one (when it parses).
    secrets: Vec<WebhookSecret>,
    /// How many of `secrets` are the current one (0 or 1).
    current: usize,
    /// Until when the previous secret signs too.
    previous_until: Option<DateTime<Utc>>,
}

impl Prepared {
    fn new(sub: Subscription) -> Self {
        let url = url::Url::parse(&sub.url).map_err(|e| e.to_string());
        let mut secrets: Vec<WebhookSecret> = WebhookSecret::parse(&sub.secret).into_iter().collect();
        let current = secrets.len();
        let mut previous_until = None;
        if let Some((old, until)) = &sub.previous_secret
            && let Ok(s) = WebhookSecret::parse(old)
        {
            secrets.push(s);
            previous_until = Some(*until);
        }
        Self {
            sub,
            url,
            secrets,
            current,
            previous_until,
        }
    }

    /// The secrets that sign at `now`, as [`Subscription::signing_secrets`] gives them.
    fn signing_secrets(&self, now: DateTime<Utc>) -> &[WebhookSecret] {
        match self.previous_until {
            Some(until) if now < until => &self.secrets,
            _ => &self.secrets[..self.current],
        }
    }
}

/// Controls a running worker: wake it after a commit, redeliver, prune, stop it.
///
/// Dropping the handle does not stop the worker: its tasks run until the runtime shuts down.
/// Call [`WorkerHandle::shutdown`] for a graceful stop.
pub struct WorkerHandle {
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for WorkerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerHandle")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// Starts the worker on the current tokio runtime, following `engine`'s store from the
    /// checkpoint named [`WorkerConfig::consumer`].
    ///
    /// The worker takes the engine rather than a bare store because it needs three things only
    /// the engine has: folded subscriptions (URL, events, secrets during a rotation), the
    /// injected clock and entropy (so tests can drive time and jitter), and a way to record a
    /// subscription's health as an event (`SetHealth`, run as an admin principal of the
    /// subscription's account).
    ///
    /// # Errors
    /// [`WebhookError::Config`] for settings that cannot work, [`WebhookError::Client`] when the
    /// HTTP client (TLS backend) cannot be built.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn spawn(engine: Arc<Engine>, config: WorkerConfig) -> Result<WorkerHandle, WebhookError> {
        config.validate()?;
        let client = send::client(&config)?;
        let (shutdown, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            engine,
            config,
            client,
            log_wake: Arc::new(Notify::new()),
            due_wake: Notify::new(),
            shutdown,
            failing_since: Mutex::new(HashMap::new()),
            last_prune: Mutex::new(None),
            prepared: Mutex::new(HashMap::new()),
        });
        let tasks = vec![
            tokio::spawn(follow(Arc::clone(&shared))),
            tokio::spawn(dispatch(Arc::clone(&shared))),
        ];
        Ok(WorkerHandle { shared, tasks })
    }
}

impl WorkerHandle {
    /// Wakes the worker right away, e.g. after a commit, instead of at its next poll.
    pub fn notify(&self) {
        self.shared.log_wake.notify_one();
    }

    /// The notifier [`WorkerHandle::notify`] uses, to hand to code that commits (such as
    /// `zoom-http`'s `commits` option): `notify_one()` on it after a write wakes the worker at once.
    pub fn commit_notifier(&self) -> Arc<Notify> {
        Arc::clone(&self.shared.log_wake)
    }

    /// Sends a subscription's events in `range` again: events already delivered become pending
    /// again, and events the subscription asks for that never had a delivery (sent before it
    /// existed, say) get one. Returns how many deliveries are now pending.
    ///
    /// # Errors
    /// [`WebhookError::NotFound`] for an unknown or deleted subscription, a store failure.
    pub async fn redeliver(&self, subscription: &WebhookId, range: redeliver::Range) -> Result<u64, WebhookError> {
        let n = redeliver::redeliver(&self.shared.engine, subscription, range).await?;
        self.shared.due_wake.notify_one();
        Ok(n)
    }

    /// Sends one delivery again (one that `failed` after its last retry, say).
    ///
    /// # Errors
    /// [`WebhookError::NotFound`] for an unknown delivery, a store failure.
    pub async fn retry_delivery(&self, delivery_id: u64) -> Result<(), WebhookError> {
        redeliver::retry_delivery(&self.shared.engine, delivery_id).await?;
        self.shared.due_wake.notify_one();
        Ok(())
    }

    /// Deletes delivery-log rows older than [`WorkerConfig::prune_after`] now (the worker also
    /// does it every [`WorkerConfig::prune_every`]). Returns how many rows went.
    ///
    /// # Errors
    /// A store failure.
    pub async fn prune(&self) -> Result<u64, WebhookError> {
        prune(&self.shared).await
    }

    /// Stops the worker: no new attempt starts, attempts in flight finish (within the request
    /// timeout) and are recorded, then the tasks end. Pending deliveries stay in the outbox for
    /// the next start.
    pub async fn shutdown(self) {
        // `send_replace` stores the value even before the tasks first ran and subscribed.
        self.shared.shutdown.send_replace(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

async fn prune(shared: &Shared) -> Result<u64, WebhookError> {
    let now = shared.engine.clock().now();
    let n = shared
        .engine
        .store()
        .prune_attempts(now - shared.config.prune_after)
        .await?;
    *shared.last_prune.lock().unwrap_or_else(PoisonError::into_inner) = Some(now);
    Ok(n)
}

/// Waits until `notify` fires, `wait` passes, or shutdown is asked. Returns false on shutdown.
async fn pause(shutdown: &mut watch::Receiver<bool>, notify: &Notify, wait: Duration) -> bool {
    if *shutdown.borrow() {
        return false;
    }
    tokio::select! {
        _ = notify.notified() => true,
        _ = tokio::time::sleep(wait) => true,
        _ = shutdown.changed() => false,
    }
}

/// The follower: reads the log from the checkpoint and enqueues one delivery per matching
/// (event, subscription) pair, moving the checkpoint in the same call.
async fn follow(shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.subscribe();
    let store = shared.engine.store();
    let mut checkpoint = loop {
        match store.checkpoint(&shared.config.consumer).await {
            Ok(c) => break c,
            Err(e) => {
                tracing::warn!(error = %e, "webhooks: cannot read the checkpoint; retrying");
                if !pause(&mut shutdown, &shared.log_wake, ERROR_BACKOFF).await {
                    return;
                }
            }
        }
    };
    // Each account's active subscriptions, kept from batch to batch until the log shows a
    // change to any subscription. See `plan`.
    let mut subscriptions: HashMap<AccountId, Vec<(u64, Subscription)>> = HashMap::new();
    loop {
        if *shutdown.borrow() {
            return;
        }
        let step = async {
            let rows = store.read_all(checkpoint, shared.config.batch_size).await?;
            let Some(last) = rows.last().map(|r| r.position) else {
                return Ok::<_, WebhookError>(None);
            };
            let deliveries = plan(&shared, &rows, &mut subscriptions).await?;
            let any = !deliveries.is_empty();
            store.enqueue(&shared.config.consumer, last, deliveries).await?;
            Ok(Some((last, any)))
        };
        match step.await {
            Ok(Some((last, any))) => {
                checkpoint = last;
                if any {
                    shared.due_wake.notify_one();
                }
                // A full batch means more may be waiting: read on without pausing.
            }
            Ok(None) => {
                if !pause(&mut shutdown, &shared.log_wake, shared.config.poll_interval).await {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, checkpoint, "webhooks: cannot follow the log; retrying");
                if !pause(&mut shutdown, &shared.log_wake, ERROR_BACKOFF).await {
                    return;
                }
            }
        }
    }
}

/// The active subscriptions of an account, each with the log position it was created at.
pub(crate) async fn account_subscriptions(
    engine: &Engine,
    account: &AccountId,
) -> Result<Vec<(u64, Subscription)>, WebhookError> {
    let mut out = Vec::new();
    let mut after_seq = 0;
    loop {
        let rows = engine
            .store()
            .query_index(&IndexQuery {
                kind: "webhook".into(),
                account_id: Some(account.clone()),
                after_seq,
                limit: SUBSCRIPTION_PAGE,
                ..IndexQuery::default()
            })
            .await?;
        let full = rows.len() == SUBSCRIPTION_PAGE;
        for row in rows {
            after_seq = row.seq;
            if row.state == "deleted" || row.state == Health::Disabled.as_str() {
                continue;
            }
            let Ok(id) = WebhookId::parse(row.stream_id.as_str()) else {
                continue;
            };
            if let Some(sub) = engine.subscription(&id).await? {
                out.push((row.seq, sub));
            }
        }
        if !full {
            return Ok(out);
        }
    }
}

/// The deliveries a batch of log rows causes.
///
/// `subscriptions` holds the accounts' subscriptions as read for an earlier batch. Every change
/// to a subscription (creation, deletion, health, rotation) is an event of its stream in the
/// log, so the list read then still holds for this batch unless the batch itself shows such an
/// event: then every list is read again, as of now. A subscription created after the list was
/// read sits after every row the list is used for, which it would not receive anyway.
async fn plan(
    shared: &Shared,
    rows: &[RecordedEvent],
    subscriptions: &mut HashMap<AccountId, Vec<(u64, Subscription)>>,
) -> Result<Vec<NewDelivery>, WebhookError> {
    let now = shared.engine.clock().now();
    if rows.iter().any(|r| r.stream_id.as_str().starts_with(WebhookId::PREFIX)) {
        subscriptions.clear();
    }
    let mut out = Vec::new();
    for row in rows {
        let Some(name) = catalogue::webhook_name(&row.event_type) else {
            continue;
        };
        let Some(account) = row.account_id() else {
            continue;
        };
        if !subscriptions.contains_key(&account) {
            let subs = account_subscriptions(&shared.engine, &account).await?;
            subscriptions.insert(account.clone(), subs);
        }
        let subs = subscriptions.get(&account).map(Vec::as_slice).unwrap_or_default();
        out.extend(deliveries_for(row, name, subs, &shared.engine, now));
    }
    Ok(out)
}

/// The deliveries of one log row to the subscriptions among `subs` that want it and existed
/// before it.
pub(crate) fn deliveries_for(
    row: &RecordedEvent,
    name: &str,
    subs: &[(u64, Subscription)],
    engine: &Engine,
    now: DateTime<Utc>,
) -> Vec<NewDelivery> {
    let mut body: Option<Option<String>> = None;
    let mut out = Vec::new();
    for (created_at, sub) in subs {
        // A subscription receives what happens after it was created, not the history before.
        if *created_at >= row.position || !sub.wants(name) {
            continue;
        }
        let text = body.get_or_insert_with(|| {
            zoom_core::webhook_body::body_text(row, &engine.config().file_urls, now).map(|(_, text)| text)
        });
        if text.is_none() {
            // An event of the catalogue that does not decode cannot be sent; the store keeps it
            // for an operator, and the worker moves on rather than stall every subscriber.
            tracing::warn!(event_id = %row.event_id, "webhooks: event does not decode; not sent");
            return out;
        }
        out.push(NewDelivery {
            subscription_id: sub.id.clone(),
            account_id: sub.account_id.clone(),
            event_id: row.event_id.clone(),
            event_type: name.to_owned(),
            position: row.position,
            // Filled below: copies for all but the last, which takes the text itself.
            body: String::new(),
            next_attempt_at: now,
        });
    }
    if let (Some(Some(text)), Some((last, rest))) = (body, out.split_last_mut()) {
        for d in rest {
            d.body.clone_from(&text);
        }
        last.body = text;
    }
    out
}

/// The deliveries read from the outbox and not yet finished, shared by the dispatcher and the
/// lanes. Locked only for a few instructions, never across an `.await`.
#[derive(Default)]
struct Lanes {
    /// Due deliveries not started, in due order.
    queue: VecDeque<Delivery>,
    /// Deliveries of subscriptions at their in-flight limit, in due order per subscription.
    parked: HashMap<WebhookId, VecDeque<Delivery>>,
    /// Deliveries in flight (one per running lane).
    in_flight: HashSet<u64>,
    per_subscription: HashMap<WebhookId, usize>,
    /// Deliveries finished since the current read of the outbox began: the read may have seen
    /// them still pending, and they must not be sent again from that stale copy.
    finished: HashSet<u64>,
}

impl Lanes {
    /// Replaces the queue with a fresh window from the outbox.
    fn refill(&mut self, rows: Vec<Delivery>) {
        self.parked.clear();
        self.queue = rows
            .into_iter()
            .filter(|d| !self.in_flight.contains(&d.id) && !self.finished.contains(&d.id))
            .collect();
    }

    /// Takes the first queued delivery whose subscription has room, and marks it in flight.
    /// Deliveries of saturated subscriptions met on the way are parked.
    fn take(&mut self, per_sub: usize) -> Option<Delivery> {
        while let Some(d) = self.queue.pop_front() {
            let n = self.per_subscription.get(&d.subscription_id).copied().unwrap_or(0);
            if n >= per_sub {
                self.parked.entry(d.subscription_id.clone()).or_default().push_back(d);
                continue;
            }
            self.in_flight.insert(d.id);
            *self.per_subscription.entry(d.subscription_id.clone()).or_default() += 1;
            return Some(d);
        }
        None
    }

    /// Marks a delivery finished; its subscription's next parked delivery can go next.
    fn finish(&mut self, id: u64, subscription: &WebhookId) {
        self.in_flight.remove(&id);
        self.finished.insert(id);
        if let Some(n) = self.per_subscription.get_mut(subscription) {
            *n -= 1;
            if *n == 0 {
                self.per_subscription.remove(subscription);
            }
        }
        if let Some(parked) = self.parked.get_mut(subscription) {
            if let Some(d) = parked.pop_front() {
                self.queue.push_front(d);
            }
            if parked.is_empty() {
                self.parked.remove(subscription);
            }
        }
    }
}

fn lock(lanes: &Mutex<Lanes>) -> std::sync::MutexGuard<'_, Lanes> {
    lanes.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A lane: sends a delivery, then takes the next one from the queue itself, until the queue has
/// nothing it may start. Taking the next delivery in the lane, rather than going back to the
/// dispatcher, saves a task spawn and a wake-up per delivery.
async fn lane(shared: Arc<Shared>, lanes: Arc<Mutex<Lanes>>, first: Delivery) {
    let per_sub = shared.config.max_in_flight_per_subscription;
    let mut next = Some(first);
    while let Some(d) = next {
        let (id, sub) = (d.id, d.subscription_id.clone());
        if let Err(e) = deliver(&shared, d).await {
            tracing::warn!(error = %e, delivery = id, "webhooks: attempt not recorded");
        }
        let mut state = lock(&lanes);
        state.finish(id, &sub);
        next = if *shared.shutdown.borrow() {
            None
        } else {
            state.take(per_sub)
        };
    }
}

/// The dispatcher: reads due deliveries a window at a time and runs up to
/// [`WorkerConfig::pool_size`] lanes over them, each subscription in at most
/// [`WorkerConfig::max_in_flight_per_subscription`] of them at once.
///
/// The store is asked once per window rather than once per answer. Only this worker starts
/// attempts, so a queued delivery cannot be sent by anyone else meanwhile.
async fn dispatch(shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.subscribe();
    let store = shared.engine.store();
    let pool = shared.config.pool_size;
    let per_sub = shared.config.max_in_flight_per_subscription;
    // In-flight deliveries are still due in the store until their attempt is recorded, so the
    // window is wider than the pool to see past them.
    let window = (pool * 16).max(1024);
    let lanes: Arc<Mutex<Lanes>> = Arc::default();
    let mut running: JoinSet<()> = JoinSet::new();
    let mut fetch = true;
    // Whether the last window was full, so that more may be due beyond it.
    let mut more = false;
    loop {
        while running.try_join_next().is_some() {}
        if *shutdown.borrow() {
            break;
        }
        let now = shared.engine.clock().now();
        maybe_prune(&shared, now).await;
        let mut wait = shared.config.poll_interval;
        let start_read = fetch && {
            let mut state = lock(&lanes);
            state.finished.clear();
            state.in_flight.len() < pool
        };
        if start_read {
            fetch = false;
            match store.due(now, window).await {
                Ok(rows) => {
                    more = rows.len() == window;
                    lock(&lanes).refill(rows);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "webhooks: cannot read due deliveries; retrying");
                    wait = ERROR_BACKOFF;
                }
            }
        }
        // Open lanes while the pool has room and the queue has something startable.
        let (room, idle, parked) = {
            let mut state = lock(&lanes);
            while state.in_flight.len() < pool {
                let Some(d) = state.take(per_sub) else { break };
                running.spawn(lane(Arc::clone(&shared), Arc::clone(&lanes), d));
            }
            let room = state.in_flight.len() < pool;
            let parked: Vec<Delivery> = if room && more {
                state.parked.drain().flat_map(|(_, q)| q).collect()
            } else {
                Vec::new()
            };
            (room, state.queue.is_empty() && state.in_flight.is_empty(), parked)
        };
        if room && more {
            // The window is exhausted with room left: what remains belongs to saturated
            // subscriptions. Push it back so the others' deliveries behind it surface.
            if parked.is_empty() || defer(&shared, &parked, now).await {
                fetch = true;
                continue;
            }
        }
        if idle && !more {
            // Nothing to do: sleep until the next delivery is due (retries wake us anyway).
            if let Ok(Some(at)) = store.next_due().await {
                let until = (at - shared.engine.clock().now()).to_std().unwrap_or(Duration::ZERO);
                wait = wait.min(until.max(Duration::from_millis(1)));
            }
        }
        tokio::select! {
            _ = shared.due_wake.notified() => fetch = true,
            Some(_) = running.join_next(), if !running.is_empty() => {
                // A lane ended: the queue ran dry for it. Read on when more may be due.
                if more && lock(&lanes).queue.is_empty() {
                    fetch = true;
                }
            }
            _ = tokio::time::sleep(wait) => fetch = true,
            _ = shutdown.changed() => {}
        }
    }
    // Graceful stop: let the attempts in flight finish and be recorded.
    while running.join_next().await.is_some() {}
}

async fn maybe_prune(shared: &Shared, now: DateTime<Utc>) {
    let last = *shared.last_prune.lock().unwrap_or_else(PoisonError::into_inner);
    if last.is_none_or(|l| now - l >= shared.config.prune_every || now < l)
        && let Err(e) = prune(shared).await
    {
        tracing::warn!(error = %e, "webhooks: cannot prune the delivery log");
    }
}

/// Pushes back deliveries of saturated subscriptions so the window shows others' deliveries.
/// Returns false when the store failed.
/// Each delivery is the only one of its subscription at its position, so a one-position requeue
/// moves exactly it; none of them is in flight, so none can have just succeeded.
async fn defer(shared: &Shared, blocked: &[Delivery], now: DateTime<Utc>) -> bool {
    let at = now + SATURATION_BACKOFF;
    for d in blocked {
        if let Err(e) = shared
            .engine
            .store()
            .requeue(&d.subscription_id, d.position, d.position, at)
            .await
        {
            tracing::warn!(error = %e, delivery = d.id, "webhooks: cannot defer a delivery");
            return false;
        }
    }
    true
}

/// The principal the worker records health changes as.
fn system_principal(account: &AccountId) -> Result<Principal, WebhookError> {
    let subject = Name::parse(SYSTEM_SUBJECT).map_err(|e| WebhookError::Config(e.to_string()))?;
    Ok(Principal::app(account.clone(), subject, [Scope::Admin]))
}

/// The subscription as it is now, parsed: from the cache when its stream has not moved since it
/// was read (one version lookup), else read again and parsed once for every later attempt.
async fn prepared(shared: &Shared, id: &WebhookId) -> Result<Option<Arc<Prepared>>, WebhookError> {
    let store = shared.engine.store();
    let version = store.stream_version(&StreamId::from(id)).await?;
    let cached = shared
        .prepared
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(id)
        .filter(|p| p.sub.version == version)
        .cloned();
    if cached.is_some() {
        return Ok(cached);
    }
    let Some(sub) = shared.engine.subscription(id).await? else {
        shared
            .prepared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
        return Ok(None);
    };
    let p = Arc::new(Prepared::new(sub));
    shared
        .prepared
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(id.clone(), Arc::clone(&p));
    Ok(Some(p))
}

/// Makes one attempt of a delivery and records it.
async fn deliver(shared: &Shared, mut d: Delivery) -> Result<(), WebhookError> {
    let engine = &shared.engine;
    let attempted_at = engine.clock().now();
    let number = d.attempts.saturating_add(1);
    let body = std::mem::take(&mut d.body);
    // The delivery's strings move into its attempt row: it is recorded once, at the end.
    let record =
        |d: Delivery, status: Option<u16>, latency_ms: u64, error: Option<String>, next: Option<DateTime<Utc>>| {
            DeliveryAttempt {
                delivery_id: d.id,
                subscription_id: d.subscription_id,
                event_id: d.event_id,
                event_type: d.event_type,
                attempt: number,
                attempted_at,
                status_code: status,
                latency_ms,
                error,
                next_attempt_at: next,
            }
        };
    let prepared = match prepared(shared, &d.subscription_id).await? {
        Some(p) if p.sub.active && p.sub.state != Health::Disabled => p,
        other => {
            let why = match other {
                Some(p) if p.sub.active => "not sent: the subscription is disabled",
                _ => "not sent: the subscription was deleted",
            };
            engine
                .store()
                .record_attempt(record(d, None, 0, Some(why.into()), None), DeliveryState::Failed, None)
                .await?;
            return Ok(());
        }
    };
    let sub = &prepared.sub;
    let answer = send::attempt(
        &shared.client,
        &shared.config.allow,
        shared.config.max_response_bytes,
        Request {
            url: prepared.url.as_ref().map_err(String::as_str),
            event_id: d.event_id.as_str(),
            body,
            secrets: prepared.signing_secrets(attempted_at),
        },
        attempted_at,
    )
    .await;
    let finished = engine.clock().now();
    // Randomness is drawn only when a retry needs jitter: on the success path it would be a
    // system call per delivery for nothing.
    let unit = match answer.status {
        Some(200..=299 | 410) => 0.5,
        _ => policy::unit_from(engine.entropy().id_bytes()),
    };
    let verdict = policy::judge(
        answer.status,
        answer.retry_after,
        number,
        &shared.config,
        finished,
        unit,
    );
    let (state, next) = verdict.state();
    let latency_ms = u64::try_from(answer.latency.as_millis()).unwrap_or(u64::MAX);
    engine
        .store()
        .record_attempt(record(d, answer.status, latency_ms, answer.error, next), state, next)
        .await?;
    match verdict {
        Verdict::Succeeded => {
            shared
                .failing_since
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&sub.id);
            if sub.state != Health::Healthy {
                set_health(engine, sub, Health::Healthy, "a delivery succeeded").await?;
            }
        }
        Verdict::Gone => {
            set_health(engine, sub, Health::Disabled, "the receiver answered 410 Gone").await?;
        }
        Verdict::Retry(_) | Verdict::Exhausted => {
            let since = failing_since(shared, &sub.id, attempted_at).await?;
            if let Some(h) = policy::health_after_failure(sub.state, since, finished, &shared.config) {
                let reason = format!(
                    "every delivery has failed since {}",
                    since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                );
                set_health(engine, sub, h, &reason).await?;
            }
        }
    }
    if let Verdict::Retry(_) = verdict {
        shared.due_wake.notify_one();
    }
    Ok(())
}

/// When the subscription's current run of failures began: remembered, or read back from the
/// delivery log (newest first, back to the last success) after a restart.
async fn failing_since(
    shared: &Shared,
    id: &WebhookId,
    attempted_at: DateTime<Utc>,
) -> Result<DateTime<Utc>, WebhookError> {
    if let Some(t) = shared
        .failing_since
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(id)
    {
        return Ok(*t);
    }
    let mut since = attempted_at;
    let mut before = None;
    // Bounded: a log longer than this is old enough that the oldest failure seen already says
    // "failing for days".
    'pages: for _ in 0..20 {
        let rows = shared.engine.store().attempts(id, before, 500).await?;
        let Some((last_seq, _)) = rows.last() else { break };
        before = Some(*last_seq);
        for (_, a) in &rows {
            if a.status_code.is_some_and(|s| (200..300).contains(&s)) {
                break 'pages;
            }
            since = since.min(a.attempted_at);
        }
    }
    let mut map = shared.failing_since.lock().unwrap_or_else(PoisonError::into_inner);
    Ok(*map.entry(id.clone()).or_insert(since))
}

async fn set_health(engine: &Engine, sub: &Subscription, state: Health, reason: &str) -> Result<(), WebhookError> {
    let principal = system_principal(&sub.account_id)?;
    engine
        .execute_webhook(
            &principal,
            Some(&sub.id),
            WebhookCommand::SetHealth {
                state,
                reason: reason.to_owned(),
            },
            None,
        )
        .await?;
    tracing::info!(subscription = %sub.id, health = state.as_str(), reason, "webhooks: health changed");
    Ok(())
}
