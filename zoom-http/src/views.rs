//! The JSON shapes of the API: request bodies and responses, with their OpenAPI schemas.
//!
//! These are the wire contract of DESIGN section 6, kept apart from `zoom-core`'s folded states
//! so the stored form and the API can evolve separately (a meeting's state holds its removed
//! users and join-token ids; the API shows neither).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use zoom_core::engine::EngineConfig;
use zoom_core::meeting::{
    self, AutoRecording, FileType, LeftReason, Meeting, MeetingSettings, MeetingState, Participant, ParticipantStatus,
    Recording, RecordingState, Role,
};
use zoom_core::principal::Principal;
use zoom_core::store::DeliveryAttempt;
use zoom_core::webhook::{Health, Subscription, catalogue::FILE_URL_TTL};

/// RFC 3339 instants written in one step: chrono's own `Serialize` formats through
/// `collect_str`, which escapes character by character and was the largest cost of a read.
mod instant {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::Serializer;

    pub(super) fn one<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }

    pub(super) fn maybe<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => one(t, s),
            None => s.serialize_none(),
        }
    }
}

// ---------------------------------------------------------------- enums

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

/// A participant's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Role)]
pub enum RoleView {
    /// The meeting's host.
    Host,
    /// Promoted by the host.
    CoHost,
    /// Everyone else.
    Attendee,
}

impl From<Role> for RoleView {
    fn from(r: Role) -> Self {
        match r {
            Role::Host => Self::Host,
            Role::CoHost => Self::CoHost,
            Role::Attendee => Self::Attendee,
        }
    }
}

impl From<RoleView> for Role {
    fn from(r: RoleView) -> Self {
        match r {
            RoleView::Host => Self::Host,
            RoleView::CoHost => Self::CoHost,
            RoleView::Attendee => Self::Attendee,
        }
    }
}

/// Where a participant session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = ParticipantStatus)]
pub enum ParticipantStatusView {
    /// In the waiting room.
    Waiting,
    /// In the meeting.
    Joined,
    /// Gone.
    Left,
}

impl From<ParticipantStatus> for ParticipantStatusView {
    fn from(s: ParticipantStatus) -> Self {
        match s {
            ParticipantStatus::Waiting => Self::Waiting,
            ParticipantStatus::Joined => Self::Joined,
            ParticipantStatus::Left => Self::Left,
        }
    }
}

/// Why a participant left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = LeftReason)]
pub enum LeftReasonView {
    /// They left.
    Left,
    /// The host removed them.
    Removed,
    /// The meeting ended under them.
    MeetingEnded,
}

impl From<LeftReason> for LeftReasonView {
    fn from(r: LeftReason) -> Self {
        match r {
            LeftReason::Left => Self::Left,
            LeftReason::Removed => Self::Removed,
            LeftReason::MeetingEnded => Self::MeetingEnded,
        }
    }
}

/// A cloud recording's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = RecordingState)]
pub enum RecordingStateView {
    /// Recording now.
    Recording,
    /// Stopped; files are being produced.
    Processing,
    /// Files are ready.
    Completed,
    /// The pipeline failed.
    Failed,
}

impl From<RecordingState> for RecordingStateView {
    fn from(s: RecordingState) -> Self {
        match s {
            RecordingState::Recording => Self::Recording,
            RecordingState::Processing => Self::Processing,
            RecordingState::Completed => Self::Completed,
            RecordingState::Failed => Self::Failed,
        }
    }
}

/// The kind of a recording file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = FileType)]
pub enum FileTypeView {
    /// Audio and video.
    Video,
    /// Audio only.
    Audio,
    /// Speech to text.
    Transcript,
    /// The chat log.
    Chat,
    /// Who spoke when.
    Timeline,
}

impl From<FileType> for FileTypeView {
    fn from(t: FileType) -> Self {
        match t {
            FileType::Video => Self::Video,
            FileType::Audio => Self::Audio,
            FileType::Transcript => Self::Transcript,
            FileType::Chat => Self::Chat,
            FileType::Timeline => Self::Timeline,
        }
    }
}

