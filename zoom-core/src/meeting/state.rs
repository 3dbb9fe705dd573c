//! The meeting's folded state, with its participants and recordings.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::id::{AccountId, MeetingId, ParticipantId, RecordingId, TokenId, UserId};

/// The meeting lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum MeetingState {
    /// Scheduled, editable, nobody has joined yet.
    Scheduled,
    /// Someone has joined.
    Live,
    /// Over; terminal for joins. Only recordings still change.
    Ended,
    /// Cancelled before it started; terminal, still readable.
    Cancelled,
}

impl MeetingState {
    /// The wire name (`LIVE`).
    pub fn as_str(self) -> &'static str {
        match self {
            MeetingState::Scheduled => "SCHEDULED",
            MeetingState::Live => "LIVE",
            MeetingState::Ended => "ENDED",
            MeetingState::Cancelled => "CANCELLED",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Scheduled, Self::Live, Self::Ended, Self::Cancelled]
            .into_iter()
            .find(|state| state.as_str() == s)
    }
}

/// Automatic recording when the meeting goes live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AutoRecording {
    /// No automatic recording.
    #[default]
    None,
    /// Recorded on a client; the control plane does nothing.
    Local,
    /// A cloud recording starts when the meeting goes live.
    Cloud,
}

/// Per-meeting settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeetingSettings {
    /// Automatic recording.
    #[serde(default)]
    pub auto_recording: AutoRecording,
    /// Attendees join muted.
    #[serde(default = "yes")]
    pub mute_upon_entry: bool,
    /// Attendees may join (and start the meeting) before the host.
    #[serde(default)]
    pub allow_join_before_host: bool,
}

fn yes() -> bool {
    true
}

impl MeetingSettings {
    /// These settings with the members `patch` sends replaced, the others kept.
    pub fn merged(&self, patch: &SettingsPatch) -> Self {
        Self {
            auto_recording: patch.auto_recording.unwrap_or(self.auto_recording),
            mute_upon_entry: patch.mute_upon_entry.unwrap_or(self.mute_upon_entry),
            allow_join_before_host: patch.allow_join_before_host.unwrap_or(self.allow_join_before_host),
        }
    }
}

/// A change to some of a meeting's settings: absent members stay as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    /// New automatic recording.
    #[serde(default)]
    pub auto_recording: Option<AutoRecording>,
    /// New mute-upon-entry.
    #[serde(default)]
    pub mute_upon_entry: Option<bool>,
    /// New allow-join-before-host.
    #[serde(default)]
    pub allow_join_before_host: Option<bool>,
}

impl Default for MeetingSettings {
    fn default() -> Self {
        Self {
            auto_recording: AutoRecording::None,
            mute_upon_entry: true,
            allow_join_before_host: false,
        }
    }
}

/// Why a meeting ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The host (or an app for it) ended it.
    HostEnded,
    /// The last participant left.
    AllLeft,
}

/// A participant's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The meeting's host.
    Host,
    /// Promoted by the host.
    CoHost,
    /// Everyone else.
    Attendee,
}

impl Role {
    /// The wire name (`co_host`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Host => "host",
            Role::CoHost => "co_host",
            Role::Attendee => "attendee",
        }
    }
}

/// Where a participant session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParticipantStatus {
    /// In the waiting room, until the host admits or removes them.
    Waiting,
    /// In the meeting.
    Joined,
    /// Gone; a rejoin is a new participant.
    Left,
}

impl ParticipantStatus {
    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "waiting" => Some(Self::Waiting),
            "joined" => Some(Self::Joined),
            "left" => Some(Self::Left),
            _ => None,
        }
    }
}

/// Why a participant left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeftReason {
    /// They left (reported by the media server).
    Left,
    /// The host removed them; they cannot get a new join token.
    Removed,
    /// The meeting ended under them.
    MeetingEnded,
}

/// One participant session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    /// The session id.
    pub participant_id: ParticipantId,
    /// The user, or `None` for a guest.
    pub user_id: Option<UserId>,
    /// The `sub` of the join token (`user_id`, or `guest_…`).
    pub subject: String,
    /// Shown to others.
    pub display_name: String,
    /// Role in the meeting.
    pub role: Role,
    /// Waiting, joined or left.
    pub status: ParticipantStatus,
    /// When the join token was redeemed.
    pub redeemed_at: DateTime<Utc>,
    /// When they entered the meeting (after admission, with a waiting room).
    pub joined_at: Option<DateTime<Utc>>,
    /// When they left.
    pub left_at: Option<DateTime<Utc>>,
    /// Microphone muted.
    pub audio_muted: bool,
    /// Camera off.
    pub video_off: bool,
    /// Why they left.
    pub left_reason: Option<LeftReason>,
    /// The join token that created this session.
    pub jti: TokenId,
}

