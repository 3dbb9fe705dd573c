//! `GET /v1/meetings/{id}/events`: the meeting's events as Server-Sent Events, or WebSocket
//! frames when the request is an upgrade. Both read a [`MeetingFeed`].

use std::convert::Infallible;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};

use zoom_core::engine::EngineError;
use zoom_core::error::DomainError;
use zoom_core::id::MeetingId;
use zoom_core::principal::Scope;
use zoom_core::webhook::catalogue;

use crate::api::Api;
use crate::extract::{Caller, Empty, MeetingPath, NoQuery, Params, Query, QueryParams, bearer};
use crate::problem::{Problem, ProblemDocument};
use crate::streams::tickets::TICKET_TTL;
use crate::streams::ws::{self, Pacing, Upgrade};
use crate::streams::{End, LogFilter, MeetingFeed, Source, Start, StreamCaller, cursor};

/// `?after=<version>`: resume after this version.
pub(crate) struct StreamQuery {
    after: Option<u64>,
}

impl QueryParams for StreamQuery {
    const NAMES: &'static [&'static str] = &["after", "ticket"];

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
        ("ticket" = Option<String>, Query, description = "A stream ticket (POST /v1/stream-tickets) instead of the Authorization header, for browsers"),
    ),
    responses(
        (status = 101, description = "WebSocket upgrade: one text frame `{\"id\": \"<version>\", \"event\": \"<name>\", \"data\": <the webhook body>}` per event; pings every 20 s; close code 4001 when the token expires or is revoked, 4008 when the client cannot keep up"),
        (status = 200, description = "`text/event-stream`: `id` = version in the meeting's stream, `event` = catalogue name, `data` = the webhook body", content_type = "text/event-stream", body = String),
        (status = 400, description = "Invalid Last-Event-ID", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("oauth2" = ["meeting.read"])))]
pub(crate) async fn stream(
    State(api): State<Api>,
    StreamCaller { principal, token }: StreamCaller,
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
    // Subscribed before anything is read: whatever the hub sends from now on comes after what
    // the reads below see, so the stream switches from them to the hub without a gap.
    let live = api.hub.subscribe().await?;
    // Reading the meeting checks scope and visibility before the stream opens, so those failures
    // are problems with a status rather than an empty stream. It is the only check: the hub's
    // events are this meeting's, whoever reads them.
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
    let start = Start {
        live,
        after,
        at_head: after == meeting.version,
    };
    let feed = MeetingFeed::new(api.clone(), principal, token, Source::Meeting(id), start);
    Ok(respond(&api, feed, upgrade))
}

/// The feed as WebSocket frames when `upgrade` asks for them, else as Server-Sent Events.
fn respond(api: &Api, feed: MeetingFeed, upgrade: Option<axum::extract::ws::WebSocketUpgrade>) -> Response {
    if let Some(upgrade) = upgrade {
        let pacing = Pacing {
            ping: api.config.ws_ping,
            send_timeout: api.config.ws_send_timeout,
        };
        return upgrade.on_upgrade(move |socket| ws::serve(socket, feed, pacing));
    }
    let events = futures::stream::unfold(feed, |mut feed| async move {
        match feed.next().await {
            Ok(item) => {
                let event = Event::default().id(item.id).event(item.name).data(item.body);
                Some((Ok::<_, Infallible>(event), feed))
            }
            // The stream ends; the client reconnects with Last-Event-ID (with a fresh token).
            Err(End::Shutdown | End::Unauthorized | End::TooSlow | End::Failed) => None,
        }
    });
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(api.config.sse_keep_alive))
        .into_response()
}

/// `GET /v1/events`'s query: `after` (WebSocket resume), `events`, `meeting_id`, `account`.
pub(crate) struct LogQuery {
    after: Option<String>,
    events: Option<Vec<String>>,
    meeting: Option<MeetingId>,
    every_account: bool,
}

impl QueryParams for LogQuery {
    const NAMES: &'static [&'static str] = &["after", "events", "meeting_id", "account", "ticket"];

    fn from_query(query: &Query) -> Result<Self, Problem> {
        let events = match query.get("events") {
            None => None,
            Some(raw) => {
                let mut names = Vec::new();
                for name in raw.split(',').map(str::trim) {
                    if !catalogue::CATALOGUE.contains(&name) {
                        return Err(Problem::invalid_field(
                            "events",
                            format!(
                                "`{}` is not a catalogue event",
                                name.chars().take(64).collect::<String>()
                            ),
                        ));
                    }
                    names.push(name.to_owned());
                }
                Some(names)
            }
        };
        let meeting = match query.get("meeting_id") {
            None => None,
            Some(raw) => Some(
                MeetingId::parse(raw.trim())
                    .map_err(|_| Problem::invalid_field("meeting_id", "meeting_id must be a meeting id"))?,
            ),
        };
        let every_account = match query.get("account") {
            None => false,
            Some("*") => true,
            Some(_) => {
                return Err(Problem::invalid_field(
                    "account",
                    "account takes only `*` (every account; the platform's media credential)",
                ));
            }
        };
        Ok(Self {
            after: query.get("after").map(str::to_owned),
            events,
            meeting,
            every_account,
        })
    }
}

