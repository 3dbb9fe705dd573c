//! The endpoint-validation challenge, as Zoom sends it: a signed POST of
//! `{"event": "endpoint.url_validation", "payload": {"plainToken": …}}` that the receiver must
//! answer, within the timeout, with `{"plainToken": same, "encryptedToken": hex(HMAC-SHA256(key =
//! the newest secret, message = plainToken))}`.

use base64::Engine as _;
use zoom_core::Engine;
use zoom_core::id::EventId;
use zoom_core::webhook::Subscription;
use zoom_core::webhook::validation::{answer_matches, challenge_body};

use crate::error::WebhookError;
use crate::send::{self, truncate};

/// A right answer to a challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    /// The token sent.
    pub plain_token: String,
    /// The receiver's HMAC of it.
    pub encrypted_token: String,
}

/// Sends a fresh challenge to the subscription's URL and checks the answer.
///
/// # Errors
/// [`WebhookError::Validation`] saying what came back: no answer (refused, timed out), a
/// non-2xx status, a body that is not the expected JSON, the wrong token or HMAC.
pub(crate) async fn challenge(
    engine: &Engine,
    client: &reqwest::Client,
    sub: &Subscription,
    max_body: usize,
) -> Result<Answer, WebhookError> {
    let failed = |why: String| WebhookError::Validation(why);
    let url = url::Url::parse(&sub.url).map_err(|e| failed(format!("the URL does not parse ({e})")))?;
    // 24 random bytes, never reused: a receiver cannot answer a challenge it has not seen.
    let mut bytes = [0u8; 24];
    engine.entropy().fill(&mut bytes);
    let plain_token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let event_id = EventId::from_entropy(engine.entropy().id_bytes());
    let now = engine.clock().now();
    let secrets = sub.signing_secrets(now);
    let mut response = send::post(
        client,
        &engine.config().webhook_allow,
        &url,
        event_id.as_str(),
        challenge_body(&plain_token),
        &secrets,
        now,
    )
    .await
    .map_err(|e| failed(format!("no answer to the challenge: {e}")))?;
    let status = response.status().as_u16();
    let body = send::read_capped(&mut response, max_body)
        .await
        .map_err(|e| failed(format!("the answer broke off: {e}")))?;
    let quoted = || truncate(String::from_utf8_lossy(&body).trim(), 200);
    if !(200..300).contains(&status) {
        return Err(failed(format!("the endpoint answered HTTP {status}: {}", quoted())));
    }
    let json: serde_json::Value =
        serde_json::from_slice(&body).map_err(|_| failed(format!("the answer is not JSON: {}", quoted())))?;
    let field = |name: &str| json.get(name).and_then(serde_json::Value::as_str);
    let (Some(plain), Some(encrypted)) = (field("plainToken"), field("encryptedToken")) else {
        return Err(failed(format!(
            "the answer lacks the string members plainToken and encryptedToken: {}",
            quoted()
        )));
    };
    if plain != plain_token {
        return Err(failed("the answer's plainToken is not the one sent".into()));
    }
    if !answer_matches(&sub.secret, &plain_token, encrypted) {
        return Err(failed(
            "the answer's encryptedToken is not hex(HMAC-SHA256(newest secret, plainToken))".into(),
        ));
    }
    Ok(Answer {
        plain_token,
        encrypted_token: encrypted.to_owned(),
    })
}
