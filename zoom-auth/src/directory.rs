//! [`Directory`]: the identity service. It runs the commands of accounts, users and apps through
//! zoom-core's runner and answers their queries, as the engine does for meetings. Password
//! hashing and secret generation happen here, outside the pure decisions; only their hashes
//! reach a command.

use std::sync::Arc;

use zoom_core::DomainError;
use zoom_core::clock::{Clock, Entropy};
use zoom_core::engine::{EngineError, Page, PageRequest, Runner, RunnerConfig, index_page, page_of};
use zoom_core::id::{AccountId, Name, UserId};
use zoom_core::principal::{Principal, Scope};
use zoom_core::store::{IndexQuery, Store};

use crate::account::{Account, AccountCommand, AccountPatch, Accounts};
use crate::app::{App, AppCommand, AppKind, AppPatch, AppState, AppStatus, Apps, NewApp};
use crate::ids;
use crate::password::{self, PasswordHash, PasswordParams};
use crate::secret::{SecretHash, new_secret};
use crate::user::email::{EmailClaims, EmailCommand, normalize};
use crate::user::{NewUser, Role, User, UserCommand, UserPatch, UserStatus, Users};

/// How a [`Directory`] is set up.
#[derive(Debug, Clone)]
pub struct DirectoryConfig {
    /// The operator's account: its apps alone may hold `platform`.
    pub platform_account: AccountId,
    /// The runners' settings.
    pub runner: RunnerConfig,
    /// The Argon2id cost of new password hashes.
    pub password: PasswordParams,
}

impl DirectoryConfig {
    /// Defaults for a platform account.
    pub fn new(platform_account: AccountId) -> Self {
        Self {
            platform_account,
            runner: RunnerConfig::default(),
            password: PasswordParams::default(),
        }
    }
}

/// A user to create (`POST /v1/users`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInput {
    /// The id, or `None` for a generated `usr_…`.
    pub id: Option<UserId>,
    /// The email (the login name).
    pub email: String,
    /// A human-readable name.
    pub display_name: String,
    /// The role; `member` when absent.
    pub role: Option<Role>,
    /// A password, in plain text (hashed here, never stored as given).
    pub password: Option<String>,
}

/// Changes to a user (`PATCH /v1/users/{id}`); absent fields stay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChanges {
    /// A new name.
    pub display_name: Option<String>,
    /// A new role.
    pub role: Option<Role>,
    /// A new password, in plain text.
    pub password: Option<String>,
    /// A new status.
    pub status: Option<UserStatus>,
}

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

/// The identity service over a store. Cheap to clone.
#[derive(Clone)]
pub struct Directory {
    accounts: Arc<Runner<Accounts>>,
    users: Arc<Runner<Users>>,
    emails: Arc<Runner<EmailClaims>>,
    apps: Arc<Runner<Apps>>,
    store: Arc<dyn Store>,
    entropy: Arc<dyn Entropy>,
    config: DirectoryConfig,
    /// A hash that no password matches, verified for an unknown email so that a login takes
    /// as long whether or not the email names a user.
    decoy: PasswordHash,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn password_error(e: password::PasswordError) -> EngineError {
    EngineError::Domain(ids::invalid("password", e.to_string()))
}

fn not_found(resource: &'static str, id: &str) -> EngineError {
    EngineError::Domain(DomainError::NotFound {
        resource,
        id: id.to_owned(),
    })
}

fn require_any(principal: &Principal, scopes: &[Scope]) -> Result<(), EngineError> {
    match scopes.iter().find(|s| principal.has(**s)) {
        Some(_) => Ok(()),
        None => Err(EngineError::Domain(DomainError::InsufficientScope(scopes[0]))),
    }
}

impl Directory {
    /// A directory over a store.
    ///
    /// # Errors
    /// `Invalid` `password` when the Argon2 parameters are outside what it allows.
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        entropy: Arc<dyn Entropy>,
        config: DirectoryConfig,
    ) -> Result<Self, EngineError> {
        let runner = |c: &DirectoryConfig| c.runner.clone();
        let decoy = password::hash("decoy password never given out", config.password, entropy.as_ref())
            .map_err(password_error)?;
        Ok(Self {
            accounts: Arc::new(Runner::new(
                Accounts,
                store.clone(),
                clock.clone(),
                entropy.clone(),
                runner(&config),
            )),
            users: Arc::new(Runner::new(
                Users,
                store.clone(),
                clock.clone(),
                entropy.clone(),
                runner(&config),
            )),
            emails: Arc::new(Runner::new(
                EmailClaims,
                store.clone(),
                clock.clone(),
                entropy.clone(),
                runner(&config),
            )),
            apps: Arc::new(Runner::new(
                Apps {
                    platform_account: config.platform_account.clone(),
                },
                store.clone(),
                clock,
                entropy.clone(),
                runner(&config),
            )),
            store,
            entropy,
            config,
            decoy,
        })
    }

