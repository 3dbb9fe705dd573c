#![allow(clippy::unwrap_used)]
//! Given/when/then tests: one per transition and invariant of the meeting (docs/api.md, docs/events.md).

use zoom_core::meeting::command::{JoinRequest, MeetingPatch, ScheduleMeeting};
use zoom_core::meeting::*;
use zoom_core::testing::kit::fixtures::*;
use zoom_core::testing::kit::*;
use zoom_core::token::JoinClaims;

fn schedule() -> ScheduleMeeting {
    ScheduleMeeting {
        topic: "Design review".into(),
        start_time: "2030-01-01T10:00:00+01:00".into(),
        duration_minutes: 45,
        timezone: Some("Europe/Paris".into()),
        passcode: Some("ab@_*-9".into()),
        waiting_room: None,
        settings: None,
        host_id: Some("alice".into()),
    }
}

fn claims(user: &str, role: &str, n: u8) -> JoinClaims {
    JoinClaims {
        iss: "http://test".into(),
        aud: "sfu".into(),
        sub: user.into(),
        iat: 0,
        nbf: 0,
        exp: 300,
        jti: zoom_core::id::TokenId::from_entropy([n; 16]).as_str().into(),
        mid: meeting_id().as_str().into(),
        pid: pid(n).as_str().into(),
        role: role.into(),
        name: user.into(),
    }
}

fn patch(f: impl FnOnce(&mut MeetingPatch)) -> MeetingCommand {
    let mut p = MeetingPatch::default();
    f(&mut p);
    MeetingCommand::Update(p)
}

/// Scheduling creates a SCHEDULED meeting with defaults (waiting room on, settings default).
#[test]
fn schedule_creates_a_scheduled_meeting_with_defaults() {
    MeetingTest::given_nothing()
        .when(MeetingCommand::Schedule(schedule()))
        .then_state(|m| {
            assert_eq!(m.state, MeetingState::Scheduled);
            assert!(m.waiting_room);
            assert_eq!(m.settings, MeetingSettings::default());
            assert_eq!(m.start_time.to_rfc3339(), "2030-01-01T09:00:00+00:00");
            assert_eq!(m.timezone, "Europe/Paris");
            assert_eq!(m.host_id.as_str(), "alice");
        });
}

/// Changes one field of a valid schedule command into an invalid one.
type Spoil = Box<dyn Fn(&mut ScheduleMeeting)>;

/// Each invalid field is refused with an error naming it.
#[test]
fn schedule_validates_every_field() {
    let cases: Vec<(&str, Spoil)> = vec![
        ("topic", Box::new(|s| s.topic = String::new())),
        ("topic", Box::new(|s| s.topic = "x".repeat(201))),
        ("start_time", Box::new(|s| s.start_time = "tomorrow".into())),
        ("duration_minutes", Box::new(|s| s.duration_minutes = 0)),
        ("duration_minutes", Box::new(|s| s.duration_minutes = 1441)),
        ("timezone", Box::new(|s| s.timezone = Some("Mars/Olympus".into()))),
        ("passcode", Box::new(|s| s.passcode = Some("with space".into()))),
        ("passcode", Box::new(|s| s.passcode = Some("12345678901".into()))),
        ("passcode", Box::new(|s| s.passcode = Some(String::new()))),
        ("host_id", Box::new(|s| s.host_id = Some("bad id".into()))),
    ];
    for (field, change) in cases {
        let mut s = schedule();
        change(&mut s);
        MeetingTest::given_nothing()
            .when(MeetingCommand::Schedule(s))
            .then_invalid(field);
    }
}

/// A 200-character topic and a start time in the past are accepted.
#[test]
fn schedule_accepts_edge_values() {
    let mut s = schedule();
    s.topic = "é".repeat(200);
    s.start_time = "2000-01-01T00:00:00Z".into();
    s.duration_minutes = 1440;
    MeetingTest::given_nothing()
        .when(MeetingCommand::Schedule(s))
        .then_types(&["meeting.scheduled"]);
}

/// A user token schedules as itself; naming another host is refused.
#[test]
fn a_user_schedules_as_itself() {
    let mut s = schedule();
    s.host_id = None;
    MeetingTest::given_nothing()
        .as_principal(other_user())
        .when(MeetingCommand::Schedule(s.clone()))
        .then_state(|m| assert_eq!(m.host_id.as_str(), "bob"));
    s.host_id = Some("alice".into());
    MeetingTest::given_nothing()
        .as_principal(other_user())
        .when(MeetingCommand::Schedule(s))
        .then_invalid("host_id");
}

/// An `admin` or `owner` user acts for the whole account like an app: it names the host, the
/// joiner, and changes meetings it does not host.
#[test]
fn an_account_wide_user_acts_for_the_account() {
    MeetingTest::given_nothing()
        .as_principal(other_user().for_account())
        .when(MeetingCommand::Schedule(schedule()))
        .then_state(|m| assert_eq!(m.host_id.as_str(), "alice"));
    MeetingTest::given(vec![scheduled()])
        .as_principal(other_user().for_account())
        .when(MeetingCommand::Cancel)
        .then_types(&["meeting.cancelled"]);
    MeetingTest::given(vec![scheduled()])
        .as_principal(other_user())
        .when(MeetingCommand::Cancel)
        .then_error("not_host");
}

