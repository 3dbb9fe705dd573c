//! Access tokens: EdDSA JWTs with a `kid`, signed by a key ring kept in the log
//! (`sys_keys_access`), so tokens survive a restart. [`TokenIssuer`] is the seam: app tokens
//! (client credentials) and user tokens (of an authorization, the `grt` claim).

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use zoom_core::clock::Clock;
use zoom_core::id::{AccountId, EventId, Name};
use zoom_core::principal::{Principal, PrincipalKind, Scope};
use zoom_core::token::{KeyRing, TokenError, VerifyOptions};

use zoom_auth::app::App;

/// How long an access token lives.
pub const ACCESS_TOKEN_TTL_SECS: i64 = 3600;

/// The audience of access tokens: this API.
pub const ACCESS_AUDIENCE: &str = "zoom-api";

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The server's public URL.
    pub iss: String,
    /// Always [`ACCESS_AUDIENCE`].
    pub aud: String,
    /// The app's client id (or, for user tokens, the user id).
    pub sub: String,
    /// The app the token was issued to (for app tokens, `sub` too). Tokens issued before this
    /// claim existed lack it; they are app tokens, and `sub` names the app.
    #[serde(default)]
    pub client_id: String,
    /// For user tokens, the authorization (grant) they were issued under: revoking it refuses
    /// them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grt: Option<String>,
    /// The account it acts for.
    pub acct: String,
    /// `app` or `user`.
    pub kind: PrincipalKind,
    /// Space-separated scopes.
    pub scope: String,
    /// Issued at.
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
    /// Expires at.
    pub exp: i64,
    /// Token id.
    pub jti: String,
}

/// A granted access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The JWT.
    pub token: String,
    /// Seconds until it expires.
    pub expires_in: i64,
    /// The granted scopes, space-separated.
    pub scope: String,
}

/// Why a token was not issued or not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// A requested scope is unknown or not held by the app: OAuth `invalid_scope` (400).
    #[error("scope `{0}` is unknown or not granted to this client")]
    InvalidScope(String),
    /// The token did not verify: 401.
    #[error("{0}")]
    InvalidToken(String),
    /// Signing failed (never for a well-formed key ring): 500.
    #[error("signing failed: {0}")]
    Signing(String),
}

/// Issues access tokens for authenticated apps. Implementations decide the token format; the
/// server's is [`AccessTokens`].
pub trait TokenIssuer: Send + Sync + 'static {
    /// Issues a token for `app`, narrowed to `requested` scopes (space-separated; all of the app's
    /// scopes when `None`).
    ///
    /// # Errors
    /// [`AccessError::InvalidScope`] when a requested scope is not the app's.
    fn issue(&self, app: &App, requested: Option<&str>) -> Result<AccessToken, AccessError>;

    /// Issues a user token: `user` of `account`, through the app `client_id`, under the
    /// authorization `grant`, holding `scopes`.
    ///
    /// # Errors
    /// [`AccessError::Signing`].
    fn issue_for_user(&self, user: &UserGrant<'_>) -> Result<AccessToken, AccessError>;
}

/// What a user token is issued for.
#[derive(Debug, Clone, Copy)]
pub struct UserGrant<'a> {
    /// The user's account (which the token acts in).
    pub account_id: &'a AccountId,
    /// The user.
    pub user_id: &'a Name,
    /// The app acting for them.
    pub client_id: &'a Name,
    /// The authorization.
    pub grant_id: &'a Name,
    /// What the token may do.
    pub scopes: &'a [Scope],
}

/// A verified access token: its claims and the principal they name, before the account, app
/// and grant are checked (the bearer-token check and introspection do that).
#[derive(Debug, Clone)]
pub struct Verified {
    /// The claims.
    pub claims: AccessClaims,
    /// Who the token names.
    pub principal: Principal,
    /// The app it was issued to.
    pub client_id: Name,
    /// The authorization of a user token.
    pub grant: Option<Name>,
}

/// EdDSA access tokens signed by a key ring from the log.
pub struct AccessTokens {
    ring: RwLock<KeyRing>,
    issuer: String,
    clock: Arc<dyn Clock>,
    entropy: Arc<dyn zoom_core::clock::Entropy>,
}

