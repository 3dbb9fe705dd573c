//! Webhook bodies: the JSON a subscriber receives for a stored event (also the `data:` of the
//! event streams). It sits above both the stored events ([`crate::event`]) and the catalogue
//! ([`crate::webhook::catalogue`], which names what is sent), so neither imports the other.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::event::{Event, RecordedEvent};
use crate::files::FileUrlSigner;
use crate::id::{AccountId, EventId, MeetingId, Name, ParticipantId, RecordingId, UserId};
use crate::meeting::event::MeetingEvent;
use crate::meeting::state::{AutoRecording, EndReason, FileType, LeftReason, MeetingSettings, Role};
use crate::webhook::catalogue::{FILE_URL_TTL, webhook_name};

/// The `data` member of a webhook for a meeting event; `None` for events outside the catalogue.
/// File URLs of `recording.completed` are signed to expire [`FILE_URL_TTL`] after `now`.
pub fn data(event: &MeetingEvent, signer: &FileUrlSigner, now: DateTime<Utc>) -> Option<Value> {
    serde_json::to_value(Data::of(event, signer, now)?).ok()
}

/// The webhook body of a stored event: `{event, event_id, ts, data}`, with its catalogue name.
/// `None` for events outside the catalogue or that do not decode.
pub fn body(row: &RecordedEvent, signer: &FileUrlSigner, now: DateTime<Utc>) -> Option<(&'static str, Value)> {
    with_envelope(row, signer, now, |e| serde_json::to_value(e).ok())
}

/// [`body`] as the JSON text that is sent, written straight from the event without building a
/// [`Value`] first (the delivery worker's path: one string instead of a tree of maps). The keys
/// come in the same sorted order as [`body`]'s print.
pub fn body_text(row: &RecordedEvent, signer: &FileUrlSigner, now: DateTime<Utc>) -> Option<(&'static str, String)> {
    with_envelope(row, signer, now, |e| serde_json::to_string(e).ok())
}

fn with_envelope<T>(
    row: &RecordedEvent,
    signer: &FileUrlSigner,
    now: DateTime<Utc>,
    f: impl FnOnce(&Envelope<'_>) -> Option<T>,
) -> Option<(&'static str, T)> {
    let name = webhook_name(&row.event_type)?;
    let Ok(Event::Meeting(event)) = row.decode() else {
        return None;
    };
    let envelope = Envelope {
        data: Data::of(&event, signer, now)?,
        event: name,
        event_id: &row.event_id,
        ts: row.recorded_at.to_rfc3339_opts(SecondsFormat::Millis, true),
    };
    Some((name, f(&envelope)?))
}

/// The body's outer object, fields in sorted order.
#[derive(Serialize)]
struct Envelope<'a> {
    data: Data<'a>,
    event: &'static str,
    event_id: &'a EventId,
    ts: String,
}

/// A time in whole seconds, as webhook bodies carry it.
struct Secs<'a>(&'a DateTime<Utc>);

impl Serialize for Secs<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0.to_rfc3339_opts(SecondsFormat::Secs, true))
    }
}

/// Meeting settings with their keys sorted.
#[derive(Serialize)]
struct Settings<'a> {
    allow_join_before_host: bool,
    auto_recording: &'a AutoRecording,
    mute_upon_entry: bool,
}

impl<'a> From<&'a MeetingSettings> for Settings<'a> {
    fn from(s: &'a MeetingSettings) -> Self {
        Self {
            allow_join_before_host: s.allow_join_before_host,
            auto_recording: &s.auto_recording,
            mute_upon_entry: s.mute_upon_entry,
        }
    }
}