/// Streams every catalogue event of the caller's account (or of every account).
#[utoipa::path(get, path = "/v1/events", operation_id = "events.account", tag = "meetings",
    params(
        ("Last-Event-ID" = Option<String>, Header, description = "SSE: resume after this cursor (a message's `id`); without it (or `after`) the stream starts at now"),
        ("after" = Option<String>, Query, description = "Resume after this cursor (the WebSocket's way)"),
        ("events" = Option<String>, Query, description = "Only these catalogue names, comma-separated"),
        ("meeting_id" = Option<String>, Query, description = "Only this meeting's events"),
        ("account" = Option<String>, Query, description = "`*`: every account's events; only for the platform's `media` credential"),
        ("ticket" = Option<String>, Query, description = "A stream ticket (POST /v1/stream-tickets) instead of the Authorization header, for browsers"),
    ),
    responses(
        (status = 101, description = "WebSocket upgrade: one text frame `{\"id\": \"<cursor>\", \"event\": \"<name>\", \"data\": <the webhook body>}` per event; close codes as on the meeting stream"),
        (status = 200, description = "`text/event-stream`: `id` = an opaque cursor over the log, `event` = catalogue name, `data` = the webhook body", content_type = "text/event-stream", body = String),
        (status = 400, description = "Invalid cursor or filter", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("oauth2" = ["meeting.read"])))]
pub(crate) async fn account(
    State(api): State<Api>,
    StreamCaller { principal, token }: StreamCaller,
    Params(query): Params<LogQuery>,
    headers: HeaderMap,
    Upgrade(upgrade): Upgrade,
) -> Result<Response, Problem> {
    let header = match headers.get("last-event-id") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| Problem::invalid_field("Last-Event-ID", "Last-Event-ID must be a cursor"))?
                .to_owned(),
        ),
    };
    if header.is_some() && query.after.is_some() {
        return Err(Problem::invalid_field(
            "after",
            "give either `after` or Last-Event-ID, not both",
        ));
    }
    let account = if query.every_account {
        let platform = api.config.platform_account.as_ref();
        if !principal.has(Scope::Media) || platform != Some(&principal.account_id) {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                "`account=*` needs the platform's `media` credential",
            ));
        }
        None
    } else {
        if !principal.has(Scope::MeetingRead) {
            return Err(DomainError::InsufficientScope(Scope::MeetingRead).into());
        }
        Some(principal.account_id.clone())
    };
    // Subscribed before the head is read, as on the meeting stream.
    let live = api.hub.subscribe().await?;
    let head = api.engine.store().head_position().await.map_err(EngineError::from)?;
    let after = match (query.after, header) {
        (Some(c), _) => Some((c, "after")),
        (None, Some(c)) => Some((c, "Last-Event-ID")),
        (None, None) => None,
    };
    let after = match after {
        None => head,
        Some((c, field)) => {
            let position = cursor::decode(&c)
                .ok_or_else(|| Problem::invalid_field(field, format!("{field} is not a cursor of this stream")))?;
            if position > head {
                return Err(Problem::invalid_field(
                    field,
                    format!("{field} is beyond the log's end"),
                ));
            }
            position
        }
    };
    let filter = LogFilter {
        account,
        events: query.events,
        meeting: query.meeting,
    };
    let start = Start {
        live,
        after,
        at_head: after == head,
    };
    let feed = MeetingFeed::new(api.clone(), principal, token, Source::Log(filter), start);
    Ok(respond(&api, feed, upgrade))
}

/// A stream ticket's answer.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct TicketView {
    /// Usable once, as `?ticket=` on either stream.
    ticket: String,
    /// Seconds it stays valid: 60.
    expires_in: u64,
}

/// Trades the caller's token for a stream ticket, for browsers' `EventSource`.
#[utoipa::path(post, path = "/v1/stream-tickets", operation_id = "streams.ticket", tag = "meetings",
    responses(
        (status = 201, description = "The ticket: usable once within `expires_in` seconds as `?ticket=` on `/v1/events` or `/v1/meetings/{id}/events`", body = TicketView),
    ),
    security(("oauth2" = ["meeting.read"])))]
pub(crate) async fn ticket(
    State(api): State<Api>,
    Caller(principal): Caller,
    _: NoQuery,
    headers: HeaderMap,
    _: Empty,
) -> Result<Response, Problem> {
    if !principal.has(Scope::MeetingRead) {
        return Err(DomainError::InsufficientScope(Scope::MeetingRead).into());
    }
    let token = bearer(&headers)?;
    let ticket = api.tickets.issue(token, api.engine.entropy().as_ref());
    let view = TicketView {
        ticket,
        expires_in: TICKET_TTL.as_secs(),
    };
    Ok((StatusCode::CREATED, axum::Json(view)).into_response())
}