/// A cloud recording's lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordingState {
    /// Recording now.
    Recording,
    /// Stopped; the pipeline is producing files.
    Processing,
    /// Files are ready.
    Completed,
    /// The pipeline failed.
    Failed,
}

/// The kind of a recording file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileType {
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

/// A file the recording pipeline produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordingFile {
    /// The kind of file.
    #[serde(rename = "type")]
    pub file_type: FileType,
    /// Where the pipeline stored it (an object-store key); URLs are signed from it on read.
    pub storage_key: String,
    /// Its size.
    pub size_bytes: u64,
}

/// One cloud recording of a meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recording {
    /// The recording id.
    pub recording_id: RecordingId,
    /// Its state.
    pub state: RecordingState,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it stopped.
    pub stopped_at: Option<DateTime<Utc>>,
    /// When files were reported or the failure happened.
    pub finished_at: Option<DateTime<Utc>>,
    /// Length reported by the pipeline.
    pub duration_seconds: Option<u64>,
    /// Files reported by the pipeline.
    pub files: Vec<RecordingFile>,
    /// The pipeline's error code, when failed.
    pub error_code: Option<String>,
    /// The pipeline's message, when failed.
    pub error_message: Option<String>,
}

/// A meeting, folded from its stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meeting {
    /// The meeting id (also its stream id).
    pub id: MeetingId,
    /// The owning account.
    pub account_id: AccountId,
    /// The host user.
    pub host_id: UserId,
    /// 1 to 200 characters.
    pub topic: String,
    /// Planned start.
    pub start_time: DateTime<Utc>,
    /// Planned length, advisory.
    pub duration_minutes: u32,
    /// IANA name.
    pub timezone: String,
    /// Needed by non-hosts to get a join token.
    pub passcode: Option<String>,
    /// Non-hosts wait for admission.
    pub waiting_room: bool,
    /// Settings.
    pub settings: MeetingSettings,
    /// Lifecycle state.
    pub state: MeetingState,
    /// When it was scheduled.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it went live.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended or was cancelled.
    pub ended_at: Option<DateTime<Utc>>,
    /// Why it ended.
    pub end_reason: Option<EndReason>,
    /// Every participant session, in redemption order.
    pub participants: Participants,
    /// Every recording, in start order.
    pub recordings: Vec<Recording>,
    /// Users the host removed: they get no new join token.
    pub removed_users: BTreeSet<String>,
    /// The stream version this state was folded up to.
    pub version: u64,
}

impl Meeting {
    /// Whether `viewer` may see the meeting's `start_url`, which starts the meeting as its host:
    /// the host, and apps (they act for the whole account and name the user they act for).
    pub fn shows_start_url_to(&self, viewer: &crate::principal::Principal) -> bool {
        viewer.account_id == self.account_id && (viewer.is_app() || viewer.subject == self.host_id)
    }

    /// A participant by id.
    pub fn participant(&self, id: &ParticipantId) -> Option<&Participant> {
        self.participants.find(id)
    }

    /// A recording by id.
    pub fn recording(&self, id: &RecordingId) -> Option<&Recording> {
        self.recordings.iter().find(|r| &r.recording_id == id)
    }

    pub(crate) fn recording_mut(&mut self, id: &RecordingId) -> Option<&mut Recording> {
        self.recordings.iter_mut().find(|r| &r.recording_id == id)
    }

    /// The recording in progress, if any (at most one).
    pub fn active_recording(&self) -> Option<&Recording> {
        self.recordings.iter().find(|r| r.state == RecordingState::Recording)
    }

    /// How many participants are in the meeting now.
    pub fn participant_count(&self) -> usize {
        self.participants.joined()
    }

    /// Whether a join token's id was already redeemed here.
    pub fn redeemed(&self, jti: &TokenId) -> bool {
        self.participants.redeemed(jti)
    }
}

/// Below this many sessions a lookup scans the list; from it on, maps answer in constant time.
/// Small meetings (nearly all of them) then carry no maps at all.
const INDEX_FROM: usize = 24;

