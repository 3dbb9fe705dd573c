//! Meetings: the schedule and patch bodies, the meeting as read, and join tokens.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use zoom_core::engine::EngineConfig;
use zoom_core::meeting::{self, AutoRecording, Meeting, MeetingSettings, MeetingState, SettingsPatch};
use zoom_core::principal::Principal;

use super::instant;

/// A meeting's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
#[schema(as = MeetingState)]
pub enum MeetingStateView {
    /// Scheduled, editable.
    Scheduled,
    /// Someone has joined.
    Live,
    /// Over.
    Ended,
    /// Cancelled before it started.
    Cancelled,
}

impl From<MeetingState> for MeetingStateView {
    fn from(s: MeetingState) -> Self {
        match s {
            MeetingState::Scheduled => Self::Scheduled,
            MeetingState::Live => Self::Live,
            MeetingState::Ended => Self::Ended,
            MeetingState::Cancelled => Self::Cancelled,
        }
    }
}

/// Automatic recording when the meeting goes live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = AutoRecording)]
pub enum AutoRecordingView {
    /// No automatic recording.
    None,
    /// Recorded on a client.
    Local,
    /// A cloud recording starts when the meeting goes live.
    Cloud,
}

impl From<AutoRecording> for AutoRecordingView {
    fn from(a: AutoRecording) -> Self {
        match a {
            AutoRecording::None => Self::None,
            AutoRecording::Local => Self::Local,
            AutoRecording::Cloud => Self::Cloud,
        }
    }
}

impl From<AutoRecordingView> for AutoRecording {
    fn from(a: AutoRecordingView) -> Self {
        match a {
            AutoRecordingView::None => Self::None,
            AutoRecordingView::Local => Self::Local,
            AutoRecordingView::Cloud => Self::Cloud,
        }
    }
}

/// Meeting settings as sent: when scheduling, absent members take their defaults; when editing,
/// they stay as they are.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsInput {
    /// `none` (default), `local` or `cloud`.
    #[serde(default)]
    pub auto_recording: Option<AutoRecordingView>,
    /// Attendees join muted (default true).
    #[serde(default)]
    pub mute_upon_entry: Option<bool>,
    /// Attendees may join before the host (default false).
    #[serde(default)]
    pub allow_join_before_host: Option<bool>,
}

impl From<SettingsInput> for SettingsPatch {
    fn from(s: SettingsInput) -> Self {
        SettingsPatch {
            auto_recording: s.auto_recording.map(Into::into),
            mute_upon_entry: s.mute_upon_entry,
            allow_join_before_host: s.allow_join_before_host,
        }
    }
}

impl From<SettingsInput> for MeetingSettings {
    fn from(s: SettingsInput) -> Self {
        let d = MeetingSettings::default();
        MeetingSettings {
            auto_recording: s.auto_recording.map_or(d.auto_recording, Into::into),
            mute_upon_entry: s.mute_upon_entry.unwrap_or(d.mute_upon_entry),
            allow_join_before_host: s.allow_join_before_host.unwrap_or(d.allow_join_before_host),
        }
    }
}

/// Meeting settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = Settings)]
pub struct SettingsView {
    /// Automatic recording.
    pub auto_recording: AutoRecordingView,
    /// Attendees join muted.
    pub mute_upon_entry: bool,
    /// Attendees may join before the host.
    pub allow_join_before_host: bool,
}

impl From<&MeetingSettings> for SettingsView {
    fn from(s: &MeetingSettings) -> Self {
        Self {
            auto_recording: s.auto_recording.into(),
            mute_upon_entry: s.mute_upon_entry,
            allow_join_before_host: s.allow_join_before_host,
        }
    }
}

/// `POST /v1/meetings`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleInput {
    /// 1 to 200 characters.
    pub topic: String,
    /// RFC 3339; may be in the past (an instant meeting).
    #[schema(format = DateTime)]
    pub start_time: String,
    /// 1 to 1440.
    pub duration_minutes: i64,
    /// IANA time-zone name, default `UTC`.
    #[serde(default)]
    pub timezone: Option<String>,
    /// 1 to 10 of `[A-Za-z0-9@_*-]`.
    #[serde(default)]
    pub passcode: Option<String>,
    /// Default true.
    #[serde(default)]
    pub waiting_room: Option<bool>,
    /// Defaults when absent.
    #[serde(default, deserialize_with = "crate::extract::optional_object")]
    pub settings: Option<SettingsInput>,
    /// Apps only: the user who hosts (default: the caller).
    #[serde(default)]
    pub host_id: Option<String>,
}

impl From<ScheduleInput> for meeting::ScheduleMeeting {
    fn from(s: ScheduleInput) -> Self {
        Self {
            topic: s.topic,
            start_time: s.start_time,
            duration_minutes: s.duration_minutes,
            timezone: s.timezone,
            passcode: s.passcode,
            waiting_room: s.waiting_room,
            settings: s.settings.map(Into::into),
            host_id: s.host_id,
        }
    }
}

