//! `GET /v1/meetings/{id}/events`: the meeting's events as Server-Sent Events.
//!
//! New events are found by polling the meeting's stream every [`ApiConfig::sse_poll`]: the engine
//! has no commit notification, and a poll of one stream from its last version is a cheap indexed
//! read in every store. It also works across server instances, which an in-process hook would not.
//!
//! [`ApiConfig::sse_poll`]: crate::ApiConfig::sse_poll

use std::collections::VecDeque;
use std::convert::Infallible;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use zoom_core::id::MeetingId;
use zoom_core::principal::Principal;

use crate::api::Api;
use crate::extract::{Caller, MeetingPath, NoQuery};
use crate::problem::{Problem, ProblemDocument};

/// How many events one poll reads at most.
const BATCH: usize = 256;

struct Cursor {
    api: Api,
    principal: Principal,
    id: MeetingId,
    after: u64,
    ready: VecDeque<Event>,
    polled: bool,
    shutdown: Option<tokio::sync::watch::Receiver<bool>>,
}

impl Cursor {
    /// Whether the server is shutting down.
    fn closing(&self) -> bool {
        self.shutdown.as_ref().is_some_and(|rx| *rx.borrow())
    }

    /// Sleeps for `poll`, or less when shutdown begins.
    async fn pause(&mut self, poll: std::time::Duration) {
        match &mut self.shutdown {
            Some(rx) => {
                tokio::select! {
                    _ = tokio::time::sleep(poll) => {}
                    // A dropped sender also ends the wait; `closing` then decides.
                    _ = rx.changed() => {}
                }
            }
            None => tokio::time::sleep(poll).await,
        }
    }
}

/// Streams the meeting's events.
#[utoipa::path(get, path = "/v1/meetings/{id}/events", operation_id = "events.stream", tag = "meetings",
    params(
        MeetingPath,
        ("Last-Event-ID" = Option<u64>, Header, minimum = 0, description = "Resume after this version; without it the stream starts at now"),
    ),
    responses(
        (status = 200, description = "`text/event-stream`: `id` = version in the meeting's stream, `event` = catalogue name, `data` = the webhook body", content_type = "text/event-stream", body = String),
        (status = 400, description = "Invalid Last-Event-ID", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("oauth2" = ["meeting.read"])))]
pub(crate) async fn stream(
    State(api): State<Api>,
    Caller(principal): Caller,
    MeetingPath(id): MeetingPath,
    _: NoQuery,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let last = match headers.get("last-event-id") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    Problem::invalid_field("Last-Event-ID", "Last-Event-ID must be an event version (an integer)")
                })?,
        ),
    };
    // Reading the meeting checks scope and visibility before the stream opens, so those failures
    // are problems with a status rather than an empty stream.
    let meeting = api.engine.meeting(&principal, &id).await?;
    // Versions never go backwards and the store is shared by every instance, so an id beyond the
    // current version was never sent by this meeting's stream.
    if last.is_some_and(|v| v > meeting.version) {
        return Err(Problem::invalid_field(
            "Last-Event-ID",
            format!(
                "Last-Event-ID is beyond this meeting's last event ({})",
                meeting.version
            ),
        ));
    }
    let after = last.unwrap_or(meeting.version);
    let poll = api.config.sse_poll;
    let shutdown = api.config.shutdown.clone();
    let keep_alive = api.config.sse_keep_alive;
    let cursor = Cursor {
        api,
        principal,
        id,
        after,
        ready: VecDeque::new(),
        polled: false,
        shutdown,
    };
    let events = futures::stream::unfold(cursor, move |mut c| async move {
        loop {
            if c.closing() {
                return None;
            }
            if let Some(event) = c.ready.pop_front() {
                return Some((Ok::<_, Infallible>(event), c));
            }
            if c.polled {
                c.pause(poll).await;
                if c.closing() {
                    return None;
                }
            }
            c.polled = true;
            let rows = match c.api.engine.meeting_events(&c.principal, &c.id, c.after, BATCH).await {
                Ok(rows) => rows,
                Err(e) => {
                    // The client reconnects with Last-Event-ID and resumes where it was.
                    tracing::warn!(meeting = %c.id, error = %e, "event stream closed");
                    return None;
                }
            };
            c.polled = rows.len() < BATCH;
            let now = c.api.engine.clock().now();
            for row in rows {
                c.after = row.version;
                // Events outside the webhook catalogue (mute, role change) advance the cursor only.
                if let Some((name, body)) =
                    zoom_core::webhook_body::body_text(&row, &c.api.engine.config().file_urls, now)
                {
                    c.ready
                        .push_back(Event::default().id(row.version.to_string()).event(name).data(body));
                }
            }
        }
    });
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(keep_alive))
        .into_response())
}