/// An app schedules for the host it names, or for itself by default.
#[test]
fn an_app_schedules_for_the_named_host() {
    let mut s = schedule();
    s.host_id = None;
    MeetingTest::given_nothing()
        .when(MeetingCommand::Schedule(s))
        .then_state(|m| assert_eq!(m.host_id.as_str(), "app_1"));
}

/// Scheduling twice on the same id is a conflict.
#[test]
fn schedule_twice_conflicts() {
    MeetingTest::given(vec![scheduled()])
        .when(MeetingCommand::Schedule(schedule()))
        .then_error("already_exists");
}

/// A missing scope is refused before anything else.
#[test]
fn a_missing_scope_is_insufficient_scope() {
    let reader = zoom_core::principal::Principal::app(
        zoom_core::id::Name::parse("acme").unwrap(),
        zoom_core::id::Name::parse("reader").unwrap(),
        [zoom_core::principal::Scope::MeetingRead],
    );
    MeetingTest::given(vec![scheduled()])
        .as_principal(reader)
        .when(MeetingCommand::Cancel)
        .then_error("insufficient_scope");
}

/// Another account's meeting does not exist for the caller.
#[test]
fn another_accounts_meeting_is_not_found() {
    MeetingTest::given(vec![scheduled()])
        .as_principal(foreign_app())
        .when(MeetingCommand::Cancel)
        .then_error("not_found");
}

/// A user who is not the host cannot change the meeting.
#[test]
fn only_the_host_user_changes_a_meeting() {
    MeetingTest::given(vec![scheduled()])
        .as_principal(other_user())
        .when(MeetingCommand::Cancel)
        .then_error("not_host");
    MeetingTest::given(vec![scheduled()])
        .as_principal(host_user())
        .when(MeetingCommand::Cancel)
        .then_types(&["meeting.cancelled"]);
}

/// A scheduled meeting can be edited; only changed fields are recorded.
#[test]
fn a_scheduled_meeting_can_be_edited() {
    MeetingTest::given(vec![scheduled()])
        .when(patch(|p| {
            p.topic = Some("New topic".into());
            p.duration_minutes = Some(30);
            p.start_time = Some("2030-02-01T09:00:00Z".into());
        }))
        .then_state(|m| {
            assert_eq!(m.topic, "New topic");
            assert_eq!(m.start_time.to_rfc3339(), "2030-02-01T09:00:00+00:00");
        });
}

/// A patch that changes nothing appends nothing.
#[test]
fn a_no_op_patch_appends_nothing() {
    MeetingTest::given(vec![scheduled()])
        .when(patch(|p| p.duration_minutes = Some(30)))
        .then_expect(vec![]);
}

/// A passcode can be removed with null.
#[test]
fn a_passcode_can_be_removed() {
    MeetingTest::given(vec![scheduled_with(|e| e.passcode = Some("123".into()))])
        .when(patch(|p| p.passcode = Some(None)))
        .then_state(|m| assert_eq!(m.passcode, None));
}

/// The host cannot be changed by a patch.
#[test]
fn the_host_cannot_be_patched() {
    MeetingTest::given(vec![scheduled()])
        .when(patch(|p| p.host_id = Some("bob".into())))
        .then_invalid("host_id");
}

/// A live meeting cannot move its start time.
#[test]
fn a_live_meeting_cannot_change_start_time() {
    MeetingTest::given(live_with_host())
        .when(patch(|p| p.start_time = Some("2030-02-01T09:00:00Z".into())))
        .then_error("meeting_live");
}

/// A live meeting may extend its duration but not shorten it.
#[test]
fn a_live_meeting_only_extends_its_duration() {
    MeetingTest::given(live_with_host())
        .when(patch(|p| p.duration_minutes = Some(60)))
        .then_state(|m| assert_eq!(m.duration_minutes, 60));
    MeetingTest::given(live_with_host())
        .when(patch(|p| p.duration_minutes = Some(10)))
        .then_error("meeting_live");
}

/// Ended and cancelled meetings cannot be edited.
#[test]
fn ended_and_cancelled_meetings_cannot_be_edited() {
    for terminal in [ended(), cancelled()] {
        MeetingTest::given(vec![scheduled(), terminal])
            .when(patch(|p| p.topic = Some("x".into())))
            .then_error("meeting_not_editable");
    }
}

/// Cancel: SCHEDULED → CANCELLED; the meeting stays readable.
#[test]
fn cancel_makes_a_scheduled_meeting_cancelled() {
    MeetingTest::given(vec![scheduled()])
        .when(MeetingCommand::Cancel)
        .then_state(|m| assert_eq!(m.state, MeetingState::Cancelled));
}

/// Cancelling twice is a no-op; a live meeting cannot be cancelled.
#[test]
fn cancel_is_idempotent_and_refused_when_live() {
    MeetingTest::given(vec![scheduled(), cancelled()])
        .when(MeetingCommand::Cancel)
        .then_expect(vec![]);
    MeetingTest::given(live_with_host())
        .when(MeetingCommand::Cancel)
        .then_error("meeting_live");
}

