//! The rules of a grant. A refused code or token is `Unauthorized` `invalid_grant` (RFC 6749's
//! error, with the reason for a person); a reuse is not refused here but decided into the
//! grant's revocation, which the directory then answers as `invalid_grant`.

use chrono::Duration;
use zoom_core::DomainError;
use zoom_core::aggregate::Context;
use zoom_core::id::Name;
use zoom_core::principal::{PrincipalKind, Scope};

use super::command::{Consent, GrantCommand};
use super::event::{
    GrantCodeIssued, GrantCodeRedeemed, GrantCreated, GrantEvent, GrantRefreshTokenIssued, GrantRevoked,
    GrantScopesExtended, RevokeReason,
};
use super::state::{GrantState, GrantStatus};
use super::{CODE_LIFETIME_SECS, REFRESH_LIFETIME_SECS, pkce};
use crate::ids::invalid;

/// The code of every refusal of a presented code or refresh token.
pub const INVALID_GRANT: &str = "invalid_grant";

/// A refusal of a presented code or refresh token, with the reason for a person.
pub fn invalid_grant(message: impl Into<String>) -> DomainError {
    DomainError::Unauthorized {
        code: INVALID_GRANT,
        message: message.into(),
    }
}

/// Sorted, without repeats.
pub fn normalized(scopes: &[Scope]) -> Vec<Scope> {
    let mut scopes = scopes.to_vec();
    scopes.sort();
    scopes.dedup();
    scopes
}

/// Decides what `command` does to the grant `ctx.id`.
///
/// # Errors
/// `Unauthorized` `invalid_grant` for a code or token that does not work; `Invalid` `scope` for
/// a refresh that widens; `Invalid` `code_challenge`; `Conflict` `grant_revoked` for a consent
/// on a revoked grant (make a new one); `NotFound` for a grant the caller may not see;
/// `InsufficientScope` `admin` for an app revoking without it.
pub fn decide(
    state: Option<&GrantState>,
    command: &GrantCommand,
    ctx: &Context<'_, Name>,
) -> Result<Vec<GrantEvent>, DomainError> {
    match command {
        GrantCommand::Consent(consent) => consent_to(state, consent, ctx),
        GrantCommand::Redeem {
            code,
            presented,
            client_id,
            redirect_uri,
            code_verifier,
            refresh,
        } => {
            let s = active(state)?;
            let unknown = || invalid_grant("the code is unknown or expired");
            let c = s.codes.get(code).ok_or_else(unknown)?;
            if !c.hash.matches(presented) {
                return Err(unknown());
            }
            if c.redeemed {
                return Ok(vec![revoked(ctx, RevokeReason::CodeReused)]);
            }
            if c.expires_at <= ctx.now {
                return Err(invalid_grant("the code expired"));
            }
            if &c.client_id != client_id {
                return Err(invalid_grant("the code was issued to another client"));
            }
            if &c.redirect_uri != redirect_uri {
                return Err(invalid_grant(
                    "redirect_uri is not the one of the authorization request",
                ));
            }
            if !pkce::is_verifier(code_verifier) {
                return Err(invalid_grant(
                    "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~",
                ));
            }
            if !pkce::verify(code_verifier, &c.code_challenge) {
                return Err(invalid_grant("code_verifier does not match the code_challenge"));
            }
            let refresh = refresh.clone().ok_or_else(|| invalid("refresh_token", "is required"))?;
            Ok(vec![
                GrantEvent::CodeRedeemed(GrantCodeRedeemed {
                    grant_id: ctx.id.clone(),
                    code: *code,
                    at: ctx.now,
                }),
                GrantEvent::RefreshTokenIssued(GrantRefreshTokenIssued {
                    grant_id: ctx.id.clone(),
                    family: s.next_family,
                    generation: 1,
                    refresh_sha256: refresh,
                    client_id: client_id.clone(),
                    scopes: c.scopes.clone(),
                    expires_at: ctx.now + Duration::seconds(REFRESH_LIFETIME_SECS),
                    at: ctx.now,
                }),
            ])
        }
        GrantCommand::Refresh {
            family,
            generation,
            presented,
            client_id,
            scopes,
            refresh,
        } => {
            let s = active(state)?;
            let unknown = || invalid_grant("the refresh token is unknown, expired or revoked");
            let f = s.families.get(family).ok_or_else(unknown)?;
            if *generation != f.generation {
                let reused = *generation < f.generation
                    && f.retired.iter().any(|(g, h)| g == generation && h.matches(presented));
                return if reused {
                    Ok(vec![revoked(ctx, RevokeReason::RefreshTokenReused)])
                } else {
                    Err(unknown())
                };
            }
            if !f.hash.matches(presented) {
                return Err(unknown());
            }
            if f.expires_at <= ctx.now {
                return Err(invalid_grant("the refresh token expired"));
            }
            if &f.client_id != client_id {
                return Err(invalid_grant("the refresh token was issued to another client"));
            }
            if let Some(asked) = scopes
                && let Some(extra) = asked.iter().find(|a| !f.scopes.contains(a))
            {
                return Err(invalid(
                    "scope",
                    format!("`{extra}` was not granted; a refresh may narrow the scopes, never widen them"),
                ));
            }
            let refresh = refresh.clone().ok_or_else(|| invalid("refresh_token", "is required"))?;
            Ok(vec![GrantEvent::RefreshTokenIssued(GrantRefreshTokenIssued {
                grant_id: ctx.id.clone(),
                family: *family,
                generation: f.generation.saturating_add(1),
                refresh_sha256: refresh,
                client_id: client_id.clone(),
                scopes: f.scopes.clone(),
                expires_at: ctx.now + Duration::seconds(REFRESH_LIFETIME_SECS),
                at: ctx.now,
            })])
        }
        GrantCommand::Revoke { reason } => {
            let not_found = || DomainError::NotFound {
                resource: "authorization",
                id: ctx.id.to_string(),
            };
            let s = state.ok_or_else(not_found)?;
            let grant = &s.grant;
            let mut by = RevokeReason::Admin;
            if let Some(p) = ctx.principal {
                if p.account_id != grant.account_id && !p.has(Scope::Platform) {
                    return Err(not_found());
                }
                let own = p.kind == PrincipalKind::User && p.subject == grant.user_id;
                if own {
                    by = RevokeReason::User;
                } else if !p.has(Scope::Admin) {
                    return Err(match p.kind {
                        // A user sees no one else's grants.
                        PrincipalKind::User => not_found(),
                        PrincipalKind::App => DomainError::InsufficientScope(Scope::Admin),
                    });
                }
            }
            if grant.status == GrantStatus::Revoked {
                return Ok(vec![]);
            }
            Ok(vec![revoked(ctx, reason.unwrap_or(by))])
        }
    }
}

