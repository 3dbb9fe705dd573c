//! The identity harness: a router with a [`Directory`] on the same memory store, and an
//! authenticator that knows a platform token and the client credentials of every app the
//! directory holds (`<client_id>:<secret>` as the bearer token), refusing those of a disabled
//! app or account, behind the same [`CachingAuthenticator`] the server uses.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};
use zoom_auth::account::AccountStatus;
use zoom_auth::password::PasswordParams;
use zoom_auth::{Directory, DirectoryConfig};
use zoom_core::Engine;
use zoom_core::clock::{ManualClock, SeededEntropy};
use zoom_core::id::Name;
use zoom_core::principal::{Principal, Scope};
use zoom_core::testing::kit;
use zoom_http::{ApiConfig, AuthError, Authenticator, CachingAuthenticator};

use super::{TestApp, post};

/// The platform account of these tests.
pub const PLATFORM: &str = "operator";

/// `platform` (every scope, platform account), `platform-admin` (the platform account, every
/// scope but `platform`), `nothing` (the platform account, no scope), else client credentials.
pub struct Credentials {
    directory: Directory,
}

#[async_trait::async_trait]
impl Authenticator for Credentials {
    async fn authenticate(&self, token: &str) -> Result<Principal, AuthError> {
        let platform = Name::parse(PLATFORM).unwrap();
        match token {
            "platform" => return Ok(Principal::app(platform, Name::parse("root").unwrap(), Scope::ALL)),
            "platform-admin" => return Ok(Principal::app(platform, Name::parse("ops").unwrap(), [Scope::Admin])),
            "nothing" => return Ok(Principal::app(platform, Name::parse("none").unwrap(), [])),
            _ => {}
        }
        let refused = || AuthError::invalid_token("unknown, disabled or wrong credentials");
        let (id, secret) = token.split_once(':').ok_or_else(refused)?;
        let id = Name::parse(id).map_err(|_| refused())?;
        let app = self
            .directory
            .authenticate_app(&id, secret)
            .await
            .map_err(|e| AuthError::invalid_token(e.to_string()))?
            .ok_or_else(refused)?;
        let account = self
            .directory
            .find_account(&app.account_id)
            .await
            .map_err(|e| AuthError::invalid_token(e.to_string()))?;
        if account.is_some_and(|a| a.status == AccountStatus::Disabled) {
            return Err(AuthError::invalid_token("the account is disabled"));
        }
        Ok(Principal::app(app.account_id, app.client_id, app.scopes))
    }
}

/// A router with a directory (platform account [`PLATFORM`]).
pub async fn identity_app() -> TestApp {
    let clock = Arc::new(ManualClock::new(kit::t0()));
    let store = Arc::new(zoom_store_memory::MemoryStore::new());
    let entropy = Arc::new(SeededEntropy::new(7));
    let engine = Arc::new(
        Engine::open(store.clone(), clock.clone(), entropy.clone(), kit::engine_config())
            .await
            .unwrap(),
    );
    let mut config = DirectoryConfig::new(Name::parse(PLATFORM).unwrap());
    config.password = PasswordParams::insecure_for_tests();
    let directory = Directory::new(store, clock.clone(), entropy, config).unwrap();
    let auth = CachingAuthenticator::new(
        Credentials {
            directory: directory.clone(),
        },
        Duration::from_secs(3600),
        1000,
    );
    let api = ApiConfig {
        directory: Some(directory),
        ..ApiConfig::default()
    };
    let router = zoom_http::router(engine.clone(), Arc::new(auth), api);
    TestApp { router, engine, clock }
}

/// An account made through the API, with its admin app's bearer token.
pub struct Tenant {
    /// The account id.
    pub id: String,
    /// `<client_id>:<secret>` of its admin app.
    pub token: String,
    /// The admin app's client id.
    pub client_id: String,
}

/// Creates an account named `name` (with `id` when given) as the platform.
pub async fn tenant(app: &TestApp, name: &str, id: Option<&str>) -> Tenant {
    let mut body = json!({"name": name});
    if let Some(id) = id {
        body["id"] = json!(id);
    }
    let a = post("/v1/accounts").token("platform").json(body).send(app).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let admin = &a.body["admin_app"];
    Tenant {
        id: a.id(),
        token: credentials(admin),
        client_id: admin["client_id"].as_str().unwrap().to_owned(),
    }
}

/// The bearer token of an answer holding `client_id` and `client_secret`.
pub fn credentials(body: &Value) -> String {
    format!(
        "{}:{}",
        body["client_id"].as_str().unwrap(),
        body["client_secret"].as_str().unwrap()
    )
}