/// The `data` member of each catalogue event, borrowing from the event. Every struct lists its
/// fields in sorted order, so the text matches the sorted keys of a [`Value`] object.
#[derive(Serialize)]
#[serde(untagged)]
enum Data<'a> {
    Scheduled {
        account_id: &'a AccountId,
        duration_minutes: u32,
        host_id: &'a UserId,
        meeting_id: &'a MeetingId,
        settings: Settings<'a>,
        start_time: Secs<'a>,
        timezone: &'a str,
        topic: &'a str,
        waiting_room: bool,
    },
    Updated {
        #[serde(skip_serializing_if = "Option::is_none")]
        duration_minutes: Option<u32>,
        meeting_id: &'a MeetingId,
        // Webhook receivers must not learn the passcode; they learn that it changed.
        #[serde(skip_serializing_if = "Option::is_none")]
        passcode_changed: Option<bool>,
        #[serde(skip_serializing_if = "Option::is_none")]
        settings: Option<Settings<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        start_time: Option<&'a DateTime<Utc>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        timezone: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        topic: Option<&'a str>,
        updated_at: &'a DateTime<Utc>,
        #[serde(skip_serializing_if = "Option::is_none")]
        waiting_room: Option<bool>,
    },
    Cancelled {
        cancelled_at: Secs<'a>,
        meeting_id: &'a MeetingId,
    },
    Started {
        meeting_id: &'a MeetingId,
        started_at: Secs<'a>,
    },
    Ended {
        duration_seconds: u64,
        ended_at: Secs<'a>,
        meeting_id: &'a MeetingId,
        reason: &'a EndReason,
    },
    Waiting {
        display_name: &'a str,
        meeting_id: &'a MeetingId,
        participant_id: &'a ParticipantId,
        role: &'a Role,
        user_id: Option<&'a UserId>,
        waiting_at: Secs<'a>,
    },
    Joined {
        audio_muted: bool,
        display_name: &'a str,
        joined_at: Secs<'a>,
        meeting_id: &'a MeetingId,
        participant_id: &'a ParticipantId,
        role: &'a Role,
        user_id: Option<&'a UserId>,
    },
    Left {
        left_at: Secs<'a>,
        meeting_id: &'a MeetingId,
        participant_id: &'a ParticipantId,
        reason: &'a LeftReason,
        user_id: Option<&'a UserId>,
    },
    Admitted {
        admitted_at: Secs<'a>,
        by: &'a Name,
        display_name: &'a str,
        meeting_id: &'a MeetingId,
        participant_id: &'a ParticipantId,
        user_id: Option<&'a UserId>,
    },
    Muted {
        audio_muted: bool,
        by: Option<&'a Name>,
        meeting_id: &'a MeetingId,
        participant_id: &'a ParticipantId,
        video_off: bool,
    },
    RoleChanged {
        meeting_id: &'a MeetingId,
        participant_id: &'a ParticipantId,
        role: &'a Role,
    },
    RecordingStarted {
        meeting_id: &'a MeetingId,
        recording_id: &'a RecordingId,
        started_at: Secs<'a>,
    },
    RecordingStopped {
        meeting_id: &'a MeetingId,
        recording_id: &'a RecordingId,
        stopped_at: Secs<'a>,
    },
    RecordingCompleted {
        completed_at: Secs<'a>,
        duration_seconds: u64,
        files: Vec<File<'a>>,
        meeting_id: &'a MeetingId,
        recording_id: &'a RecordingId,
    },
    RecordingFailed {
        error_code: &'a str,
        failed_at: Secs<'a>,
        meeting_id: &'a MeetingId,
        message: &'a str,
        recording_id: &'a RecordingId,
    },
}

/// A recording file as a webhook shows it: a signed URL instead of the storage key.
#[derive(Serialize)]
struct File<'a> {
    expires_at: String,
    size_bytes: u64,
    #[serde(rename = "type")]
    file_type: &'a FileType,
    url: String,
}

