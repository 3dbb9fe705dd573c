//! The webhook catalogue: which stored events are sent, and under which name. Their bodies are
//! rendered by [`crate::webhook_body`], above both this module and the stored events.

use chrono::Duration;

use crate::error::DomainError;

/// Every name a subscription can ask for.
pub const CATALOGUE: [&str; 15] = [
    "meeting.created",
    "meeting.updated",
    "meeting.cancelled",
    "meeting.started",
    "meeting.ended",
    "participant.waiting",
    "participant.joined",
    "participant.left",
    "recording.started",
    "recording.stopped",
    "recording.completed",
    "recording.failed",
    "participant.admitted",
    "participant.muted",
    "participant.role_changed",
];

/// How long a file URL in a `recording.completed` webhook stays valid.
pub const FILE_URL_TTL: Duration = Duration::days(7);

/// The catalogue name of a stored event type, or `None` for events that are not sent.
pub fn webhook_name(event_type: &str) -> Option<&'static str> {
    match event_type {
        "meeting.scheduled" => Some("meeting.created"),
        other => CATALOGUE.iter().copied().find(|name| *name == other),
    }
}

/// Validates a subscription's event list: non-empty, catalogue names only, no wildcard.
/// Duplicates are dropped, order kept.
///
/// # Errors
/// [`DomainError::Invalid`] naming `events`.
pub fn validate_names(events: &[String]) -> Result<Vec<String>, DomainError> {
    if events.is_empty() {
        return Err(DomainError::invalid("events", "must list at least one event name"));
    }
    let mut out: Vec<String> = Vec::with_capacity(events.len());
    for e in events {
        if !CATALOGUE.contains(&e.as_str()) {
            return Err(DomainError::invalid(
                "events",
                format!(
                    "`{}` is not a webhook event name (see docs/events.md)",
                    e.chars().take(64).collect::<String>()
                ),
            ));
        }
        if !out.contains(e) {
            out.push(e.clone());
        }
    }
    Ok(out)
}
