//! A small webhook receiver: verifies signatures with the `zoom-core` verifier, rejects
//! replays older than 5 minutes and processes each `event_id` once.
//!
//! Routes:
//! - `POST /webhooks`: a delivery. 200 when processed (or already processed: a duplicate is
//!   acknowledged so the sender stops retrying), 400 for missing or malformed signature headers
//!   and timestamps more than 5 minutes away, 401 when no signature matches. A signed
//!   `endpoint.url_validation` challenge (sent by `POST /v1/webhooks/{id}:validate`) is answered
//!   with `{"plainToken", "encryptedToken"}`, the HMAC of the token under `WEBHOOK_SECRET`.
//! - `GET /healthz`: 200.
//!
//! Run it with the secret the subscription returned:
//! ```text
//! WEBHOOK_SECRET=whsec_... RECEIVER_LISTEN=127.0.0.1:9090 cargo run -p webhook-receiver
//! ```
//! and subscribe `http://127.0.0.1:9090/webhooks`. During a secret rotation set
//! `WEBHOOK_PREVIOUS_SECRET` to the old secret as well. Each processed event is printed as one
//! line: `<event> <event_id> <data>`.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use zoom_core::clock::{Clock, SystemClock};
use zoom_core::signature::{
    SignatureError, Verifier, WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP, WebhookSecret, X_ZOOM_SIGNATURE,
    X_ZOOM_TIMESTAMP,
};
use zoom_core::webhook::validation::{VALIDATION_EVENT, encrypted_token};

/// How many recent event ids are remembered for deduplication. Retries of one event come within
/// about a day and a half, so a bound this size is only ever hit under heavy traffic, where the
/// oldest ids (long acknowledged) are the ones to forget.
const REMEMBERED_IDS: usize = 100_000;

/// The receiver's state: the verifier, the clock, the ids already processed, and the newest
/// secret, which answers validation challenges.
pub struct AppState {
    verifier: Verifier,
    clock: Arc<dyn Clock>,
    seen: Mutex<Seen>,
    newest: Option<String>,
}

#[derive(Default)]
struct Seen {
    ids: HashSet<String>,
    order: VecDeque<String>,
    processed: Vec<String>,
}

impl AppState {
    /// A receiver for `verifier` (which holds the secrets and the 5-minute tolerance).
    pub fn new(verifier: Verifier, clock: Arc<dyn Clock>) -> Self {
        Self {
            verifier,
            clock,
            seen: Mutex::new(Seen::default()),
            newest: None,
        }
    }

    /// Answers `endpoint.url_validation` challenges with the HMAC under `secret` (the
    /// subscription's newest secret, as a string). Without it a challenge is refused (400).
    pub fn answering_challenges(mut self, secret: &str) -> Self {
        self.newest = Some(secret.to_owned());
        self
    }

    /// The events processed so far, in order (`event` and `event_id`), for display and tests.
    pub fn processed(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .processed
            .clone()
    }
}

/// The router, separate from `main` so tests drive it without a socket.
pub fn app(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/webhooks", post(webhook))
        .route("/healthz", get(|| async { StatusCode::OK }))
        .with_state(state)
}

/// Why a delivery was refused; each maps to a status code.
enum Refusal {
    Signature(SignatureError),
    Missing(&'static str),
    Body(String),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            Refusal::Signature(e @ SignatureError::NoMatchingSignature) => (StatusCode::UNAUTHORIZED, e.to_string()),
            Refusal::Signature(e) => (StatusCode::BAD_REQUEST, e.to_string()),
            Refusal::Missing(h) => (StatusCode::BAD_REQUEST, format!("missing `{h}` header")),
            Refusal::Body(m) => (StatusCode::BAD_REQUEST, m),
        };
        (status, message).into_response()
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, Refusal> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .ok_or(Refusal::Missing(name))
}

