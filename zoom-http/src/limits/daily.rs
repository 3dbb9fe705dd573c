//! The daily quota of meeting creates and updates per host, counted from the log.
//!
//! The count is the number of `meeting.scheduled` and `meeting.updated` events committed since
//! 00:00 UTC for meetings of that host. It is read from the store, not kept per process, so every
//! instance on a shared store agrees: before each check the tally reads whatever was committed
//! since its last look (one `read_all` from where it stopped), and at the first check of a day it
//! finds where the day starts in the log by a binary search over positions.
//!
//! The check runs before the write, so writes racing each other on several instances may pass
//! the quota by the few that were in flight at the same moment.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use zoom_core::event::RecordedEvent;
use zoom_core::store::{Store, StoreError};

/// Events read per query while catching up.
const PAGE: usize = 1000;
/// Meetings whose host is remembered; past this the memo starts over (it is only a cache).
const HOST_MEMO: usize = 100_000;

/// Counts meeting writes per (account, host) for the current UTC day.
pub struct DailyTally {
    store: Arc<dyn Store>,
    state: tokio::sync::Mutex<State>,
}

impl std::fmt::Debug for DailyTally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DailyTally").finish_non_exhaustive()
    }
}

#[derive(Default)]
struct State {
    day: Option<NaiveDate>,
    /// The last position read.
    position: u64,
    counts: HashMap<(String, String), u32>,
    /// Meeting stream id → (account, host).
    hosts: HashMap<String, (String, String)>,
}

#[derive(Deserialize)]
struct Scheduled {
    account_id: String,
    host_id: String,
}

impl DailyTally {
    /// A tally over `store`.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            state: tokio::sync::Mutex::new(State::default()),
        }
    }

    /// The meeting creates and updates of `host` in `account` committed since 00:00 UTC of
    /// `now`'s day, up to the log's head.
    ///
    /// # Errors
    /// A store failure.
    pub async fn count(&self, account: &str, host: &str, now: DateTime<Utc>) -> Result<u32, StoreError> {
        let mut state = self.state.lock().await;
        let today = now.date_naive();
        if state.day != Some(today) {
            let midnight = today.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or(now);
            state.position = self.day_start(midnight).await?;
            state.day = Some(today);
            state.counts.clear();
        }
        let midnight = today.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or(now);
        loop {
            let events = self.store.read_all(state.position, PAGE).await?;
            let Some(last) = events.last() else { break };
            state.position = last.position;
            let full = events.len() == PAGE;
            for e in &events {
                self.tally(&mut state, e, midnight).await?;
            }
            if !full {
                break;
            }
        }
        Ok(state
            .counts
            .get(&(account.to_owned(), host.to_owned()))
            .copied()
            .unwrap_or(0))
    }

    async fn tally(&self, state: &mut State, e: &RecordedEvent, midnight: DateTime<Utc>) -> Result<(), StoreError> {
        let owner = match e.event_type.as_str() {
            "meeting.scheduled" => match serde_json::from_str::<Scheduled>(&e.payload) {
                Ok(s) => {
                    if state.hosts.len() >= HOST_MEMO {
                        state.hosts.clear();
                    }
                    let owner = (s.account_id, s.host_id);
                    state.hosts.insert(e.stream_id.as_str().to_owned(), owner.clone());
                    owner
                }
                Err(_) => return Ok(()),
            },
            "meeting.updated" => match state.hosts.get(e.stream_id.as_str()) {
                Some(owner) => owner.clone(),
                None => match self.host_of(e).await? {
                    Some(owner) => {
                        state.hosts.insert(e.stream_id.as_str().to_owned(), owner.clone());
                        owner
                    }
                    None => return Ok(()),
                },
            },
            _ => return Ok(()),
        };
        if e.recorded_at >= midnight {
            *state.counts.entry(owner).or_insert(0) += 1;
        }
        Ok(())
    }

    /// The account and host of the meeting an event belongs to, from its first event.
    async fn host_of(&self, e: &RecordedEvent) -> Result<Option<(String, String)>, StoreError> {
        let first = self.store.read_stream(&e.stream_id, 1, 1).await?;
        Ok(first
            .first()
            .filter(|f| f.event_type == "meeting.scheduled")
            .and_then(|f| serde_json::from_str::<Scheduled>(&f.payload).ok())
            .map(|s| (s.account_id, s.host_id)))
    }

    /// The position after which the day's events start: the last position committed before
    /// `midnight`, found by a binary search (positions increase in commit order, and so do commit
    /// times, give or take the clock).
    async fn day_start(&self, midnight: DateTime<Utc>) -> Result<u64, StoreError> {
        let head = self.store.head_position().await?;
        // Invariant: the first event after `lo` is before midnight or `lo` is 0; the first
        // event after `hi` is at or after midnight, or there is none.
        let (mut lo, mut hi) = (0u64, head);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.store.read_all(mid, 1).await?.first() {
                Some(e) if e.recorded_at < midnight => lo = e.position,
                _ => hi = mid,
            }
        }
        Ok(lo)
    }
}
