//! The events of a meeting stream. Past tense, never edited once released, only added.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::state::{EndReason, LeftReason, MeetingSettings, RecordingFile, Role};
use crate::id::{AccountId, MeetingId, Name, ParticipantId, RecordingId, TokenId, UserId};

/// Something that happened to a meeting, its participants or its recordings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "payload")]
pub enum MeetingEvent {
    /// A meeting was scheduled (webhook `meeting.created`).
    #[serde(rename = "meeting.scheduled")]
    Scheduled(MeetingScheduled),
    /// Fields of a scheduled or live meeting changed.
    #[serde(rename = "meeting.updated")]
    Updated(MeetingUpdated),
    /// A scheduled meeting was cancelled.
    #[serde(rename = "meeting.cancelled")]
    Cancelled(MeetingCancelled),
    /// The first participant joined.
    #[serde(rename = "meeting.started")]
    Started(MeetingStarted),
    /// The host ended it or the last participant left.
    #[serde(rename = "meeting.ended")]
    Ended(MeetingEnded),
    /// A non-host redeemed a join token into the waiting room.
    #[serde(rename = "participant.waiting")]
    ParticipantWaiting(ParticipantWaiting),
    /// A participant entered the meeting (directly, or admitted from the waiting room).
    #[serde(rename = "participant.joined")]
    ParticipantJoined(ParticipantJoined),
    /// A participant left, was removed, or the meeting ended under them.
    #[serde(rename = "participant.left")]
    ParticipantLeft(ParticipantLeft),
    /// The host muted a participant's audio, turned their video off, or both.
    #[serde(rename = "participant.muted")]
    ParticipantMuted(ParticipantMuted),
    /// The host changed a participant's role.
    #[serde(rename = "participant.role_changed")]
    ParticipantRoleChanged(ParticipantRoleChanged),
    /// The host let a waiting participant in; `participant.joined` follows in the same commit.
    #[serde(rename = "participant.admitted")]
    ParticipantAdmitted(ParticipantAdmitted),
    /// A cloud recording started.
    #[serde(rename = "recording.started")]
    RecordingStarted(RecordingStarted),
    /// A cloud recording stopped and is processing.
    #[serde(rename = "recording.stopped")]
    RecordingStopped(RecordingStopped),
    /// The pipeline reported the recording's files.
    #[serde(rename = "recording.completed")]
    RecordingCompleted(RecordingCompleted),
    /// The pipeline failed to produce the recording.
    #[serde(rename = "recording.failed")]
    RecordingFailed(RecordingFailed),
}

/// Payload of `meeting.scheduled` (schema 2; schema 1 had flat settings and no timezone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingScheduled {
    /// The new meeting.
    pub meeting_id: MeetingId,
    /// Its account.
    pub account_id: AccountId,
    /// Its host.
    pub host_id: UserId,
    /// Topic.
    pub topic: String,
    /// Planned start.
    pub start_time: DateTime<Utc>,
    /// Planned length.
    pub duration_minutes: u32,
    /// IANA name.
    pub timezone: String,
    /// Passcode, if any.
    pub passcode: Option<String>,
    /// Waiting room on.
    pub waiting_room: bool,
    /// Settings.
    pub settings: MeetingSettings,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Payload of `meeting.updated`: only the fields that changed are present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingUpdated {
    /// The meeting.
    pub meeting_id: MeetingId,
    /// New topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// New start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<DateTime<Utc>>,
    /// New length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_minutes: Option<u32>,
    /// New timezone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// New passcode: `Some(None)` removes it.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "double_option")]
    pub passcode: Option<Option<String>>,
    /// New waiting-room setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_room: Option<bool>,
    /// New settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<MeetingSettings>,
    /// When.
    pub updated_at: DateTime<Utc>,
}

/// Serde helper: distinguishes an absent field from an explicit `null`.
pub(crate) mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer, T: Serialize>(v: &Option<Option<T>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// Payload of `meeting.cancelled`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingCancelled {
    /// The meeting.
    pub meeting_id: MeetingId,
    /// When.
    pub cancelled_at: DateTime<Utc>,
}

/// Payload of `meeting.started`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingStarted {
    /// The meeting.
    pub meeting_id: MeetingId,
    /// When the first participant joined.
    pub started_at: DateTime<Utc>,
}

/// Payload of `meeting.ended`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingEnded {
    /// The meeting.
    pub meeting_id: MeetingId,
    /// When.
    pub ended_at: DateTime<Utc>,
    /// Seconds between start and end.
    pub duration_seconds: u64,
    /// Why.
    pub reason: EndReason,
}

/// Payload of `participant.waiting`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantWaiting {
    /// The meeting.
    pub meeting_id: MeetingId,
    /// The new session.
    pub participant_id: ParticipantId,
    /// The user, or none for a guest.
    pub user_id: Option<UserId>,
    /// The join token's subject.
    pub subject: String,
    /// Display name.
    pub display_name: String,
    /// Role from the join token.
    pub role: Role,
    /// The redeemed join token's id.
    pub jti: TokenId,
    /// When.
    pub at: DateTime<Utc>,
}

