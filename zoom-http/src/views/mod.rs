//! The JSON shapes of the API: request bodies and responses, with their OpenAPI schemas, one
//! module per resource.
//!
//! These are the wire contract of docs/api.md, kept apart from `zoom-core`'s folded states so the
//! stored form and the API can evolve separately (a meeting's state holds its removed users and
//! join-token ids; the API shows neither).

mod accounts;
mod apps;
mod authorizations;
mod media;
mod meetings;
mod meta;
mod participants;
mod recordings;
mod users;
mod webhooks;

pub use accounts::*;
pub use apps::*;
pub use authorizations::*;
pub use media::*;
pub use meetings::*;
pub use meta::*;
pub use participants::*;
pub use recordings::*;
pub use users::*;
pub use webhooks::*;

/// RFC 3339 instants written in one step: chrono's own `Serialize` formats through
/// `collect_str`, which escapes character by character and was the largest cost of a read.
pub(crate) mod instant {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::Serializer;

    pub(crate) fn one<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }

    pub(crate) fn maybe<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => one(t, s),
            None => s.serialize_none(),
        }
    }
}