    /// The platform account's id.
    pub fn platform_account(&self) -> &AccountId {
        &self.config.platform_account
    }

    // ---- accounts ----

    /// Creates an account (`POST /v1/accounts`; `platform`, or `None` for the system's
    /// bootstrap). A repeat with the same id and name is a no-op.
    ///
    /// # Errors
    /// `InsufficientScope`, `Conflict` `account_exists`, `Invalid` `name`, a store failure.
    pub async fn create_account(
        &self,
        principal: Option<&Principal>,
        id: Option<&AccountId>,
        name: &str,
        idempotency_key: Option<&str>,
    ) -> Result<Account, EngineError> {
        let command = AccountCommand::Create { name: name.to_owned() };
        let done = self.accounts.execute(id, principal, &command, idempotency_key).await?;
        done.state
            .ok_or_else(|| not_found("account", id.map_or("", Name::as_str)))
    }

    /// Creates an account and its admin app (`POST /v1/accounts`; `platform`): a server app of
    /// the new account holding every scope but `platform`, made by the system as part of the
    /// account (the caller needs no `admin`). Its secret is in the answer, the only time it is
    /// seen. A given id already taken is `account_exists`, whatever the name, so no repeat
    /// makes a second admin app.
    ///
    /// Two creations of one new id racing each other can both pass that check; both then
    /// create an admin app (the account itself is created once).
    ///
    /// # Errors
    /// `InsufficientScope`, `Conflict` `account_exists`, `Invalid` `name`, a store failure.
    pub async fn create_account_with_admin(
        &self,
        principal: &Principal,
        id: Option<&AccountId>,
        name: &str,
    ) -> Result<(Account, AppWithSecret), EngineError> {
        require_any(principal, &[Scope::Platform])?;
        if let Some(id) = id
            && self.find_account(id).await?.is_some()
        {
            return Err(EngineError::Domain(DomainError::Conflict {
                code: "account_exists",
                message: format!("account {id} already exists"),
            }));
        }
        let account = self.create_account(Some(principal), id, name, None).await?;
        let input = AppInput {
            client_id: None,
            account_id: Some(account.id.clone()),
            // The account's name may already take all 200 characters a name may have.
            name: admin_app_name(&account.name),
            kind: AppKind::Server,
            redirect_uris: vec![],
            scopes: Scope::ALL.into_iter().filter(|s| *s != Scope::Platform).collect(),
            published: false,
            public: false,
        };
        let admin = self.create_app(None, input).await?;
        Ok((account, admin))
    }

    /// An account (`GET /v1/accounts/{id}`; `platform`). Another account's is `NotFound` to
    /// a caller without `platform`; one's own needs the scope like any.
    ///
    /// # Errors
    /// `NotFound`, `InsufficientScope`, a store failure.
    pub async fn account(&self, principal: &Principal, id: &AccountId) -> Result<Account, EngineError> {
        if &principal.account_id != id && !principal.has(Scope::Platform) {
            return Err(not_found("account", id.as_str()));
        }
        require_any(principal, &[Scope::Platform])?;
        self.find_account(id)
            .await?
            .ok_or_else(|| not_found("account", id.as_str()))
    }

    /// An account by id, for the server itself (token checks).
    ///
    /// # Errors
    /// A store failure.
    pub async fn find_account(&self, id: &AccountId) -> Result<Option<Account>, EngineError> {
        self.accounts.read(id).await
    }

    /// Every account, in creation order (`GET /v1/accounts`; `platform`).
    ///
    /// # Errors
    /// `InsufficientScope`, `Invalid` page, `InvalidCursor`, a store failure.
    pub async fn accounts(&self, principal: &Principal, page: &PageRequest) -> Result<Page<Account>, EngineError> {
        require_any(principal, &[Scope::Platform])?;
        let query = IndexQuery {
            kind: "account".into(),
            ..IndexQuery::default()
        };
        let rows = index_page(
            self.store.as_ref(),
            "accounts",
            principal.account_id.as_str(),
            &[],
            query,
            page,
        )
        .await?;
        let mut items = Vec::with_capacity(rows.items.len());
        for row in rows.items {
            if let Some(a) = self.accounts.read_stream(&row.stream_id).await? {
                items.push(a);
            }
        }
        Ok(Page {
            items,
            next_cursor: rows.next_cursor,
        })
    }

