//! One HTTP attempt: build the client, sign, POST, classify the answer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue, RETRY_AFTER};
use zoom_core::signature::{WebhookSecret, sign_request};
use zoom_core::webhook::address::AllowList;

use crate::config::{USER_AGENT, WorkerConfig};
use crate::error::WebhookError;
use crate::guard::{GuardedResolver, Resolver, check_destination};

/// Builds the delivery client: redirects never followed, no retries of its own, no proxy (a
/// proxy would connect on our behalf and bypass the address checks), the guarded resolver,
/// certificate verification on (the default), and the whole-request timeout.
///
/// # Errors
/// [`WebhookError::Client`] when the TLS backend cannot be initialised.
pub(crate) fn client(config: &WorkerConfig) -> Result<reqwest::Client, WebhookError> {
    build_client(
        &config.allow,
        Arc::clone(&config.resolver),
        config.timeout,
        config.max_in_flight_per_subscription.max(1),
    )
}

/// [`client`] from its parts: the allow-list and resolver of the guard, the whole-request
/// timeout, and how many idle connections to keep per host.
///
/// # Errors
/// [`WebhookError::Client`] when the TLS backend cannot be initialised.
pub(crate) fn build_client(
    allow: &AllowList,
    resolver: Arc<dyn Resolver>,
    timeout: Duration,
    idle_per_host: usize,
) -> Result<reqwest::Client, WebhookError> {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(GuardedResolver::with(allow.clone(), resolver))
        .timeout(timeout)
        .connect_timeout(timeout)
        .pool_max_idle_per_host(idle_per_host)
        // The worker owns retries (its schedule, its delivery log): no transparent replays
        // underneath, and no copy of every request kept for one.
        .retry(reqwest::retry::never().max_retries_per_request(0))
        .build()
        .map_err(|e| WebhookError::Client(chain(&e)))
}

/// What one attempt produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    /// The status code, when the receiver answered.
    pub status: Option<u16>,
    /// Time to the answer (and the capped body) or to the error.
    pub latency: Duration,
    /// What went wrong, `None` on 2xx.
    pub error: Option<String>,
    /// A `Retry-After` delay on 429 and 503.
    pub retry_after: Option<Duration>,
}

/// The parts of an attempt that do not change between retries.
pub(crate) struct Request<'a> {
    /// The subscription's URL, parsed once per subscription version (the error when it does not
    /// parse).
    pub url: Result<&'a url::Url, &'a str>,
    pub event_id: &'a str,
    /// The delivery's body, moved into the request rather than copied.
    pub body: String,
    pub secrets: &'a [WebhookSecret],
}

/// Sends one signed attempt. Never fails: every problem becomes an [`Answer`] with an error.
pub(crate) async fn attempt(
    client: &reqwest::Client,
    allow: &AllowList,
    max_body: usize,
    request: Request<'_>,
    now: DateTime<Utc>,
) -> Answer {
    let started = Instant::now();
    let fail = |error: String| Answer {
        status: None,
        latency: started.elapsed(),
        error: Some(error),
        retry_after: None,
    };
    let url = match request.url {
        Ok(u) => u,
        Err(e) => return fail(format!("destination refused: bad URL ({e})")),
    };
    let mut response = match post(client, allow, url, request.event_id, request.body, request.secrets, now).await {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let status = response.status().as_u16();
    let retry_after = matches!(status, 429 | 503)
        .then(|| response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()))
        .flatten()
        .and_then(|v| parse_retry_after(v, now));
    // Read a small capped part of the body: enough to quote in the delivery log, never more, so
    // a receiver answering with gigabytes cannot hold a worker.
    let snippet = match read_capped(&mut response, max_body).await {
        Ok(s) => s,
        Err(e) => {
            return Answer {
                status: Some(status),
                latency: started.elapsed(),
                error: Some(e),
                retry_after,
            };
        }
    };
    let latency = started.elapsed();
    let error = match status {
        200..=299 => None,
        300..=399 => Some(format!(
            "HTTP {status}: redirects are not followed{}",
            response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(|l| format!(" (Location: {})", truncate(l, 200)))
                .unwrap_or_default()
        )),
        _ => {
            let text = String::from_utf8_lossy(&snippet);
            let text = truncate(text.trim(), 200);
            Some(if text.is_empty() {
                format!("HTTP {status}")
            } else {
                format!("HTTP {status}: {text}")
            })
        }
    };
    Answer {
        status: Some(status),
        latency,
        error,
        retry_after,
    }
}

/// Checks the destination, signs `body` with both schemes (a fresh timestamp, `webhook-id` =
/// `event_id`) and POSTs it. Redirects are not followed (the client never does).
///
/// # Errors
/// Why no answer came: a refused destination, an unsendable header, a connection error or a
/// timeout, in words for the delivery log (never naming a resolved address).
pub(crate) async fn post(
    client: &reqwest::Client,
    allow: &AllowList,
    url: &url::Url,
    event_id: &str,
    body: String,
    secrets: &[WebhookSecret],
    now: DateTime<Utc>,
) -> Result<reqwest::Response, String> {
    check_destination(url, allow).map_err(|e| e.to_string())?;
    let signed = sign_request(secrets, event_id, now.timestamp(), body.as_bytes());
    // The request is built whole and handed to `execute`: the builder would copy every header
    // into a map of its own.
    let mut http = reqwest::Request::new(reqwest::Method::POST, url.clone());
    let headers = http.headers_mut();
    headers.reserve(6);
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for (name, value) in signed.into_pairs() {
        // The names are constants (`from_static` keeps them without a copy); the values are
        // moved in, not copied.
        let value = HeaderValue::try_from(value).map_err(|_| format!("cannot send header {name}"))?;
        headers.insert(HeaderName::from_static(name), value);
    }
    *http.body_mut() = Some(body.into());
    client.execute(http).await.map_err(|e| describe(&e))
}

/// Reads at most `max` bytes of an answer's body and drops the rest.
///
/// # Errors
/// The connection failed while reading.
pub(crate) async fn read_capped(response: &mut reqwest::Response, max: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    while out.len() < max {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = max - out.len();
                out.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) => break,
            Err(e) => return Err(format!("reading the answer: {}", describe(&e))),
        }
    }
    Ok(out)
}

pub(crate) fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).filter(|c| !c.is_control()).collect()
}

/// A `reqwest` error with its causes, since the top-level message alone ("error sending
/// request") hides whether it was a refusal, a timeout or a reset.
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return format!("timed out: {}", chain(e));
    }
    chain(e)
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// Parses `Retry-After`: delay seconds, or an HTTP date (IMF-fixdate, which RFC 2822 parsing
/// accepts). A date in the past is a zero delay.
pub(crate) fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        let now = Utc.with_ymd_and_hms(2015, 10, 21, 7, 28, 0).single().expect("time");
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }
}
