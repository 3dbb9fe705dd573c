//! Rate limits per account and category, and the daily quota of meeting writes per host
//! (docs/api.md, "Limits").
//!
//! # Layout
//! - [`buckets`]: sharded token buckets with bounded memory (also used by the server's OAuth
//!   throttling).
//! - [`category`]: Zoom's categories (`light`, `medium`, `heavy`) and their limits.
//! - [`daily`]: the daily tally, counted from the log.
//! - this file: [`Limits`] (the settings) and the layer that enforces them on `/v1`.
//!
//! # Contract
//! - With rate limits on, every `/v1` answer carries `X-RateLimit-Category`,
//!   `X-RateLimit-Limit` (requests per second) and `X-RateLimit-Remaining`. A request of an
//!   authenticated caller draws from its account's bucket of the request's category; a request
//!   without a valid token draws from its client address's (the handler then answers 401).
//! - Over the limit: 429 problem+json `rate_limited`, `Retry-After` (seconds) and
//!   `X-RateLimit-Type: QPS`; the handler does not run.
//! - With a daily quota, `POST /v1/meetings` and `PATCH /v1/meetings/{id}` past the host's
//!   quota for the UTC day: 429 `daily_limit`, `X-RateLimit-Type: Daily-limit`, and
//!   `Retry-After` up to the next 00:00 UTC.

pub mod buckets;
pub mod category;
pub mod daily;
mod handoff;
mod openapi;

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::future::{BoxFuture, Either};
use zoom_core::id::MeetingId;
use zoom_core::principal::Principal;

pub use self::buckets::{Buckets, Decision, Rate};
pub use self::category::{Category, RateLimits};
use self::daily::DailyTally;
pub(crate) use self::openapi::RateLimitAnswers;
use crate::api::Api;
use crate::problem::Problem;

/// How many accounts (and client addresses) the rate limiter tracks at most.
pub const TRACKED_KEYS: usize = 100_000;

static CATEGORY: HeaderName = HeaderName::from_static("x-ratelimit-category");
static LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
static REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
static TYPE: HeaderName = HeaderName::from_static("x-ratelimit-type");

/// The limits the router enforces. The default enforces none (an embedder opts in; zoom-server
/// turns Zoom's on).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    /// Requests per second per account and category; `None`: no rate limits and no
    /// `X-RateLimit-*` headers.
    pub rate: Option<RateLimits>,
    /// Meeting creates and updates per host per UTC day; `None`: no quota.
    pub daily_meeting_writes: Option<u32>,
}

/// The shared state of the limits layer.
struct Enforcer {
    api: Api,
    rate: Option<(RateLimits, Buckets<3>)>,
    daily: Option<(u32, DailyTally)>,
    body_limit: usize,
}

/// The layer enforcing `limits`, or `None` when they enforce nothing.
pub(crate) fn layer(api: &Api, limits: &Limits) -> Option<LimitLayer> {
    if limits.rate.is_none() && limits.daily_meeting_writes.is_none() {
        return None;
    }
    let rate = limits.rate.map(|r| {
        let rates = Category::ALL.map(|c| {
            let n = f64::from(r.of(c));
            Rate::new(n, 2.0 * n)
        });
        (r, Buckets::new(rates, TRACKED_KEYS))
    });
    let daily = limits
        .daily_meeting_writes
        .map(|n| (n, DailyTally::new(api.engine.store().clone())));
    Some(LimitLayer(Arc::new(Enforcer {
        api: api.clone(),
        rate,
        daily,
        body_limit: api.config.body_limit,
    })))
}

/// Wraps a service in the limits.
#[derive(Clone)]
pub(crate) struct LimitLayer(Arc<Enforcer>);

impl<S> tower::Layer<S> for LimitLayer {
    type Service = Limited<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Limited {
            inner,
            enforcer: Arc::clone(&self.0),
        }
    }
}

/// The service of [`LimitLayer`].
#[derive(Clone)]
pub(crate) struct Limited<S> {
    inner: S,
    enforcer: Arc<Enforcer>,
}

impl<S> tower::Service<Request<Body>> for Limited<S>
where
    S: tower::Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<S::Future, BoxFuture<'static, Result<Response, Infallible>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        if !request.uri().path().starts_with("/v1/") {
            return Either::Left(self.inner.call(request));
        }
        // The clone that was readied is the one that serves (tower's rule for moving a service
        // into a future).
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let enforcer = Arc::clone(&self.enforcer);
        Either::Right(Box::pin(enforcer.serve(inner, request)))
    }
}

