//! `GET /v1/meetings/{id}/events`: the meeting's events as Server-Sent Events, or WebSocket
//! frames when the request is an upgrade. Both read a [`MeetingFeed`].

use std::convert::Infallible;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};

use crate::api::Api;
use crate::extract::{Caller, MeetingPath, Params, Query, QueryParams, bearer};
use crate::problem::{Problem, ProblemDocument};
use crate::streams::ws::{self, Pacing, Upgrade};
use crate::streams::{End, MeetingFeed};

/// `?after=<version>`: resume after this version.
pub(crate) struct StreamQuery {
    after: Option<u64>,
}

impl QueryParams for StreamQuery {
    const NAMES: &'static [&'static str] = &["after"];

    fn from_query(query: &Query) -> Result<Self, Problem> {
        let after = match query.get("after") {
            None => None,
            Some(raw) => Some(
                raw.trim()
                    .parse::<u64>()
                    .map_err(|_| Problem::invalid_field("after", "after must be an event version (an integer)"))?,
            ),
        };
        Ok(Self { after })
    }
}

/// Streams the meeting's events.
#[utoipa::path(get, path = "/v1/meetings/{id}/events", operation_id = "events.stream", tag = "meetings",
    params(
        MeetingPath,
        ("Last-Event-ID" = Option<u64>, Header, minimum = 0, description = "SSE: resume after this version; without it (or `after`) the stream starts at now"),
        ("after" = Option<u64>, Query, minimum = 0, description = "Resume after this version (the WebSocket's way; SSE may use it instead of Last-Event-ID)"),
    ),
    responses(
        (status = 101, description = "WebSocket upgrade: one text frame `{\"id\": \"<version>\", \"event\": \"<name>\", \"data\": <the webhook body>}` per event; pings every 20 s; close code 4001 when the token expires or is revoked, 4008 when the client cannot keep up"),
        (status = 200, description = "`text/event-stream`: `id` = version in the meeting's stream, `event` = catalogue name, `data` = the webhook body", content_type = "text/event-stream", body = String),
        (status = 400, description = "Invalid Last-Event-ID", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("oauth2" = ["meeting.read"])))]
pub(crate) async fn stream(
    State(api): State<Api>,
    Caller(principal): Caller,
    MeetingPath(id): MeetingPath,
    Params(query): Params<StreamQuery>,
    headers: HeaderMap,
    Upgrade(upgrade): Upgrade,
) -> Result<Response, Problem> {
    let header = match headers.get("last-event-id") {
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
    if header.is_some() && query.after.is_some() {
        return Err(Problem::invalid_field(
            "after",
            "give either `after` or Last-Event-ID, not both",
        ));
    }
    let (last, field) = match query.after {
        Some(v) => (Some(v), "after"),
        None => (header, "Last-Event-ID"),
    };
    // Reading the meeting checks scope and visibility before the stream opens, so those failures
    // are problems with a status rather than an empty stream.
    let meeting = api.engine.meeting(&principal, &id).await?;
    // Versions never go backwards and the store is shared by every instance, so an id beyond the
    // current version was never sent by this meeting's stream.
    if last.is_some_and(|v| v > meeting.version) {
        return Err(Problem::invalid_field(
            field,
            format!("{field} is beyond this meeting's last event ({})", meeting.version),
        ));
    }
    let after = last.unwrap_or(meeting.version);
    let token = bearer(&headers)?.to_owned();
    let feed = MeetingFeed::new(api.clone(), principal, token, id, after);
    if let Some(upgrade) = upgrade {
        let pacing = Pacing {
            ping: api.config.ws_ping,
            send_timeout: api.config.ws_send_timeout,
        };
        return Ok(upgrade.on_upgrade(move |socket| ws::serve(socket, feed, pacing)));
    }
    let events = futures::stream::unfold(feed, |mut feed| async move {
        match feed.next().await {
            Ok(item) => {
                let event = Event::default()
                    .id(item.version.to_string())
                    .event(item.name)
                    .data(item.body);
                Some((Ok::<_, Infallible>(event), feed))
            }
            // The stream ends; the client reconnects with Last-Event-ID (with a fresh token).
            Err(End::Shutdown | End::Unauthorized | End::Failed) => None,
        }
    });
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(api.config.sse_keep_alive))
        .into_response())
}
