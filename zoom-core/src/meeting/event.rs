//! The events of a meeting stream. Past tense, never edited once released, only added.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::state::{EndReason, LeftReason, MeetingSettings, RecordingFile, Role};
use crate::event::JsonObject;
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
    #[serde(serialize_with = "crate::clock::serialize_utc")]
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
    #[serde(serialize_with = "crate::clock::serialize_utc")]
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
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "crate::clock::serialize_utc_opt"
    )]
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
    #[serde(serialize_with = "crate::clock::serialize_utc")]
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
    #[serde(serialize_with = "crate::clock::serialize_utc")]
    pub cancelled_at: DateTime<Utc>,
}

/// Payload of `meeting.started`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingStarted {
    /// The meeting.
    pub meeting_id: MeetingId,
    /// When the first participant joined.
    #[serde(serialize_with = "crate::clock::serialize_utc")]
    pub started_at: DateTime<Utc>,
}

/// Payload of `meeting.ended`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingEnded {
    /// The meeting.
    pub meeting_id: MeetingId,
    /// When.
    #[serde(serialize_with = "crate::clock::serialize_utc")]
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
    #[serde(serialize_with = "crate::clock::serialize_utc")]
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
    #[serde(serialize_with = "crate::clock::serialize_utc")]
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
    #[serde(serialize_with = "crate::clock::serialize_utc")]
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
    #[serde(serialize_with = "crate::clock::serialize_utc")]
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
    #[serde(serialize_with = "crate::clock::serialize_utc")]
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
    #[serde(serialize_with = "crate::clock::serialize_utc")]
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
    #[serde(serialize_with = "crate::clock::serialize_utc")]
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
    #[serde(serialize_with = "crate::clock::serialize_utc")]
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
    #[serde(serialize_with = "crate::clock::serialize_utc")]
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
    #[serde(serialize_with = "crate::clock::serialize_utc")]
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

