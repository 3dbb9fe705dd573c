//! The commands of a grant. Secrets (a presented code or token, a PKCE verifier, the hash of a
//! new token) are never part of an idempotency fingerprint.

use serde::Serialize;
use zoom_core::id::{AccountId, Name, UserId};
use zoom_core::principal::Scope;

use super::event::RevokeReason;
use crate::secret::SecretHash;

/// A command on a grant's stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum GrantCommand {
    /// A user's consent: creates the grant (or extends an active one's scopes) and issues a code.
    Consent(Consent),
    /// The `authorization_code` grant: redeems a code, starting a refresh-token family.
    Redeem {
        /// The code's number (from its text).
        code: u64,
        /// The code's secret part, checked against its hash.
        #[serde(skip)]
        presented: String,
        /// The client redeeming it.
        client_id: Name,
        /// The redirect URI of the token request.
        redirect_uri: String,
        /// The PKCE verifier.
        #[serde(skip)]
        code_verifier: String,
        /// The hash of the secret part of the family's first refresh token (the family's
        /// number is the grant's next, set by the decision).
        #[serde(skip)]
        refresh: Option<SecretHash>,
    },
    /// The `refresh_token` grant: rotates a family's token.
    Refresh {
        /// The family (from the token's text).
        family: u64,
        /// The generation (from the token's text).
        generation: u64,
        /// The token's secret part, checked against its hash.
        #[serde(skip)]
        presented: String,
        /// The client presenting it.
        client_id: Name,
        /// Narrower scopes asked for, if any.
        scopes: Option<Vec<Scope>>,
        /// The hash of the secret part of the new refresh token.
        #[serde(skip)]
        refresh: Option<SecretHash>,
    },
    /// Revokes the grant (a no-op when it is already). Without a reason, the caller's: `user`
    /// for the user it belongs to, `admin` otherwise.
    Revoke {
        /// Why, when the system revokes it.
        reason: Option<RevokeReason>,
    },
}

/// A consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Consent {
    /// The user's account.
    pub account_id: AccountId,
    /// The user.
    pub user_id: UserId,
    /// The app.
    pub client_id: Name,
    /// The scopes allowed (already checked against the app's).
    pub scopes: Vec<Scope>,
    /// The code to issue.
    pub code: NewCode,
}

/// The code a consent issues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewCode {
    /// The hash of its secret part (its number is the grant's next, set by the decision).
    #[serde(skip)]
    pub hash: Option<SecretHash>,
    /// The redirect URI of the request.
    pub redirect_uri: String,
    /// The PKCE `S256` challenge.
    pub code_challenge: String,
}