/// The host's join makes the meeting LIVE, with meeting.started before participant.joined.
#[test]
fn the_hosts_join_starts_the_meeting() {
    MeetingTest::given(vec![scheduled()])
        .when(MeetingCommand::Redeem {
            claims: claims("alice", "host", 1),
        })
        .then_types(&["meeting.started", "participant.joined"])
        .then_state(|m| {
            assert_eq!(m.state, MeetingState::Live);
            assert_eq!(m.participant_count(), 1);
            assert!(!m.participants[0].audio_muted, "the host is never muted on entry");
        });
}

/// The platform's media credential serves every account at the media seam; another account's
/// plain media credential finds nothing, and the platform credential is no wider off the seam.
#[test]
fn the_platform_media_credential_serves_every_account() {
    use zoom_core::id::Name;
    use zoom_core::principal::{Principal, Scope};
    let platform_sfu = Principal::app(
        Name::parse("default").unwrap(),
        Name::parse("sfu").unwrap(),
        [Scope::Media, Scope::Platform],
    );
    let other_sfu = Principal::app(
        Name::parse("globex").unwrap(),
        Name::parse("sfu").unwrap(),
        [Scope::Media],
    );
    MeetingTest::given(vec![scheduled()])
        .as_principal(platform_sfu.clone())
        .when(MeetingCommand::Redeem {
            claims: claims("alice", "host", 1),
        })
        .then_types(&["meeting.started", "participant.joined"]);
    MeetingTest::given(vec![scheduled()])
        .as_principal(other_sfu)
        .when(MeetingCommand::Redeem {
            claims: claims("alice", "host", 1),
        })
        .then_error("not_found");
    let mut admin = platform_sfu;
    admin.scopes.insert(Scope::MeetingWrite);
    MeetingTest::given(vec![scheduled()])
        .as_principal(admin)
        .when(MeetingCommand::Cancel)
        .then_error("not_found");
}

/// An attendee cannot start the meeting unless join-before-host is allowed.
#[test]
fn an_attendee_waits_for_the_host_unless_allowed() {
    MeetingTest::given(vec![scheduled()])
        .when(MeetingCommand::Redeem {
            claims: claims("bob", "attendee", 2),
        })
        .then_error("meeting_not_started");
    MeetingTest::given(vec![scheduled_with(|e| e.settings.allow_join_before_host = true)])
        .when(MeetingCommand::Redeem {
            claims: claims("bob", "attendee", 2),
        })
        .then_types(&["meeting.started", "participant.joined"]);
}

/// mute_upon_entry joins attendees muted.
#[test]
fn attendees_join_muted() {
    let mut given = live_with_host();
    given[0] = scheduled_with(|e| e.settings.mute_upon_entry = true);
    MeetingTest::given(given)
        .when(MeetingCommand::Redeem {
            claims: claims("bob", "attendee", 2),
        })
        .then_state(|m| assert!(m.participant(&pid(2)).unwrap().audio_muted));
}

/// With the waiting room on, a non-host redeems into waiting; the host admits.
#[test]
fn the_waiting_room_holds_non_hosts_until_admitted() {
    let mut given = live_with_host();
    given[0] = scheduled_with(|e| e.waiting_room = true);
    MeetingTest::given(given.clone())
        .when(MeetingCommand::Redeem {
            claims: claims("bob", "attendee", 2),
        })
        .then_types(&["participant.waiting"]);
    given.push(waiting(2, "bob"));
    MeetingTest::given(given.clone())
        .when(MeetingCommand::Admit { participant_id: pid(2) })
        .then_state(|m| {
            let p = m.participant(&pid(2)).unwrap();
            assert_eq!(p.status, ParticipantStatus::Joined);
            assert!(p.joined_at.is_some());
        });
    MeetingTest::given(given)
        .when(MeetingCommand::Remove { participant_id: pid(2) })
        .then_state(|m| {
            let p = m.participant(&pid(2)).unwrap();
            assert_eq!(p.left_reason, Some(LeftReason::Removed));
            assert_eq!(
                m.state,
                MeetingState::Live,
                "removing a waiting participant does not end the meeting"
            );
        });
}

/// Admitting into a scheduled meeting starts it.
#[test]
fn admitting_into_a_scheduled_meeting_starts_it() {
    MeetingTest::given(vec![
        scheduled_with(|e| {
            e.waiting_room = true;
            e.settings.allow_join_before_host = true;
        }),
        waiting(2, "bob"),
    ])
    .when(MeetingCommand::Admit { participant_id: pid(2) })
    .then_types(&["participant.admitted", "meeting.started", "participant.joined"]);
}

/// A redeemed token cannot be redeemed again.
#[test]
fn a_join_token_is_redeemed_once() {
    let mut given = live_with_host();
    given.push(joined(2, "bob", Role::Attendee));
    MeetingTest::given(given)
        .when(MeetingCommand::Redeem {
            claims: claims("bob", "attendee", 2),
        })
        .then_error("token_reused");
}

/// A token for another meeting is refused.
#[test]
fn a_token_for_another_meeting_is_refused() {
    let mut c = claims("bob", "attendee", 2);
    c.mid = "mtg_other".into();
    MeetingTest::given(live_with_host())
        .when(MeetingCommand::Redeem { claims: c })
        .then_error("invalid_token");
}

