//! Proptest strategies for events and commands.
//!
//! Ids come from small pools so generated events refer to each other (a `participant.left` for a
//! participant that joined), which is what makes random sequences interesting for the fold.

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

use super::kit::{fixtures, meeting_id, t0};
use crate::id::{Name, TokenId};
use crate::meeting::event::*;
use crate::meeting::{
    AutoRecording, EndReason, FileType, LeftReason, MeetingCommand, MeetingPatch, MeetingSettings, RecordingFile, Role,
    ScheduleMeeting,
};

fn name(s: &str) -> Name {
    Name::parse(s).unwrap_or_else(|e| panic!("{e}"))
}

/// A time within a day of [`t0`].
pub fn arb_time() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..86_400).prop_map(|s| t0() + Duration::seconds(s))
}

/// A role.
pub fn arb_role() -> impl Strategy<Value = Role> {
    prop_oneof![Just(Role::Host), Just(Role::CoHost), Just(Role::Attendee)]
}

/// Settings.
pub fn arb_settings() -> impl Strategy<Value = MeetingSettings> {
    (
        prop_oneof![
            Just(AutoRecording::None),
            Just(AutoRecording::Local),
            Just(AutoRecording::Cloud)
        ],
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(auto_recording, mute_upon_entry, allow_join_before_host)| MeetingSettings {
                auto_recording,
                mute_upon_entry,
                allow_join_before_host,
            },
        )
}

/// Any meeting event, with ids from small pools (participants 1..=4, recordings 1..=3).
pub fn arb_meeting_event() -> impl Strategy<Value = MeetingEvent> {
    let pid = (1u8..=4).prop_map(fixtures::pid);
    let rid = (1u8..=3).prop_map(fixtures::rid);
    let user = prop_oneof![Just("alice"), Just("bob"), Just("carol")];
    let reason = prop_oneof![
        Just(LeftReason::Left),
        Just(LeftReason::Removed),
        Just(LeftReason::MeetingEnded)
    ];
    prop_oneof![
        (arb_settings(), any::<bool>(), proptest::option::of("[a-z0-9]{1,10}")).prop_map(
            |(settings, waiting_room, passcode)| {
                fixtures::scheduled_with(|e| {
                    e.settings = settings;
                    e.waiting_room = waiting_room;
                    e.passcode = passcode;
                })
            }
        ),
        (proptest::option::of(1u32..=1440), arb_time()).prop_map(|(d, t)| MeetingEvent::Updated(MeetingUpdated {
            meeting_id: meeting_id(),
            topic: None,
            start_time: None,
            duration_minutes: d,
            timezone: None,
            passcode: None,
            waiting_room: None,
            settings: None,
            updated_at: t,
        })),
        arb_time().prop_map(|t| MeetingEvent::Cancelled(MeetingCancelled {
            meeting_id: meeting_id(),
            cancelled_at: t
        })),
        arb_time().prop_map(|t| MeetingEvent::Started(MeetingStarted {
            meeting_id: meeting_id(),
            started_at: t
        })),
        (arb_time(), any::<bool>()).prop_map(|(t, host)| MeetingEvent::Ended(MeetingEnded {
            meeting_id: meeting_id(),
            ended_at: t,
            duration_seconds: 60,
            reason: if host { EndReason::HostEnded } else { EndReason::AllLeft },
        })),
        (pid.clone(), user.clone(), arb_role()).prop_map(|(p, u, role)| MeetingEvent::ParticipantWaiting(
            ParticipantWaiting {
                meeting_id: meeting_id(),
                participant_id: p,
                user_id: Some(name(u)),
                subject: u.into(),
                display_name: u.into(),
                role,
                jti: TokenId::from_entropy([7; 16]),
                at: t0(),
            }
        )),
        (pid.clone(), user, arb_role(), any::<bool>()).prop_map(|(p, u, role, muted)| {
            MeetingEvent::ParticipantJoined(ParticipantJoined {
                meeting_id: meeting_id(),
                participant_id: p.clone(),
                user_id: Some(name(u)),
                subject: u.into(),
                display_name: u.into(),
                role,
                audio_muted: muted,
                video_off: false,
                jti: TokenId::parse(&format!("jti_{}", &p.as_str()[4..])).unwrap_or_else(|e| panic!("{e}")),
                admitted: false,
                joined_at: t0(),
            })
        }),
        (pid.clone(), reason).prop_map(|(p, reason)| MeetingEvent::ParticipantLeft(ParticipantLeft {
            meeting_id: meeting_id(),
            participant_id: p,
            user_id: Some(name("bob")),
            reason,
            left_at: t0(),
        })),
        (pid.clone(), any::<bool>(), any::<bool>()).prop_map(|(p, audio_muted, video_off)| {
            MeetingEvent::ParticipantMuted(ParticipantMuted {
                meeting_id: meeting_id(),
                participant_id: p,
                audio_muted,
                video_off,
                by: Some(name("alice")),
                at: t0(),
            })
        }),
        pid.clone()
            .prop_map(|p| MeetingEvent::ParticipantAdmitted(ParticipantAdmitted {
                meeting_id: meeting_id(),
                participant_id: p,
                user_id: Some(name("bob")),
                display_name: "bob".into(),
                by: name("alice"),
                at: t0(),
            })),
        (pid, arb_role()).prop_map(
            |(p, role)| MeetingEvent::ParticipantRoleChanged(ParticipantRoleChanged {
                meeting_id: meeting_id(),
                participant_id: p,
                role,
                at: t0(),
            })
        ),
        rid.clone()
            .prop_map(|r| MeetingEvent::RecordingStarted(RecordingStarted {
                meeting_id: meeting_id(),
                recording_id: r,
                started_at: t0()
            })),
        rid.clone()
            .prop_map(|r| MeetingEvent::RecordingStopped(RecordingStopped {
                meeting_id: meeting_id(),
                recording_id: r,
                stopped_at: t0()
            })),
        (rid.clone(), 0u64..10_000).prop_map(|(r, d)| MeetingEvent::RecordingCompleted(RecordingCompleted {
            meeting_id: meeting_id(),
            recording_id: r,
            duration_seconds: d,
            files: vec![RecordingFile {
                file_type: FileType::Video,
                storage_key: "k/v.mp4".into(),
                size_bytes: d
            }],
            completed_at: t0(),
        })),
        rid.prop_map(|r| MeetingEvent::RecordingFailed(RecordingFailed {
            meeting_id: meeting_id(),
            recording_id: r,
            error_code: "E".into(),
            message: "m".into(),
            failed_at: t0(),
        })),
    ]
}