impl From<FileTypeView> for FileType {
    fn from(t: FileTypeView) -> Self {
        match t {
            FileTypeView::Video => Self::Video,
            FileTypeView::Audio => Self::Audio,
            FileTypeView::Transcript => Self::Transcript,
            FileTypeView::Chat => Self::Chat,
            FileTypeView::Timeline => Self::Timeline,
        }
    }
}

/// A webhook subscription's delivery health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = WebhookHealth)]
pub enum HealthView {
    /// Deliveries succeed.
    Healthy,
    /// Failing for 24 hours.
    Degraded,
    /// Failing for 7 days or answered 410: nothing more is sent.
    Disabled,
}

impl From<Health> for HealthView {
    fn from(h: Health) -> Self {
        match h {
            Health::Healthy => Self::Healthy,
            Health::Degraded => Self::Degraded,
            Health::Disabled => Self::Disabled,
        }
    }
}

// ---------------------------------------------------------------- meetings

/// Meeting settings as sent: absent members take their defaults.
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
    #[serde(default)]
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
    /// New settings (absent members take their defaults).
    #[serde(default)]
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
        let privileged = viewer.is_app() || viewer.subject.as_str() == m.host_id.as_str();
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
            start_url: privileged.then(|| format!("{base}/s/{}", m.id)),
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

// ---------------------------------------------------------------- join tokens

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

// ---------------------------------------------------------------- participants

/// A participant session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = Participant)]
pub struct ParticipantView {
    /// `par_…`.
    pub participant_id: String,
    /// The user, `null` for a guest.
    pub user_id: Option<String>,
    /// Whether this is a guest.
    pub guest: bool,
    /// Shown to others.
    pub display_name: String,
    /// `host`, `co_host` or `attendee`.
    pub role: RoleView,
    /// `waiting`, `joined` or `left`.
    pub status: ParticipantStatusView,
    /// When they entered the meeting.
    #[serde(serialize_with = "instant::maybe")]
    pub joined_at: Option<DateTime<Utc>>,
    /// When they left.
    #[serde(serialize_with = "instant::maybe")]
    pub left_at: Option<DateTime<Utc>>,
    /// Microphone muted.
    pub audio_muted: bool,
    /// Camera off.
    pub video_off: bool,
    /// Why they left: `left`, `removed` or `meeting_ended`.
    pub left_reason: Option<LeftReasonView>,
}

impl From<&Participant> for ParticipantView {
    fn from(p: &Participant) -> Self {
        Self {
            participant_id: p.participant_id.as_str().to_owned(),
            user_id: p.user_id.as_ref().map(|u| u.as_str().to_owned()),
            guest: p.user_id.is_none(),
            display_name: p.display_name.clone(),
            role: p.role.into(),
            status: p.status.into(),
            joined_at: p.joined_at,
            left_at: p.left_at,
            audio_muted: p.audio_muted,
            video_off: p.video_off,
            left_reason: p.left_reason.map(Into::into),
        }
    }
}

/// A page of participants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ParticipantList {
    /// In redemption order.
    pub participants: Vec<ParticipantView>,
    /// Pass as `cursor` for the next page; `null` at the end.
    pub next_cursor: Option<String>,
}

/// `PATCH /v1/meetings/{id}/participants/{pid}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParticipantPatchInput {
    /// `co_host` or `attendee`.
    pub role: RoleView,
}

// ---------------------------------------------------------------- recordings

/// A recording file as read: a freshly signed URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = RecordingFile)]
pub struct RecordingFileView {
    /// `video`, `audio`, `transcript`, `chat` or `timeline`.
    #[serde(rename = "type")]
    pub file_type: FileTypeView,
    /// Size in bytes.
    pub size_bytes: u64,
    /// Signed download URL, valid until `expires_at`.
    pub url: String,
    /// When `url` stops working.
    #[serde(serialize_with = "instant::one")]
    pub expires_at: DateTime<Utc>,
}

