//! Access tokens: EdDSA JWTs with a `kid`, signed by a key ring kept in the log
//! (`sys_keys_access`), so tokens survive a restart. [`TokenIssuer`] is the seam where other
//! OAuth flows (authorization code, user tokens) slot in later.

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use zoom_core::clock::Clock;
use zoom_core::id::{AccountId, EventId, Name};
use zoom_core::principal::{Principal, PrincipalKind, Scope};
use zoom_core::token::{KeyRing, TokenError, VerifyOptions};

use crate::apps::App;

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
        let claims: AccessClaims = self.verify_claims(token, ACCESS_AUDIENCE)?;
        let bad = |what: &str| AccessError::InvalidToken(format!("the token's {what} is not valid"));
        let account = AccountId::parse(&claims.acct).map_err(|_| bad("account"))?;
        let subject = Name::parse(&claims.sub).map_err(|_| bad("subject"))?;
        let scopes = parse_scopes(&claims.scope).map_err(|_| bad("scope"))?;
        Ok(Principal {
            account_id: account,
            subject,
            kind: claims.kind,
            scopes,
            account_wide: false,
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
        let holds = |s: Scope| held.contains(&s) || held.contains(&Scope::Admin);
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
        let scope = granted.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ");
        let now = self.clock.now().timestamp();
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            aud: ACCESS_AUDIENCE.to_owned(),
            sub: app.client_id.to_string(),
            acct: app.account_id.to_string(),
            kind: PrincipalKind::App,
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
