//! The dispatcher: sends due deliveries under the global pool and the per-subscription limit.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::task::JoinSet;
use zoom_core::id::WebhookId;
use zoom_core::store::Delivery;

use crate::attempt::deliver;
use crate::shared::{ERROR_BACKOFF, Shared, prune};

/// How long a subscription's blocked deliveries are pushed back when the due window is full of
/// them, so that other subscriptions' deliveries behind them in the queue surface.
const SATURATION_BACKOFF: chrono::Duration = chrono::Duration::seconds(1);

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
pub(crate) async fn dispatch(shared: Arc<Shared>) {
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
