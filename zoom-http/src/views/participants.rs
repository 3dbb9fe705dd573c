//! Participants: a session as read, the role patch.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use zoom_core::meeting::{LeftReason, Participant, ParticipantStatus, Role};

use super::instant;

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

/// `POST /v1/meetings/{id}/participants/{pid}/mute` and `POST …/participants:muteAll`: what to
/// mute. A host mutes, never unmutes, so `false` leaves that medium as it is; with neither field
/// (or no body) the microphone is muted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MuteInput {
    /// Mute the microphone. Default: true when `video` is absent too, false otherwise.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub audio: Option<bool>,
    /// Turn the camera off. Default false.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub video: Option<bool>,
}

/// A member that may be left out but, when sent, is a boolean (`null` is refused, as the
/// OpenAPI document says).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    bool::deserialize(d).map(Some)
}

impl MuteInput {
    /// `(audio, video)`: what the request mutes.
    pub fn media(self) -> (bool, bool) {
        match (self.audio, self.video) {
            (None, None) => (true, false),
            (audio, video) => (audio.unwrap_or(false), video.unwrap_or(false)),
        }
    }
}

/// The answer of `POST /v1/meetings/{id}/participants:muteAll`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MuteAllView {
    /// How many attendees (joined or waiting) are now muted as asked: all of them, whether this
    /// request or an earlier one muted them. The host and co-hosts are not counted.
    pub muted: u64,
}
