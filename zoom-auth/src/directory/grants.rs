//! The OAuth 2 authorizations of a [`Directory`] (DESIGN 12): the consent that records a grant
//! and issues a code, the `authorization_code` and `refresh_token` grants, RFC 7009 revocation
//! and RFC 7662 introspection of refresh tokens (`authorizations` lists and revokes them as
//! resources).
//!
//! A user holds one grant per app. A second consent while it is active extends its scopes; after
//! a revocation it makes a new grant (a new id), so no access token of the revoked one, which
//! names it, ever works again.
//!
//! The checks that span aggregates (the user active, the app active and of kind `user`, both
//! accounts active, the marketplace rule) are made here, reading their states, before the
//! grant's own decision; the grant's decision holds the rules of codes and tokens.

use chrono::{DateTime, Utc};
use zoom_core::DomainError;
use zoom_core::engine::EngineError;
use zoom_core::id::{AccountId, Name, UserId};
use zoom_core::principal::Scope;

use super::Directory;
use crate::account::{Account, AccountStatus};
use crate::app::{App, AppKind, AppStatus, redirect};
use crate::grant::decide::{INVALID_GRANT, normalized};
use crate::grant::key::{GrantKey, GrantKeyCommand};
use crate::grant::pkce;
use crate::grant::token::{CodeRef, RefreshRef, new_secret};
use crate::grant::{
    CODE_LIFETIME_SECS, Consent, Grant, GrantCommand, GrantState, GrantStatus, NewCode, REFRESH_LIFETIME_SECS,
    RevokeReason,
};
use crate::secret::SecretHash;
use crate::user::{Role, User, UserStatus};

/// How many times a consent retries when another consent of the same user and app won a race.
const CONSENT_ATTEMPTS: usize = 4;

/// A consent to record (the consent page's Allow).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    /// The logged-in user.
    pub user: crate::UserRef,
    /// The app.
    pub client_id: Name,
    /// The redirect URI of the request (one of the app's, exactly).
    pub redirect_uri: String,
    /// The scopes asked for (a subset of the app's).
    pub scopes: Vec<Scope>,
    /// The PKCE `S256` challenge: base64url(SHA-256(verifier)), 43 characters.
    pub code_challenge: String,
}

/// The answer of a consent: the code to send back to the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCode {
    /// The authorization code (single use, bound to the client, redirect URI, challenge, scopes).
    pub code: String,
    /// The grant it belongs to.
    pub grant: Grant,
    /// Seconds it lives: 300.
    pub expires_in: i64,
}

/// The answer of a code redemption or a refresh: what the token endpoint puts in its tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserTokens {
    /// The grant.
    pub grant: Grant,
    /// The scopes of the access token: the family's, narrowed by the request, held by the
    /// app still and allowed to the user's role ([`Directory::user_token_scopes`]).
    pub scopes: Vec<Scope>,
    /// The new refresh token (the previous one of its family stopped).
    pub refresh_token: String,
    /// Seconds the refresh token lives: 30 days.
    pub refresh_expires_in: i64,
    /// The user's current role.
    pub role: Role,
}

/// Why an OAuth 2 grant was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GrantError {
    /// RFC 6749's `invalid_grant`: the code or refresh token does not work (unknown, expired,
    /// used, another client's, a wrong verifier or redirect URI, a revoked grant, a deactivated
    /// user, a disabled app or account). The text is the reason for a person; HTTP 400.
    #[error("invalid_grant: {0}")]
    InvalidGrant(String),
    /// RFC 6749's `invalid_scope`: a scope the app does not hold, none, or wider than granted.
    #[error("invalid_scope: {0}")]
    InvalidScope(String),
    /// RFC 6749's `unauthorized_client`: the app may not be authorized by this user (unknown,
    /// disabled, not a user app, not published and of another account, its account disabled).
    #[error("unauthorized_client: {0}")]
    UnauthorizedClient(String),
    /// The engine failed (the store); retry later, HTTP 503 or 500.
    #[error(transparent)]
    Engine(EngineError),
}

impl From<EngineError> for GrantError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Domain(DomainError::Unauthorized { code, message }) if code == INVALID_GRANT => {
                GrantError::InvalidGrant(message)
            }
            EngineError::Domain(DomainError::Invalid { field, message }) if field == "scope" => {
                GrantError::InvalidScope(message)
            }
            EngineError::Domain(DomainError::Invalid { field, message }) => {
                GrantError::InvalidGrant(format!("{field}: {message}"))
            }
            e => GrantError::Engine(e),
        }
    }
}

