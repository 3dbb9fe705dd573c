//! The media seam: what the SFU and the recording pipeline send, and what they get back.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::participants::{ParticipantStatusView, RoleView};
use super::recordings::FileTypeView;

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
    #[serde(deserialize_with = "crate::extract::objects")]
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

impl From<RecordingFileInput> for zoom_core::meeting::RecordingFile {
    fn from(f: RecordingFileInput) -> Self {
        Self {
            file_type: f.file_type.into(),
            storage_key: f.storage_key,
            size_bytes: f.size_bytes,
        }
    }
}
