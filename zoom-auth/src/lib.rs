//! The identity domain: accounts, users, apps (OAuth clients) and grants (what a user allowed
//! an app, with its authorization codes and refresh tokens), kept in zoom-core's log and
//! changed only through its runner, like meetings. It knows no HTTP: its REST routes
//! (`/v1/accounts`, `/v1/users`, `/v1/apps`, `/v1/authorizations`) are zoom-http's and its
//! OAuth 2 endpoints the server's, over [`Directory`].
//!
//! Its events are zoom-core's `Event::External`: zoom-core stores them without knowing them,
//! and each aggregate here decodes its own types strictly.
//!
//! # Layout
//! - [`account`]: the account aggregate (`{id, name, status, created_at}`).
//! - [`user`]: the users of an account (one stream per account, for the owner rules) and the
//!   server-wide email claim.
//! - [`app`]: the app aggregate (OAuth clients), with the redirect-URI rules.
//! - [`grant`]: the grant aggregate (one stream per grant, `sys_grant_{grant_id}`): single-use
//!   authorization codes bound to a PKCE `S256` challenge, rotating refresh-token families with
//!   reuse detection, revocation; the pointer that keeps one grant per user and app; the text
//!   of codes and tokens, which names their grant so a redemption reads one stream.
//! - [`password`]: Argon2id password hashes; [`secret`]: client secrets, kept as SHA-256 (codes
//!   and refresh tokens are kept the same way).
//! - [`directory`]: [`Directory`], the service that runs the commands and answers the queries
//!   (the OAuth 2 grants included: [`Directory::authorize`], [`Directory::redeem_code`],
//!   [`Directory::refresh`]).
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
    AccessChange, AppInput, AppWithSecret, AuthorizeRequest, Directory, DirectoryConfig, GrantError, IssuedCode,
    UserChanges, UserInput, UserTokens,
};
pub use grant::{Grant, GrantStatus};
pub use login::{Login, LoginError, UserRef};
pub use stored::SCHEMA_VERSION;