fn invalid_grant(message: &str) -> GrantError {
    GrantError::InvalidGrant(message.to_owned())
}

fn unauthorized_client(message: &str) -> GrantError {
    GrantError::UnauthorizedClient(message.to_owned())
}

/// The scopes in `scopes` that `allowed` holds.
fn within(scopes: &[Scope], allowed: &[Scope]) -> Vec<Scope> {
    scopes.iter().copied().filter(|s| allowed.contains(s)).collect()
}

impl Directory {
    /// What the consent page shows and checks before asking: the app must exist, be active, be
    /// of kind `user`, have `redirect_uri` among its redirect URIs exactly, and belong to an
    /// active account; the answer is the app and its account (for the page). `None` otherwise,
    /// and for a client id that could name no app: show an error page, never redirect.
    ///
    /// # Errors
    /// A store failure.
    pub async fn authorization_client(
        &self,
        client_id: &Name,
        redirect_uri: &str,
    ) -> Result<Option<(App, Account)>, EngineError> {
        let Some(app) = self.usable_app(client_id).await? else {
            return Ok(None);
        };
        if !redirect::matches(&app.redirect_uris, redirect_uri) {
            return Ok(None);
        }
        Ok(self
            .active_account(&app.account_id)
            .await?
            .map(|account| (app, account)))
    }

    /// An active user app, `None` for anything else (a malformed id included).
    async fn usable_app(&self, client_id: &Name) -> Result<Option<App>, EngineError> {
        let state = match self.find_app(client_id).await {
            Ok(s) => s,
            Err(EngineError::Domain(DomainError::Invalid { .. })) => None,
            Err(e) => return Err(e),
        };
        Ok(state
            .map(|s| s.app)
            .filter(|a| a.status == AppStatus::Active && a.kind == AppKind::User))
    }

    async fn active_account(&self, id: &AccountId) -> Result<Option<Account>, EngineError> {
        Ok(self
            .find_account(id)
            .await?
            .filter(|a| a.status == AccountStatus::Active))
    }

    async fn active_user(&self, account: &AccountId, user: &UserId) -> Result<Option<User>, EngineError> {
        Ok(self
            .users
            .read(account)
            .await?
            .get(user)
            .filter(|u| u.status == UserStatus::Active)
            .cloned())
    }

