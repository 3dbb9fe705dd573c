//! Email addresses: their normal form, and the server-wide claim that makes each one name at
//! most one user. The claim is an aggregate of its own (state, command, event, decide and apply
//! are each a few lines, so they share this file): one stream per address (`auth_eml_…`), so two
//! concurrent creations with one address are decided by that stream's optimistic concurrency.
//!
//! A user is created in two appends: the claim, then the user. A failed creation releases its
//! claim; a claim left by a crash between the two appends can be taken over after
//! [`STALE_CLAIM`] by a claimant that found no such user (the directory checks it).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use zoom_core::DomainError;
use zoom_core::aggregate::{Aggregate, Context};
use zoom_core::event::{DecodeError, Event, RecordedEvent, StreamId};
use zoom_core::id::{AccountId, UserId};
use zoom_core::principal::Scope;

use crate::{ids, stored};

/// How long a claim whose user does not exist is kept for its claimant.
pub const STALE_CLAIM: Duration = Duration::minutes(5);

/// The normal form of an email address: trimmed and lower-cased, 3 to 254 characters, one `@`
/// between a non-empty local part and a domain, no spaces or control characters.
///
/// # Errors
/// `Invalid` `email`.
pub fn normalize(raw: &str) -> Result<String, DomainError> {
    let email = raw.trim().to_lowercase();
    let ok = (3..=254).contains(&email.len())
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
    if ok {
        Ok(email)
    } else {
        Err(ids::invalid("email", "is not an email address"))
    }
}

/// Who holds an address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailClaim {
    /// The normalised address.
    pub email: String,
    /// The holder's account.
    pub account_id: AccountId,
    /// The holder.
    pub user_id: UserId,
    /// Since when.
    pub claimed_at: DateTime<Utc>,
}

/// A command on an address's claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum EmailCommand {
    /// Claims the address for a user (a no-op when they hold it already).
    Claim {
        /// The claimant's account.
        account_id: AccountId,
        /// The claimant.
        user_id: UserId,
        /// The directory found no user holding the current claim, so a claim older than
        /// [`STALE_CLAIM`] may be taken over.
        holder_missing: bool,
    },
    /// Gives the address up, when this user holds it (else a no-op).
    Release {
        /// The holder's account.
        account_id: AccountId,
        /// The holder.
        user_id: UserId,
    },
}

/// Every stored type of an address's stream.
pub const EVENT_TYPES: &[&str] = &["user.email_claimed", "user.email_released"];

/// An event of an address's stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "payload")]
pub enum EmailEvent {
    /// A user took the address.
    #[serde(rename = "user.email_claimed")]
    Claimed(EmailClaim),
    /// The user gave it up (their creation failed).
    #[serde(rename = "user.email_released")]
    Released(EmailReleased),
}

/// Payload of `user.email_released`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailReleased {
    /// The address.
    pub email: String,
    /// The holder's account.
    pub account_id: AccountId,
    /// The holder.
    pub user_id: UserId,
    /// When.
    pub at: DateTime<Utc>,
}

/// The claim aggregate. Its commands are the directory's own steps, never a caller's, so they
/// need no scope.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmailClaims;

impl Aggregate for EmailClaims {
    type Id = String;
    type State = Option<EmailClaim>;
    type Command = EmailCommand;
    type Event = EmailEvent;
    type Error = DomainError;

    const KIND: &'static str = "email";

    fn stream(&self, email: &String) -> Result<StreamId, DomainError> {
        ids::hashed_stream("eml", &[email.as_str()])
    }

    fn scope(&self, _command: &EmailCommand) -> Option<Scope> {
        None
    }

    fn causation(&self, command: &EmailCommand) -> String {
        match command {
            EmailCommand::Claim { .. } => "user.create".into(),
            EmailCommand::Release { .. } => "user.create.undo".into(),
        }
    }

    fn decide(
        &self,
        state: &Option<EmailClaim>,
        command: &EmailCommand,
        ctx: &Context<'_, String>,
    ) -> Result<Vec<EmailEvent>, DomainError> {
        match command {
            EmailCommand::Claim {
                account_id,
                user_id,
                holder_missing,
            } => {
                if let Some(c) = state {
                    if &c.account_id == account_id && &c.user_id == user_id {
                        return Ok(vec![]);
                    }
                    if !(*holder_missing && ctx.now - c.claimed_at >= STALE_CLAIM) {
                        return Err(DomainError::Conflict {
                            code: "email_taken",
                            message: "a user with this email already exists".into(),
                        });
                    }
                }
                Ok(vec![EmailEvent::Claimed(EmailClaim {
                    email: ctx.id.clone(),
                    account_id: account_id.clone(),
                    user_id: user_id.clone(),
                    claimed_at: ctx.now,
                })])
            }
            EmailCommand::Release { account_id, user_id } => match state {
                Some(c) if &c.account_id == account_id && &c.user_id == user_id => {
                    Ok(vec![EmailEvent::Released(EmailReleased {
                        email: ctx.id.clone(),
                        account_id: account_id.clone(),
                        user_id: user_id.clone(),
                        at: ctx.now,
                    })])
                }
                _ => Ok(vec![]),
            },
        }
    }

    fn apply(state: &mut Option<EmailClaim>, event: &EmailEvent, _version: u64) {
        match event {
            EmailEvent::Claimed(c) => *state = Some(c.clone()),
            EmailEvent::Released(r) => {
                if state
                    .as_ref()
                    .is_some_and(|c| c.account_id == r.account_id && c.user_id == r.user_id)
                {
                    *state = None;
                }
            }
        }
    }

    fn narrow(event: Event) -> Option<EmailEvent> {
        stored::narrow(&event, EVENT_TYPES)?.ok()
    }

    fn widen(event: &EmailEvent) -> Event {
        stored::widen(event)
    }

    fn decode(row: &RecordedEvent) -> Result<Option<EmailEvent>, DecodeError> {
        stored::decode(row, EVENT_TYPES)
    }

    fn exists(state: &Option<EmailClaim>) -> bool {
        state.is_some()
    }

    fn account(&self, state: &Option<EmailClaim>) -> Option<AccountId> {
        state.as_ref().map(|c| c.account_id.clone())
    }

    fn snapshots(&self) -> bool {
        false
    }
}
