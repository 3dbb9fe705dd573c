//! The account aggregate: one stream per account (`auth_acc_…`), its name and status.
//!
//! # Layout
//! - [`state`]: the folded account.
//! - [`command`]: the closed set of commands.
//! - [`event`]: the events, past tense.
//! - [`decide`](mod@decide): the rules.
//! - [`apply`](mod@apply): the fold, total and panic-free.
//! - [`aggregate`]: [`Accounts`], the account as the runner's aggregate.

pub mod aggregate;
pub mod apply;
pub mod command;
pub mod decide;
pub mod event;
pub mod state;

pub use aggregate::Accounts;
pub use command::{AccountCommand, AccountPatch};
pub use event::AccountEvent;
pub use state::{Account, AccountStatus};