    /// Consent given: records the user's grant to the app and issues a single-use code bound to
    /// the client, the redirect URI, the code challenge and the scopes, living 5 minutes.
    ///
    /// One grant per (user, app): a second consent extends an active grant's scopes; after a
    /// revocation it makes a new grant. The grant is in the user's account, also for a
    /// published app of another account. The user must be one of the directory's (an
    /// embedder's own users cannot hold grants), active, in an active account.
    ///
    /// # Errors
    /// `UnauthorizedClient`: the app is unknown, disabled, not a user app, not published and of
    /// another account, of a disabled account, or `redirect_uri` is not one of its own.
    /// `InvalidScope`: no scope, one the app does not hold, or none the user's role may hold.
    /// `InvalidGrant`: the user is unknown or deactivated, their account disabled, or the
    /// challenge malformed. `Engine`: a store failure.
    pub async fn authorize(&self, request: AuthorizeRequest) -> Result<IssuedCode, GrantError> {
        let user = &request.user;
        let app = self
            .usable_app(&request.client_id)
            .await?
            .ok_or_else(|| unauthorized_client("the app is unknown, disabled or not a user app"))?;
        if !redirect::matches(&app.redirect_uris, &request.redirect_uri) {
            return Err(unauthorized_client("redirect_uri is not one of the app's"));
        }
        if app.account_id != user.account_id && !app.published {
            return Err(unauthorized_client(
                "the app is not published: only users of its own account may authorize it",
            ));
        }
        if self.active_account(&app.account_id).await?.is_none() {
            return Err(unauthorized_client("the app's account is disabled"));
        }
        // Checked again by the grant's decision; here too, so that a refused consent leaves
        // no pointer at a grant it could not create.
        if !pkce::is_challenge(&request.code_challenge) {
            return Err(invalid_grant(
                "code_challenge must be an S256 challenge: 43 base64url characters",
            ));
        }
        let scopes = normalized(&request.scopes);
        if scopes.is_empty() {
            return Err(GrantError::InvalidScope("at least one scope is needed".into()));
        }
        if let Some(extra) = scopes.iter().find(|s| !app.scopes.contains(s)) {
            return Err(GrantError::InvalidScope(format!("the app may not ask for `{extra}`")));
        }
        if self.active_account(&user.account_id).await?.is_none() {
            return Err(invalid_grant("the user's account is disabled"));
        }
        let current = self
            .active_user(&user.account_id, &user.user_id)
            .await?
            .ok_or_else(|| invalid_grant("the user is unknown or deactivated"))?;
        if Self::user_token_scopes(current.role, &scopes).is_empty() {
            return Err(GrantError::InvalidScope(format!(
                "a user with the role `{}` may hold none of these scopes",
                current.role.as_str()
            )));
        }
        let key = GrantKey {
            account_id: user.account_id.clone(),
            user_id: user.user_id.clone(),
            client_id: app.client_id.clone(),
        };
        let secret = new_secret(self.entropy.as_ref());
        let hash = SecretHash::of(&secret);
        let consent = GrantCommand::Consent(Consent {
            account_id: key.account_id.clone(),
            user_id: key.user_id.clone(),
            client_id: key.client_id.clone(),
            scopes,
            code: NewCode {
                hash: Some(hash.clone()),
                redirect_uri: request.redirect_uri.clone(),
                code_challenge: request.code_challenge.clone(),
            },
        });
        for _ in 0..CONSENT_ATTEMPTS {
            let pointed = self.grant_keys.read(&key).await?.map(|k| k.grant_id);
            let usable = match &pointed {
                Some(id) => self
                    .grants
                    .read(id)
                    .await?
                    .is_some_and(|g| g.grant.status == GrantStatus::Active),
                None => false,
            };
            let grant_id = if let (Some(id), true) = (&pointed, usable) {
                id.clone()
            } else {
                let fresh = crate::ids::fresh("grt_", self.entropy.as_ref())
                    .ok_or_else(|| invalid_grant("a grant id could not be generated"))?;
                let point = GrantKeyCommand::Point {
                    grant_id: fresh.clone(),
                    replaces: pointed.clone(),
                };
                match self.grant_keys.execute(Some(&key), None, &point, None).await {
                    Ok(_) => fresh,
                    Err(EngineError::Domain(DomainError::Conflict { .. })) => continue,
                    Err(e) => return Err(e.into()),
                }
            };
            let done = match self.grants.execute(Some(&grant_id), None, &consent, None).await {
                Ok(done) => done,
                // Revoked between the read and the consent: point at a new grant.
                Err(EngineError::Domain(DomainError::Conflict { .. })) => continue,
                Err(e) => return Err(e.into()),
            };
            let state = done
                .state
                .ok_or_else(|| invalid_grant("the authorization is unknown"))?;
            let number = state
                .codes
                .iter()
                .find(|(_, c)| c.hash == hash)
                .map(|(n, _)| *n)
                .ok_or_else(|| invalid_grant("the code was not recorded"))?;
            let code = CodeRef {
                grant_id,
                code: number,
                secret,
            };
            return Ok(IssuedCode {
                code: code.text(),
                grant: state.grant,
                expires_in: CODE_LIFETIME_SECS,
            });
        }
        Err(GrantError::Engine(EngineError::Contention(
            "the user's authorization of this app".into(),
        )))
    }

    /// The user, the app and both accounts a token of `grant` needs, all active; the user's
    /// role and the app's scopes.
    async fn token_context(&self, grant: &Grant, client_id: &Name) -> Result<(Role, Vec<Scope>), GrantError> {
        if &grant.client_id != client_id {
            return Err(invalid_grant("the token was issued to another client"));
        }
        let app = self
            .usable_app(client_id)
            .await?
            .ok_or_else(|| invalid_grant("the app is disabled"))?;
        if self.active_account(&app.account_id).await?.is_none()
            || self.active_account(&grant.account_id).await?.is_none()
        {
            return Err(invalid_grant("the account is disabled"));
        }
        let user = self
            .active_user(&grant.account_id, &grant.user_id)
            .await?
            .ok_or_else(|| invalid_grant("the user is deactivated"))?;
        Ok((user.role, app.scopes))
    }