/// Verifies with the Standard Webhooks headers when present, else with the Zoom headers.
fn verify(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<(), Refusal> {
    let now = state.clock.now().timestamp();
    if headers.contains_key(WEBHOOK_SIGNATURE) {
        state
            .verifier
            .verify_standard(
                header(headers, WEBHOOK_ID)?,
                header(headers, WEBHOOK_TIMESTAMP)?,
                header(headers, WEBHOOK_SIGNATURE)?,
                body,
                now,
            )
            .map_err(Refusal::Signature)
    } else {
        state
            .verifier
            .verify_zoom(
                header(headers, X_ZOOM_TIMESTAMP)?,
                header(headers, X_ZOOM_SIGNATURE)?,
                body,
                now,
            )
            .map_err(Refusal::Signature)
    }
}

async fn webhook(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Result<Response, Refusal> {
    // Verify the raw bytes first: parsing JSON that may be forged is work for an attacker.
    verify(&state, &headers, &body)?;
    let value: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| Refusal::Body(format!("body is not JSON: {e}")))?;
    if value["event"] == VALIDATION_EVENT {
        return answer_challenge(&state, &value);
    }
    let (Some(event), Some(event_id)) = (value["event"].as_str(), value["event_id"].as_str()) else {
        return Err(Refusal::Body("body lacks `event` or `event_id`".into()));
    };
    let mut seen = state.seen.lock().unwrap_or_else(PoisonError::into_inner);
    if seen.ids.contains(event_id) {
        // Already processed: a retry whose acknowledgement was lost. Acknowledge again.
        return Ok((StatusCode::OK, "duplicate").into_response());
    }
    seen.ids.insert(event_id.to_owned());
    seen.order.push_back(event_id.to_owned());
    if seen.order.len() > REMEMBERED_IDS
        && let Some(old) = seen.order.pop_front()
    {
        seen.ids.remove(&old);
    }
    // The real work of a receiver goes here; this one records and prints.
    seen.processed.push(format!("{event} {event_id}"));
    println!("{event} {event_id} {}", value["data"]);
    Ok((StatusCode::OK, "ok").into_response())
}

/// Answers the endpoint-validation challenge: the same `plainToken` and its HMAC under the
/// newest secret, hex-encoded.
fn answer_challenge(state: &AppState, value: &serde_json::Value) -> Result<Response, Refusal> {
    let Some(plain) = value["payload"]["plainToken"].as_str() else {
        return Err(Refusal::Body("challenge lacks `payload.plainToken`".into()));
    };
    let Some(secret) = &state.newest else {
        return Err(Refusal::Body("this receiver answers no validation challenge".into()));
    };
    let answer = serde_json::json!({
        "plainToken": plain,
        "encryptedToken": encrypted_token(secret, plain),
    });
    Ok((StatusCode::OK, axum::Json(answer)).into_response())
}

fn secret_from_env(name: &str) -> Result<Option<WebhookSecret>, String> {
    match std::env::var(name) {
        Ok(s) => WebhookSecret::parse(&s).map(Some).map_err(|e| format!("{name}: {e}")),
        Err(_) => Ok(None),
    }
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let secret = secret_from_env("WEBHOOK_SECRET")?.ok_or("set WEBHOOK_SECRET to the subscription's secret")?;
    let newest = secret.as_str().to_owned();
    let mut verifier = Verifier::new(secret);
    if let Some(previous) = secret_from_env("WEBHOOK_PREVIOUS_SECRET")? {
        verifier = verifier.with_secret(previous);
    }
    let addr = std::env::var("RECEIVER_LISTEN").unwrap_or_else(|_| "127.0.0.1:9090".into());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    println!("listening on http://{addr}/webhooks");
    let state = Arc::new(AppState::new(verifier, Arc::new(SystemClock)).answering_challenges(&newest));
    axum::serve(listener, app(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use chrono::{TimeZone, Utc};
    use tower::ServiceExt;
    use zoom_core::clock::ManualClock;
    use zoom_core::signature::sign_request;

    const NOW: i64 = 1_900_000_000;
    const BODY: &str = r#"{"event":"meeting.started","event_id":"evt_1","ts":"2030-03-17T17:46:40.000Z","data":{}}"#;

    fn secret(b: u8) -> WebhookSecret {
        WebhookSecret::from_bytes([b; 32])
    }

    fn state() -> Arc<AppState> {
        let clock = Arc::new(ManualClock::new(Utc.timestamp_opt(NOW, 0).unwrap()));
        Arc::new(
            AppState::new(Verifier::new(secret(1)).with_secret(secret(2)), clock)
                .answering_challenges(secret(1).as_str()),
        )
    }

    fn request(secrets: &[WebhookSecret], ts: i64, body: &str, schemes: &[&str]) -> Request<Body> {
        let signed = sign_request(secrets, "evt_1", ts, body.as_bytes());
        let mut b = Request::post("/webhooks").header("content-type", "application/json");
        for (name, value) in signed.pairs() {
            let zoom = name.starts_with("x-zoom");
            if (zoom && schemes.contains(&"zoom")) || (!zoom && schemes.contains(&"standard")) {
                b = b.header(name, value);
            }
        }
        b.body(Body::from(body.to_owned())).unwrap()
    }

    async fn status(state: &Arc<AppState>, req: Request<Body>) -> StatusCode {
        app(Arc::clone(state)).oneshot(req).await.unwrap().status()
    }

    #[tokio::test]
    async fn a_signed_delivery_is_processed_once() {
        let s = state();
        let both = ["zoom", "standard"];
        assert_eq!(
            status(&s, request(&[secret(1)], NOW, BODY, &both)).await,
            StatusCode::OK
        );
        // A retry (fresh timestamp, same event id) is acknowledged but not processed again.
        assert_eq!(
            status(&s, request(&[secret(1)], NOW + 5, BODY, &both)).await,
            StatusCode::OK
        );
        assert_eq!(s.processed(), ["meeting.started evt_1"]);
    }

    #[tokio::test]
    async fn either_scheme_alone_verifies() {
        for scheme in ["zoom", "standard"] {
            let s = state();
            assert_eq!(
                status(&s, request(&[secret(2)], NOW, BODY, &[scheme])).await,
                StatusCode::OK,
                "{scheme}"
            );
        }
    }

    #[tokio::test]
    async fn forged_replayed_and_unsigned_requests_are_refused() {
        let s = state();
        let both = ["zoom", "standard"];
        for scheme in ["zoom", "standard"] {
            assert_eq!(
                status(&s, request(&[secret(9)], NOW, BODY, &[scheme])).await,
                StatusCode::UNAUTHORIZED
            );
            // Older than 5 minutes: a replay.
            assert_eq!(
                status(&s, request(&[secret(1)], NOW - 301, BODY, &[scheme])).await,
                StatusCode::BAD_REQUEST
            );
        }
        // A body changed after signing.
        let mut tampered = request(&[secret(1)], NOW, BODY, &both);
        *tampered.body_mut() = Body::from(BODY.replace("started", "ended"));
        assert_eq!(status(&s, tampered).await, StatusCode::UNAUTHORIZED);
        assert_eq!(
            status(&s, request(&[secret(1)], NOW, BODY, &[])).await,
            StatusCode::BAD_REQUEST
        );
        assert!(s.processed().is_empty());
        let health = Request::get("/healthz").body(Body::empty()).unwrap();
        assert_eq!(status(&s, health).await, StatusCode::OK);
    }

    /// A signed challenge is answered with the HMAC of its token under the newest secret; an
    /// unsigned one is refused like any unsigned request.
    #[tokio::test]
    async fn the_validation_challenge_is_answered() {
        let s = state();
        let challenge = zoom_core::webhook::validation::challenge_body("tok-123");
        let response = app(Arc::clone(&s))
            .oneshot(request(&[secret(1)], NOW, &challenge, &["zoom", "standard"]))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = axum::body::to_bytes(response.into_body(), 4096).await.unwrap();
        let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(answer["plainToken"], "tok-123");
        assert!(zoom_core::webhook::validation::answer_matches(
            secret(1).as_str(),
            "tok-123",
            answer["encryptedToken"].as_str().unwrap()
        ));
        assert_eq!(
            status(&s, request(&[], NOW, &challenge, &[])).await,
            StatusCode::BAD_REQUEST
        );
        assert!(s.processed().is_empty());
    }
}
