//! The [`Router`]: every route, and the layers every answer passes through (request ids,
//! tracing, panics, request limits, colon actions, the body limit, the commit notifier).
//!
//! Colon actions (`/v1/meetings/{id}:end`) cannot be routed by axum, which allows no literal
//! after a parameter in one segment. Before routing, [`action_paths`] rewrites the first colon of
//! a segment into a segment of its own (`/v1/meetings/{id}/:end`), so every action is an ordinary
//! route with its own typed extractors, and a wrong method on it is 405 with `Allow` like any
//! other. The documented paths stay the colon forms.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Method, Request, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use zoom_core::Engine;

use crate::api::{Api, ApiConfig};
use crate::auth::Authenticator;
use crate::problem::Problem;
use crate::routes::{
    accounts, apps, authorizations, events, media, meetings, meta, participants, recordings, users, webhooks,
};

/// The router of every route of docs/api.md except `POST /oauth/token`, with `/openapi.json`,
/// `/.well-known/jwks.json` and `/healthz`, request ids, tracing spans, the body limit, and
/// problem+json for unknown paths, wrong methods, oversized requests and panics.
pub fn router(engine: Arc<Engine>, auth: Arc<dyn Authenticator>, config: ApiConfig) -> Router {
    router_with(engine, auth, config, Router::new())
}

/// [`router`] with `extra` routes of the embedder's (the server's `POST /oauth/token`) served
/// behind the same layers: they get request ids, tracing, limits and problem+json for wrong
/// methods too. An extra route must not repeat one of ours.
pub fn router_with(engine: Arc<Engine>, auth: Arc<dyn Authenticator>, config: ApiConfig, extra: Router) -> Router {
    let body_limit = config.body_limit;
    let limits = RequestLimits {
        uri: config.uri_limit,
        headers: config.header_limit,
    };
    // The router's writes always wake its hub; an embedder's signal also reaches its webhook
    // worker and whatever else follows the log.
    let (hub, commits) = match (&config.hub, &config.commits) {
        (Some(hub), commits) => (hub.clone(), commits.clone().unwrap_or_else(|| hub.commits().clone())),
        (None, commits) => {
            let commits = commits.clone().unwrap_or_default();
            let hub = crate::StreamHub::new(
                Arc::clone(&engine),
                commits.clone(),
                config.sse_poll,
                config.stream_buffer,
            );
            (hub, commits)
        }
    };
    let auth = crate::limits::handoff(auth, &config.limits);
    let webhooks = Arc::new(zoom_webhooks::SelfService::new(
        Arc::clone(&engine),
        config.webhooks.clone(),
    ));
    let cors = cors_layer(&config.cors_origins);
    let api = Api {
        engine,
        auth,
        config: Arc::new(config),
        webhooks,
        hub,
        tickets: Arc::default(),
    };
    let rate_limits = crate::limits::layer(&api, &api.config.limits);
    // Action routes are literal segments starting with a colon, which axum 0.8 refuses by
    // default (they meant parameters in 0.7).
    let router = Router::new()
        .without_v07_checks()
        .route("/healthz", get(meta::healthz))
        .route("/.well-known/jwks.json", get(meta::jwks))
        .route("/openapi.json", get(meta::openapi_json))
        .route("/v1/meetings", post(meetings::schedule).get(meetings::list))
        .route(
            "/v1/meetings/{id}",
            get(meetings::get).patch(meetings::patch).delete(meetings::cancel),
        )
        .route("/v1/meetings/{id}/:end", post(meetings::end))
        .route("/v1/meetings/{id}/joinToken", post(meetings::join_token))
        .route("/v1/meetings/{id}/participants", get(participants::list))
        .route("/v1/meetings/{id}/participants/:muteAll", post(participants::mute_all))
        .route(
            "/v1/meetings/{id}/participants/{pid}",
            patch(participants::patch).delete(participants::remove),
        )
        .route("/v1/meetings/{id}/participants/{pid}/:admit", post(participants::admit))
        .route("/v1/meetings/{id}/participants/{pid}/mute", post(participants::mute))
        .route("/v1/meetings/{id}/recordings", get(recordings::list))
        .route("/v1/meetings/{id}/recordings/:start", post(recordings::start))
        .route("/v1/meetings/{id}/recordings/:stop", post(recordings::stop))
        .route("/v1/meetings/{id}/events", get(events::stream))
        .route("/v1/events", get(events::account))
        .route("/v1/stream-tickets", post(events::ticket))
        .route("/v1/recordings/{rec_id}", get(recordings::get))
        .route("/v1/webhooks", post(webhooks::create).get(webhooks::list))
        .route(
            "/v1/webhooks/{id}",
            get(webhooks::get).patch(webhooks::patch).delete(webhooks::delete),
        )
        .route("/v1/webhooks/{id}/:rotateSecret", post(webhooks::rotate_secret))
        .route("/v1/webhooks/{id}/:redeliver", post(webhooks::redeliver))
        .route("/v1/webhooks/{id}/:ping", post(webhooks::ping))
        .route("/v1/webhooks/{id}/:validate", post(webhooks::validate))
        .route("/v1/webhooks/{id}/deliveries", get(webhooks::deliveries))
        .route("/v1/accounts", post(accounts::create).get(accounts::list))
        .route("/v1/accounts/{id}", get(accounts::get).patch(accounts::patch))
        .route("/v1/users", post(users::create).get(users::list))
        .route("/v1/users/me", get(users::me))
        .route(
            "/v1/users/{id}",
            get(users::get).patch(users::patch).delete(users::deactivate),
        )
        .route("/v1/apps", post(apps::create).get(apps::list))
        .route(
            "/v1/apps/{client_id}",
            get(apps::get).patch(apps::patch).delete(apps::disable),
        )
        .route("/v1/apps/{client_id}/:rotateSecret", post(apps::rotate_secret))
        .route("/v1/marketplace/apps", get(apps::marketplace))
        .route("/v1/authorizations", get(authorizations::list))
        .route("/v1/authorizations/{id}", delete(authorizations::revoke))
        .route("/v1/media/joins", post(media::join))
        .route("/v1/media/leaves", post(media::leave))
        .route("/v1/media/recordings/{rec_id}/:complete", post(media::complete))
        .route("/v1/media/recordings/{rec_id}/:fail", post(media::fail))
        .with_state(api)
        .merge(extra)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    // The layers wrap the router once, as one service stack behind a fallback, rather than
    // each route (`Router::layer`), which would clone the whole stack out of a box per request.
    let stack = tower::ServiceBuilder::new()
        .layer(SetRequestIdLayer::x_request_id(RequestIds::new()))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(CatchPanicLayer::custom(panicked))
        .option_layer(cors)
        .map_request(action_paths::<axum::body::Body>)
        .layer(tower::util::option_layer(limits.active().then_some(limits)))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(TellCommitsLayer(commits))
        .option_layer(rate_limits)
        .service(router);
    Router::new().fallback_service(stack)
}