/// A schedule request, valid or not (empty and long topics, bad times, durations out of range,
/// bad time zones and passcodes all occur).
pub fn arb_schedule() -> impl Strategy<Value = ScheduleMeeting> {
    (
        prop_oneof![Just(String::new()), "[a-zA-Z ]{1,20}", "x{201}"],
        prop_oneof![
            Just("2030-01-01T09:00:00Z".to_owned()),
            Just("2030-01-01 09:00".to_owned()),
            ".{0,8}"
        ],
        -5i64..1500,
        proptest::option::of(prop_oneof![
            Just("Europe/Paris".to_owned()),
            Just("Mars/Base".to_owned())
        ]),
        proptest::option::of(prop_oneof!["[A-Za-z0-9@_*-]{1,10}", ".{0,12}"]),
        proptest::option::of(any::<bool>()),
        proptest::option::of(arb_settings()),
    )
        .prop_map(
            |(topic, start_time, duration_minutes, timezone, passcode, waiting_room, settings)| ScheduleMeeting {
                topic,
                start_time,
                duration_minutes,
                timezone,
                passcode,
                waiting_room,
                settings,
                host_id: None,
            },
        )
}

/// A meeting command for the fixtures' meeting (participants 1..=4, recordings 1..=3).
pub fn arb_meeting_command() -> impl Strategy<Value = MeetingCommand> {
    let pid = (1u8..=4).prop_map(fixtures::pid);
    let rid = (1u8..=3).prop_map(fixtures::rid);
    prop_oneof![
        arb_schedule().prop_map(MeetingCommand::Schedule),
        proptest::option::of(-5i64..1500).prop_map(|d| MeetingCommand::Update(MeetingPatch {
            duration_minutes: d,
            ..MeetingPatch::default()
        })),
        Just(MeetingCommand::Cancel),
        Just(MeetingCommand::End),
        pid.clone()
            .prop_map(|participant_id| MeetingCommand::Admit { participant_id }),
        pid.clone()
            .prop_map(|participant_id| MeetingCommand::Remove { participant_id }),
        (pid.clone(), any::<bool>(), any::<bool>()).prop_map(|(participant_id, audio, video)| MeetingCommand::Mute {
            participant_id,
            audio,
            video
        }),
        (any::<bool>(), any::<bool>()).prop_map(|(audio, video)| MeetingCommand::MuteAll { audio, video }),
        pid.clone()
            .prop_map(|participant_id| MeetingCommand::Leave { participant_id }),
        (pid, arb_role()).prop_map(|(participant_id, role)| MeetingCommand::ChangeRole { participant_id, role }),
        Just(MeetingCommand::StartRecording),
        Just(MeetingCommand::StopRecording),
        rid.clone().prop_map(|recording_id| MeetingCommand::CompleteRecording {
            recording_id,
            duration_seconds: 30,
            files: vec![],
        }),
        rid.prop_map(|recording_id| MeetingCommand::FailRecording {
            recording_id,
            error_code: "E1".into(),
            message: "boom".into(),
        }),
    ]
}