impl<'a> Data<'a> {
    fn of(event: &'a MeetingEvent, signer: &FileUrlSigner, now: DateTime<Utc>) -> Option<Self> {
        Some(match event {
            MeetingEvent::Scheduled(e) => Data::Scheduled {
                account_id: &e.account_id,
                duration_minutes: e.duration_minutes,
                host_id: &e.host_id,
                meeting_id: &e.meeting_id,
                settings: (&e.settings).into(),
                start_time: Secs(&e.start_time),
                timezone: &e.timezone,
                topic: &e.topic,
                waiting_room: e.waiting_room,
            },
            MeetingEvent::Updated(e) => Data::Updated {
                duration_minutes: e.duration_minutes,
                meeting_id: &e.meeting_id,
                passcode_changed: e.passcode.as_ref().map(|_| true),
                settings: e.settings.as_ref().map(Settings::from),
                start_time: e.start_time.as_ref(),
                timezone: e.timezone.as_deref(),
                topic: e.topic.as_deref(),
                updated_at: &e.updated_at,
                waiting_room: e.waiting_room,
            },
            MeetingEvent::Cancelled(e) => Data::Cancelled {
                cancelled_at: Secs(&e.cancelled_at),
                meeting_id: &e.meeting_id,
            },
            MeetingEvent::Started(e) => Data::Started {
                meeting_id: &e.meeting_id,
                started_at: Secs(&e.started_at),
            },
            MeetingEvent::Ended(e) => Data::Ended {
                duration_seconds: e.duration_seconds,
                ended_at: Secs(&e.ended_at),
                meeting_id: &e.meeting_id,
                reason: &e.reason,
            },
            MeetingEvent::ParticipantWaiting(e) => Data::Waiting {
                display_name: &e.display_name,
                meeting_id: &e.meeting_id,
                participant_id: &e.participant_id,
                role: &e.role,
                user_id: e.user_id.as_ref(),
                waiting_at: Secs(&e.at),
            },
            MeetingEvent::ParticipantJoined(e) => Data::Joined {
                audio_muted: e.audio_muted,
                display_name: &e.display_name,
                joined_at: Secs(&e.joined_at),
                meeting_id: &e.meeting_id,
                participant_id: &e.participant_id,
                role: &e.role,
                user_id: e.user_id.as_ref(),
            },
            MeetingEvent::ParticipantLeft(e) => Data::Left {
                left_at: Secs(&e.left_at),
                meeting_id: &e.meeting_id,
                participant_id: &e.participant_id,
                reason: &e.reason,
                user_id: e.user_id.as_ref(),
            },
            MeetingEvent::RecordingStarted(e) => Data::RecordingStarted {
                meeting_id: &e.meeting_id,
                recording_id: &e.recording_id,
                started_at: Secs(&e.started_at),
            },
            MeetingEvent::RecordingStopped(e) => Data::RecordingStopped {
                meeting_id: &e.meeting_id,
                recording_id: &e.recording_id,
                stopped_at: Secs(&e.stopped_at),
            },
            MeetingEvent::RecordingCompleted(e) => {
                let expires_at = now + FILE_URL_TTL;
                let expires = expires_at.to_rfc3339_opts(SecondsFormat::Secs, true);
                Data::RecordingCompleted {
                    completed_at: Secs(&e.completed_at),
                    duration_seconds: e.duration_seconds,
                    files: e
                        .files
                        .iter()
                        .map(|f| File {
                            expires_at: expires.clone(),
                            size_bytes: f.size_bytes,
                            file_type: &f.file_type,
                            url: signer.sign(&f.storage_key, expires_at),
                        })
                        .collect(),
                    meeting_id: &e.meeting_id,
                    recording_id: &e.recording_id,
                }
            }
            MeetingEvent::RecordingFailed(e) => Data::RecordingFailed {
                error_code: &e.error_code,
                failed_at: Secs(&e.failed_at),
                meeting_id: &e.meeting_id,
                message: &e.message,
                recording_id: &e.recording_id,
            },
            MeetingEvent::ParticipantAdmitted(e) => Data::Admitted {
                admitted_at: Secs(&e.at),
                by: &e.by,
                display_name: &e.display_name,
                meeting_id: &e.meeting_id,
                participant_id: &e.participant_id,
                user_id: e.user_id.as_ref(),
            },
            MeetingEvent::ParticipantMuted(e) => Data::Muted {
                audio_muted: e.audio_muted,
                by: e.by.as_ref(),
                meeting_id: &e.meeting_id,
                participant_id: &e.participant_id,
                video_off: e.video_off,
            },
            MeetingEvent::ParticipantRoleChanged(e) => Data::RoleChanged {
                meeting_id: &e.meeting_id,
                participant_id: &e.participant_id,
                role: &e.role,
            },
        })
    }
}
