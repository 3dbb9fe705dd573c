//! One stream's feed: what it follows, its cursor, and the switch from catching up (reading the
//! store in batches) to following the hub without a gap or a double.

use std::collections::VecDeque;
use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;
use zoom_core::event::{RecordedEvent, StreamId};
use zoom_core::id::{AccountId, MeetingId};
use zoom_core::principal::Principal;

use super::cursor;
use super::hub::{BATCH, HubEvent, Subscription};
use crate::api::Api;

/// How many times in a row a stream that lagged before it received anything from the hub (its
/// catch-up took longer than the hub's ring lasts) catches up again rather than being closed.
const MAX_REJOINS: u32 = 3;

/// One message of a stream: a catalogue event with its webhook body.
pub(crate) struct Item {
    /// The message id: the event's version in its meeting's stream, or a log cursor.
    pub(crate) id: String,
    /// The catalogue name.
    pub(crate) name: &'static str,
    /// The webhook body, as JSON text.
    pub(crate) body: Arc<str>,
    /// Its WebSocket frame when the hub rendered it for every stream; `None` for an event this
    /// stream read itself while catching up.
    pub(crate) frame: Option<Utf8Bytes>,
}

/// Why a feed ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// The server is shutting down.
    Shutdown,
    /// The stream's token has expired or was revoked.
    Unauthorized,
    /// The client fell too far behind the hub; it resumes from its last id.
    TooSlow,
    /// The store failed; the client resumes from its last id.
    Failed,
}

/// What a feed follows.
pub(crate) enum Source {
    /// One meeting's stream, after a version.
    Meeting(MeetingId),
    /// The whole log after a position, filtered.
    Log(LogFilter),
}

/// Which rows of the log an account-wide stream sends.
pub(crate) struct LogFilter {
    /// The account whose events are sent; `None`: every account's.
    pub(crate) account: Option<AccountId>,
    /// Only these catalogue names; `None`: all of them.
    pub(crate) events: Option<Vec<String>>,
    /// Only this meeting's events.
    pub(crate) meeting: Option<MeetingId>,
}

impl LogFilter {
    /// Whether the stream sends `row`, named `name`, of `account` (the row's own, which the hub
    /// reads once for every stream).
    fn admits(&self, row: &RecordedEvent, account: Option<&AccountId>, name: &str) -> bool {
        if let Some(m) = &self.meeting
            && row.stream_id.as_str() != m.as_str()
        {
            return false;
        }
        if let Some(events) = &self.events
            && !events.iter().any(|e| e == name)
        {
            return false;
        }
        match &self.account {
            None => true,
            Some(a) => account == Some(a),
        }
    }
}

/// What ended a wait for the hub.
enum Wake {
    Hub(Result<Arc<HubEvent>, RecvError>),
    Auth,
    Shutdown { gone: bool },
}

/// Where a feed starts.
pub(crate) struct Start {
    /// The hub subscription, taken before `after` was read.
    pub(crate) live: Subscription,
    /// The version (meeting) or log position after which messages are sent.
    pub(crate) after: u64,
    /// Whether `after` is where the stream was when `live` was taken or later (a stream that
    /// starts at now): then nothing needs reading from the store first.
    pub(crate) at_head: bool,
}

/// One meeting's (or one account's) catalogue events after a point, for one caller.
pub(crate) struct MeetingFeed {
    api: Api,
    principal: Principal,
    token: String,
    source: Source,
    /// The meeting's stream id, compared with the hub's rows.
    stream: Option<StreamId>,
    after: u64,
    live: Subscription,
    caught_up: bool,
    /// Whether the subscription has delivered anything since it was taken.
    received: bool,
    rejoins: u32,
    lagged: bool,
    /// At most one batch of messages read from the store, or one from the hub.
    ready: VecDeque<Item>,
    shutdown: Option<tokio::sync::watch::Receiver<bool>>,
    next_auth: Instant,
}

impl MeetingFeed {
    /// A feed of `source`'s events from `start`, for `principal`, who authenticated with `token`.
    pub(crate) fn new(api: Api, principal: Principal, token: String, source: Source, start: Start) -> Self {
        let shutdown = api.config.shutdown.clone();
        let next_auth = Instant::now() + api.config.stream_reauth;
        let stream = match &source {
            Source::Meeting(id) => Some(StreamId::from(id)),
            Source::Log(_) => None,
        };
        Self {
            api,
            principal,
            token,
            source,
            stream,
            after: start.after,
            live: start.live,
            caught_up: start.at_head,
            received: false,
            rejoins: 0,
            lagged: false,
            ready: VecDeque::new(),
            shutdown,
            next_auth,
        }
    }

    /// Whether the server is shutting down.
    fn closing(&self) -> bool {
        self.shutdown.as_ref().is_some_and(|rx| *rx.borrow())
    }

    /// Checks the token again when it is time to.
    async fn still_authorized(&mut self) -> Result<(), End> {
        if Instant::now() < self.next_auth {
            return Ok(());
        }
        // Set after the check, so a check cancelled halfway is made again.
        let checked = self.api.auth.authenticate(&self.token).await;
        self.next_auth = Instant::now() + self.api.config.stream_reauth;
        checked.map(drop).map_err(|_| End::Unauthorized)
    }

