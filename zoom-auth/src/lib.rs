//! The identity domain: accounts, users and apps (OAuth clients), kept in zoom-core's log and
//! changed only through its runner, like meetings. It knows no HTTP: its REST routes
//! (`/v1/accounts`, `/v1/users`, `/v1/apps`) are zoom-http's, over [`Directory`].
//!
//! Its events are zoom-core's `Event::External`: zoom-core stores them without knowing them,
//! and each aggregate here decodes its own types strictly.
//!
//! # Layout
//! - [`account`]: the account aggregate (`{id, name, status, created_at}`).
//! - [`user`]: the users of an account (one stream per account, for the owner rules) and the
//!   server-wide email claim.
//! - [`app`]: the app aggregate (OAuth clients), with the redirect-URI rules.
//! - [`password`]: Argon2id password hashes; [`secret`]: client secrets, kept as SHA-256.
//! - [`directory`]: [`Directory`], the service that runs the commands and answers the queries.
//! - [`login`]: the [`Login`] seam and its default on the directory.
//! - [`ids`]: generated ids and stream names; `stored`: the external-event encoding.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use zoom_auth::{Directory, DirectoryConfig, Login, UserInput};
//! use zoom_auth::password::PasswordParams;
//! use zoom_core::clock::{SystemClock, SystemEntropy};
//! use zoom_core::id::Name;
//!
//! let platform = Name::parse("default").unwrap();
//! let mut config = DirectoryConfig::new(platform.clone());
//! config.password = PasswordParams::insecure_for_tests();
//! let store = Arc::new(zoom_store_memory::MemoryStore::new());
//! let directory = Directory::new(store, Arc::new(SystemClock), Arc::new(SystemEntropy), config).unwrap();
//! directory.create_account(None, Some(&platform), "Operator", None).await.unwrap();
//! let input = UserInput {
//!     id: Some(Name::parse("alice").unwrap()),
//!     email: "Alice@Example.com".into(),
//!     display_name: "Alice".into(),
//!     role: None,
//!     password: Some("correct horse".into()),
//! };
//! directory.create_user(None, &platform, input).await.unwrap();
//! let who = directory.login("alice@example.com", "correct horse").await.unwrap();
//! assert_eq!(who.user_id.as_str(), "alice");
//! # });
//! ```

pub mod account;
pub mod app;
pub mod directory;
pub mod grant;
pub mod ids;
pub mod login;
pub mod password;
pub mod secret;
mod stored;
pub mod user;

pub use directory::{
    AppInput, AppWithSecret, AuthorizeRequest, Directory, DirectoryConfig, GrantError, IssuedCode, UserChanges,
    UserInput, UserTokens,
};
pub use grant::{Grant, GrantStatus};
pub use login::{Login, LoginError, UserRef};
pub use stored::SCHEMA_VERSION;