/// Browser apps of these origins may call the API (preflights answered, `Authorization` and
/// `Last-Event-ID` allowed, the rate-limit and request-id headers readable); none: no CORS.
fn cors_layer(origins: &[axum::http::HeaderValue]) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::{Method, header};
    if origins.is_empty() {
        return None;
    }
    Some(
        tower_http::cors::CorsLayer::new()
            .allow_origin(origins.to_vec())
            .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::HeaderName::from_static("idempotency-key"),
                header::HeaderName::from_static("last-event-id"),
            ])
            .expose_headers([
                header::HeaderName::from_static("x-request-id"),
                header::RETRY_AFTER,
                header::LOCATION,
            ])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

/// Rewrites `…/<resource>:<action>` into `…/<resource>/:<action>` (see the module doc). A
/// segment that already starts with a colon is escaped (`%3A`), so no outside path reaches an
/// action route except through its documented colon form.
fn action_paths<B>(mut request: Request<B>) -> Request<B> {
    let path = request.uri().path();
    if !path.contains(':') {
        return request;
    }
    let mut rewritten = String::with_capacity(path.len() + 8);
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            rewritten.push('/');
        }
        match segment.find(':') {
            Some(0) => rewritten.push_str(&segment.replace(':', "%3A")),
            Some(at) => {
                rewritten.push_str(&segment[..at]);
                rewritten.push('/');
                rewritten.push_str(&segment[at..]);
            }
            None => rewritten.push_str(segment),
        }
    }
    if let Some(query) = request.uri().query() {
        rewritten.push('?');
        rewritten.push_str(query);
    }
    let mut parts = request.uri().clone().into_parts();
    if let Ok(pq) = rewritten.parse() {
        parts.path_and_query = Some(pq);
        if let Ok(uri) = Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
    request
}

/// The request target and header limits of [`ApiConfig`]: 414 and 431 as problem+json, before
/// any routing.
#[derive(Clone, Copy)]
struct RequestLimits {
    uri: usize,
    headers: usize,
}