impl MeetingEvent {
    /// Writes the payload (the adjacently tagged `payload` member, without the envelope) as
    /// JSON: the same text `serde_json` writes for it inside the tagged form.
    ///
    /// # Errors
    /// Never in practice: every payload is plain data.
    pub(crate) fn write_payload(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        // The events of every meeting's life are written member by member (the serde form's
        // order, pinned by the tests below); the others through serde.
        match self {
            MeetingEvent::Scheduled(e) => {
                let mut o = JsonObject::new(out);
                o.plain("meeting_id", e.meeting_id.as_str())
                    .plain("account_id", e.account_id.as_str())
                    .plain("host_id", e.host_id.as_str())
                    .text("topic", &e.topic)?
                    .time("start_time", &e.start_time)?
                    .value("duration_minutes", &e.duration_minutes)?
                    .text("timezone", &e.timezone)?
                    .value("passcode", &e.passcode)?
                    .bool("waiting_room", e.waiting_room)
                    .value("settings", &e.settings)?
                    .time("created_at", &e.created_at)?
                    .end();
                Ok(())
            }
            MeetingEvent::Started(e) => {
                let mut o = JsonObject::new(out);
                o.plain("meeting_id", e.meeting_id.as_str())
                    .time("started_at", &e.started_at)?
                    .end();
                Ok(())
            }
            MeetingEvent::Ended(e) => {
                let mut o = JsonObject::new(out);
                o.plain("meeting_id", e.meeting_id.as_str())
                    .time("ended_at", &e.ended_at)?
                    .value("duration_seconds", &e.duration_seconds)?
                    .value("reason", &e.reason)?
                    .end();
                Ok(())
            }
            MeetingEvent::ParticipantWaiting(e) => {
                let mut o = JsonObject::new(out);
                o.plain("meeting_id", e.meeting_id.as_str())
                    .plain("participant_id", e.participant_id.as_str())
                    .plain_or_null("user_id", e.user_id.as_ref().map(Name::as_str))
                    .text("subject", &e.subject)?
                    .text("display_name", &e.display_name)?
                    .plain("role", e.role.as_str())
                    .plain("jti", e.jti.as_str())
                    .time("at", &e.at)?
                    .end();
                Ok(())
            }
            MeetingEvent::ParticipantJoined(e) => {
                let mut o = JsonObject::new(out);
                o.plain("meeting_id", e.meeting_id.as_str())
                    .plain("participant_id", e.participant_id.as_str())
                    .plain_or_null("user_id", e.user_id.as_ref().map(Name::as_str))
                    .text("subject", &e.subject)?
                    .text("display_name", &e.display_name)?
                    .plain("role", e.role.as_str())
                    .bool("audio_muted", e.audio_muted)
                    .bool("video_off", e.video_off)
                    .plain("jti", e.jti.as_str())
                    .bool("admitted", e.admitted)
                    .time("joined_at", &e.joined_at)?
                    .end();
                Ok(())
            }
            MeetingEvent::ParticipantLeft(e) => {
                let mut o = JsonObject::new(out);
                o.plain("meeting_id", e.meeting_id.as_str())
                    .plain("participant_id", e.participant_id.as_str())
                    .plain_or_null("user_id", e.user_id.as_ref().map(Name::as_str))
                    .value("reason", &e.reason)?
                    .time("left_at", &e.left_at)?
                    .end();
                Ok(())
            }
            MeetingEvent::Updated(e) => serde_json::to_writer(out, e),
            MeetingEvent::Cancelled(e) => serde_json::to_writer(out, e),
            MeetingEvent::ParticipantMuted(e) => serde_json::to_writer(out, e),
            MeetingEvent::ParticipantRoleChanged(e) => serde_json::to_writer(out, e),
            MeetingEvent::ParticipantAdmitted(e) => serde_json::to_writer(out, e),
            MeetingEvent::RecordingStarted(e) => serde_json::to_writer(out, e),
            MeetingEvent::RecordingStopped(e) => serde_json::to_writer(out, e),
            MeetingEvent::RecordingCompleted(e) => serde_json::to_writer(out, e),
            MeetingEvent::RecordingFailed(e) => serde_json::to_writer(out, e),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;

    use super::*;
    use crate::meeting::state::{AutoRecording, MeetingSettings};

    fn body() -> impl Strategy<Value = [u8; 16]> {
        any::<[u8; 16]>()
    }

    fn name() -> impl Strategy<Value = Name> {
        "[A-Za-z0-9_.@:-]{1,40}".prop_map(|s| Name::parse(&s).unwrap_or_else(|e| panic!("{e}")))
    }

    /// Any text: quotes, backslashes, control characters and every plane of Unicode.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[\"\\\\\u{0}-\u{1f}a-z\u{7f}\u{2028}\u{e9}\u{1f600}]{0,12}"
        ]
    }

    fn time() -> impl Strategy<Value = DateTime<Utc>> {
        (-62_000_000_000i64..250_000_000_000, 0u32..1_000_000_000, 0usize..3).prop_map(|(secs, nano, round)| {
            let nano = [nano, nano / 1000 * 1000, 0][round];
            Utc.timestamp_opt(secs, nano).single().unwrap_or_default()
        })
    }

    fn role() -> impl Strategy<Value = Role> {
        prop_oneof![Just(Role::Host), Just(Role::CoHost), Just(Role::Attendee)]
    }