    /// The grant a token names, `None` for one that names no stream.
    async fn grant_state(&self, id: &Name) -> Result<Option<GrantState>, EngineError> {
        match self.grants.read(id).await {
            Ok(s) => Ok(s),
            Err(EngineError::Domain(DomainError::Invalid { .. })) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The `authorization_code` grant: `code` for `client_id`, with the same redirect URI and
    /// the PKCE verifier (43 to 128 characters of RFC 7636's unreserved set; `S256` checked in
    /// constant time). Success starts a refresh-token family. A second use of a code revokes
    /// the grant (so everything the first use issued stops) and is `InvalidGrant`.
    ///
    /// # Errors
    /// `InvalidGrant` for every code that does not work (see [`GrantError::InvalidGrant`]);
    /// `Engine` for a store failure.
    pub async fn redeem_code(
        &self,
        client_id: &Name,
        code: &str,
        redirect_uri: &str,
        code_verifier: &str,
    ) -> Result<UserTokens, GrantError> {
        let unknown = || invalid_grant("the code is unknown or expired");
        let parsed = CodeRef::parse(code).ok_or_else(unknown)?;
        let state = self.grant_state(&parsed.grant_id).await?.ok_or_else(unknown)?;
        let (role, app_scopes) = self.token_context(&state.grant, client_id).await?;
        let secret = new_secret(self.entropy.as_ref());
        let command = GrantCommand::Redeem {
            code: parsed.code,
            presented: parsed.secret,
            client_id: client_id.clone(),
            redirect_uri: redirect_uri.to_owned(),
            code_verifier: code_verifier.to_owned(),
            refresh: Some(SecretHash::of(&secret)),
        };
        let done = self
            .grants
            .execute(Some(&parsed.grant_id), None, &command, None)
            .await?;
        let state = done.state.ok_or_else(unknown)?;
        if state.grant.status == GrantStatus::Revoked {
            return Err(invalid_grant("the code was already used: the authorization is revoked"));
        }
        let hash = SecretHash::of(&secret);
        let (family, f) = state
            .families
            .iter()
            .find(|(_, f)| f.hash == hash)
            .ok_or_else(|| invalid_grant("the refresh token was not recorded"))?;
        let refresh = RefreshRef {
            grant_id: parsed.grant_id,
            family: *family,
            generation: f.generation,
            secret,
        };
        Ok(UserTokens {
            scopes: Self::user_token_scopes(role, &within(&f.scopes, &app_scopes)),
            grant: state.grant.clone(),
            refresh_token: refresh.text(),
            refresh_expires_in: REFRESH_LIFETIME_SECS,
            role,
        })
    }

    /// The `refresh_token` grant: rotates the token (the presented one stops; a new one,
    /// living 30 days, is returned). A reused (already rotated) token revokes the whole grant
    /// and is `InvalidGrant`. `scopes` may narrow the access token's, never widen them.
    ///
    /// # Errors
    /// `InvalidGrant` for a token that does not work, `InvalidScope` for a wider scope,
    /// `Engine` for a store failure.
    pub async fn refresh(
        &self,
        client_id: &Name,
        refresh_token: &str,
        scopes: Option<Vec<Scope>>,
    ) -> Result<UserTokens, GrantError> {
        let unknown = || invalid_grant("the refresh token is unknown, expired or revoked");
        let parsed = RefreshRef::parse(refresh_token).ok_or_else(unknown)?;
        let state = self.grant_state(&parsed.grant_id).await?.ok_or_else(unknown)?;
        let (role, app_scopes) = self.token_context(&state.grant, client_id).await?;
        let secret = new_secret(self.entropy.as_ref());
        let asked = scopes.map(|s| normalized(&s));
        if asked.as_ref().is_some_and(Vec::is_empty) {
            return Err(GrantError::InvalidScope("at least one scope is needed".into()));
        }
        let command = GrantCommand::Refresh {
            family: parsed.family,
            generation: parsed.generation,
            presented: parsed.secret,
            client_id: client_id.clone(),
            scopes: asked.clone(),
            refresh: Some(SecretHash::of(&secret)),
        };
        let done = self
            .grants
            .execute(Some(&parsed.grant_id), None, &command, None)
            .await?;
        let state = done.state.ok_or_else(unknown)?;
        if state.grant.status == GrantStatus::Revoked {
            return Err(invalid_grant(
                "the refresh token was already used: the authorization is revoked",
            ));
        }
        let generation = parsed.generation.saturating_add(1);
        let f = state
            .current_family(parsed.family, generation, &secret)
            .ok_or_else(|| invalid_grant("the refresh token was not recorded"))?;
        let held = within(asked.as_deref().unwrap_or(&f.scopes), &app_scopes);
        let refresh = RefreshRef {
            grant_id: parsed.grant_id,
            family: parsed.family,
            generation,
            secret,
        };
        Ok(UserTokens {
            scopes: Self::user_token_scopes(role, &held),
            grant: state.grant.clone(),
            refresh_token: refresh.text(),
            refresh_expires_in: REFRESH_LIFETIME_SECS,
            role,
        })
    }

    /// RFC 7009 for refresh tokens: a current refresh token of this client revokes its grant,
    /// which is returned (as it was before the revocation); anything else (unknown, rotated,
    /// expired, another client's, malformed) is `None` and changes nothing.
    ///
    /// # Errors
    /// A store failure.
    pub async fn revoke_refresh_token(&self, client_id: &Name, token: &str) -> Result<Option<Grant>, EngineError> {
        let Some((parsed, (grant, _))) = self.current_refresh(client_id, token).await? else {
            return Ok(None);
        };
        let command = GrantCommand::Revoke {
            reason: Some(RevokeReason::TokenRevoked),
        };
        self.grants
            .execute(Some(&parsed.grant_id), None, &command, None)
            .await?;
        Ok(Some(grant))
    }

    /// The grant and the expiry of a current, unexpired refresh token of `client_id` whose grant
    /// is active.
    async fn current_refresh(
        &self,
        client_id: &Name,
        token: &str,
    ) -> Result<Option<(RefreshRef, (Grant, DateTime<Utc>))>, EngineError> {
        let Some(parsed) = RefreshRef::parse(token) else {
            return Ok(None);
        };
        let Some(state) = self.grant_state(&parsed.grant_id).await? else {
            return Ok(None);
        };
        if state.grant.status != GrantStatus::Active {
            return Ok(None);
        }
        let now = self.clock.now();
        let found = state
            .current_family(parsed.family, parsed.generation, &parsed.secret)
            .filter(|f| &f.client_id == client_id && f.expires_at > now)
            .map(|f| f.expires_at);
        Ok(found.map(|expires_at| (parsed, (state.grant.clone(), expires_at))))
    }

    /// For the bearer-token check: the grant, whatever its status (`None` when unknown).
    ///
    /// # Errors
    /// A store failure.
    pub async fn find_grant(&self, id: &Name) -> Result<Option<Grant>, EngineError> {
        Ok(self.grant_state(id).await?.map(|s| s.grant))
    }

    /// What an active refresh token of `client_id` names, for RFC 7662 introspection: the
    /// grant and when the token expires (Unix seconds). `None` for anything revoked, expired,
    /// rotated, foreign or malformed, and when the user, app or an account is no longer active.
    ///
    /// # Errors
    /// A store failure.
    pub async fn introspect_refresh_token(
        &self,
        client_id: &Name,
        token: &str,
    ) -> Result<Option<(Grant, i64)>, EngineError> {
        let Some((_, (grant, expires_at))) = self.current_refresh(client_id, token).await? else {
            return Ok(None);
        };
        match self.token_context(&grant, client_id).await {
            Ok(_) => Ok(Some((grant, expires_at.timestamp()))),
            Err(GrantError::Engine(e)) => Err(e),
            Err(_) => Ok(None),
        }
    }

    /// The scopes a user token of a grant may hold, by the user's role (DESIGN 11): a `member`
    /// never holds `admin`, `platform` or `media`; an `admin` or `owner` keeps the grant's
    /// scopes but `platform`. Sorted, without repeats.
    pub fn user_token_scopes(role: Role, granted: &[Scope]) -> Vec<Scope> {
        let barred: &[Scope] = match role {
            Role::Member => &[Scope::Admin, Scope::Platform, Scope::Media],
            Role::Admin | Role::Owner => &[Scope::Platform],
        };
        normalized(granted)
            .into_iter()
            .filter(|s| !barred.contains(s))
            .collect()
    }
}
