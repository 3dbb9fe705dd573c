//! The REST surface of the meeting engine as an axum [`Router`]: every route of DESIGN sections
//! 6 (the API) and 7 (the media seam), Server-Sent Events, the JWKS and the OpenAPI document.
//!
//! Build it with [`router`] from an [`Engine`], an [`Authenticator`] that turns bearer tokens into
//! principals, and an [`ApiConfig`]; mount it in your own app or serve it as it is. Scope,
//! account and host checks are the engine's: this crate parses, authenticates and maps errors.
//!
//! # Layout
//! - this file: the [`Authenticator`] seam, [`ApiConfig`], [`router`] and its layers, [`openapi`].
//! - [`CachingAuthenticator`]: remembers accepted tokens briefly, for costly verifiers.
//! - [`problem`]: RFC 9457 problem details, the one error type, and the engine-error mapping.
//! - [`views`]: the request and response bodies with their OpenAPI schemas.
//! - `extract`: authentication, JSON bodies, query strings and headers, refused precisely.
//! - `routes`: one module per resource; colon actions are dispatched from one path segment.
//!
//! # Contract
//! - Every failure is `application/problem+json` with a stable `code`; bad input of any kind is a
//!   4xx, never a 5xx or a panic (property-tested). A malformed id in a path is a 404.
//! - Every response carries `x-request-id` (the client's, or a new unique one), and every request runs
//!   in a `tracing` span that names it.
//! - Graceful shutdown is the server's: serve the router with
//!   `axum::serve(listener, app).with_graceful_shutdown(signal)`, and give the router a
//!   [`ApiConfig::shutdown`] receiver that the signal flips to `true`: event streams, which never
//!   end by themselves, then close, and the server's wait for open connections ends.
//!
//! # Example
//! ```
//! use std::sync::Arc;
//! use zoom_core::principal::{Principal, Scope};
//! use zoom_core::id::Name;
//! use zoom_http::{ApiConfig, AuthError, Authenticator};
//!
//! struct OneToken(Principal);
//!
//! #[async_trait::async_trait]
//! impl Authenticator for OneToken {
//!     async fn authenticate(&self, token: &str) -> Result<Principal, AuthError> {
//!         if token == "letmein" { Ok(self.0.clone()) } else { Err(AuthError::invalid_token("unknown token")) }
//!     }
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let store = Arc::new(zoom_store_memory::MemoryStore::new());
//! let engine = zoom_core::Engine::open(
//!     store,
//!     Arc::new(zoom_core::clock::SystemClock),
//!     Arc::new(zoom_core::clock::SystemEntropy),
//!     zoom_core::EngineConfig::new(zoom_core::files::FileUrlSigner::new("https://files.example.com/recordings", zoom_core::clock::Entropy::key_bytes(&zoom_core::clock::SystemEntropy).to_vec())),
//! ).await.unwrap();
//! let admin = Principal::app(Name::parse("acme").unwrap(), Name::parse("app").unwrap(), [Scope::Admin]);
//! let app: axum::Router = zoom_http::router(Arc::new(engine), Arc::new(OneToken(admin)), ApiConfig::default());
//! # let _ = app;
//! # });
//! ```

pub mod problem;
pub mod views;

mod auth_cache;
pub use auth_cache::CachingAuthenticator;

mod extract;
mod routes;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use zoom_core::Engine;
use zoom_core::principal::Principal;

use crate::problem::{Problem, ProblemDocument};
use crate::views::{Health200, Jwks};

/// Turns bearer tokens into principals: the seam where an embedder plugs their identity provider
/// (the server plugs its own OAuth access tokens).
///
/// Called once per authenticated request, before the handler reads the body. Implementations
/// should not block the runtime; they may be called concurrently.
#[async_trait::async_trait]
pub trait Authenticator: Send + Sync + 'static {
    /// Turns a bearer token into the caller's principal. An Err becomes 401 problem+json with the
    /// error's code.
    ///
    /// # Errors
    /// [`AuthError`] when the token is unknown, expired, malformed or revoked.
    async fn authenticate(&self, bearer_token: &str) -> Result<Principal, AuthError>;
}

/// A refused bearer token: answered 401 with `code` and `detail` and `WWW-Authenticate: Bearer`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct AuthError {
    /// The stable problem code, e.g. `invalid_token`.
    pub code: &'static str,
    /// Why, for a person to read (shown to the client).
    pub detail: String,
}

impl AuthError {
    /// `invalid_token` with this detail.
    pub fn invalid_token(detail: impl Into<String>) -> Self {
        Self {
            code: "invalid_token",
            detail: detail.into(),
        }
    }
}

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Largest accepted request body in bytes; larger is 413 `payload_too_large`. Default 1 MiB.
    pub body_limit: usize,
    /// Interval of keep-alive comments on event streams. Default 15 s.
    pub sse_keep_alive: Duration,
    /// How often an event stream looks for new events. Default 250 ms.
    pub sse_poll: Duration,
    /// When this turns `true`, open event streams end, so a graceful shutdown is not held up by
    /// clients that never hang up. `None`: streams end only when their clients leave.
    pub shutdown: Option<tokio::sync::watch::Receiver<bool>>,
    /// Notified after every successful write (a 2xx answer to a method other than GET and
    /// HEAD), so a webhook worker in the same process can look at the log at once instead of
    /// waiting for its next poll. `None`: nobody is told.
    pub commits: Option<Arc<tokio::sync::Notify>>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            body_limit: 1024 * 1024,
            sse_keep_alive: Duration::from_secs(15),
            sse_poll: Duration::from_millis(250),
            shutdown: None,
            commits: None,
        }
    }
}

