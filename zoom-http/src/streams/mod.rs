//! Live event streams: the feed every stream reads, whatever carries it (Server-Sent Events or
//! WebSocket frames, `ws.rs`).
//!
//! A [`MeetingFeed`] follows one meeting's stream (or, [`Source::Log`], the whole log of an
//! account, `GET /v1/events`) by polling it from where it is every [`ApiConfig::sse_poll`] (a cheap indexed read in every store, and it sees commits of every
//! server instance). It holds at most one batch of ready messages, so a stream's memory is bounded
//! whatever the client's speed. Every [`ApiConfig::stream_reauth`] it checks its bearer token
//! again: a stream ends when its token expires or is revoked.
//!
//! [`ApiConfig::sse_poll`]: crate::ApiConfig::sse_poll
//! [`ApiConfig::stream_reauth`]: crate::ApiConfig::stream_reauth

pub(crate) mod cursor;
pub(crate) mod tickets;
pub(crate) mod ws;

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;
use zoom_core::event::RecordedEvent;
use zoom_core::id::{AccountId, MeetingId};
use zoom_core::principal::Principal;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;

use crate::api::Api;
use crate::extract::bearer;
use crate::problem::Problem;

/// The caller of a stream: `Authorization: Bearer <token>`, or `?ticket=` (for browsers); the
/// principal and the token it stands for.
pub(crate) struct StreamCaller {
    pub(crate) principal: Principal,
    pub(crate) token: String,
}

impl FromRequestParts<Api> for StreamCaller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, api: &Api) -> Result<Self, Problem> {
        let ticket = url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
            .find(|(k, _)| k == "ticket")
            .map(|(_, v)| v.into_owned());
        let token = match ticket {
            Some(ticket) => api.tickets.redeem(&ticket).ok_or_else(|| {
                Problem::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_ticket",
                    "the ticket is unknown, used or expired; take a new one with POST /v1/stream-tickets",
                )
            })?,
            None => bearer(&parts.headers)?.to_owned(),
        };
        let principal = api
            .auth
            .authenticate(&token)
            .await
            .map_err(|e| Problem::new(StatusCode::UNAUTHORIZED, e.code, e.detail))?;
        Ok(Self { principal, token })
    }
}

/// How many events one poll reads at most.
const BATCH: usize = 256;

/// One message of a stream: the catalogue event at `version`, with its webhook body.
pub(crate) struct Item {
    /// The message id: the event's version in its meeting's stream, or a log cursor.
    pub(crate) id: String,
    /// The catalogue name.
    pub(crate) name: &'static str,
    /// The webhook body, as JSON text.
    pub(crate) body: String,
}

/// Why a feed ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// The server is shutting down.
    Shutdown,
    /// The stream's token has expired or was revoked.
    Unauthorized,
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
    fn admits(&self, row: &RecordedEvent, name: &str) -> bool {
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
            Some(a) => row.account_id().as_ref() == Some(a),
        }
    }
}

/// One meeting's (or one account's) catalogue events after a point, for one caller.
pub(crate) struct MeetingFeed {
    api: Api,
    principal: Principal,
    token: String,
    source: Source,
    after: u64,
    ready: VecDeque<Item>,
    polled: bool,
    shutdown: Option<tokio::sync::watch::Receiver<bool>>,
    next_auth: Instant,
}

impl MeetingFeed {
    /// A feed of `source`'s events after `after` (a version of a meeting, or a log position),
    /// for `principal`, who authenticated with `token`.
    pub(crate) fn new(api: Api, principal: Principal, token: String, source: Source, after: u64) -> Self {
        let shutdown = api.config.shutdown.clone();
        let next_auth = Instant::now() + api.config.stream_reauth;
        Self {
            api,
            principal,
            token,
            source,
            after,
            ready: VecDeque::new(),
            polled: false,
            shutdown,
            next_auth,
        }
    }

    /// Whether the server is shutting down.
    fn closing(&self) -> bool {
        self.shutdown.as_ref().is_some_and(|rx| *rx.borrow())
    }

    /// Sleeps for `pause`, or less when shutdown begins.
    async fn pause(&mut self, pause: Duration) {
        match &mut self.shutdown {
            Some(rx) => {
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    // A dropped sender also ends the wait; `closing` then decides.
                    _ = rx.changed() => {}
                }
            }
            None => tokio::time::sleep(pause).await,
        }
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
            if self.polled {
                let until_auth = self.next_auth.saturating_duration_since(Instant::now());
                let poll = self.api.config.sse_poll.min(until_auth);
                self.pause(poll).await;
                if self.closing() {
                    return Err(End::Shutdown);
                }
                self.still_authorized().await?;
            }
            self.polled = true;
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
            let rows = match read {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::warn!(error = %e, "event stream closed");
                    return Err(End::Failed);
                }
            };
            self.polled = rows.len() < BATCH;
            let now = self.api.engine.clock().now();
            for row in rows {
                let (cursor, id) = match &self.source {
                    Source::Meeting(_) => (row.version, row.version.to_string()),
                    Source::Log(_) => (row.position, cursor::encode(row.position)),
                };
                self.after = cursor;
                let Some(name) = zoom_core::webhook::catalogue::webhook_name(&row.event_type) else {
                    // Events outside the webhook catalogue advance the cursor only.
                    continue;
                };
                if let Source::Log(filter) = &self.source
                    && !filter.admits(&row, name)
                {
                    continue;
                }
                if let Some((name, body)) =
                    zoom_core::webhook_body::body_text(&row, &self.api.engine.config().file_urls, now)
                {
                    self.ready.push_back(Item { id, name, body });
                }
            }
        }
    }
}
