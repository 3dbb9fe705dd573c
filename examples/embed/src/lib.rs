//! Mounting `zoom-http` in your own axum app, with your own [`Authenticator`].
//!
//! Routes: your own `GET /` next to every route of `zoom-http` (`/v1/…`, `/healthz`,
//! `/openapi.json`, `/.well-known/jwks.json`).
//!
//! Run: `cargo run -p embed-example`, then
//! `curl -H 'Authorization: Bearer demo-key' http://127.0.0.1:8090/v1/meetings`.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let app = embed_example::app(embed_example::ApiKeys::demo()).await.unwrap();
//! # let _ = app;
//! # });
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use zoom_core::id::Name;
use zoom_core::principal::{Principal, Scope};
use zoom_http::{ApiConfig, AuthError, Authenticator};

/// Your identity provider: here, API keys mapped to principals. A real one would verify a JWT
/// from your login service or look a session up in your database.
#[derive(Debug, Clone, Default)]
pub struct ApiKeys(HashMap<String, Principal>);

impl ApiKeys {
    /// One key, `demo-key`, for an app of account `demo` holding every scope.
    pub fn demo() -> Self {
        let mut keys = HashMap::new();
        if let (Ok(account), Ok(client)) = (Name::parse("demo"), Name::parse("demo-app")) {
            keys.insert("demo-key".to_owned(), Principal::app(account, client, Scope::ALL));
        }
        Self(keys)
    }

    /// Adds a key.
    pub fn with(mut self, key: &str, principal: Principal) -> Self {
        self.0.insert(key.to_owned(), principal);
        self
    }
}

#[async_trait::async_trait]
impl Authenticator for ApiKeys {
    async fn authenticate(&self, bearer_token: &str) -> Result<Principal, AuthError> {
        self.0
            .get(bearer_token)
            .cloned()
            .ok_or_else(|| AuthError::invalid_token("unknown API key"))
    }
}

/// Your app: your own routes merged with the meeting API, on an in-memory store.
///
/// # Errors
/// When the engine cannot open its store.
pub async fn app(keys: ApiKeys) -> Result<Router, zoom_core::EngineError> {
    app_with_shutdown(keys, None).await
}

/// [`app`], with a receiver that ends open event streams when it turns `true` (for graceful
/// shutdown).
///
/// # Errors
/// When the engine cannot open its store.
pub async fn app_with_shutdown(
    keys: ApiKeys,
    shutdown: Option<tokio::sync::watch::Receiver<bool>>,
) -> Result<Router, zoom_core::EngineError> {
    let store: Arc<dyn zoom_core::store::Store> = Arc::new(zoom_store_memory::MemoryStore::new());
    let clock: Arc<dyn zoom_core::clock::Clock> = Arc::new(zoom_core::clock::SystemClock);
    let entropy: Arc<dyn zoom_core::clock::Entropy> = Arc::new(zoom_core::clock::SystemEntropy);
    // The key that signs recording file URLs is generated once and kept in the store.
    let file_urls =
        zoom_core::engine::stored_file_url_signer(&store, &clock, &entropy, "https://files.example.com/recordings")
            .await?;
    let engine = zoom_core::Engine::open(store, clock, entropy, zoom_core::EngineConfig::new(file_urls)).await?;
    let config = ApiConfig {
        shutdown,
        ..ApiConfig::default()
    };
    let meetings = zoom_http::router(Arc::new(engine), Arc::new(keys), config);
    Ok(Router::new()
        .route("/", get(|| async { "my product, with meetings under /v1\n" }))
        .merge(meetings))
}
