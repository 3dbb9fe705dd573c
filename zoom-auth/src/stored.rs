//! How this crate's events are kept in zoom-core's log: as [`Event::External`], each type with
//! its schema version, decoded strictly (a row of one of our types that does not decode is an
//! error naming the row, never skipped).

use serde::Serialize;
use serde::de::DeserializeOwned;
use zoom_core::event::{DecodeError, Event, ExternalEvent, RecordedEvent};

/// The schema version written for every event type of this crate (all are at their first).
pub const SCHEMA_VERSION: u32 = 1;

/// The stored form of one of this crate's events (adjacently tagged enums).
pub(crate) fn widen<T: Serialize>(event: &T) -> Event {
    Event::External(ExternalEvent::from_tagged(event, SCHEMA_VERSION).unwrap_or_else(ExternalEvent::unencodable))
}

/// The typed event of an external event whose type is one of `types`.
pub(crate) fn narrow<T: DeserializeOwned>(event: &Event, types: &[&str]) -> Option<Result<T, String>> {
    match event {
        Event::External(e) if types.contains(&e.event_type()) => Some(if e.schema_version() > SCHEMA_VERSION {
            Err(format!(
                "schema version {} is newer than this code understands ({SCHEMA_VERSION}); upgrade first",
                e.schema_version()
            ))
        } else {
            e.decode_as()
        }),
        _ => None,
    }
}

/// Decodes a row into one of `types`, `None` for a row of another type.
pub(crate) fn decode<T: DeserializeOwned>(row: &RecordedEvent, types: &[&str]) -> Result<Option<T>, DecodeError> {
    let event = row.decode()?;
    narrow(&event, types).transpose().map_err(|reason| DecodeError {
        stream_id: row.stream_id.as_str().to_owned(),
        version: row.version,
        event_type: row.event_type.clone(),
        schema_version: row.schema_version,
        reason: format!("payload does not match its type: {reason}"),
    })
}
