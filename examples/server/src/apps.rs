//! Registered apps (OAuth clients), kept in the event log (`app.registered` on `sys_app_{id}`) so
//! they persist with the store. Only the SHA-256 of a client secret is stored.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zoom_core::clock::{Clock, Entropy};
use zoom_core::event::{Event, Metadata, NewEvent, StreamId};
use zoom_core::id::{AccountId, EventId, Name};
use zoom_core::principal::Scope;
use zoom_core::store::{AppendRequest, Store, StoreError};
use zoom_core::system::{AppRegistered, SystemEvent, app_stream};

/// A registered app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    /// Its client id.
    pub client_id: Name,
    /// The account it acts for.
    pub account_id: AccountId,
    /// A human-readable name.
    pub name: String,
    /// The scopes it may be granted.
    pub scopes: Vec<Scope>,
    secret_sha256: String,
}

impl App {
    /// Whether `secret` is this app's client secret (constant time).
    pub fn secret_matches(&self, secret: &str) -> bool {
        let given = hex::encode(Sha256::digest(secret.as_bytes()));
        given.as_bytes().ct_eq(self.secret_sha256.as_bytes()).into()
    }
}

/// Parses a client id: 1 to 120 characters of `A-Z a-z 0-9 _ . : -`.
pub fn parse_client_id(raw: &str) -> Option<Name> {
    let ok =
        !raw.is_empty() && raw.len() <= 120 && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b));
    if ok { Name::parse(raw).ok() } else { None }
}

/// Why the registry failed. Each is a store problem: the server logs it and answers 500.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The store failed or holds a row that does not decode.
    #[error("app registry: {0}")]
    Store(String),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::Store(e.to_string())
    }
}

/// The apps of a store.
#[derive(Clone)]
pub struct Apps {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    entropy: Arc<dyn Entropy>,
}

impl std::fmt::Debug for Apps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Apps").finish_non_exhaustive()
    }
}

impl Apps {
    /// The registry over a store.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, entropy: Arc<dyn Entropy>) -> Self {
        Self { store, clock, entropy }
    }

    /// The app with this client id, as last registered.
    ///
    /// # Errors
    /// [`AppError`] when the store fails.
    pub async fn find(&self, client_id: &Name) -> Result<Option<App>, AppError> {
        Ok(self.read(client_id).await?.0)
    }

    /// The app as last registered, and its stream's version.
    async fn read(&self, client_id: &Name) -> Result<(Option<App>, u64), AppError> {
        let stream = stream(client_id)?;
        let rows = self.store.read_stream(&stream, 1, usize::MAX).await?;
        let version = rows.last().map_or(0, |r| r.version);
        let mut app = None;
        for row in rows {
            let event = row.decode().map_err(|e| AppError::Store(e.to_string()))?;
            if let Event::System(SystemEvent::AppRegistered(r)) = event {
                app = Some(App {
                    client_id: r.client_id,
                    account_id: r.account_id,
                    name: r.name,
                    scopes: r.scopes,
                    secret_sha256: r.secret_sha256,
                });
            }
        }
        Ok((app, version))
    }

    /// Registers an app, or re-registers it (a new secret or new scopes replace the old ones).
    /// Registering the same app with the same secret, account and scopes again writes nothing.
    ///
    /// # Errors
    /// [`AppError`] when the store fails.
    pub async fn register(
        &self,
        client_id: &Name,
        account_id: &AccountId,
        name: &str,
        secret: &str,
        scopes: &[Scope],
    ) -> Result<(), AppError> {
        let stream = stream(client_id)?;
        for _ in 0..3 {
            let (app, version) = self.read(client_id).await?;
            if let Some(app) = app
                && app.secret_matches(secret)
                && &app.account_id == account_id
                && app.scopes == scopes
            {
                return Ok(());
            }
            let event = Event::System(SystemEvent::AppRegistered(AppRegistered {
                client_id: client_id.clone(),
                account_id: account_id.clone(),
                name: name.to_owned(),
                secret_sha256: hex::encode(Sha256::digest(secret.as_bytes())),
                scopes: scopes.to_vec(),
                registered_at: self.clock.now(),
            }));
            let new = NewEvent::encode(
                EventId::from_entropy(self.entropy.id_bytes()),
                &event,
                &Metadata {
                    causation: Some("app.register".into()),
                    ..Metadata::default()
                },
                self.clock.now(),
            )
            .map_err(|e| AppError::Store(e.to_string()))?;
            let append = self
                .store
                .append(AppendRequest {
                    stream_id: stream.clone(),
                    expected_version: version,
                    events: vec![new],
                    index: None,
                    snapshot: None,
                    links: vec![],
                    idempotency: None,
                })
                .await;
            match append {
                Ok(_) => return Ok(()),
                // Another process registered at the same moment: look again.
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(AppError::Store(format!("{stream}: contention while registering")))
    }

    /// A new random client secret (`zs_` + 43 base64url characters, 256 bits).
    pub fn new_secret(&self) -> String {
        use base64::Engine as _;
        format!(
            "zs_{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.entropy.key_bytes())
        )
    }
}

fn stream(client_id: &Name) -> Result<StreamId, AppError> {
    StreamId::new(app_stream(client_id)).map_err(AppError::Store)
}