/// A cloud recording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = Recording)]
pub struct RecordingView {
    /// `rec_…`.
    pub recording_id: String,
    /// The meeting it belongs to.
    pub meeting_id: String,
    /// `recording`, `processing`, `completed` or `failed`.
    pub state: RecordingStateView,
    /// When it started.
    #[serde(serialize_with = "instant::one")]
    pub started_at: DateTime<Utc>,
    /// When it stopped.
    #[serde(serialize_with = "instant::maybe")]
    pub stopped_at: Option<DateTime<Utc>>,
    /// When files were reported or the pipeline failed.
    #[serde(serialize_with = "instant::maybe")]
    pub finished_at: Option<DateTime<Utc>>,
    /// Length reported by the pipeline.
    pub duration_seconds: Option<u64>,
    /// Its files, with signed URLs.
    pub files: Vec<RecordingFileView>,
    /// The pipeline's error code, when failed.
    pub error_code: Option<String>,
    /// The pipeline's message, when failed.
    pub error_message: Option<String>,
}

impl RecordingView {
    /// The view of `r`, signing file URLs valid for 7 days from `now`.
    pub fn new(meeting_id: &str, r: &Recording, config: &EngineConfig, now: DateTime<Utc>) -> Self {
        let expires_at = now + FILE_URL_TTL;
        Self {
            recording_id: r.recording_id.as_str().to_owned(),
            meeting_id: meeting_id.to_owned(),
            state: r.state.into(),
            started_at: r.started_at,
            stopped_at: r.stopped_at,
            finished_at: r.finished_at,
            duration_seconds: r.duration_seconds,
            files: r
                .files
                .iter()
                .map(|f| RecordingFileView {
                    file_type: f.file_type.into(),
                    size_bytes: f.size_bytes,
                    url: config.file_urls.sign(&f.storage_key, expires_at),
                    expires_at,
                })
                .collect(),
            error_code: r.error_code.clone(),
            error_message: r.error_message.clone(),
        }
    }
}

/// A page of recordings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RecordingList {
    /// In start order.
    pub recordings: Vec<RecordingView>,
    /// Pass as `cursor` for the next page; `null` at the end.
    pub next_cursor: Option<String>,
}

/// The answer of `recordings:start` and `recordings:stop`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RecordingAccepted {
    /// `rec_…`.
    pub recording_id: String,
    /// `recording` after start, `processing` after stop.
    pub state: RecordingStateView,
}

// ---------------------------------------------------------------- webhooks

/// `POST /v1/webhooks`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// A public `https` or `http` URL.
    pub url: String,
    /// Catalogue names, at least one (no wildcard).
    pub events: Vec<String>,
}

/// A webhook subscription (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = Webhook)]
pub struct WebhookView {
    /// `whk_…`.
    pub id: String,
    /// The owning account.
    pub account_id: String,
    /// The app or user that created it.
    pub owner: String,
    /// Where deliveries go.
    pub url: String,
    /// Catalogue names it receives.
    pub events: Vec<String>,
    /// False once deleted.
    pub active: bool,
    /// `healthy`, `degraded` or `disabled`.
    pub state: HealthView,
    /// When created.
    #[serde(serialize_with = "instant::one")]
    pub created_at: DateTime<Utc>,
}

impl From<&Subscription> for WebhookView {
    fn from(s: &Subscription) -> Self {
        Self {
            id: s.id.as_str().to_owned(),
            account_id: s.account_id.as_str().to_owned(),
            owner: s.owner.as_str().to_owned(),
            url: s.url.clone(),
            events: s.events.clone(),
            active: s.active,
            state: s.state.into(),
            created_at: s.created_at,
        }
    }
}

/// A new subscription, with its secret (shown this once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WebhookCreated {
    /// `whk_…`.
    pub id: String,
    /// Where deliveries go.
    pub url: String,
    /// Catalogue names it receives.
    pub events: Vec<String>,
    /// `whsec_…`: the signing secret, never shown again.
    pub secret: String,
    /// `healthy`.
    pub state: HealthView,
    /// When created.
    #[serde(serialize_with = "instant::one")]
    pub created_at: DateTime<Utc>,
}

