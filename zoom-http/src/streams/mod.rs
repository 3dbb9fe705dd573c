//! Live event streams: the feed every stream reads, whatever carries it (Server-Sent Events or
//! WebSocket frames, `ws.rs`).
//!
//! A [`MeetingFeed`] follows one meeting's stream by polling it from its last version every
//! [`ApiConfig::sse_poll`] (a cheap indexed read in every store, and it sees commits of every
//! server instance). It holds at most one batch of ready messages, so a stream's memory is bounded
//! whatever the client's speed. Every [`ApiConfig::stream_reauth`] it checks its bearer token
//! again: a stream ends when its token expires or is revoked.
//!
//! [`ApiConfig::sse_poll`]: crate::ApiConfig::sse_poll
//! [`ApiConfig::stream_reauth`]: crate::ApiConfig::stream_reauth

pub(crate) mod ws;

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;
use zoom_core::id::MeetingId;
use zoom_core::principal::Principal;

use crate::api::Api;

/// How many events one poll reads at most.
const BATCH: usize = 256;

/// One message of a stream: the catalogue event at `version`, with its webhook body.
pub(crate) struct Item {
    /// The event's version in its meeting's stream (the message id).
    pub(crate) version: u64,
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

/// One meeting's catalogue events after a version, for one caller.
pub(crate) struct MeetingFeed {
    api: Api,
    principal: Principal,
    token: String,
    id: MeetingId,
    after: u64,
    ready: VecDeque<Item>,
    polled: bool,
    shutdown: Option<tokio::sync::watch::Receiver<bool>>,
    next_auth: Instant,
}

impl MeetingFeed {
    /// A feed of `id`'s events after version `after`, for `principal`, who authenticated with
    /// `token`.
    pub(crate) fn new(api: Api, principal: Principal, token: String, id: MeetingId, after: u64) -> Self {
        let shutdown = api.config.shutdown.clone();
        let next_auth = Instant::now() + api.config.stream_reauth;
        Self {
            api,
            principal,
            token,
            id,
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
            let rows = match self
                .api
                .engine
                .meeting_events(&self.principal, &self.id, self.after, BATCH)
                .await
            {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::warn!(meeting = %self.id, error = %e, "event stream closed");
                    return Err(End::Failed);
                }
            };
            self.polled = rows.len() < BATCH;
            let now = self.api.engine.clock().now();
            for row in rows {
                self.after = row.version;
                // Events outside the webhook catalogue advance the cursor only.
                if let Some((name, body)) =
                    zoom_core::webhook_body::body_text(&row, &self.api.engine.config().file_urls, now)
                {
                    self.ready.push_back(Item {
                        version: row.version,
                        name,
                        body,
                    });
                }
            }
        }
    }
}
