//! The webhook catalogue: which stored events are sent, under which name, with which body.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::error::DomainError;
use crate::event::{Event, RecordedEvent};
use crate::files::FileUrlSigner;
use crate::meeting::MeetingEvent;

/// Every name a subscription can ask for.
pub const CATALOGUE: [&str; 12] = [
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

/// The `data` member of a webhook for a meeting event; `None` for events outside the catalogue.
/// File URLs of `recording.completed` are signed to expire [`FILE_URL_TTL`] after `now`.
pub fn data(event: &MeetingEvent, signer: &FileUrlSigner, now: DateTime<Utc>) -> Option<Value> {
    let ts = |t: &DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    Some(match event {
        MeetingEvent::Scheduled(e) => json!({
            "meeting_id": e.meeting_id, "account_id": e.account_id, "host_id": e.host_id, "topic": e.topic,
            "start_time": ts(&e.start_time), "duration_minutes": e.duration_minutes, "timezone": e.timezone,
            "waiting_room": e.waiting_room, "settings": e.settings,
        }),
        MeetingEvent::Updated(e) => {
            let mut v = serde_json::to_value(e).ok()?;
            if let Some(obj) = v.as_object_mut() {
                // Webhook receivers must not learn the passcode; they learn that it changed.
                if obj.remove("passcode").is_some() {
                    obj.insert("passcode_changed".into(), Value::Bool(true));
                }
            }
            v
        }
        MeetingEvent::Cancelled(e) => json!({ "meeting_id": e.meeting_id, "cancelled_at": ts(&e.cancelled_at) }),
        MeetingEvent::Started(e) => json!({ "meeting_id": e.meeting_id, "started_at": ts(&e.started_at) }),
        MeetingEvent::Ended(e) => json!({
            "meeting_id": e.meeting_id, "ended_at": ts(&e.ended_at),
            "duration_seconds": e.duration_seconds, "reason": e.reason,
        }),
        MeetingEvent::ParticipantWaiting(e) => json!({
            "meeting_id": e.meeting_id, "participant_id": e.participant_id, "user_id": e.user_id,
            "display_name": e.display_name, "role": e.role, "waiting_at": ts(&e.at),
        }),
        MeetingEvent::ParticipantJoined(e) => json!({
            "meeting_id": e.meeting_id, "participant_id": e.participant_id, "user_id": e.user_id,
            "display_name": e.display_name, "role": e.role, "audio_muted": e.audio_muted,
            "joined_at": ts(&e.joined_at),
        }),
        MeetingEvent::ParticipantLeft(e) => json!({
            "meeting_id": e.meeting_id, "participant_id": e.participant_id, "user_id": e.user_id,
            "reason": e.reason, "left_at": ts(&e.left_at),
        }),
        MeetingEvent::RecordingStarted(e) => json!({
            "meeting_id": e.meeting_id, "recording_id": e.recording_id, "started_at": ts(&e.started_at),
        }),
        MeetingEvent::RecordingStopped(e) => json!({
            "meeting_id": e.meeting_id, "recording_id": e.recording_id, "stopped_at": ts(&e.stopped_at),
        }),
        MeetingEvent::RecordingCompleted(e) => {
            let expires_at = now + FILE_URL_TTL;
            let files: Vec<Value> = e
                .files
                .iter()
                .map(|f| {
                    json!({
                        "type": f.file_type, "size_bytes": f.size_bytes,
                        "url": signer.sign(&f.storage_key, expires_at), "expires_at": ts(&expires_at),
                    })
                })
                .collect();
            json!({
                "meeting_id": e.meeting_id, "recording_id": e.recording_id,
                "duration_seconds": e.duration_seconds, "files": files, "completed_at": ts(&e.completed_at),
            })
        }
        MeetingEvent::RecordingFailed(e) => json!({
            "meeting_id": e.meeting_id, "recording_id": e.recording_id, "error_code": e.error_code,
            "message": e.message, "failed_at": ts(&e.failed_at),
        }),
        MeetingEvent::ParticipantMuted(_) | MeetingEvent::ParticipantRoleChanged(_) => return None,
    })
}

/// The webhook body of a stored event: `{event, event_id, ts, data}`, with its catalogue name.
/// `None` for events outside the catalogue or that do not decode.
pub fn body(row: &RecordedEvent, signer: &FileUrlSigner, now: DateTime<Utc>) -> Option<(&'static str, Value)> {
    let name = webhook_name(&row.event_type)?;
    let Ok(Event::Meeting(event)) = row.decode() else {
        return None;
    };
    let data = data(&event, signer, now)?;
    Some((
        name,
        json!({
            "event": name,
            "event_id": row.event_id,
            "ts": row.recorded_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "data": data,
        }),
    ))
}