    /// The next message; waits for one. Cancel-safe: a message is taken out only when returned.
    pub(crate) async fn next(&mut self) -> Result<Item, End> {
        loop {
            if self.closing() {
                return Err(End::Shutdown);
            }
            self.still_authorized().await?;
            if let Some(item) = self.ready.pop_front() {
                return Ok(item);
            }
            if self.lagged {
                return Err(End::TooSlow);
            }
            if !self.caught_up {
                self.catch_up().await?;
                continue;
            }
            let next_auth = self.next_auth;
            let shutdown = async {
                match &mut self.shutdown {
                    Some(rx) => rx.changed().await.is_err(),
                    None => std::future::pending().await,
                }
            };
            let woke = tokio::select! {
                received = self.live.recv() => Wake::Hub(received),
                () = tokio::time::sleep_until(next_auth) => Wake::Auth,
                gone = shutdown => Wake::Shutdown { gone },
            };
            match woke {
                Wake::Hub(received) => self.take(received).await?,
                Wake::Auth => {}
                // The sender is gone: no shutdown will be told any more.
                Wake::Shutdown { gone: true } => self.shutdown = None,
                Wake::Shutdown { gone: false } => {}
            }
        }
    }

    /// Reads one batch from the store after the cursor; a short batch ends the catch-up.
    async fn catch_up(&mut self) -> Result<(), End> {
        let read = match &self.source {
            Source::Meeting(id) => {
                self.api
                    .engine
                    .meeting_events(&self.principal, id, self.after, BATCH)
                    .await
            }
            Source::Log(_) => self
                .api
                .engine
                .store()
                .read_all(self.after, BATCH)
                .await
                .map_err(Into::into),
        };
        let rows = read.map_err(|e| {
            tracing::warn!(error = %e, "event stream closed");
            End::Failed
        })?;
        self.caught_up = rows.len() < BATCH;
        let now = self.api.engine.clock().now();
        for row in rows {
            let cursor = self.cursor_of(&row);
            self.after = cursor;
            let Some(name) = zoom_core::webhook::catalogue::webhook_name(&row.event_type) else {
                // Events outside the webhook catalogue advance the cursor only.
                continue;
            };
            if let Source::Log(filter) = &self.source
                && !filter.admits(&row, row.account_id().as_ref(), name)
            {
                continue;
            }
            if let Some((name, body)) =
                zoom_core::webhook_body::body_text(&row, &self.api.engine.config().file_urls, now)
            {
                self.ready.push_back(Item {
                    id: self.id_of(cursor),
                    name,
                    body: body.into(),
                    frame: None,
                });
            }
        }
        Ok(())
    }

    /// Takes what the hub sent: an event beyond the cursor that this stream sends, or news that
    /// the stream fell behind.
    async fn take(&mut self, received: Result<Arc<HubEvent>, RecvError>) -> Result<(), End> {
        match received {
            Ok(event) => {
                self.received = true;
                self.rejoins = 0;
                let row = &event.row;
                let admitted = match (&self.source, &self.stream) {
                    (Source::Meeting(_), Some(stream)) => row.stream_id == *stream,
                    (Source::Log(filter), _) => filter.admits(row, event.account.as_ref(), event.name),
                    (Source::Meeting(_), None) => false,
                };
                let cursor = self.cursor_of(row);
                // What the catch-up (or the start) already covered is skipped.
                if admitted && cursor > self.after {
                    self.after = cursor;
                    let frame = match self.source {
                        Source::Meeting(_) => &event.meeting_frame,
                        Source::Log(_) => &event.log_frame,
                    };
                    self.ready.push_back(Item {
                        id: self.id_of(cursor),
                        name: event.name,
                        body: Arc::clone(&event.body),
                        frame: Some(frame.clone()),
                    });
                }
                Ok(())
            }
            Err(RecvError::Lagged(_)) if !self.received && self.rejoins < MAX_REJOINS => {
                // It fell behind before the hub had delivered anything: its catch-up outlasted
                // the ring. Subscribe again, then catch up again from the cursor.
                self.rejoins += 1;
                self.live = self.api.hub.subscribe().await.map_err(|_| End::Failed)?;
                self.caught_up = false;
                Ok(())
            }
            Err(RecvError::Lagged(missed)) => {
                tracing::debug!(missed, "event stream too slow: closing it");
                self.lagged = true;
                Ok(())
            }
            Err(RecvError::Closed) => Err(End::Failed),
        }
    }

    /// The cursor of `row` in this stream: its version, or its log position.
    fn cursor_of(&self, row: &RecordedEvent) -> u64 {
        match &self.source {
            Source::Meeting(_) => row.version,
            Source::Log(_) => row.position,
        }
    }

    /// The message id of a cursor.
    fn id_of(&self, cursor: u64) -> String {
        match &self.source {
            Source::Meeting(_) => cursor.to_string(),
            Source::Log(_) => cursor::encode(cursor),
        }
    }
}
