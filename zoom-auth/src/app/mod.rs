//! The app aggregate: an OAuth client, one stream per app (`sys_app_{client_id}`, the stream the
//! server's registry has always used, so apps it registered as `app.registered` keep reading).
//!
//! # Layout
//! - [`state`]: the folded app and its enums.
//! - [`command`]: the closed set of commands.
//! - [`event`]: the events, past tense.
//! - [`decide`](mod@decide): the rules (isolation, kinds, scopes, secrets).
//! - [`apply`](mod@apply): the fold, total and panic-free.
//! - [`redirect`]: the redirect-URI rules.
//! - [`aggregate`]: [`Apps`], the app as the runner's aggregate.

pub mod aggregate;
pub mod apply;
pub mod command;
pub mod decide;
pub mod event;
pub mod redirect;
pub mod state;

pub use aggregate::{Apps, app_stream};
pub use command::{AppCommand, AppPatch, NewApp};
pub use event::AppEvent;
pub use state::{App, AppKind, AppState, AppStatus};