/// What every handler shares. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Api {
    pub(crate) engine: Arc<Engine>,
    pub(crate) auth: Arc<dyn Authenticator>,
    pub(crate) config: Arc<ApiConfig>,
}

/// The router of every route of DESIGN sections 6 and 7 except `POST /oauth/token`, with
/// `/openapi.json`, `/.well-known/jwks.json` and `/healthz`, request ids, tracing spans, the body
/// limit, and problem+json for unknown paths, wrong methods and panics.
pub fn router(engine: Arc<Engine>, auth: Arc<dyn Authenticator>, config: ApiConfig) -> Router {
    use routes::{events, media, meetings, participants, recordings, webhooks};
    let body_limit = config.body_limit;
    let commits = config.commits.clone();
    let api = Api {
        engine,
        auth,
        config: Arc::new(config),
    };
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/openapi.json", get(openapi_json))
        .route("/v1/meetings", post(meetings::schedule).get(meetings::list))
        .route(
            "/v1/meetings/{id}",
            get(meetings::get)
                .patch(meetings::patch)
                .delete(meetings::cancel)
                .post(meetings::action),
        )
        .route("/v1/meetings/{id}/joinToken", post(meetings::join_token))
        .route("/v1/meetings/{id}/participants", get(participants::list))
        .route(
            "/v1/meetings/{id}/participants/{pid}",
            axum::routing::patch(participants::patch)
                .delete(participants::remove)
                .post(participants::action),
        )
        .route("/v1/meetings/{id}/participants/{pid}/mute", post(participants::mute))
        .route("/v1/meetings/{id}/recordings", get(recordings::list))
        .route("/v1/meetings/{id}/events", get(events::stream))
        .route("/v1/meetings/{id}/{action}", post(recordings::action))
        .route("/v1/recordings/{rec_id}", get(recordings::get))
        .route("/v1/webhooks", post(webhooks::create).get(webhooks::list))
        .route(
            "/v1/webhooks/{id}",
            axum::routing::delete(webhooks::delete).post(webhooks::action),
        )
        .route("/v1/webhooks/{id}/deliveries", get(webhooks::deliveries))
        .route("/v1/media/joins", post(media::join))
        .route("/v1/media/leaves", post(media::leave))
        .route("/v1/media/recordings/{rec_id}", post(media::recording_action))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(api);
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
        .layer(DefaultBodyLimit::max(body_limit))
        .option_layer(commits.map(TellCommitsLayer))
        .service(router);
    Router::new().fallback_service(stack)
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

/// Wakes whoever waits on [`ApiConfig::commits`] after a successful write. Reads pass
/// through untouched (their future is the inner one, not a boxed wrapper).
#[derive(Clone)]
struct TellCommitsLayer(Arc<tokio::sync::Notify>);

impl<S> tower::Layer<S> for TellCommitsLayer {
    type Service = TellCommits<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TellCommits {
            inner,
            notify: Arc::clone(&self.0),
        }
    }
}

#[derive(Clone)]
struct TellCommits<S> {
    inner: S,
    notify: Arc<tokio::sync::Notify>,
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
        let read = matches!(*request.method(), axum::http::Method::GET | axum::http::Method::HEAD);
        let answer = self.inner.call(request);
        if read {
            return futures::future::Either::Left(answer);
        }
        let notify = Arc::clone(&self.notify);
        futures::future::Either::Right(Box::pin(async move {
            let response = answer.await?;
            if response.status().is_success() {
                notify.notify_one();
            }
            Ok(response)
        }))
    }
}

async fn not_found() -> Problem {
    Problem::not_found("no such path")
}

async fn method_not_allowed() -> Problem {
    routes::method_not_allowed()
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

/// Liveness.
#[utoipa::path(get, path = "/healthz", operation_id = "meta.healthz", tag = "meta",
    responses((status = 200, description = "Serving", body = Health200)))]
async fn healthz() -> Response {
    (StatusCode::OK, axum::Json(Health200 { status: "ok".into() })).into_response()
}

/// The join-token public keys (current and previous).
#[utoipa::path(get, path = "/.well-known/jwks.json", operation_id = "meta.jwks", tag = "meta",
    responses((status = 200, description = "A JWKS", body = Jwks)))]
async fn jwks(State(api): State<Api>) -> Response {
    (StatusCode::OK, axum::Json(api.engine.jwks())).into_response()
}

async fn openapi_json() -> Response {
    static DOC: OnceLock<Vec<u8>> = OnceLock::new();
    let body = DOC.get_or_init(|| serde_json::to_vec(&openapi()).unwrap_or_default());
    let mut r = (StatusCode::OK, body.clone()).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "zoom meeting engine API", description = "The REST surface and media seam of the meeting engine (DESIGN sections 6 and 7)."),
    paths(
        healthz, jwks,
        routes::meetings::schedule, routes::meetings::list, routes::meetings::get, routes::meetings::patch,
        routes::meetings::cancel, routes::meetings::end, routes::meetings::join_token,
        routes::events::stream,
        routes::participants::list, routes::participants::patch, routes::participants::remove,
        routes::participants::admit, routes::participants::mute,
        routes::recordings::start, routes::recordings::stop, routes::recordings::list, routes::recordings::get,
        routes::webhooks::create, routes::webhooks::list, routes::webhooks::delete,
        routes::webhooks::rotate_secret, routes::webhooks::deliveries,
        routes::media::join, routes::media::leave, routes::media::complete, routes::media::fail,
    ),
    components(schemas(ProblemDocument)),
    modifiers(&BearerAuth),
)]
struct ApiDoc;

/// The OpenAPI 3.1 document served at `GET /openapi.json`, generated from the handlers' annotations.
pub fn openapi() -> serde_json::Value {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    serde_json::to_value(&doc).unwrap_or_default()
}
