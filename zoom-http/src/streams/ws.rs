//! The WebSocket carriage of a feed: one text frame per message, pings, close codes.
//!
//! Close codes: 4001 when the token has expired or was revoked, 4008 when the client cannot keep
//! up (a frame did not reach its socket within [`ApiConfig::ws_send_timeout`], or the stream fell
//! [`ApiConfig::stream_buffer`] events behind the hub; the close reason names the last id sent,
//! to resume with `?after=`), 1001 at server shutdown, 1011 when the store fails.
//!
//! [`ApiConfig::ws_send_timeout`]: crate::ApiConfig::ws_send_timeout
//! [`ApiConfig::stream_buffer`]: crate::ApiConfig::stream_buffer

use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};

use super::{End, Item, MeetingFeed};
use crate::problem::Problem;

/// Close code: the token expired or was revoked.
pub(crate) const CLOSE_UNAUTHORIZED: u16 = 4001;
/// Close code: the client cannot keep up.
pub(crate) const CLOSE_TOO_SLOW: u16 = 4008;
/// The largest frame accepted from a client (they only send control frames).
const MAX_CLIENT_MESSAGE: usize = 4 * 1024;
/// The read buffer of a stream's socket: room for a client's control frames. (The library's
/// default, 128 KiB, would cost an idle stream that much.)
const READ_BUFFER: usize = 4 * 1024;
/// The write buffer a frame is assembled in before it goes to the socket. Each frame is flushed
/// as it is sent, so a larger buffer would batch nothing; a frame larger than this still goes
/// out whole (the buffer grows for it and shrinks with the connection).
const WRITE_BUFFER: usize = 4 * 1024;

/// A WebSocket upgrade, when the request asks for one (`Upgrade: websocket`); a request that
/// asks but is not a valid upgrade is 400 `invalid_upgrade`.
pub(crate) struct Upgrade(pub(crate) Option<WebSocketUpgrade>);

impl<S: Send + Sync> FromRequestParts<S> for Upgrade {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        let asks = parts
            .headers
            .get(header::UPGRADE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("websocket"));
        if !asks {
            return Ok(Self(None));
        }
        WebSocketUpgrade::from_request_parts(parts, state)
            .await
            .map(|u| {
                Self(Some(
                    u.max_message_size(MAX_CLIENT_MESSAGE)
                        .max_frame_size(MAX_CLIENT_MESSAGE)
                        .read_buffer_size(READ_BUFFER)
                        .write_buffer_size(WRITE_BUFFER),
                ))
            })
            .map_err(|e| Problem::new(StatusCode::BAD_REQUEST, "invalid_upgrade", e.body_text()))
    }
}

/// The text frame of one message: `{"id", "event", "data"}`, `data` the webhook body.
pub(crate) fn frame(id: &str, name: &str, body: &str) -> String {
    // `id` is digits or a base64url cursor and `name` a catalogue name: neither needs escaping.
    format!(r#"{{"id":"{id}","event":"{name}","data":{body}}}"#)
}

/// The text frame of `item`: the one the hub rendered for every stream, or one of its own (an
/// event read while catching up).
fn frame_of(item: &Item) -> Utf8Bytes {
    match &item.frame {
        Some(shared) => shared.clone(),
        None => frame(&item.id, item.name, &item.body).into(),
    }
}

/// How the socket is served.
pub(crate) struct Pacing {
    /// Interval of pings.
    pub(crate) ping: Duration,
    /// How long one frame may take to reach the client's socket.
    pub(crate) send_timeout: Duration,
}

/// Sends the feed's messages over `socket` until the feed ends or the client leaves.
pub(crate) async fn serve(mut socket: WebSocket, mut feed: MeetingFeed, pacing: Pacing) {
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + pacing.ping, pacing.ping);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last: Option<String> = None;
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                // Pongs and anything else a client sends are read and dropped; tungstenite
                // answers pings itself.
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                if !send(&mut socket, Message::Ping(Vec::new().into()), &pacing).await {
                    close(socket, CLOSE_TOO_SLOW, too_slow(last.as_deref())).await;
                    return;
                }
            }
            next = feed.next() => match next {
                Ok(item) => {
                    if !send(&mut socket, Message::Text(frame_of(&item)), &pacing).await {
                        close(socket, CLOSE_TOO_SLOW, too_slow(last.as_deref())).await;
                        return;
                    }
                    last = Some(item.id);
                }
                Err(End::Unauthorized) => {
                    close(socket, CLOSE_UNAUTHORIZED, "token expired or revoked".to_owned()).await;
                    return;
                }
                Err(End::TooSlow) => {
                    close(socket, CLOSE_TOO_SLOW, too_slow(last.as_deref())).await;
                    return;
                }
                Err(End::Shutdown) => {
                    close(socket, 1001, "server shutting down".to_owned()).await;
                    return;
                }
                Err(End::Failed) => {
                    close(socket, 1011, "stream failed; resume with ?after=".to_owned()).await;
                    return;
                }
            }
        }
    }
}

/// The close reason of a client too slow, naming the last id it was sent.
fn too_slow(last: Option<&str>) -> String {
    match last {
        Some(id) => format!("cannot keep up; last id {id}"),
        None => "cannot keep up".to_owned(),
    }
}

/// Sends one message within the send timeout.
async fn send(socket: &mut WebSocket, message: Message, pacing: &Pacing) -> bool {
    matches!(
        tokio::time::timeout(pacing.send_timeout, socket.send(message)).await,
        Ok(Ok(()))
    )
}

/// Sends a close frame, waiting at most a second: a client too slow to read may never take it.
async fn close(mut socket: WebSocket, code: u16, reason: String) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), socket.send(Message::Close(Some(frame)))).await;
}