/// Joining a cancelled meeting is Gone; an ended one is a Conflict.
#[test]
fn cancelled_is_gone_and_ended_is_conflict_for_joins() {
    MeetingTest::given(vec![scheduled(), cancelled()])
        .when(MeetingCommand::Redeem {
            claims: claims("alice", "host", 1),
        })
        .then_error("meeting_cancelled");
    MeetingTest::given(vec![scheduled(), started(), ended()])
        .when(MeetingCommand::Redeem {
            claims: claims("alice", "host", 1),
        })
        .then_error("meeting_ended");
}

/// A removed user cannot rejoin.
#[test]
fn a_removed_user_cannot_rejoin() {
    let mut given = live_with_host();
    given.push(joined(2, "bob", Role::Attendee));
    given.push(left(2, "bob", LeftReason::Removed));
    MeetingTest::given(given)
        .when(MeetingCommand::Redeem {
            claims: claims("bob", "attendee", 3),
        })
        .then_error("participant_removed");
}

/// Leave and rejoin gives a new participant id.
#[test]
fn rejoining_is_a_new_participant() {
    let mut given = live_with_host();
    given.push(joined(2, "bob", Role::Attendee));
    given.push(left(2, "bob", LeftReason::Left));
    MeetingTest::given(given)
        .when(MeetingCommand::Redeem {
            claims: claims("bob", "attendee", 3),
        })
        .then_state(|m| {
            assert_eq!(m.participants.len(), 3);
            assert_eq!(m.participant(&pid(3)).unwrap().status, ParticipantStatus::Joined);
        });
}

/// A duplicate leave is a no-op, never a second event.
#[test]
fn a_duplicate_leave_is_a_no_op() {
    let mut given = live_with_host();
    given.push(joined(2, "bob", Role::Attendee));
    given.push(left(2, "bob", LeftReason::Left));
    MeetingTest::given(given)
        .when(MeetingCommand::Leave { participant_id: pid(2) })
        .then_expect(vec![]);
}

/// Leaving an unknown participant is NotFound.
#[test]
fn leaving_an_unknown_participant_is_not_found() {
    MeetingTest::given(live_with_host())
        .when(MeetingCommand::Leave { participant_id: pid(9) })
        .then_error("not_found");
}

/// The last participant leaving ends the meeting with reason all_left.
#[test]
fn the_last_leave_ends_the_meeting() {
    MeetingTest::given(live_with_host())
        .when(MeetingCommand::Leave { participant_id: pid(1) })
        .then_types(&["participant.left", "meeting.ended"])
        .then_state(|m| {
            assert_eq!(m.state, MeetingState::Ended);
            assert_eq!(m.end_reason, Some(EndReason::AllLeft));
        });
}

/// Someone else still joined keeps the meeting live.
#[test]
fn a_leave_with_others_present_keeps_it_live() {
    let mut given = live_with_host();
    given.push(joined(2, "bob", Role::Attendee));
    MeetingTest::given(given)
        .when(MeetingCommand::Leave { participant_id: pid(1) })
        .then_types(&["participant.left"]);
}

/// Ending moves everyone out, stops the active recording, and records host_ended.
#[test]
fn ending_stops_recording_and_moves_everyone_out() {
    let mut given = live_with_host();
    given.push(joined(2, "bob", Role::Attendee));
    given.push(recording_started(1));
    MeetingTest::given(given)
        .when(MeetingCommand::End)
        .then_types(&[
            "recording.stopped",
            "participant.left",
            "participant.left",
            "meeting.ended",
        ])
        .then_state(|m| {
            assert_eq!(m.state, MeetingState::Ended);
            assert_eq!(m.end_reason, Some(EndReason::HostEnded));
            assert!(
                m.participants
                    .iter()
                    .all(|p| p.left_reason == Some(LeftReason::MeetingEnded))
            );
            assert_eq!(m.recordings[0].state, RecordingState::Processing);
        });
}

/// Ending a scheduled meeting is a conflict; ending an ended one is a no-op.
#[test]
fn end_needs_a_live_meeting() {
    MeetingTest::given(vec![scheduled()])
        .when(MeetingCommand::End)
        .then_error("meeting_not_live");
    MeetingTest::given(vec![scheduled(), started(), ended()])
        .when(MeetingCommand::End)
        .then_expect(vec![]);
}

/// auto_recording cloud starts a recording when the meeting goes live.
#[test]
fn cloud_auto_recording_starts_with_the_meeting() {
    MeetingTest::given(vec![scheduled_with(|e| {
        e.settings.auto_recording = AutoRecording::Cloud
    })])
    .when(MeetingCommand::Redeem {
        claims: claims("alice", "host", 1),
    })
    .then_types(&["meeting.started", "recording.started", "participant.joined"]);
}

