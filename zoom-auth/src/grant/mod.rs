//! The authorization aggregate: what a user allowed an app (a grant, `grt_…`), one stream per
//! grant (`sys_grant_{grant_id}`), holding the grant, its pending authorization codes and its
//! refresh-token families.
//!
//! Codes and refresh tokens are secrets: the stream keeps only their SHA-256. Each token's text
//! names the grant and its place in it ([`token`]), so a redemption reads one stream, and reuse
//! is detected from a bounded state: a code is remembered until it expires, and a family keeps
//! the hashes of its last [`state::RETIRED_KEPT`] rotated tokens.
//!
//! A user holds at most one grant per app: [`key`] is the pointer from (account, user, app) to
//! the current grant, a stream of its own, so two consents racing each other make one grant.
//!
//! # Layout
//! - [`state`]: the folded grant, its codes and families.
//! - [`command`]: the closed set of commands.
//! - [`event`]: the events, past tense.
//! - [`decide`](mod@decide): the rules (codes, PKCE, rotation, reuse, who may revoke).
//! - [`apply`](mod@apply): the fold, total and panic-free.
//! - [`aggregate`]: [`Grants`], the grant as the runner's aggregate.
//! - [`token`]: the text of codes and refresh tokens; [`pkce`]: RFC 7636's `S256`.
//! - [`key`]: [`key::GrantKeys`], the current grant of a user and an app.

pub mod aggregate;
pub mod apply;
pub mod command;
pub mod decide;
pub mod event;
pub mod key;
pub mod pkce;
pub mod state;
pub mod token;

pub use aggregate::{Grants, grant_stream};
pub use command::{Consent, GrantCommand, NewCode};
pub use event::{GrantEvent, RevokeReason};
pub use state::{Grant, GrantState, GrantStatus};

/// How long an authorization code lives, in seconds.
pub const CODE_LIFETIME_SECS: i64 = 300;

/// How long a refresh token lives after it was issued, in seconds (30 days).
pub const REFRESH_LIFETIME_SECS: i64 = 30 * 24 * 3600;
