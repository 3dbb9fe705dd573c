//! Live event streams: the feed every stream reads, whatever carries it (Server-Sent Events or
//! WebSocket frames, `ws.rs`).
//!
//! # Layout
//! - `hub`: [`StreamHub`], the one reader of the log per router: one task follows the log, woken
//!   by the [`CommitSignal`](crate::CommitSignal) and at the latest every
//!   [`ApiConfig::sse_poll`], and hands each catalogue event, rendered once, to every stream
//!   through a bounded broadcast ring.
//! - `feed`: a [`MeetingFeed`] follows one meeting (or, [`Source::Log`], the whole log of an
//!   account, `GET /v1/events`): it subscribes to the hub before it reads where it starts,
//!   catches up from the store in batches when it starts behind (`?after=`, `Last-Event-ID`),
//!   then filters the hub's events, skipping what it already sent. It holds at most one batch,
//!   so a stream's memory is bounded whatever the client's speed; a stream that falls a whole
//!   ring behind is closed ([`End::TooSlow`]) after the last id it was sent. Every
//!   [`ApiConfig::stream_reauth`] it checks its bearer token again: a stream ends when its token
//!   expires or is revoked.
//! - `ws`: the WebSocket carriage; `cursor`: the opaque log cursors; `tickets`: stream tickets.
//!
//! [`ApiConfig::sse_poll`]: crate::ApiConfig::sse_poll
//! [`ApiConfig::stream_reauth`]: crate::ApiConfig::stream_reauth

pub(crate) mod cursor;
mod feed;
pub(crate) mod hub;
pub(crate) mod tickets;
pub(crate) mod ws;

pub(crate) use feed::{End, Item, LogFilter, MeetingFeed, Source, Start};
pub use hub::StreamHub;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use zoom_core::principal::Principal;

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