/// Recording: start on a live meeting, at most one active, stop makes it processing.
#[test]
fn recording_start_and_stop() {
    MeetingTest::given(live_with_host())
        .when(MeetingCommand::StartRecording)
        .then_state(|m| assert_eq!(m.active_recording().unwrap().state, RecordingState::Recording));
    let mut given = live_with_host();
    given.push(recording_started(1));
    MeetingTest::given(given.clone())
        .when(MeetingCommand::StartRecording)
        .then_error("already_recording");
    MeetingTest::given(given)
        .when(MeetingCommand::StopRecording)
        .then_state(|m| assert_eq!(m.recordings[0].state, RecordingState::Processing));
    MeetingTest::given(vec![scheduled()])
        .when(MeetingCommand::StartRecording)
        .then_error("meeting_not_live");
    MeetingTest::given(live_with_host())
        .when(MeetingCommand::StopRecording)
        .then_error("no_active_recording");
}

/// Many recordings per meeting, one after another.
#[test]
fn many_recordings_per_meeting() {
    let mut given = live_with_host();
    given.extend([recording_started(1), recording_stopped(1)]);
    MeetingTest::given(given)
        .when(MeetingCommand::StartRecording)
        .then_state(|m| assert_eq!(m.recordings.len(), 2));
}

/// Completing a processing recording stores its files, even after the meeting ended.
#[test]
fn a_processing_recording_completes_after_the_meeting_ended() {
    let mut given = live_with_host();
    given.extend([recording_started(1), recording_stopped(1), ended()]);
    let files = vec![RecordingFile {
        file_type: FileType::Video,
        storage_key: "acme/rec1.mp4".into(),
        size_bytes: 1024,
    }];
    MeetingTest::given(given)
        .when(MeetingCommand::CompleteRecording {
            recording_id: rid(1),
            duration_seconds: 61,
            files,
        })
        .then_state(|m| {
            assert_eq!(m.recordings[0].state, RecordingState::Completed);
            assert_eq!(m.recordings[0].files.len(), 1);
        });
}

/// Completing or failing a recording that is not processing is a conflict.
#[test]
fn completing_a_recording_that_is_not_processing_conflicts() {
    let mut given = live_with_host();
    given.push(recording_started(1));
    MeetingTest::given(given.clone())
        .when(MeetingCommand::CompleteRecording {
            recording_id: rid(1),
            duration_seconds: 1,
            files: vec![],
        })
        .then_error("recording_not_processing");
    MeetingTest::given(given)
        .when(MeetingCommand::FailRecording {
            recording_id: rid(1),
            error_code: "E".into(),
            message: "m".into(),
        })
        .then_error("recording_not_processing");
}

/// A failed recording records the pipeline's error.
#[test]
fn a_recording_can_fail() {
    let mut given = live_with_host();
    given.extend([recording_started(1), recording_stopped(1)]);
    MeetingTest::given(given)
        .when(MeetingCommand::FailRecording {
            recording_id: rid(1),
            error_code: "storage_full".into(),
            message: "disk".into(),
        })
        .then_state(|m| {
            assert_eq!(m.recordings[0].state, RecordingState::Failed);
            assert_eq!(m.recordings[0].error_code.as_deref(), Some("storage_full"));
        });
}

fn mute(n: u8, audio: bool, video: bool) -> MeetingCommand {
    MeetingCommand::Mute {
        participant_id: pid(n),
        audio,
        video,
    }
}

fn muted_event(n: u8, audio_muted: bool, video_off: bool) -> MeetingEvent {
    MeetingEvent::ParticipantMuted(event::ParticipantMuted {
        meeting_id: meeting_id(),
        participant_id: pid(n),
        audio_muted,
        video_off,
        by: Some(zoom_core::id::Name::parse("app_1").unwrap()),
        at: t0(),
    })
}

/// Live with the host, attendee bob (2, unmuted) and co-host carol (3).
fn live_with_attendees() -> Vec<MeetingEvent> {
    let mut given = live_with_host();
    given.push(joined(2, "bob", Role::Attendee));
    given.push(joined(3, "carol", Role::CoHost));
    given
}

/// Force-mute is recorded once, naming who muted; muting a muted participant is a no-op.
#[test]
fn mute_is_authoritative_and_idempotent() {
    let mut given = live_with_host();
    given.push(joined(2, "bob", Role::Attendee));
    MeetingTest::given(given.clone())
        .when(mute(2, true, false))
        .then_expect(vec![muted_event(2, true, false)]);
    given.push(muted_event(2, true, false));
    MeetingTest::given(given).when(mute(2, true, false)).then_nothing();
}

/// `video` alone turns the camera off and leaves the microphone as it was; both do both.
#[test]
fn mute_takes_audio_video_or_both() {
    let given = live_with_attendees();
    MeetingTest::given(given.clone())
        .when(mute(2, false, true))
        .then_expect(vec![muted_event(2, false, true)]);
    MeetingTest::given(given.clone())
        .when(mute(2, true, true))
        .then_state(|m| {
            let p = m.participant(&pid(2)).unwrap();
            assert!(p.audio_muted && p.video_off);
        });
    // Muted before, the camera still goes off; the microphone stays muted.
    let mut muted = given;
    muted.push(muted_event(2, true, false));
    MeetingTest::given(muted)
        .when(mute(2, false, true))
        .then_expect(vec![muted_event(2, true, true)]);
}