impl RequestLimits {
    fn active(self) -> bool {
        self.uri > 0 || self.headers > 0
    }

    fn check<B>(self, request: &Request<B>) -> Result<(), Problem> {
        let target = request.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
        if self.uri > 0 && target > self.uri {
            return Err(Problem::new(
                StatusCode::URI_TOO_LONG,
                "uri_too_long",
                format!("the request target is longer than {} bytes", self.uri),
            ));
        }
        if self.headers > 0 {
            // As on the wire: `name: value\r\n`.
            let size: usize = request
                .headers()
                .iter()
                .map(|(k, v)| k.as_str().len() + v.len() + 4)
                .sum();
            if size > self.headers {
                return Err(Problem::new(
                    StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                    "headers_too_large",
                    format!("the request's headers are larger than {} bytes", self.headers),
                ));
            }
        }
        Ok(())
    }
}

impl<S> tower::Layer<S> for RequestLimits {
    type Service = Limited<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Limited { inner, limits: *self }
    }
}

#[derive(Clone)]
struct Limited<S> {
    inner: S,
    limits: RequestLimits,
}

impl<S, B> tower::Service<Request<B>> for Limited<S>
where
    S: tower::Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = futures::future::Either<S::Future, std::future::Ready<Result<Response, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        match self.limits.check(&request) {
            Ok(()) => futures::future::Either::Left(self.inner.call(request)),
            Err(problem) => futures::future::Either::Right(std::future::ready(Ok(problem.into_response()))),
        }
    }
}

/// Makes request ids `<process prefix>-<counter>`: unique within the process and across
/// restarts (the prefix is random per router), without a system call per request as a random
/// UUID would cost.
#[derive(Clone)]
struct RequestIds {
    prefix: Arc<str>,
    next: Arc<std::sync::atomic::AtomicU64>,
}

impl RequestIds {
    fn new() -> Self {
        let random = uuid::Uuid::new_v4().simple().to_string();
        Self {
            prefix: Arc::from(&random[..12]),
            next: Arc::new(std::sync::atomic::AtomicU64::new(1)),
        }
    }
}

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n}", self.prefix))
            .ok()
            .map(RequestId::new)
    }
}

/// Wakes whoever waits on [`ApiConfig::commits`] (and the router's stream hub) after a
/// successful write. Reads pass through untouched (their future is the inner one, not a boxed
/// wrapper).
#[derive(Clone)]
struct TellCommitsLayer(crate::CommitSignal);

impl<S> tower::Layer<S> for TellCommitsLayer {
    type Service = TellCommits<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TellCommits {
            inner,
            notify: self.0.clone(),
        }
    }
}

#[derive(Clone)]
struct TellCommits<S> {
    inner: S,
    notify: crate::CommitSignal,
}

impl<S, B> tower::Service<Request<B>> for TellCommits<S>
where
    S: tower::Service<Request<B>, Response = Response>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = futures::future::Either<S::Future, futures::future::BoxFuture<'static, Result<Response, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let read = matches!(*request.method(), Method::GET | Method::HEAD);
        let answer = self.inner.call(request);
        if read {
            return futures::future::Either::Left(answer);
        }
        let notify = self.notify.clone();
        futures::future::Either::Right(Box::pin(async move {
            let response = answer.await?;
            if response.status().is_success() {
                notify.notify();
            }
            Ok(response)
        }))
    }
}

async fn not_found() -> Problem {
    Problem::not_found("no such path")
}

/// 405; axum adds the `Allow` header listing the path's methods.
async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this method is not allowed on this path; `Allow` lists those that are",
    )
}

/// A panic is a bug; the client gets a problem, the log gets the payload.
fn panicked(payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("panic");
    Problem::internal(&format!("handler panicked: {what}")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(path: &str) -> String {
        let request = Request::builder().uri(path).body(()).unwrap_or_else(|e| panic!("{e}"));
        action_paths(request).uri().to_string()
    }

    #[test]
    fn colon_actions_become_segments_and_bare_colons_are_escaped() {
        assert_eq!(rewritten("/v1/meetings/mtg_1:end"), "/v1/meetings/mtg_1/:end");
        assert_eq!(
            rewritten("/v1/meetings/mtg_1/recordings:start?x=1"),
            "/v1/meetings/mtg_1/recordings/:start?x=1"
        );
        assert_eq!(rewritten("/v1/meetings/mtg_1/:end"), "/v1/meetings/mtg_1/%3Aend");
        assert_eq!(rewritten("/v1/meetings/mtg_1"), "/v1/meetings/mtg_1");
    }
}
