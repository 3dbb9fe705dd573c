//! The commands a meeting accepts, and the validation of their fields.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::state::{MeetingSettings, RecordingFile, Role, SettingsPatch};
use crate::error::DomainError;
use crate::id::{ParticipantId, RecordingId};
use crate::principal::Scope;
use crate::token::JoinClaims;

/// What to schedule. Fields arrive as the client sent them and are validated by the decision, so
/// every error names its field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleMeeting {
    /// 1 to 200 characters.
    pub topic: String,
    /// RFC 3339; may be in the past (an instant meeting).
    pub start_time: String,
    /// 1 to 1440.
    pub duration_minutes: i64,
    /// IANA name, default `UTC`.
    #[serde(default)]
    pub timezone: Option<String>,
    /// 1 to 10 of `[A-Za-z0-9@_*-]`.
    #[serde(default)]
    pub passcode: Option<String>,
    /// Default true.
    #[serde(default)]
    pub waiting_room: Option<bool>,
    /// Default settings when absent.
    #[serde(default)]
    pub settings: Option<MeetingSettings>,
    /// Apps only: the user who hosts (default: the caller's subject).
    #[serde(default)]
    pub host_id: Option<String>,
}

/// A partial update: absent fields stay as they are.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeetingPatch {
    /// New topic.
    #[serde(default)]
    pub topic: Option<String>,
    /// New start (RFC 3339).
    #[serde(default)]
    pub start_time: Option<String>,
    /// New length.
    #[serde(default)]
    pub duration_minutes: Option<i64>,
    /// New timezone.
    #[serde(default)]
    pub timezone: Option<String>,
    /// New passcode; `null` removes it.
    #[serde(default, with = "super::event::double_option")]
    pub passcode: Option<Option<String>>,
    /// New waiting-room setting.
    #[serde(default)]
    pub waiting_room: Option<bool>,
    /// New settings: the members sent change, the others stay.
    #[serde(default)]
    pub settings: Option<SettingsPatch>,
    /// Not changeable: present only so a clear error can name it.
    #[serde(default)]
    pub host_id: Option<String>,
}

/// A command on one meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum MeetingCommand {
    /// Schedule a new meeting with this id.
    Schedule(ScheduleMeeting),
    /// Edit fields.
    Update(MeetingPatch),
    /// Cancel a scheduled meeting.
    Cancel,
    /// End a live meeting.
    End,
    /// Let a waiting participant in.
    Admit {
        /// Who.
        participant_id: ParticipantId,
    },
    /// Remove a participant; their user gets no new join token.
    Remove {
        /// Who.
        participant_id: ParticipantId,
    },
    /// Mute a participant's audio, turn their video off, or both (never the reverse: a host
    /// cannot unmute anyone). At least one of `audio` and `video` must be true.
    Mute {
        /// Who.
        participant_id: ParticipantId,
        /// Mute the microphone. Left out of the serialized form when true (the one thing a mute
        /// did before video could be turned off), so earlier requests keep their fingerprint.
        #[serde(default = "yes", skip_serializing_if = "is_true")]
        audio: bool,
        /// Turn the camera off.
        #[serde(default, skip_serializing_if = "is_false")]
        video: bool,
    },
    /// [`MeetingCommand::Mute`] every attendee still in the meeting or its waiting room (not the
    /// host, not co-hosts).
    MuteAll {
        /// Mute microphones.
        #[serde(default = "yes", skip_serializing_if = "is_true")]
        audio: bool,
        /// Turn cameras off.
        #[serde(default, skip_serializing_if = "is_false")]
        video: bool,
    },
    /// Change a participant's role (`co_host` or `attendee`).
    ChangeRole {
        /// Who.
        participant_id: ParticipantId,
        /// The new role.
        role: Role,
    },
    /// Start a cloud recording.
    StartRecording,
    /// Stop the active cloud recording.
    StopRecording,
    /// The media server redeemed a verified join token.
    Redeem {
        /// The token's verified claims.
        claims: JoinClaims,
    },
    /// The media server reports a participant left.
    Leave {
        /// Who.
        participant_id: ParticipantId,
    },
    /// The pipeline reports the recording's files.
    CompleteRecording {
        /// Which recording.
        recording_id: RecordingId,
        /// Its length.
        duration_seconds: u64,
        /// Its files.
        files: Vec<RecordingFile>,
    },
    /// The pipeline reports a failure.
    FailRecording {
        /// Which recording.
        recording_id: RecordingId,
        /// Pipeline error code.
        error_code: String,
        /// Pipeline message.
        message: String,
    },
}