/// A plain audio mute serializes as it did before `video` existed, so an `Idempotency-Key` used
/// with one keeps its fingerprint across the upgrade.
#[test]
fn an_audio_mute_keeps_its_serialized_form() {
    assert_eq!(
        serde_json::to_value(mute(2, true, false)).unwrap(),
        serde_json::json!({"command": "mute", "participant_id": pid(2).as_str()})
    );
    let back: MeetingCommand =
        serde_json::from_value(serde_json::json!({"command": "mute", "participant_id": pid(2).as_str()})).unwrap();
    assert_eq!(back, mute(2, true, false));
    assert_eq!(
        serde_json::to_value(mute(2, false, true)).unwrap(),
        serde_json::json!({"command": "mute", "participant_id": pid(2).as_str(), "audio": false, "video": true})
    );
}

/// A mute that asks for nothing is refused rather than recorded (a host cannot unmute).
#[test]
fn a_mute_of_nothing_is_invalid() {
    MeetingTest::given(live_with_attendees())
        .when(mute(2, false, false))
        .then_invalid("audio");
    MeetingTest::given(live_with_attendees())
        .when(MeetingCommand::MuteAll {
            audio: false,
            video: false,
        })
        .then_invalid("audio");
}

/// A participant who left cannot be muted; an unknown one is not found.
#[test]
fn muting_a_participant_who_left_conflicts() {
    let mut given = live_with_attendees();
    given.push(left(2, "bob", LeftReason::Left));
    MeetingTest::given(given.clone())
        .when(mute(2, true, false))
        .then_error("participant_left");
    MeetingTest::given(given)
        .when(mute(9, true, false))
        .then_error("not_found");
}

/// Mute-all mutes every attendee still there (joined or waiting), one event each, and never the
/// host, a co-host, someone already muted or someone who left.
#[test]
fn mute_all_mutes_every_attendee_and_nobody_else() {
    let mut given = live_with_attendees();
    given.push(joined(4, "dave", Role::Attendee));
    given.push(muted_event(4, true, false));
    given.push(joined(5, "erin", Role::Attendee));
    given.push(left(5, "erin", LeftReason::Left));
    given.push(waiting(6, "frank"));
    // With mute_upon_entry (the fixture's default) frank already waits muted; without it he
    // waits unmuted and is muted too.
    let mut waiting_unmuted = given.clone();
    waiting_unmuted[0] = scheduled_with(|e| e.settings.mute_upon_entry = false);
    MeetingTest::given(waiting_unmuted)
        .when(MeetingCommand::MuteAll {
            audio: true,
            video: false,
        })
        .then_expect(vec![muted_event(2, true, false), muted_event(6, true, false)]);
    MeetingTest::given(given.clone())
        .when(MeetingCommand::MuteAll {
            audio: true,
            video: true,
        })
        .then_state(|m| {
            for n in [2, 4, 6] {
                let p = m.participant(&pid(n)).unwrap();
                assert!(p.audio_muted && p.video_off, "attendee {n}");
            }
            for n in [1, 3] {
                let p = m.participant(&pid(n)).unwrap();
                assert!(!p.audio_muted && !p.video_off, "host or co-host {n}");
            }
            assert!(!m.participant(&pid(5)).unwrap().video_off, "left");
        });
}

/// Mute-all twice: the second one finds nobody to mute; so does one on an ended meeting.
#[test]
fn mute_all_is_idempotent() {
    let mut given = live_with_attendees();
    given.push(muted_event(2, true, false));
    MeetingTest::given(given)
        .when(MeetingCommand::MuteAll {
            audio: true,
            video: false,
        })
        .then_nothing();
    let mut ended_meeting = live_with_attendees();
    ended_meeting.extend([
        left(1, "alice", LeftReason::MeetingEnded),
        left(2, "bob", LeftReason::MeetingEnded),
        left(3, "carol", LeftReason::MeetingEnded),
        ended(),
    ]);
    MeetingTest::given(ended_meeting)
        .when(MeetingCommand::MuteAll {
            audio: true,
            video: false,
        })
        .then_nothing();
}

/// Only the host (or an app) mutes; another user is refused.
#[test]
fn only_the_host_mutes() {
    MeetingTest::given(live_with_attendees())
        .as_principal(other_user())
        .when(MeetingCommand::MuteAll {
            audio: true,
            video: false,
        })
        .then_error("not_host");
    MeetingTest::given(live_with_attendees())
        .as_principal(host_user())
        .when(mute(2, true, false))
        .then_types(&["participant.muted"]);
}

/// The host cannot be removed from their own meeting (they could never rejoin); they can still leave.
#[test]
fn the_host_cannot_be_removed() {
    MeetingTest::given(live_with_attendees())
        .when(MeetingCommand::Remove { participant_id: pid(1) })
        .then_error("host_cannot_be_removed");
    MeetingTest::given(live_with_attendees())
        .when(MeetingCommand::Leave { participant_id: pid(1) })
        .then_types(&["participant.left"]);
}

/// A host removed before the rule existed is not locked out of their own meeting.
#[test]
fn a_host_removed_in_the_past_can_rejoin() {
    let mut given = live_with_attendees();
    given.push(left(1, "alice", LeftReason::Removed));
    MeetingTest::given(given.clone())
        .when(MeetingCommand::Redeem {
            claims: claims("alice", "host", 7),
        })
        .then_types(&["participant.joined"]);
    let host = grant(given, admin_app(), join_request(|r| r.user_id = Some("alice".into()))).unwrap();
    assert_eq!(host.role, Role::Host);
}