impl Enforcer {
    async fn serve<S>(self: Arc<Self>, mut inner: S, request: Request<Body>) -> Result<Response, Infallible>
    where
        S: tower::Service<Request<Body>, Response = Response, Error = Infallible>,
    {
        let category = Category::of(request.method(), request.uri().path());
        let authorization = request.headers().get(header::AUTHORIZATION).cloned();
        let principal = match authorization.as_ref().and_then(bearer_of) {
            Some(token) => self.api.auth.authenticate(token).await.ok(),
            None => None,
        };
        let mut stamp = None;
        if let Some((limits, buckets)) = &self.rate {
            let decision = match &principal {
                Some(p) => buckets.take(p.account_id.as_str(), category.slot(), Instant::now()),
                None => buckets.take(&anonymous_key(&request), category.slot(), Instant::now()),
            };
            let limit = limits.of(category);
            if !decision.allowed {
                let mut r = Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!(
                        "this account made more than {limit} {} requests per second; retry after the Retry-After delay",
                        category.as_str().to_ascii_lowercase()
                    ),
                )
                .into_response();
                let h = r.headers_mut();
                rate_headers(h, category, limit, 0);
                h.insert(TYPE.clone(), HeaderValue::from_static("QPS"));
                h.insert(header::RETRY_AFTER, HeaderValue::from(decision.retry_after_secs()));
                return Ok(r);
            }
            stamp = Some((category, limit, decision.remaining));
        }
        let request = match (&self.daily, &principal) {
            // Boxed: the quota's future is large, and only meeting writes need it.
            (Some((quota, tally)), Some(p)) => match Box::pin(self.daily_check(*quota, tally, p, request)).await {
                Ok(request) => request,
                Err(mut refused) => {
                    if let Some((c, l, rem)) = stamp {
                        rate_headers(refused.headers_mut(), c, l, rem);
                    }
                    return Ok(refused);
                }
            },
            (_, _) => request,
        };
        let handed = authorization.zip(principal);
        let mut response = handoff::with_principal(handed, inner.call(request)).await?;
        if let Some((c, l, rem)) = stamp {
            rate_headers(response.headers_mut(), c, l, rem);
        }
        Ok(response)
    }

    /// Passes `request` on (rebuilt, when its body had to be read for the host), or answers
    /// 429 `daily_limit`.
    async fn daily_check(
        &self,
        quota: u32,
        tally: &DailyTally,
        principal: &Principal,
        request: Request<Body>,
    ) -> Result<Request<Body>, Response> {
        let path = request.uri().path();
        let (host, request) = if *request.method() == Method::POST && path == "/v1/meetings" {
            let (parts, body) = request.into_parts();
            let bytes = axum::body::to_bytes(body, self.body_limit).await.map_err(|_| {
                Problem::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "the request body is larger than this server accepts",
                )
                .into_response()
            })?;
            let host = if principal.acts_for_account() {
                serde_json::from_slice::<HostOnly>(&bytes).ok().and_then(|b| b.host_id)
            } else {
                None
            }
            .unwrap_or_else(|| principal.subject.as_str().to_owned());
            (Some(host), Request::from_parts(parts, Body::from(bytes)))
        } else if *request.method() == Method::PATCH
            && let Some(id) = path.strip_prefix("/v1/meetings/")
            && !id.contains('/')
        {
            // A meeting this caller cannot see is left to the handler's 404.
            let host = match MeetingId::parse(id) {
                Ok(id) => self
                    .api
                    .engine
                    .meeting(principal, &id)
                    .await
                    .ok()
                    .map(|m| m.host_id.as_str().to_owned()),
                Err(_) => None,
            };
            (host, request)
        } else {
            (None, request)
        };
        let Some(host) = host else { return Ok(request) };
        let now = self.api.engine.clock().now();
        match tally.count(principal.account_id.as_str(), &host, now).await {
            Ok(used) if used >= quota => {
                let tomorrow = (now.date_naive() + chrono::Days::new(1))
                    .and_hms_opt(0, 0, 0)
                    .map(|t| t.and_utc())
                    .unwrap_or(now);
                let wait = (tomorrow - now).num_seconds().max(1);
                let mut r = Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "daily_limit",
                    format!("host `{host}` has used its {quota} meeting creates and updates of today (UTC); the quota resets at 00:00 UTC"),
                )
                .into_response();
                r.headers_mut()
                    .insert(TYPE.clone(), HeaderValue::from_static("Daily-limit"));
                r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait));
                Err(r)
            }
            Ok(_) => Ok(request),
            Err(e) => {
                // The quota is a guard, not a correctness rule: a store hiccup lets the write
                // through (the write itself will meet the same store).
                tracing::warn!(error = %e, "daily quota: the log could not be read; not enforced for this request");
                Ok(request)
            }
        }
    }
}

#[derive(serde::Deserialize)]
struct HostOnly {
    host_id: Option<String>,
}

fn rate_headers(h: &mut HeaderMap, category: Category, limit: u32, remaining: u32) {
    h.insert(CATEGORY.clone(), HeaderValue::from_static(category.as_str()));
    h.insert(LIMIT.clone(), number(limit));
    h.insert(REMAINING.clone(), number(remaining));
}

/// A header value of a number; those up to 4096 are formatted once and shared, so stamping an
/// answer allocates nothing.
fn number(n: u32) -> HeaderValue {
    static SMALL: std::sync::OnceLock<Vec<HeaderValue>> = std::sync::OnceLock::new();
    let small = SMALL.get_or_init(|| (0..=4096u32).map(HeaderValue::from).collect());
    usize::try_from(n)
        .ok()
        .and_then(|i| small.get(i))
        .cloned()
        .unwrap_or_else(|| HeaderValue::from(n))
}

/// Wraps the router's authenticator so that a principal the layer authenticated is handed to
/// the handler rather than authenticated again (only when the layer authenticates at all).
pub(crate) fn handoff(auth: Arc<dyn crate::Authenticator>, limits: &Limits) -> Arc<dyn crate::Authenticator> {
    if limits.rate.is_none() && limits.daily_meeting_writes.is_none() {
        return auth;
    }
    Arc::new(handoff::Handoff(auth))
}

/// The bearer token of an `Authorization` header, when it is one.
fn bearer_of(value: &HeaderValue) -> Option<&str> {
    let value = value.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The bucket of unauthenticated requests: per client address when the server supplies it.
/// The space keeps it apart from every account id (which cannot contain one).
fn anonymous_key(request: &Request<Body>) -> String {
    match request.extensions().get::<ConnectInfo<std::net::SocketAddr>>() {
        Some(ConnectInfo(addr)) => format!("anonymous {}", addr.ip()),
        None => "anonymous".to_owned(),
    }
}
