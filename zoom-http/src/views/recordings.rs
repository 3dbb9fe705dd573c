//! Recordings: a recording as read, with freshly signed file URLs.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use zoom_core::engine::EngineConfig;
use zoom_core::meeting::{FileType, Recording, RecordingState};
use zoom_core::webhook::catalogue::FILE_URL_TTL;

use super::instant;

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