/// Admission records who admitted, then the join.
#[test]
fn admission_names_who_admitted() {
    let mut given = live_with_host();
    given[0] = scheduled_with(|e| e.waiting_room = true);
    given.push(waiting(2, "bob"));
    let outcome = MeetingTest::given(given)
        .as_principal(host_user())
        .when(MeetingCommand::Admit { participant_id: pid(2) })
        .then_types(&["participant.admitted", "participant.joined"])
        .result()
        .unwrap();
    let MeetingEvent::ParticipantAdmitted(e) = &outcome[0] else {
        panic!("not an admission: {:?}", outcome[0]);
    };
    assert_eq!(e.by.as_str(), "alice");
    assert_eq!(e.participant_id, pid(2));
    assert_eq!(e.display_name, "bob");
}

/// Roles: promote to co_host; never to host; the host's role is fixed.
#[test]
fn role_changes() {
    let mut given = live_with_host();
    given.push(joined(2, "bob", Role::Attendee));
    MeetingTest::given(given.clone())
        .when(MeetingCommand::ChangeRole {
            participant_id: pid(2),
            role: Role::CoHost,
        })
        .then_state(|m| assert_eq!(m.participant(&pid(2)).unwrap().role, Role::CoHost));
    MeetingTest::given(given.clone())
        .when(MeetingCommand::ChangeRole {
            participant_id: pid(2),
            role: Role::Host,
        })
        .then_invalid("role");
    MeetingTest::given(given)
        .when(MeetingCommand::ChangeRole {
            participant_id: pid(1),
            role: Role::Attendee,
        })
        .then_error("participant_is_host");
}

fn join_request(f: impl FnOnce(&mut JoinRequest)) -> JoinRequest {
    let mut r = JoinRequest {
        user_id: Some("bob".into()),
        display_name: Some("Bob".into()),
        guest: None,
        passcode: None,
    };
    f(&mut r);
    r
}

fn grant(
    given: Vec<MeetingEvent>,
    principal: zoom_core::principal::Principal,
    request: JoinRequest,
) -> Result<JoinGrant, zoom_core::DomainError> {
    let m = fold(given.iter().enumerate().map(|(i, e)| (i as u64 + 1, e))).unwrap();
    let entropy = zoom_core::clock::SeededEntropy::new(3);
    authorize_join(
        &m,
        &request,
        &Context {
            now: t0(),
            principal: &principal,
            entropy: &entropy,
        },
    )
}

/// Join tokens: the host needs no passcode and gets role host; others need the passcode.
#[test]
fn join_token_passcode_and_roles() {
    let given = vec![scheduled_with(|e| e.passcode = Some("s3cret".into())), started()];
    let host = grant(
        given.clone(),
        admin_app(),
        join_request(|r| r.user_id = Some("alice".into())),
    )
    .unwrap();
    assert_eq!(host.role, Role::Host);
    let err = grant(given.clone(), admin_app(), join_request(|_| {})).unwrap_err();
    assert_eq!(err.code(), "invalid_passcode");
    let ok = grant(given, admin_app(), join_request(|r| r.passcode = Some("s3cret".into()))).unwrap();
    assert_eq!(ok.role, Role::Attendee);
    assert_eq!(ok.subject, "bob");
}

/// Join tokens: guests get a guest_ subject and need a display name; users join as themselves.
#[test]
fn join_token_guests_and_users() {
    let given = vec![scheduled(), started()];
    let g = grant(
        given.clone(),
        admin_app(),
        join_request(|r| {
            r.user_id = None;
            r.guest = Some(true);
        }),
    )
    .unwrap();
    assert!(g.subject.starts_with("guest_"));
    assert_eq!(g.role, Role::Attendee);
    let err = grant(
        given.clone(),
        admin_app(),
        join_request(|r| {
            r.user_id = None;
            r.guest = Some(true);
            r.display_name = None;
        }),
    )
    .unwrap_err();
    assert_eq!(err.code(), "invalid_field");
    let err = grant(given.clone(), admin_app(), join_request(|r| r.user_id = None)).unwrap_err();
    assert_eq!(err.code(), "invalid_field");
    let me = grant(given.clone(), other_user(), join_request(|r| r.user_id = None)).unwrap();
    assert_eq!(me.subject, "bob");
    let err = grant(given, other_user(), join_request(|r| r.user_id = Some("alice".into()))).unwrap_err();
    assert_eq!(err.code(), "invalid_field");
}

/// Join tokens: cancelled is gone, ended is a conflict, not yet started is forbidden for attendees.
#[test]
fn join_token_state_rules() {
    let err = grant(vec![scheduled(), cancelled()], admin_app(), join_request(|_| {})).unwrap_err();
    assert!(matches!(err, zoom_core::DomainError::Gone { .. }));
    let err = grant(vec![scheduled(), started(), ended()], admin_app(), join_request(|_| {})).unwrap_err();
    assert_eq!(err.code(), "meeting_ended");
    let err = grant(vec![scheduled()], admin_app(), join_request(|_| {})).unwrap_err();
    assert_eq!(err.code(), "meeting_not_started");
    assert!(
        grant(
            vec![scheduled()],
            admin_app(),
            join_request(|r| r.user_id = Some("alice".into()))
        )
        .is_ok()
    );
    let err = grant(vec![scheduled()], foreign_app(), join_request(|_| {})).unwrap_err();
    assert_eq!(err.code(), "not_found");
}