    /// Changes an account's name or status (`PATCH /v1/accounts/{id}`; `platform`). The
    /// platform account is never disabled: every platform token would stop.
    ///
    /// # Errors
    /// `InsufficientScope`, `NotFound`, `Conflict` `platform_account`, `Invalid` `name`, a
    /// store failure.
    pub async fn update_account(
        &self,
        principal: &Principal,
        id: &AccountId,
        patch: AccountPatch,
    ) -> Result<Account, EngineError> {
        require_any(principal, &[Scope::Platform])?;
        if id == &self.config.platform_account && patch.status == Some(crate::account::AccountStatus::Disabled) {
            return Err(EngineError::Domain(DomainError::Conflict {
                code: "platform_account",
                message: "the platform account cannot be disabled".into(),
            }));
        }
        let done = self
            .accounts
            .execute(Some(id), Some(principal), &AccountCommand::Update(patch), None)
            .await?;
        done.state.ok_or_else(|| not_found("account", id.as_str()))
    }

    // ---- users ----

    /// Creates a user in `account` (`POST /v1/users`; `admin`, or `None` for the system). The
    /// email is claimed first, server-wide; a creation that then fails gives it back.
    ///
    /// # Errors
    /// `InsufficientScope`, `NotFound` (the account), `Conflict` `email_taken`, `user_exists`,
    /// `account_disabled`, `Forbidden` `owner_required`, `Invalid` fields, a store failure.
    pub async fn create_user(
        &self,
        principal: Option<&Principal>,
        account: &AccountId,
        input: UserInput,
    ) -> Result<User, EngineError> {
        if let Some(p) = principal {
            if &p.account_id != account {
                return Err(not_found("account", account.as_str()));
            }
            require_any(p, &[Scope::Admin])?;
        }
        match self.find_account(account).await? {
            None => return Err(not_found("account", account.as_str())),
            Some(a) if a.status != crate::account::AccountStatus::Active => {
                return Err(EngineError::Domain(DomainError::Conflict {
                    code: "account_disabled",
                    message: format!("account {account} is disabled"),
                }));
            }
            Some(_) => {}
        }
        let email = normalize(&input.email)?;
        let user_id = match input.id {
            Some(id) => id,
            None => ids::fresh("usr_", self.entropy.as_ref())
                .ok_or_else(|| EngineError::Domain(ids::invalid("id", "could not be generated")))?,
        };
        let password = match &input.password {
            Some(p) => Some(password::hash(p, self.config.password, self.entropy.as_ref()).map_err(password_error)?),
            None => None,
        };
        let command = UserCommand::Create(NewUser {
            user_id: user_id.clone(),
            email: email.clone(),
            display_name: input.display_name,
            role: input.role.unwrap_or(Role::Member),
            password,
        });
        self.claim_email(&email, account, &user_id).await?;
        match self.users.execute(Some(account), principal, &command, None).await {
            Ok(done) => done
                .state
                .get(&user_id)
                .cloned()
                .ok_or_else(|| not_found("user", user_id.as_str())),
            Err(e) => {
                // Give the address back unless this user already holds it (a repeat).
                let holds = self
                    .users
                    .read(account)
                    .await
                    .map(|d| d.get(&user_id).is_some_and(|u| u.email == email))
                    .unwrap_or(true);
                if !holds {
                    let release = EmailCommand::Release {
                        account_id: account.clone(),
                        user_id: user_id.clone(),
                    };
                    // Best effort: a release that fails leaves a claim that goes stale.
                    let _ = self.emails.execute(Some(&email), None, &release, None).await;
                }
                Err(e)
            }
        }
    }

    async fn claim_email(&self, email: &String, account: &AccountId, user_id: &UserId) -> Result<(), EngineError> {
        let holder_missing = match self.emails.read(email).await? {
            Some(claim) => self
                .users
                .read(&claim.account_id)
                .await?
                .get(&claim.user_id)
                .is_none_or(|u| &u.email != email),
            None => false,
        };
        let command = EmailCommand::Claim {
            account_id: account.clone(),
            user_id: user_id.clone(),
            holder_missing,
        };
        self.emails.execute(Some(email), None, &command, None).await?;
        Ok(())
    }

    /// A user of the caller's account (`GET /v1/users/{id}`; `admin` or `user.read`, or any
    /// user token for itself).
    ///
    /// # Errors
    /// `InsufficientScope`, `NotFound`, a store failure.
    pub async fn user(&self, principal: &Principal, id: &UserId) -> Result<User, EngineError> {
        if !(principal.kind == zoom_core::principal::PrincipalKind::User && &principal.subject == id) {
            require_any(principal, &[Scope::Admin, Scope::UserRead])?;
        }
        self.users
            .read(&principal.account_id)
            .await?
            .get(id)
            .cloned()
            .ok_or_else(|| not_found("user", id.as_str()))
    }