impl MeetingCommand {
    /// The scope a principal needs to run this command.
    pub fn required_scope(&self) -> Scope {
        match self {
            MeetingCommand::Schedule(_)
            | MeetingCommand::Update(_)
            | MeetingCommand::Cancel
            | MeetingCommand::End
            | MeetingCommand::Admit { .. }
            | MeetingCommand::Remove { .. }
            | MeetingCommand::Mute { .. }
            | MeetingCommand::MuteAll { .. }
            | MeetingCommand::ChangeRole { .. } => Scope::MeetingWrite,
            MeetingCommand::StartRecording | MeetingCommand::StopRecording => Scope::RecordingWrite,
            MeetingCommand::Redeem { .. }
            | MeetingCommand::Leave { .. }
            | MeetingCommand::CompleteRecording { .. }
            | MeetingCommand::FailRecording { .. } => Scope::Media,
        }
    }

    /// The command's name in causation metadata (`schedule`, `change_role`, …).
    pub fn name(&self) -> &'static str {
        match self {
            MeetingCommand::Schedule(_) => "schedule",
            MeetingCommand::Update(_) => "update",
            MeetingCommand::Cancel => "cancel",
            MeetingCommand::End => "end",
            MeetingCommand::Admit { .. } => "admit",
            MeetingCommand::Remove { .. } => "remove",
            MeetingCommand::Mute { .. } => "mute",
            MeetingCommand::MuteAll { .. } => "mute_all",
            MeetingCommand::ChangeRole { .. } => "change_role",
            MeetingCommand::StartRecording => "start_recording",
            MeetingCommand::StopRecording => "stop_recording",
            MeetingCommand::Redeem { .. } => "redeem",
            MeetingCommand::Leave { .. } => "leave",
            MeetingCommand::CompleteRecording { .. } => "complete_recording",
            MeetingCommand::FailRecording { .. } => "fail_recording",
        }
    }

    /// Whether only the meeting's host (or an app of its account) may run it.
    pub(crate) fn needs_host_authority(&self) -> bool {
        self.required_scope() != Scope::Media
    }
}