/// A rotated secret (the previous one keeps signing for 24 hours).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = SecretRotated)]
pub struct SecretRotatedView {
    /// `whk_…`.
    pub id: String,
    /// The new `whsec_…` secret, never shown again.
    pub secret: String,
}

/// A page of subscriptions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WebhookList {
    /// The caller's subscriptions (an admin sees the account's).
    pub webhooks: Vec<WebhookView>,
    /// Pass as `cursor` for the next page; `null` at the end.
    pub next_cursor: Option<String>,
}

/// One delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = Delivery)]
pub struct DeliveryView {
    /// The event (also `webhook-id`).
    pub event_id: String,
    /// The catalogue name.
    pub event: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// When it was sent.
    #[serde(serialize_with = "instant::one")]
    pub attempted_at: DateTime<Utc>,
    /// The receiver's status code, `null` when it did not answer.
    pub status_code: Option<u16>,
    /// Time to the answer or the error.
    pub latency_ms: u64,
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// When the next attempt is due; `null` after success or the last retry.
    #[serde(serialize_with = "instant::maybe")]
    pub next_attempt_at: Option<DateTime<Utc>>,
}

impl From<&DeliveryAttempt> for DeliveryView {
    fn from(a: &DeliveryAttempt) -> Self {
        Self {
            event_id: a.event_id.as_str().to_owned(),
            event: a.event_type.clone(),
            attempt: a.attempt,
            attempted_at: a.attempted_at,
            status_code: a.status_code,
            latency_ms: a.latency_ms,
            error: a.error.clone(),
            next_attempt_at: a.next_attempt_at,
        }
    }
}

/// A page of delivery attempts, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryList {
    /// One row per attempt.
    pub deliveries: Vec<DeliveryView>,
    /// Pass as `cursor` for the next page; `null` at the end.
    pub next_cursor: Option<String>,
}

// ---------------------------------------------------------------- media seam

/// `POST /v1/media/joins`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MediaJoinInput {
    /// The join token the client presented to the SFU.
    pub token: String,
}

/// The participant a redeemed join token became.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = MediaJoin)]
pub struct MediaJoinView {
    /// `par_…`.
    pub participant_id: String,
    /// `mtg_…`.
    pub meeting_id: String,
    /// `host`, `co_host` or `attendee`.
    pub role: RoleView,
    /// `joined`, or `waiting` behind a waiting room.
    pub status: ParticipantStatusView,
    /// Whether the SFU must mute their audio.
    pub audio_muted: bool,
}

/// `POST /v1/media/leaves`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MediaLeaveInput {
    /// `mtg_…`.
    pub meeting_id: String,
    /// `par_…`.
    pub participant_id: String,
    /// Free text from the SFU (logged, not stored): `left`, `disconnected`, …
    #[serde(default)]
    pub reason: Option<String>,
}

/// A recording file as the pipeline reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordingFileInput {
    /// `video`, `audio`, `transcript`, `chat` or `timeline`.
    #[serde(rename = "type")]
    pub file_type: FileTypeView,
    /// The object-store key; URLs are signed from it on read.
    pub storage_key: String,
    /// Size in bytes.
    pub size_bytes: u64,
}

/// `POST /v1/media/recordings/{rec_id}:complete`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordingCompleteInput {
    /// The recording's length.
    pub duration_seconds: u64,
    /// Its files.
    pub files: Vec<RecordingFileInput>,
}

/// `POST /v1/media/recordings/{rec_id}:fail`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordingFailInput {
    /// The pipeline's error code.
    pub error_code: String,
    /// The pipeline's message.
    pub message: String,
}

// ---------------------------------------------------------------- misc

/// The answer of `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Health200 {
    /// `ok`.
    pub status: String,
}

/// A JSON Web Key Set (RFC 7517) of the join-token public keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Jwks {
    /// The keys: OKP/Ed25519 with `kid`, current first.
    #[schema(value_type = Vec<Object>)]
    pub keys: Vec<serde_json::Value>,
}
