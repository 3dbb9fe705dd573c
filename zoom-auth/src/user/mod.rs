//! The user aggregate: the users of one account, one stream per account (`auth_usr_…`).
//!
//! The users of an account share a stream because the owner rules span them: the last owner
//! cannot be removed or demoted, and only an owner may make or unmake one. One stream makes
//! each such decision atomic without a second lock. Email addresses are unique in the whole
//! server; that rule spans accounts, so it lives in [`email`], one small stream per address.
//!
//! # Layout
//! - [`state`]: the folded users and their enums.
//! - [`command`]: the closed set of commands.
//! - [`event`]: the events, past tense.
//! - [`decide`](mod@decide): the rules (roles, owners, status).
//! - [`apply`](mod@apply): the fold, total and panic-free.
//! - [`aggregate`]: [`Users`], the user directory as the runner's aggregate.
//! - [`email`]: address normalisation and [`email::EmailClaims`], the server-wide claim of an address.

pub mod aggregate;
pub mod apply;
pub mod command;
pub mod decide;
pub mod email;
pub mod event;
pub mod state;

pub use aggregate::Users;
pub use command::{NewUser, UserCommand, UserPatch};
pub use event::UserEvent;
pub use state::{Role, User, UserDirectory, UserStatus};