fn yes() -> bool {
    true
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_true(v: &bool) -> bool {
    *v
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_false(v: &bool) -> bool {
    !*v
}

/// A request for a join token.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    /// Apps: the user to join as.
    #[serde(default)]
    pub user_id: Option<String>,
    /// Shown to others.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Apps: join as a guest.
    #[serde(default)]
    pub guest: Option<bool>,
    /// Needed by non-hosts when the meeting has one.
    #[serde(default)]
    pub passcode: Option<String>,
}

/// Field validators shared by schedule and patch. Each returns an error naming its field.
pub mod validate {
    use super::*;

    /// 1 to 200 characters, not only white space, no control characters.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming `topic`.
    pub fn topic(value: &str) -> Result<String, DomainError> {
        let count = value.chars().count();
        if value.trim().is_empty() || count > 200 {
            return Err(DomainError::invalid("topic", "must be 1 to 200 characters"));
        }
        no_control("topic", value)?;
        Ok(value.to_owned())
    }

    /// The pattern (ECMA 262, as OpenAPI documents use) of a one-line text the validators
    /// accept: no control character (C0, DEL, C1) and at least one that is not white space.
    pub const TEXT_PATTERN: &str = r"^[^\u0000-\u001f\u007f-\u009f]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\u0000-\u001f\u007f-\u009f]*$";

    /// The pattern of a display name: [`TEXT_PATTERN`] whose trimmed form has 1 to 100
    /// characters.
    pub const DISPLAY_NAME_PATTERN: &str = r"^[ \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]([^\u0000-\u001f\u007f-\u009f]{0,98}[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[ \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$";

    /// The pattern of a passcode.
    pub const PASSCODE_PATTERN: &str = "^[A-Za-z0-9@_*-]{1,10}$";

    /// Every time-zone name [`timezone`] accepts.
    pub fn timezone_names() -> impl Iterator<Item = &'static str> {
        chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())
    }

    /// Refuses control characters (NUL, line breaks, escapes, ...) in a one-line text.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming `field`.
    pub fn no_control(field: &str, value: &str) -> Result<(), DomainError> {
        if value.chars().any(char::is_control) {
            return Err(DomainError::invalid(field, "must not contain control characters"));
        }
        Ok(())
    }

    /// An RFC 3339 instant.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming `start_time`.
    pub fn start_time(value: &str) -> Result<DateTime<Utc>, DomainError> {
        DateTime::parse_from_rfc3339(value)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| DomainError::invalid("start_time", format!("must be an RFC 3339 date-time ({e})")))
    }

    /// 1 to 1440 minutes.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming `duration_minutes`.
    pub fn duration_minutes(value: i64) -> Result<u32, DomainError> {
        if (1..=1440).contains(&value) {
            Ok(value as u32)
        } else {
            Err(DomainError::invalid("duration_minutes", "must be between 1 and 1440"))
        }
    }

    /// An IANA time-zone name.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming `timezone`.
    pub fn timezone(value: &str) -> Result<String, DomainError> {
        value
            .parse::<chrono_tz::Tz>()
            .map(|tz| tz.name().to_owned())
            .map_err(|_| DomainError::invalid("timezone", format!("`{value}` is not an IANA time zone")))
    }

    /// 1 to 10 of `[A-Za-z0-9@_*-]`.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming `passcode`.
    pub fn passcode(value: &str) -> Result<String, DomainError> {
        let ok = (1..=10).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'@' | b'_' | b'*' | b'-'));
        if ok {
            Ok(value.to_owned())
        } else {
            Err(DomainError::invalid(
                "passcode",
                "must be 1 to 10 characters from A-Z, a-z, 0-9, @, _, *, -",
            ))
        }
    }

    /// 1 to 100 characters, not only white space, no control characters.
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming `display_name`.
    pub fn display_name(value: &str) -> Result<String, DomainError> {
        no_control("display_name", value)?;
        let trimmed = value.trim();
        if trimmed.is_empty() || trimmed.chars().count() > 100 {
            return Err(DomainError::invalid("display_name", "must be 1 to 100 characters"));
        }
        Ok(trimmed.to_owned())
    }

    /// At most this many files per recording report.
    pub const MAX_RECORDING_FILES: usize = 100;
    /// The longest reported recording: 31 days, in seconds.
    pub const MAX_RECORDING_SECONDS: u64 = 31 * 24 * 3600;
    /// The largest reported file: the largest integer every JSON reader holds exactly.
    pub const MAX_FILE_BYTES: u64 = (1 << 53) - 1;
    /// The longest storage key, in characters.
    pub const MAX_STORAGE_KEY: usize = 1024;

    /// A recording's reported length and files: at most [`MAX_RECORDING_FILES`], each with a
    /// storage key of 1 to [`MAX_STORAGE_KEY`] characters without control characters and a size up to
    /// [`MAX_FILE_BYTES`].
    ///
    /// # Errors
    /// [`DomainError::Invalid`] naming `duration_seconds`, `files` or the file's field.
    pub fn recording_files(duration_seconds: u64, files: &[RecordingFile]) -> Result<(), DomainError> {
        if duration_seconds > MAX_RECORDING_SECONDS {
            return Err(DomainError::invalid(
                "duration_seconds",
                format!("must be at most {MAX_RECORDING_SECONDS}"),
            ));
        }
        if files.len() > MAX_RECORDING_FILES {
            return Err(DomainError::invalid(
                "files",
                format!("at most {MAX_RECORDING_FILES} files per recording"),
            ));
        }
        for (i, f) in files.iter().enumerate() {
            let field = format!("files[{i}].storage_key");
            if f.storage_key.trim().is_empty() || f.storage_key.chars().count() > MAX_STORAGE_KEY {
                return Err(DomainError::invalid(
                    &field,
                    format!("must be 1 to {MAX_STORAGE_KEY} characters"),
                ));
            }
            no_control(&field, &f.storage_key)?;
            if f.size_bytes > MAX_FILE_BYTES {
                return Err(DomainError::invalid(
                    &format!("files[{i}].size_bytes"),
                    format!("must be at most {MAX_FILE_BYTES}"),
                ));
            }
        }
        Ok(())
    }
}
