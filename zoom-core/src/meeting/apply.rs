//! Folding: events into state. No business logic, cannot fail, never panics, whatever the order.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::event::MeetingEvent;
use super::state::*;

/// Applies one event at stream `version` to the state. An event that makes no sense in the
/// current state (out of order, duplicated, for an unknown participant) changes nothing but the
/// version: decisions never produce such sequences, and folding must stay total for any input.
pub fn apply(state: &mut Option<Meeting>, event: &MeetingEvent, version: u64) {
    match state {
        Some(m) => apply_to(m, event, version),
        None => *state = created(event, version),
    }
}

/// [`apply`] to a state shared behind an [`Arc`]: changed in place when nobody else holds it,
/// copied first otherwise (copy on write), so a command never copies a meeting nobody shares.
pub fn apply_shared(state: &mut Option<Arc<Meeting>>, event: &MeetingEvent, version: u64) {
    match state {
        Some(m) => apply_to(Arc::make_mut(m), event, version),
        None => *state = created(event, version).map(Arc::new),
    }
}

/// The meeting a first event creates: only `meeting.scheduled` creates one.
fn created(event: &MeetingEvent, version: u64) -> Option<Meeting> {
    let MeetingEvent::Scheduled(e) = event else { return None };
    Some(Meeting {
        id: e.meeting_id.clone(),
        account_id: e.account_id.clone(),
        host_id: e.host_id.clone(),
        topic: e.topic.clone(),
        start_time: e.start_time,
        duration_minutes: e.duration_minutes,
        timezone: e.timezone.clone(),
        passcode: e.passcode.clone(),
        waiting_room: e.waiting_room,
        settings: e.settings.clone(),
        state: MeetingState::Scheduled,
        created_at: e.created_at,
        updated_at: e.created_at,
        started_at: None,
        ended_at: None,
        end_reason: None,
        participants: Participants::default(),
        recordings: Vec::new(),
        removed_users: BTreeSet::new(),
        version,
    })
}

fn apply_to(m: &mut Meeting, event: &MeetingEvent, version: u64) {
    m.version = version;
    match event {
        MeetingEvent::Scheduled(_) => {}
        MeetingEvent::Updated(e) => {
            if let Some(v) = &e.topic {
                m.topic = v.clone();
            }
            if let Some(v) = e.start_time {
                m.start_time = v;
            }
            if let Some(v) = e.duration_minutes {
                m.duration_minutes = v;
            }
            if let Some(v) = &e.timezone {
                m.timezone = v.clone();
            }
            if let Some(v) = &e.passcode {
                m.passcode = v.clone();
            }
            if let Some(v) = e.waiting_room {
                m.waiting_room = v;
            }
            if let Some(v) = &e.settings {
                m.settings = v.clone();
            }
            m.updated_at = e.updated_at;
        }
        MeetingEvent::Cancelled(e) => {
            m.state = MeetingState::Cancelled;
            m.ended_at = Some(e.cancelled_at);
            m.updated_at = e.cancelled_at;
        }
        MeetingEvent::Started(e) => {
            m.state = MeetingState::Live;
            m.started_at = Some(e.started_at);
            m.updated_at = e.started_at;
        }
        MeetingEvent::Ended(e) => {
            m.state = MeetingState::Ended;
            m.ended_at = Some(e.ended_at);
            m.end_reason = Some(e.reason);
            m.updated_at = e.ended_at;
        }
        MeetingEvent::ParticipantWaiting(e) => {
            if m.participant(&e.participant_id).is_none() {
                let muted = m.settings.mute_upon_entry && e.role == Role::Attendee;
                m.participants.push(Participant {
                    participant_id: e.participant_id.clone(),
                    user_id: e.user_id.clone(),
                    subject: e.subject.clone(),
                    display_name: e.display_name.clone(),
                    role: e.role,
                    status: ParticipantStatus::Waiting,
                    redeemed_at: e.at,
                    joined_at: None,
                    left_at: None,
                    audio_muted: muted,
                    video_off: false,
                    left_reason: None,
                    jti: e.jti.clone(),
                });
            }
        }
        MeetingEvent::ParticipantJoined(e) => {
            let known = m.participants.update(&e.participant_id, |p| {
                if p.status == ParticipantStatus::Waiting {
                    p.status = ParticipantStatus::Joined;
                    p.joined_at = Some(e.joined_at);
                }
            });
            if !known {
                m.participants.push(Participant {
                    participant_id: e.participant_id.clone(),
                    user_id: e.user_id.clone(),
                    subject: e.subject.clone(),
                    display_name: e.display_name.clone(),
                    role: e.role,
                    status: ParticipantStatus::Joined,
                    redeemed_at: e.joined_at,
                    joined_at: Some(e.joined_at),
                    left_at: None,
                    audio_muted: e.audio_muted,
                    video_off: e.video_off,
                    left_reason: None,
                    jti: e.jti.clone(),
                });
            }
        }
        MeetingEvent::ParticipantLeft(e) => {
            let mut removed_user = None;
            m.participants.update(&e.participant_id, |p| {
                if p.status != ParticipantStatus::Left {
                    p.status = ParticipantStatus::Left;
                    p.left_at = Some(e.left_at);
                    p.left_reason = Some(e.reason);
                    if e.reason == LeftReason::Removed {
                        removed_user = p.user_id.as_ref().map(|u| u.as_str().to_owned());
                    }
                }
            });
            if let Some(u) = removed_user {
                m.removed_users.insert(u);
            }
        }
        MeetingEvent::ParticipantMuted(e) => {
            m.participants.update(&e.participant_id, |p| {
                p.audio_muted = e.audio_muted;
                p.video_off = e.video_off;
            });
        }
        // The change of status comes with the `participant.joined` that follows.
        MeetingEvent::ParticipantAdmitted(_) => {}
        MeetingEvent::ParticipantRoleChanged(e) => {
            m.participants.update(&e.participant_id, |p| p.role = e.role);
        }
        MeetingEvent::RecordingStarted(e) => {
            if m.recording(&e.recording_id).is_none() {
                m.recordings.push(Recording {
                    recording_id: e.recording_id.clone(),
                    state: RecordingState::Recording,
                    started_at: e.started_at,
                    stopped_at: None,
                    finished_at: None,
                    duration_seconds: None,
                    files: Vec::new(),
                    error_code: None,
                    error_message: None,
                });
            }
        }
        MeetingEvent::RecordingStopped(e) => {
            if let Some(r) = m.recording_mut(&e.recording_id)
                && r.state == RecordingState::Recording
            {
                r.state = RecordingState::Processing;
                r.stopped_at = Some(e.stopped_at);
            }
        }
        MeetingEvent::RecordingCompleted(e) => {
            if let Some(r) = m.recording_mut(&e.recording_id)
                && r.state == RecordingState::Processing
            {
                r.state = RecordingState::Completed;
                r.finished_at = Some(e.completed_at);
                r.duration_seconds = Some(e.duration_seconds);
                r.files = e.files.clone();
            }
        }
        MeetingEvent::RecordingFailed(e) => {
            if let Some(r) = m.recording_mut(&e.recording_id)
                && r.state == RecordingState::Processing
            {
                r.state = RecordingState::Failed;
                r.finished_at = Some(e.failed_at);
                r.error_code = Some(e.error_code.clone());
                r.error_message = Some(e.message.clone());
            }
        }
    }
}