/// A meeting's participant sessions in redemption order, with what decisions ask of them kept
/// ready: the number joined now, and (for large meetings) lookups by participant id and by join
/// token id. Every change goes through its methods, so the counts and maps cannot drift from the
/// list. Serialised as the plain list, so stored snapshots keep their shape.
#[derive(Debug, Clone, Default)]
pub struct Participants {
    list: Vec<Participant>,
    joined: usize,
    index: Option<Box<Index>>,
}

#[derive(Debug, Clone, Default)]
struct Index {
    by_id: HashMap<ParticipantId, u32>,
    by_jti: HashMap<TokenId, u32>,
}

impl Participants {
    /// The sessions in redemption order.
    pub fn as_slice(&self) -> &[Participant] {
        &self.list
    }

    /// How many sessions there are (left ones included).
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// How many are joined now.
    pub fn joined(&self) -> usize {
        self.joined
    }

    /// The sessions in redemption order.
    pub fn iter(&self) -> std::slice::Iter<'_, Participant> {
        self.list.iter()
    }

    /// A session by id.
    pub fn find(&self, id: &ParticipantId) -> Option<&Participant> {
        self.position(id).map(|i| &self.list[i])
    }

    /// Whether a session was created by this join token.
    pub fn redeemed(&self, jti: &TokenId) -> bool {
        match &self.index {
            Some(index) => index.by_jti.contains_key(jti),
            None => self.list.iter().any(|p| &p.jti == jti),
        }
    }

    fn position(&self, id: &ParticipantId) -> Option<usize> {
        match &self.index {
            Some(index) => index.by_id.get(id).map(|&i| i as usize),
            None => self.list.iter().position(|p| &p.participant_id == id),
        }
    }

    /// Adds a session (the caller checked that its id is new).
    pub(crate) fn push(&mut self, participant: Participant) {
        if participant.status == ParticipantStatus::Joined {
            self.joined += 1;
        }
        let at = u32::try_from(self.list.len()).unwrap_or(u32::MAX);
        if let Some(index) = &mut self.index {
            index.by_id.insert(participant.participant_id.clone(), at);
            index.by_jti.insert(participant.jti.clone(), at);
        }
        self.list.push(participant);
        if self.index.is_none() && self.list.len() >= INDEX_FROM {
            self.index = Some(Box::new(Index::of(&self.list)));
        }
    }

    /// Changes a session in place, keeping the joined count true.
    pub(crate) fn update(&mut self, id: &ParticipantId, change: impl FnOnce(&mut Participant)) -> bool {
        let Some(i) = self.position(id) else { return false };
        let p = &mut self.list[i];
        let was = p.status == ParticipantStatus::Joined;
        change(p);
        let is = p.status == ParticipantStatus::Joined;
        match (was, is) {
            (false, true) => self.joined += 1,
            (true, false) => self.joined = self.joined.saturating_sub(1),
            _ => {}
        }
        true
    }
}

impl Index {
    fn of(list: &[Participant]) -> Self {
        let mut index = Index {
            by_id: HashMap::with_capacity(list.len() * 2),
            by_jti: HashMap::with_capacity(list.len() * 2),
        };
        for (i, p) in list.iter().enumerate() {
            let at = u32::try_from(i).unwrap_or(u32::MAX);
            // The first session with an id wins, as a linear scan would find it.
            index.by_id.entry(p.participant_id.clone()).or_insert(at);
            index.by_jti.entry(p.jti.clone()).or_insert(at);
        }
        index
    }
}

impl From<Vec<Participant>> for Participants {
    fn from(list: Vec<Participant>) -> Self {
        let joined = list.iter().filter(|p| p.status == ParticipantStatus::Joined).count();
        let index = (list.len() >= INDEX_FROM).then(|| Box::new(Index::of(&list)));
        Self { list, joined, index }
    }
}

impl PartialEq for Participants {
    fn eq(&self, other: &Self) -> bool {
        self.list == other.list
    }
}

impl Eq for Participants {}

impl std::ops::Deref for Participants {
    type Target = [Participant];
    fn deref(&self) -> &[Participant] {
        &self.list
    }
}

impl<'a> IntoIterator for &'a Participants {
    type Item = &'a Participant;
    type IntoIter = std::slice::Iter<'a, Participant>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

impl Serialize for Participants {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.list.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Participants {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<Participant>::deserialize(deserializer).map(Self::from)
    }
}