/// Join tokens: a removed user gets 403 participant_removed.
#[test]
fn join_token_for_a_removed_user_is_forbidden() {
    let mut given = live_with_host();
    given.push(joined(2, "bob", Role::Attendee));
    given.push(left(2, "bob", LeftReason::Removed));
    let err = grant(given, admin_app(), join_request(|_| {})).unwrap_err();
    assert_eq!(err.code(), "participant_removed");
}

/// A patch of `settings` changes the members it sends and keeps the others.
#[test]
fn a_settings_patch_merges_member_by_member() {
    let given = vec![scheduled_with(|e| {
        e.settings.mute_upon_entry = false;
        e.settings.auto_recording = AutoRecording::Cloud;
    })];
    MeetingTest::given(given)
        .when(patch(|p| {
            p.settings = Some(SettingsPatch {
                allow_join_before_host: Some(true),
                ..SettingsPatch::default()
            })
        }))
        .then_state(|m| {
            assert!(m.settings.allow_join_before_host);
            assert!(!m.settings.mute_upon_entry, "an unsent member keeps its value");
            assert_eq!(m.settings.auto_recording, AutoRecording::Cloud);
        });
    // Sending the values the meeting already has changes nothing, so nothing is appended.
    MeetingTest::given(vec![scheduled()])
        .when(patch(|p| {
            p.settings = Some(SettingsPatch {
                mute_upon_entry: Some(MeetingSettings::default().mute_upon_entry),
                ..SettingsPatch::default()
            })
        }))
        .then_expect(vec![]);
}

/// A join token's host claim makes its holder the host only when it names the meeting's host.
#[test]
fn a_host_claim_of_anyone_but_the_host_is_an_attendee() {
    let mut given = live_with_host();
    given[0] = scheduled_with(|e| e.waiting_room = false);
    MeetingTest::given(given)
        .when(MeetingCommand::Redeem {
            claims: claims("mallory", "host", 7),
        })
        .then_state(|m| assert_eq!(m.participant(&pid(7)).unwrap().role, Role::Attendee));
    // Nor does it open a scheduled meeting that only the host may start.
    MeetingTest::given(vec![scheduled()])
        .when(MeetingCommand::Redeem {
            claims: claims("mallory", "host", 7),
        })
        .then_error("meeting_not_started");
}

/// Topics and display names refuse control characters.
#[test]
fn control_characters_are_refused_in_topics_and_names() {
    for topic in ["a\u{0}b", "line\nbreak", "esc\u{1b}[31m", "c1\u{85}"] {
        MeetingTest::given_nothing()
            .when(MeetingCommand::Schedule(ScheduleMeeting {
                topic: topic.into(),
                ..schedule()
            }))
            .then_invalid("topic");
        MeetingTest::given(vec![scheduled()])
            .when(patch(|p| p.topic = Some(topic.into())))
            .then_invalid("topic");
    }
    assert!(command::validate::display_name("Bob\u{7}").is_err());
    assert_eq!(command::validate::display_name(" Bob ").unwrap(), "Bob");
}

/// A recording report is bounded: at most 100 files, each key and size within limits.
#[test]
fn recording_reports_are_bounded() {
    let mut given = live_with_host();
    given.extend([recording_started(1), recording_stopped(1)]);
    let file = |key: &str, size: u64| RecordingFile {
        file_type: FileType::Chat,
        storage_key: key.into(),
        size_bytes: size,
    };
    let complete = |files: Vec<RecordingFile>, duration_seconds: u64| MeetingCommand::CompleteRecording {
        recording_id: rid(1),
        duration_seconds,
        files,
    };
    MeetingTest::given(given.clone())
        .when(complete(vec![file("k", 1); 101], 1))
        .then_invalid("files");
    MeetingTest::given(given.clone())
        .when(complete(vec![file("k", 1), file("a\nb", 1)], 1))
        .then_invalid("files[1].storage_key");
    MeetingTest::given(given.clone())
        .when(complete(vec![file("k", 1 << 60)], 1))
        .then_invalid("files[0].size_bytes");
    MeetingTest::given(given.clone())
        .when(complete(vec![], u64::MAX))
        .then_invalid("duration_seconds");
    MeetingTest::given(given)
        .when(complete(vec![file("k", 1); 100], 1))
        .then_state(|m| assert_eq!(m.recordings[0].files.len(), 100));
}

/// `start_url` is for the host and for apps of the account, never another user.
#[test]
fn the_start_url_is_shown_to_the_host_and_apps() {
    MeetingTest::given(vec![scheduled()])
        .when(patch(|p| p.topic = Some("x".into())))
        .then_state(|m| {
            assert!(m.shows_start_url_to(&host_user()));
            assert!(m.shows_start_url_to(&admin_app()));
            assert!(!m.shows_start_url_to(&other_user()));
            assert!(!m.shows_start_url_to(&foreign_app()));
        });
}