/// Deserializes a field that distinguishes absent (`None`) from `null` (`Some(None)`).
fn double_option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// `PATCH /v1/meetings/{id}`: any subset of the schedule fields.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchInput {
    /// New topic.
    #[serde(default)]
    pub topic: Option<String>,
    /// New start (RFC 3339); not while LIVE.
    #[serde(default)]
    #[schema(format = DateTime)]
    pub start_time: Option<String>,
    /// New length; a LIVE meeting may only extend it.
    #[serde(default)]
    pub duration_minutes: Option<i64>,
    /// New time zone.
    #[serde(default)]
    pub timezone: Option<String>,
    /// New passcode; `null` removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub passcode: Option<Option<String>>,
    /// New waiting-room setting.
    #[serde(default)]
    pub waiting_room: Option<bool>,
    /// New settings: the members sent change, the others stay.
    #[serde(default, deserialize_with = "crate::extract::optional_object")]
    pub settings: Option<SettingsInput>,
    /// Cannot be changed; accepted only to be refused with a clear error.
    #[serde(default)]
    pub host_id: Option<String>,
}

impl From<PatchInput> for meeting::MeetingPatch {
    fn from(p: PatchInput) -> Self {
        Self {
            topic: p.topic,
            start_time: p.start_time,
            duration_minutes: p.duration_minutes,
            timezone: p.timezone,
            passcode: p.passcode,
            waiting_room: p.waiting_room,
            settings: p.settings.map(Into::into),
            host_id: p.host_id,
        }
    }
}

/// A meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = Meeting)]
pub struct MeetingView {
    /// `mtg_…`.
    pub id: String,
    /// The owning account.
    pub account_id: String,
    /// The host user.
    pub host_id: String,
    /// The topic.
    pub topic: String,
    /// Planned start.
    #[serde(serialize_with = "instant::one")]
    pub start_time: DateTime<Utc>,
    /// Planned length in minutes (advisory).
    pub duration_minutes: u32,
    /// IANA time-zone name.
    pub timezone: String,
    /// The passcode, when the meeting has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passcode: Option<String>,
    /// Whether non-hosts wait for admission.
    pub waiting_room: bool,
    /// Settings.
    pub settings: SettingsView,
    /// `SCHEDULED`, `LIVE`, `ENDED` or `CANCELLED`.
    pub state: MeetingStateView,
    /// Where participants join.
    pub join_url: String,
    /// Where the host starts the meeting; shown to the host and to apps only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_url: Option<String>,
    /// Joined participants; present while LIVE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant_count: Option<u32>,
    /// When it was scheduled.
    #[serde(serialize_with = "instant::one")]
    pub created_at: DateTime<Utc>,
    /// When it went live.
    #[serde(default, serialize_with = "instant::maybe")]
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended or was cancelled.
    #[serde(default, serialize_with = "instant::maybe")]
    pub ended_at: Option<DateTime<Utc>>,
    /// The version of its event stream (the SSE `id`).
    pub version: u64,
}

impl MeetingView {
    /// The view of `m` for `viewer`.
    pub fn new(m: &Meeting, viewer: &Principal, config: &EngineConfig) -> Self {
        let base = config.issuer.trim_end_matches('/');
        Self {
            id: m.id.as_str().to_owned(),
            account_id: m.account_id.as_str().to_owned(),
            host_id: m.host_id.as_str().to_owned(),
            topic: m.topic.clone(),
            start_time: m.start_time,
            duration_minutes: m.duration_minutes,
            timezone: m.timezone.clone(),
            passcode: m.passcode.clone(),
            waiting_room: m.waiting_room,
            settings: (&m.settings).into(),
            state: m.state.into(),
            join_url: format!("{base}/j/{}", m.id),
            start_url: m.shows_start_url_to(viewer).then(|| format!("{base}/s/{}", m.id)),
            participant_count: (m.state == MeetingState::Live)
                .then(|| u32::try_from(m.participant_count()).unwrap_or(u32::MAX)),
            created_at: m.created_at,
            started_at: m.started_at,
            ended_at: m.ended_at,
            version: m.version,
        }
    }
}

/// A page of meetings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MeetingList {
    /// The meetings, oldest scheduled first.
    pub meetings: Vec<MeetingView>,
    /// Pass as `cursor` for the next page; `null` at the end.
    pub next_cursor: Option<String>,
}

/// `POST /v1/meetings/{id}/joinToken`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinTokenInput {
    /// Apps: the user to join as.
    #[serde(default)]
    pub user_id: Option<String>,
    /// Shown to others.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Apps: join as a guest (needs `display_name`).
    #[serde(default)]
    pub guest: Option<bool>,
    /// Needed by non-hosts when the meeting has one.
    #[serde(default)]
    pub passcode: Option<String>,
}

impl From<JoinTokenInput> for meeting::JoinRequest {
    fn from(j: JoinTokenInput) -> Self {
        Self {
            user_id: j.user_id,
            display_name: j.display_name,
            guest: j.guest,
            passcode: j.passcode,
        }
    }
}

/// An issued join token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = JoinToken)]
pub struct JoinTokenView {
    /// The signed token (EdDSA JWT with `kid`), valid once.
    pub jwt: String,
    /// Where to present it.
    pub sfu_url: String,
    /// Seconds until it expires.
    pub expires_in: u64,
}