    /// The users of the caller's account in creation order, optionally of one status
    /// (`GET /v1/users`; `admin` or `user.read`).
    ///
    /// # Errors
    /// `InsufficientScope`, `Invalid` page, `InvalidCursor`, a store failure.
    pub async fn users(
        &self,
        principal: &Principal,
        status: Option<UserStatus>,
        page: &PageRequest,
    ) -> Result<Page<User>, EngineError> {
        require_any(principal, &[Scope::Admin, Scope::UserRead])?;
        let directory = self.users.read(&principal.account_id).await?;
        let all: Vec<&User> = directory.users().collect();
        let filter = status.map(UserStatus::as_str);
        let page = page_of(&all, page, "users", principal.account_id.as_str(), &[filter], |u| {
            status.is_none_or(|s| u.status == s)
        })?;
        Ok(Page {
            items: page.items.into_iter().cloned().collect(),
            next_cursor: page.next_cursor,
        })
    }

    /// Changes a user (`PATCH /v1/users/{id}`; `admin`).
    ///
    /// # Errors
    /// `InsufficientScope`, `NotFound`, `Conflict` `last_owner`, `Forbidden` `owner_required`,
    /// `Invalid` fields, a store failure.
    pub async fn update_user(
        &self,
        principal: Option<&Principal>,
        account: &AccountId,
        id: &UserId,
        changes: UserChanges,
    ) -> Result<User, EngineError> {
        let password = match &changes.password {
            Some(p) => Some(password::hash(p, self.config.password, self.entropy.as_ref()).map_err(password_error)?),
            None => None,
        };
        let command = UserCommand::Update {
            user_id: id.clone(),
            patch: UserPatch {
                display_name: changes.display_name,
                role: changes.role,
                status: changes.status,
                password,
            },
        };
        self.run_user(principal, account, id, &command).await
    }

    /// Deactivates a user (`DELETE /v1/users/{id}`; `admin`): they cannot log in.
    ///
    /// # Errors
    /// `InsufficientScope`, `NotFound`, `Conflict` `last_owner`, `Forbidden` `owner_required`,
    /// a store failure.
    pub async fn deactivate_user(
        &self,
        principal: Option<&Principal>,
        account: &AccountId,
        id: &UserId,
    ) -> Result<User, EngineError> {
        let command = UserCommand::Deactivate { user_id: id.clone() };
        self.run_user(principal, account, id, &command).await
    }

    async fn run_user(
        &self,
        principal: Option<&Principal>,
        account: &AccountId,
        id: &UserId,
        command: &UserCommand,
    ) -> Result<User, EngineError> {
        let done = self.users.execute(Some(account), principal, command, None).await?;
        done.state
            .get(id)
            .cloned()
            .ok_or_else(|| not_found("user", id.as_str()))
    }

    /// The user an email names, with their password hash, for a login. `None` when no user
    /// holds it.
    ///
    /// # Errors
    /// `Invalid` `email`, a store failure.
    pub(crate) async fn credentials(&self, email: &str) -> Result<Option<(User, Option<PasswordHash>)>, EngineError> {
        let email = normalize(email)?;
        let Some(claim) = self.emails.read(&email).await? else {
            return Ok(None);
        };
        let directory = self.users.read(&claim.account_id).await?;
        Ok(directory
            .record(&claim.user_id)
            .filter(|r| r.user.email == email)
            .map(|r| (r.user.clone(), r.password.clone())))
    }

    pub(crate) fn decoy(&self) -> &PasswordHash {
        &self.decoy
    }

    // ---- apps ----

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
        done.state
            .map(|s| s.app)
            .ok_or_else(|| not_found("app", client_id.as_str()))
    }
}

/// The name of an account's admin app: the account's name and ` admin`, the account's name
/// shortened (by characters) so that the whole stays within the 200 characters of a name.
fn admin_app_name(account: &str) -> String {
    const SUFFIX: &str = " admin";
    let room = 200 - SUFFIX.chars().count();
    let base: String = account.chars().take(room).collect();
    format!("{}{SUFFIX}", base.trim_end())
}

#[cfg(test)]
mod admin_name_tests {
    use super::admin_app_name;

    #[test]
    fn the_admin_app_name_fits_whatever_the_account_name() {
        assert_eq!(admin_app_name("Acme"), "Acme admin");
        let long = "é".repeat(200);
        let name = admin_app_name(&long);
        assert_eq!(name.chars().count(), 200);
        assert!(name.ends_with(" admin"));
    }
}