/// Payload of `participant.joined`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantJoined {
    /// The meeting.
    pub meeting_id: MeetingId,
    /// The session.
    pub participant_id: ParticipantId,
    /// The user, or none for a guest.
    pub user_id: Option<UserId>,
    /// The join token's subject.
    pub subject: String,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Joined muted.
    pub audio_muted: bool,
    /// Joined with camera off.
    pub video_off: bool,
    /// The redeemed join token's id.
    pub jti: TokenId,
    /// Admitted from the waiting room rather than joined directly.
    pub admitted: bool,
    /// When.
    pub joined_at: DateTime<Utc>,
}

/// Payload of `participant.left`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantLeft {
    /// The meeting.
    pub meeting_id: MeetingId,
    /// The session.
    pub participant_id: ParticipantId,
    /// The user, or none for a guest.
    pub user_id: Option<UserId>,
    /// Why.
    pub reason: LeftReason,
    /// When.
    pub left_at: DateTime<Utc>,
}

/// Payload of `participant.muted` (schema 2). Schema 1 named only the participant: it muted
/// audio, and nothing could turn video off then, so its upcast reads `audio_muted: true`,
/// `video_off: false` and `by: null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantMuted {
    /// The meeting.
    pub meeting_id: MeetingId,
    /// The session.
    pub participant_id: ParticipantId,
    /// The participant's audio after the event (a host mutes, never unmutes).
    pub audio_muted: bool,
    /// The participant's video after the event.
    pub video_off: bool,
    /// Who muted them (the caller's subject); `None` only for events upcast from schema 1.
    pub by: Option<Name>,
    /// When.
    pub at: DateTime<Utc>,
}

/// Payload of `participant.admitted`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantAdmitted {
    /// The meeting.
    pub meeting_id: MeetingId,
    /// The session, waiting until now.
    pub participant_id: ParticipantId,
    /// The user, or none for a guest.
    pub user_id: Option<UserId>,
    /// Display name.
    pub display_name: String,
    /// Who admitted them (the caller's subject).
    pub by: Name,
    /// When.
    pub at: DateTime<Utc>,
}

/// Payload of `participant.role_changed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantRoleChanged {
    /// The meeting.
    pub meeting_id: MeetingId,
    /// The session.
    pub participant_id: ParticipantId,
    /// The new role.
    pub role: Role,
    /// When.
    pub at: DateTime<Utc>,
}

/// Payload of `recording.started`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingStarted {
    /// The meeting.
    pub meeting_id: MeetingId,
    /// The new recording.
    pub recording_id: RecordingId,
    /// When.
    pub started_at: DateTime<Utc>,
}

/// Payload of `recording.stopped`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingStopped {
    /// The meeting.
    pub meeting_id: MeetingId,
    /// The recording.
    pub recording_id: RecordingId,
    /// When.
    pub stopped_at: DateTime<Utc>,
}

/// Payload of `recording.completed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingCompleted {
    /// The meeting.
    pub meeting_id: MeetingId,
    /// The recording.
    pub recording_id: RecordingId,
    /// Length.
    pub duration_seconds: u64,
    /// Files.
    pub files: Vec<RecordingFile>,
    /// When.
    pub completed_at: DateTime<Utc>,
}

/// Payload of `recording.failed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingFailed {
    /// The meeting.
    pub meeting_id: MeetingId,
    /// The recording.
    pub recording_id: RecordingId,
    /// The pipeline's error code.
    pub error_code: String,
    /// The pipeline's message.
    pub message: String,
    /// When.
    pub failed_at: DateTime<Utc>,
}

impl MeetingEvent {
    /// The meeting this event belongs to.
    pub fn meeting_id(&self) -> &MeetingId {
        match self {
            MeetingEvent::Scheduled(e) => &e.meeting_id,
            MeetingEvent::Updated(e) => &e.meeting_id,
            MeetingEvent::Cancelled(e) => &e.meeting_id,
            MeetingEvent::Started(e) => &e.meeting_id,
            MeetingEvent::Ended(e) => &e.meeting_id,
            MeetingEvent::ParticipantWaiting(e) => &e.meeting_id,
            MeetingEvent::ParticipantJoined(e) => &e.meeting_id,
            MeetingEvent::ParticipantLeft(e) => &e.meeting_id,
            MeetingEvent::ParticipantMuted(e) => &e.meeting_id,
            MeetingEvent::ParticipantRoleChanged(e) => &e.meeting_id,
            MeetingEvent::ParticipantAdmitted(e) => &e.meeting_id,
            MeetingEvent::RecordingStarted(e) => &e.meeting_id,
            MeetingEvent::RecordingStopped(e) => &e.meeting_id,
            MeetingEvent::RecordingCompleted(e) => &e.meeting_id,
            MeetingEvent::RecordingFailed(e) => &e.meeting_id,
        }
    }
}
