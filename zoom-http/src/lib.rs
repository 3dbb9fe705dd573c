//! The REST surface of the meeting engine as an axum [`Router`]: every route of docs/api.md (the
//! API and the media seam), Server-Sent Events, the JWKS and the OpenAPI document.
//!
//! Build it with [`router`] from an [`Engine`](zoom_core::Engine), an [`Authenticator`] that
//! turns bearer tokens into principals, and an [`ApiConfig`]; mount it in your own app or serve
//! it as it is. Scope, account and host checks are the engine's: this crate parses,
//! authenticates and maps errors.
//!
//! # Layout
//! - `auth`: the [`Authenticator`] seam, [`AuthError`], and [`CachingAuthenticator`], which
//!   remembers accepted tokens briefly for costly verifiers.
//! - `api`: [`ApiConfig`] and the state every handler shares.
//! - `router`: [`router`] and its layers (request ids, limits, colon actions, commits).
//! - `signal`: [`CommitSignal`], "the log has grown", told to every follower of the log in the
//!   process (the stream hub, a webhook worker).
//! - `streams`: the live event streams, fed by one [`StreamHub`] per router.
//! - `extract`: typed extractors for the caller, bodies, ids, queries and headers, each refusing
//!   with a precise problem.
//! - `routes`: one module per resource, handlers of a few lines each; the identity routes
//!   (accounts, users, apps) call the [`zoom_auth::Directory`] of [`ApiConfig::directory`] and
//!   answer 404 without one.
//! - [`problem`]: RFC 9457 problem details, the one error type, and the engine-error mapping.
//! - [`views`]: the request and response bodies with their OpenAPI schemas, one module per
//!   resource.
//! - `openapi`: the document, and the problem answers, security, links and webhooks every route
//!   shares.
//!
//! # Contract
//! - Every failure is `application/problem+json` with a stable `code`, the framework's own
//!   included (404 for an unknown path, 405 with `Allow`, 413, 414, 431); bad input of any kind
//!   is a 4xx, never a 5xx or a panic (property-tested). A malformed id in a path is a 404.
//! - Every response carries `x-request-id` (the client's, or a new unique one), and every request
//!   runs in a `tracing` span that names it.
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

pub mod limits;
pub mod problem;
pub mod views;

mod api;
mod auth;
mod extract;
mod openapi;
mod router;
mod routes;
mod signal;
mod streams;

pub use api::ApiConfig;
pub use auth::{AuthError, Authenticator, CachingAuthenticator};
pub use extract::MAX_IDEMPOTENCY_KEY;
pub use openapi::openapi;
pub use router::{router, router_with};
pub use signal::{CommitSignal, CommitWaiter};
pub use streams::StreamHub;