impl std::fmt::Debug for AccessTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessTokens")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl AccessTokens {
    /// Tokens signed by `ring`, issued by `issuer` (the public URL).
    pub fn new(
        ring: KeyRing,
        issuer: impl Into<String>,
        clock: Arc<dyn Clock>,
        entropy: Arc<dyn zoom_core::clock::Entropy>,
    ) -> Self {
        Self {
            ring: RwLock::new(ring),
            issuer: issuer.into(),
            clock,
            entropy,
        }
    }

    /// Verifies a bearer token and returns its principal.
    ///
    /// # Errors
    /// [`AccessError::InvalidToken`] for a bad signature, an expired token, another issuer or
    /// audience, or claims that do not parse.
    pub fn verify(&self, token: &str) -> Result<Principal, AccessError> {
        self.verify_access(token).map(|v| v.principal)
    }

    /// Verifies a bearer token and returns its claims and principal.
    ///
    /// # Errors
    /// As [`AccessTokens::verify`]; also a user token without a grant.
    pub fn verify_access(&self, token: &str) -> Result<Verified, AccessError> {
        let claims: AccessClaims = self.verify_claims(token, ACCESS_AUDIENCE)?;
        let bad = |what: &str| AccessError::InvalidToken(format!("the token's {what} is not valid"));
        let account = AccountId::parse(&claims.acct).map_err(|_| bad("account"))?;
        let subject = Name::parse(&claims.sub).map_err(|_| bad("subject"))?;
        let scopes = parse_scopes(&claims.scope).map_err(|_| bad("scope"))?;
        let client_id = match (claims.kind, claims.client_id.as_str()) {
            (PrincipalKind::App, "") => subject.clone(),
            (_, id) => Name::parse(id).map_err(|_| bad("client_id"))?,
        };
        let grant = match (claims.kind, &claims.grt) {
            (PrincipalKind::User, Some(g)) => Some(Name::parse(g).map_err(|_| bad("grant"))?),
            (PrincipalKind::User, None) => return Err(bad("grant")),
            (PrincipalKind::App, _) => None,
        };
        let principal = Principal {
            account_id: account,
            subject,
            kind: claims.kind,
            scopes,
            account_wide: false,
            app: (claims.kind == PrincipalKind::User).then(|| client_id.clone()),
        };
        Ok(Verified {
            claims,
            principal,
            client_id,
            grant,
        })
    }
}

impl AccessTokens {
    /// Signs any claims with the access-token key ring (for short-lived server artefacts such as
    /// the login session cookie, told apart from access tokens by their own `aud`). The ring is
    /// in the store, so every instance verifies what another signed.
    ///
    /// # Errors
    /// [`AccessError::Signing`].
    pub fn sign_claims<T: Serialize>(&self, claims: &T) -> Result<String, AccessError> {
        self.ring
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .sign(claims)
            .map_err(|e| AccessError::Signing(e.to_string()))
    }

    /// Verifies claims signed by [`AccessTokens::sign_claims`] for `audience`, issued by this
    /// server and not expired.
    ///
    /// # Errors
    /// [`AccessError::InvalidToken`].
    pub fn verify_claims<T: serde::de::DeserializeOwned>(&self, token: &str, audience: &str) -> Result<T, AccessError> {
        let now = self.clock.now().timestamp();
        let options = VerifyOptions::new(&self.issuer, audience, now);
        self.ring
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .verify(token, &options)
            .map_err(|e: TokenError| AccessError::InvalidToken(e.to_string()))
    }

    /// The issuer (the public URL).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The clock tokens are dated by.
    pub fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }
}

impl TokenIssuer for AccessTokens {
    fn issue(&self, app: &App, requested: Option<&str>) -> Result<AccessToken, AccessError> {
        let held: BTreeSet<Scope> = app.scopes.iter().copied().collect();
        // `admin` implies every scope but `platform`, which only a platform app holds itself.
        let holds = |s: Scope| held.contains(&s) || (s != Scope::Platform && held.contains(&Scope::Admin));
        let granted: BTreeSet<Scope> = match requested.map(str::trim).filter(|s| !s.is_empty()) {
            None => held.clone(),
            Some(raw) => {
                let wanted = parse_scopes(raw).map_err(AccessError::InvalidScope)?;
                if let Some(s) = wanted.iter().find(|s| !holds(**s)) {
                    return Err(AccessError::InvalidScope(s.as_str().to_owned()));
                }
                wanted
            }
        };
        self.mint(
            PrincipalKind::App,
            &app.client_id,
            &app.account_id,
            &app.client_id,
            None,
            granted.iter(),
        )
    }

    fn issue_for_user(&self, user: &UserGrant<'_>) -> Result<AccessToken, AccessError> {
        let scopes: BTreeSet<&Scope> = user.scopes.iter().collect();
        self.mint(
            PrincipalKind::User,
            user.user_id,
            user.account_id,
            user.client_id,
            Some(user.grant_id),
            scopes.into_iter(),
        )
    }
}

impl AccessTokens {
    fn mint<'s>(
        &self,
        kind: PrincipalKind,
        subject: &Name,
        account: &AccountId,
        client_id: &Name,
        grant: Option<&Name>,
        scopes: impl Iterator<Item = &'s Scope>,
    ) -> Result<AccessToken, AccessError> {
        let scope = scopes.map(|s| s.as_str()).collect::<Vec<_>>().join(" ");
        let now = self.clock.now().timestamp();
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            aud: ACCESS_AUDIENCE.to_owned(),
            sub: subject.to_string(),
            client_id: client_id.to_string(),
            grt: grant.map(ToString::to_string),
            acct: account.to_string(),
            kind,
            scope: scope.clone(),
            iat: now,
            nbf: now,
            exp: now + ACCESS_TOKEN_TTL_SECS,
            jti: EventId::from_entropy(self.entropy.id_bytes())
                .as_str()
                .replacen("evt_", "atk_", 1),
        };
        let token = self.sign_claims(&claims)?;
        Ok(AccessToken {
            token,
            expires_in: ACCESS_TOKEN_TTL_SECS,
            scope,
        })
    }
}

/// Parses space-separated scope names; an unknown one is returned as the error.
fn parse_scopes(raw: &str) -> Result<BTreeSet<Scope>, String> {
    raw.split_whitespace()
        .map(|s| Scope::parse(s).ok_or_else(|| s.to_owned()))
        .collect()
}
