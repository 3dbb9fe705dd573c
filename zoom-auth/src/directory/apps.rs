//! The apps (OAuth clients) of a [`Directory`].

use zoom_core::DomainError;
use zoom_core::engine::{EngineError, Page, PageRequest, index_page};
use zoom_core::id::{AccountId, Name};
use zoom_core::principal::{Principal, Scope};
use zoom_core::store::IndexQuery;

use super::{Directory, not_found, require_any};
use crate::app::{App, AppCommand, AppKind, AppPatch, AppState, AppStatus, NewApp};
use crate::grant::RevokeReason;
use crate::ids;
use crate::secret::{SecretHash, new_secret};

/// An app to create (`POST /v1/apps`), in the caller's account unless the platform names one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppInput {
    /// The client id, or `None` for a generated `app_…`.
    pub client_id: Option<Name>,
    /// The account; `None` for the caller's.
    pub account_id: Option<AccountId>,
    /// A human-readable name.
    pub name: String,
    /// Server or user.
    pub kind: AppKind,
    /// Redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Scopes.
    pub scopes: Vec<Scope>,
    /// Listed to every account.
    pub published: bool,
    /// A public client (no secret).
    pub public: bool,
}

/// An app with its client secret in plain text: the answer of a creation or a rotation, the
/// only time the secret is seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppWithSecret {
    /// The app.
    pub app: App,
    /// Its new secret (`zsec_…`); `None` for a public app.
    pub client_secret: Option<String>,
}

impl Directory {
    /// Creates an app (`POST /v1/apps`; `admin`, or `None` for the system's bootstrap). The
    /// answer carries its client secret, the only time it is seen.
    ///
    /// # Errors
    /// `InsufficientScope`, `NotFound` (another account), `Conflict` `app_exists`, `Invalid`
    /// fields, a store failure.
    pub async fn create_app(
        &self,
        principal: Option<&Principal>,
        input: AppInput,
    ) -> Result<AppWithSecret, EngineError> {
        let account_id = match (input.account_id, principal) {
            (Some(a), _) => a,
            (None, Some(p)) => p.account_id.clone(),
            (None, None) => return Err(EngineError::Domain(ids::invalid("account_id", "is required"))),
        };
        let client_secret = (!input.public).then(|| new_secret(self.entropy.as_ref()));
        let command = AppCommand::Create(NewApp {
            account_id,
            name: input.name,
            kind: input.kind,
            redirect_uris: input.redirect_uris,
            scopes: input.scopes,
            published: input.published,
            public: input.public,
            secret: client_secret.as_deref().map(SecretHash::of),
        });
        let done = self
            .apps
            .execute(input.client_id.as_ref(), principal, &command, None)
            .await?;
        let app = done.state.map(|s| s.app).ok_or_else(|| not_found("app", ""))?;
        Ok(AppWithSecret { app, client_secret })
    }

    /// Registers the server's own app under a given client id and secret (the bootstrap's
    /// `ZOOM_BOOTSTRAP_CLIENT_ID` and `ZOOM_BOOTSTRAP_CLIENT_SECRET`), as a server app: or
    /// registers it again, a new secret or new scopes replacing the old ones. Registering the
    /// same app with the same secret, account and scopes again writes nothing.
    ///
    /// # Errors
    /// `Invalid` fields, a store failure.
    pub async fn register_app(
        &self,
        client_id: &Name,
        account_id: &AccountId,
        name: &str,
        secret: &str,
        scopes: &[Scope],
    ) -> Result<App, EngineError> {
        let command = AppCommand::Register(NewApp {
            account_id: account_id.clone(),
            name: name.to_owned(),
            kind: AppKind::Server,
            redirect_uris: vec![],
            scopes: scopes.to_vec(),
            published: false,
            public: false,
            secret: Some(SecretHash::of(secret)),
        });
        let done = self.apps.execute(Some(client_id), None, &command, None).await?;
        done.state
            .map(|s| s.app)
            .ok_or_else(|| not_found("app", client_id.as_str()))
    }

    /// A new client secret (`zsec_…`, 256 bits), for an app the caller registers itself.
    pub fn new_client_secret(&self) -> String {
        new_secret(self.entropy.as_ref())
    }

    /// An app of the caller's account (`GET /v1/apps/{client_id}`; `admin`).
    ///
    /// # Errors
    /// `InsufficientScope`, `NotFound` (another account's too), a store failure.
    pub async fn app(&self, principal: &Principal, client_id: &Name) -> Result<App, EngineError> {
        require_any(principal, &[Scope::Admin])?;
        match self.find_app(client_id).await? {
            Some(s) if crate::app::decide::visible_to(principal, &s.app.account_id) => Ok(s.app),
            _ => Err(not_found("app", client_id.as_str())),
        }
    }