    /// The events written member by member, with any content.
    fn hot_event() -> impl Strategy<Value = MeetingEvent> {
        let settings = (0u8..3, any::<bool>(), any::<bool>()).prop_map(|(a, mute, before)| MeetingSettings {
            auto_recording: [AutoRecording::None, AutoRecording::Local, AutoRecording::Cloud][usize::from(a)],
            mute_upon_entry: mute,
            allow_join_before_host: before,
        });
        let scheduled = (
            (body(), name(), name(), text(), time()),
            (
                any::<u32>(),
                text(),
                proptest::option::of(text()),
                any::<bool>(),
                settings,
                time(),
            ),
        )
            .prop_map(
                |(
                    (m, account_id, host_id, topic, start_time),
                    (duration_minutes, timezone, passcode, waiting_room, settings, created_at),
                )| {
                    MeetingEvent::Scheduled(MeetingScheduled {
                        meeting_id: MeetingId::from_entropy(m),
                        account_id,
                        host_id,
                        topic,
                        start_time,
                        duration_minutes,
                        timezone,
                        passcode,
                        waiting_room,
                        settings,
                        created_at,
                    })
                },
            );
        let started = (body(), time()).prop_map(|(m, started_at)| {
            MeetingEvent::Started(MeetingStarted {
                meeting_id: MeetingId::from_entropy(m),
                started_at,
            })
        });
        let ended = (body(), time(), any::<u64>(), any::<bool>()).prop_map(|(m, ended_at, duration_seconds, host)| {
            MeetingEvent::Ended(MeetingEnded {
                meeting_id: MeetingId::from_entropy(m),
                ended_at,
                duration_seconds,
                reason: if host { EndReason::HostEnded } else { EndReason::AllLeft },
            })
        });
        let session = || {
            (
                body(),
                body(),
                proptest::option::of(name()),
                text(),
                text(),
                role(),
                body(),
                time(),
            )
        };
        let waiting = session().prop_map(|(m, p, user_id, subject, display_name, role, j, at)| {
            MeetingEvent::ParticipantWaiting(ParticipantWaiting {
                meeting_id: MeetingId::from_entropy(m),
                participant_id: ParticipantId::from_entropy(p),
                user_id,
                subject,
                display_name,
                role,
                jti: TokenId::from_entropy(j),
                at,
            })
        });
        let joined = (session(), any::<[bool; 3]>()).prop_map(
            |((m, p, user_id, subject, display_name, role, j, joined_at), [audio_muted, video_off, admitted])| {
                MeetingEvent::ParticipantJoined(ParticipantJoined {
                    meeting_id: MeetingId::from_entropy(m),
                    participant_id: ParticipantId::from_entropy(p),
                    user_id,
                    subject,
                    display_name,
                    role,
                    audio_muted,
                    video_off,
                    jti: TokenId::from_entropy(j),
                    admitted,
                    joined_at,
                })
            },
        );
        let left = (body(), body(), proptest::option::of(name()), 0u8..3, time()).prop_map(
            |(m, p, user_id, reason, left_at)| {
                MeetingEvent::ParticipantLeft(ParticipantLeft {
                    meeting_id: MeetingId::from_entropy(m),
                    participant_id: ParticipantId::from_entropy(p),
                    user_id,
                    reason: [LeftReason::Left, LeftReason::Removed, LeftReason::MeetingEnded][usize::from(reason)],
                    left_at,
                })
            },
        );
        prop_oneof![scheduled, started, ended, waiting, joined, left]
    }

    /// The payload as serde writes it inside the tagged form, cut out of it.
    fn serde_payload(event: &MeetingEvent) -> String {
        let whole = serde_json::to_string(event).unwrap_or_default();
        let value: serde_json::Value = serde_json::from_str(&whole).unwrap_or_default();
        let head = format!(
            r#"{{"type":"{}","payload":"#,
            value["type"].as_str().unwrap_or_default()
        );
        whole
            .strip_prefix(&head)
            .and_then(|rest| rest.strip_suffix('}'))
            .unwrap_or_default()
            .to_owned()
    }

    fn written(event: &MeetingEvent) -> String {
        let mut out = Vec::new();
        event.write_payload(&mut out).unwrap_or_else(|e| panic!("{e}"));
        String::from_utf8(out).unwrap_or_default()
    }

    proptest! {
        /// The payloads written by hand are, byte for byte, what serde writes.
        #[test]
        fn hand_written_payloads_are_the_serde_form(event in hot_event()) {
            prop_assert_eq!(written(&event), serde_payload(&event));
        }

        /// Member timestamps keep chrono's serde form (the fast writer is only faster).
        #[test]
        fn payload_times_are_chronos_form(at in time()) {
            let event = MeetingEvent::Started(MeetingStarted {
                meeting_id: MeetingId::from_entropy([1; 16]),
                started_at: at,
            });
            let value: serde_json::Value = serde_json::from_str(&written(&event)).unwrap_or_default();
            prop_assert_eq!(value["started_at"].clone(), serde_json::to_value(at).unwrap_or_default());
        }
    }
}