fn active(state: Option<&GrantState>) -> Result<&GrantState, DomainError> {
    match state {
        None => Err(invalid_grant("the authorization is unknown")),
        Some(s) if s.grant.status == GrantStatus::Revoked => Err(invalid_grant("the authorization was revoked")),
        Some(s) => Ok(s),
    }
}

fn revoked(ctx: &Context<'_, Name>, reason: RevokeReason) -> GrantEvent {
    GrantEvent::Revoked(GrantRevoked {
        grant_id: ctx.id.clone(),
        reason,
        at: ctx.now,
    })
}

fn consent_to(
    state: Option<&GrantState>,
    consent: &Consent,
    ctx: &Context<'_, Name>,
) -> Result<Vec<GrantEvent>, DomainError> {
    if !pkce::is_challenge(&consent.code.code_challenge) {
        return Err(invalid(
            "code_challenge",
            "must be an S256 challenge: 43 base64url characters",
        ));
    }
    let scopes = normalized(&consent.scopes);
    if scopes.is_empty() {
        return Err(invalid("scope", "at least one scope is needed"));
    }
    let hash = consent
        .code
        .hash
        .clone()
        .ok_or_else(|| invalid("code", "is required"))?;
    let mut events = Vec::with_capacity(2);
    let code = match state {
        None => {
            events.push(GrantEvent::Created(GrantCreated {
                grant_id: ctx.id.clone(),
                account_id: consent.account_id.clone(),
                user_id: consent.user_id.clone(),
                client_id: consent.client_id.clone(),
                scopes: scopes.clone(),
                created_at: ctx.now,
            }));
            1
        }
        Some(s) => {
            let g = &s.grant;
            if g.status == GrantStatus::Revoked {
                return Err(DomainError::Conflict {
                    code: "grant_revoked",
                    message: "this authorization was revoked; a new consent makes a new one".into(),
                });
            }
            if g.account_id != consent.account_id || g.user_id != consent.user_id || g.client_id != consent.client_id {
                return Err(DomainError::Conflict {
                    code: "grant_mismatch",
                    message: "this authorization belongs to another user or app".into(),
                });
            }
            let union = normalized(&[g.scopes.as_slice(), scopes.as_slice()].concat());
            if union != g.scopes {
                events.push(GrantEvent::ScopesExtended(GrantScopesExtended {
                    grant_id: ctx.id.clone(),
                    scopes: union,
                    at: ctx.now,
                }));
            }
            s.next_code
        }
    };
    events.push(GrantEvent::CodeIssued(GrantCodeIssued {
        grant_id: ctx.id.clone(),
        code,
        code_sha256: hash,
        client_id: consent.client_id.clone(),
        redirect_uri: consent.code.redirect_uri.clone(),
        code_challenge: consent.code.code_challenge.clone(),
        scopes,
        expires_at: ctx.now + Duration::seconds(CODE_LIFETIME_SECS),
        at: ctx.now,
    }));
    Ok(events)
}