    /// An app with its secret's hash, for the server itself (client authentication).
    ///
    /// # Errors
    /// `Invalid` `client_id` for an id that names no stream, a store failure.
    pub async fn find_app(&self, client_id: &Name) -> Result<Option<AppState>, EngineError> {
        self.apps.read(client_id).await
    }

    /// The active app whose secret is `secret`, for client authentication; `None` for an
    /// unknown, disabled or public app or a wrong secret (one answer, whichever it is).
    ///
    /// # Errors
    /// A store failure.
    pub async fn authenticate_app(&self, client_id: &Name, secret: &str) -> Result<Option<App>, EngineError> {
        let state = match self.find_app(client_id).await {
            Ok(s) => s,
            Err(EngineError::Domain(DomainError::Invalid { .. })) => None,
            Err(e) => return Err(e),
        };
        Ok(state
            .filter(|s| s.secret_matches(secret) && s.app.status == AppStatus::Active)
            .map(|s| s.app))
    }

    /// The apps of the caller's account, in creation order (`GET /v1/apps`; `admin`).
    ///
    /// # Errors
    /// `InsufficientScope`, `Invalid` page, `InvalidCursor`, a store failure.
    pub async fn apps(&self, principal: &Principal, page: &PageRequest) -> Result<Page<App>, EngineError> {
        require_any(principal, &[Scope::Admin])?;
        let query = IndexQuery {
            kind: "app".into(),
            account_id: Some(principal.account_id.clone()),
            ..IndexQuery::default()
        };
        self.app_page("apps", principal, query, page).await
    }

    /// The published, active apps of every account (`GET /v1/marketplace/apps`; any token).
    ///
    /// # Errors
    /// `Invalid` page, `InvalidCursor`, a store failure.
    pub async fn marketplace(&self, principal: &Principal, page: &PageRequest) -> Result<Page<App>, EngineError> {
        let query = IndexQuery {
            kind: "app".into(),
            owner: Some("published".into()),
            state: Some(AppStatus::Active.as_str().into()),
            ..IndexQuery::default()
        };
        self.app_page("marketplace", principal, query, page).await
    }

    async fn app_page(
        &self,
        list: &str,
        principal: &Principal,
        query: IndexQuery,
        page: &PageRequest,
    ) -> Result<Page<App>, EngineError> {
        let rows = index_page(
            self.store.as_ref(),
            list,
            principal.account_id.as_str(),
            &[],
            query,
            page,
        )
        .await?;
        let mut items = Vec::with_capacity(rows.items.len());
        for row in rows.items {
            if let Some(s) = self.apps.read_stream(&row.stream_id).await? {
                items.push(s.app);
            }
        }
        Ok(Page {
            items,
            next_cursor: rows.next_cursor,
        })
    }

    /// Changes an app (`PATCH /v1/apps/{client_id}`; `admin`).
    ///
    /// # Errors
    /// `InsufficientScope`, `NotFound`, `Invalid` fields, a store failure.
    pub async fn update_app(
        &self,
        principal: &Principal,
        client_id: &Name,
        patch: AppPatch,
    ) -> Result<App, EngineError> {
        self.run_app(principal, client_id, &AppCommand::Update(patch)).await
    }

    /// Replaces an app's client secret (`POST /v1/apps/{client_id}:rotateSecret`; `admin`);
    /// the old secret stops at once.
    ///
    /// # Errors
    /// `InsufficientScope`, `NotFound`, `Conflict` `public_client` or `app_disabled`, a store failure.
    pub async fn rotate_secret(&self, principal: &Principal, client_id: &Name) -> Result<AppWithSecret, EngineError> {
        let secret = new_secret(self.entropy.as_ref());
        let command = AppCommand::RotateSecret {
            secret: Some(SecretHash::of(&secret)),
        };
        let app = self.run_app(principal, client_id, &command).await?;
        Ok(AppWithSecret {
            app,
            client_secret: Some(secret),
        })
    }

    /// Disables an app (`DELETE /v1/apps/{client_id}`; `admin`).
    ///
    /// # Errors
    /// `InsufficientScope`, `NotFound`, a store failure.
    pub async fn disable_app(&self, principal: &Principal, client_id: &Name) -> Result<App, EngineError> {
        self.run_app(principal, client_id, &AppCommand::Disable).await
    }

    async fn run_app(&self, principal: &Principal, client_id: &Name, command: &AppCommand) -> Result<App, EngineError> {
        let done = self
            .apps
            .execute(Some(client_id), Some(principal), command, None)
            .await?;
        let app = done
            .state
            .map(|s| s.app)
            .ok_or_else(|| not_found("app", client_id.as_str()))?;
        // A disabled app's grants are revoked, in every account (a repeat finds none left).
        if app.status == AppStatus::Disabled {
            let query = IndexQuery {
                state: Some(client_id.as_str().to_owned()),
                ..IndexQuery::default()
            };
            self.revoke_grants(query, RevokeReason::AppDisabled).await?;
        }
        Ok(app)
    }
}
