//! A reference model of the meeting lifecycle, for proptest-state-machine, runnable against any
//! store through the engine.
//!
//! The model is deliberately naive (vectors of statuses, no ids): it restates the meeting rules of docs/api.md
//! independently of the decision code. After every step the engine's meeting must match it, the
//! invariants must hold, and folding the stored stream from scratch must equal the engine's state.
//!
//! ```text
//! use proptest_state_machine::prop_state_machine;
//! struct Mine;
//! impl zoom_core::testing::model::StoreFactory for Mine {
//!     fn create() -> std::sync::Arc<dyn zoom_core::store::Store> { /* a fresh, empty store */ }
//! }
//! prop_state_machine! {
//!     #[test]
//!     fn lifecycle(sequential 1..40 => zoom_core::testing::model::LifecycleTest<Mine>);
//! }
//! ```

use std::collections::BTreeSet;
use std::marker::PhantomData;
use std::sync::Arc;

use futures::executor::block_on;
use proptest::prelude::*;
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest};

use super::kit::{admin_app, t0};
use crate::clock::{ManualClock, SeededEntropy};
use crate::engine::{Engine, EngineConfig};
use crate::event::{Event, StreamId};
use crate::id::MeetingId;
use crate::meeting::{
    self, AutoRecording, JoinRequest, Meeting, MeetingCommand, MeetingPatch, MeetingSettings, MeetingState,
    ParticipantStatus as P, RecordingState as R, ScheduleMeeting,
};
use crate::store::Store;

/// Makes a fresh, empty store for each generated case.
pub trait StoreFactory: 'static {
    /// A new empty store.
    fn create() -> Arc<dyn Store>;
}

/// Users of the model: 0 is the host (alice), 1 and 2 are attendees, 3 joins as a guest.
const USERS: [&str; 4] = ["alice", "bob", "carol", "guest"];

/// One step of a scenario.
#[derive(Debug, Clone)]
pub enum Step {
    /// Schedule the meeting.
    Schedule {
        /// Waiting room on.
        waiting_room: bool,
        /// Attendees may join before the host.
        join_before_host: bool,
        /// Record to the cloud when live.
        auto_cloud: bool,
    },
    /// User `0..4` gets a join token and redeems it.
    Join(usize),
    /// Participant `i` (in redemption order) leaves.
    Leave(usize),
    /// The host admits participant `i`.
    Admit(usize),
    /// The host removes participant `i`.
    Remove(usize),
    /// The host mutes participant `i`.
    Mute(usize),
    /// The host mutes every attendee.
    MuteAll,
    /// The host ends the meeting.
    End,
    /// The host cancels the meeting.
    Cancel,
    /// Set `duration_minutes`.
    Duration(i64),
    /// Start a recording.
    StartRecording,
    /// Stop the active recording.
    StopRecording,
    /// The pipeline completes recording `i`.
    Complete(usize),
    /// The pipeline fails recording `i`.
    Fail(usize),
}

/// The model's view of a meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelMeeting {
    /// Lifecycle state.
    pub state: MeetingState,
    /// Waiting room.
    pub waiting_room: bool,
    /// Join before host.
    pub join_before_host: bool,
    /// Auto cloud recording.
    pub auto_cloud: bool,
    /// Duration.
    pub duration: u32,
    /// (user, status, muted) per participant in redemption order.
    pub participants: Vec<(usize, P, bool)>,
    /// Recording states in start order.
    pub recordings: Vec<R>,
    /// Removed users.
    pub removed: BTreeSet<usize>,
}

/// The reference state: no meeting yet, or one.
#[derive(Debug, Clone, Default)]
pub struct Model {
    /// The meeting, once scheduled.
    pub meeting: Option<ModelMeeting>,
}

impl ModelMeeting {
    fn go_live(&mut self) {
        if self.state == MeetingState::Scheduled {
            self.state = MeetingState::Live;
            if self.auto_cloud {
                self.recordings.push(R::Recording);
            }
        }
    }

    fn end(&mut self) {
        for r in &mut self.recordings {
            if *r == R::Recording {
                *r = R::Processing;
            }
        }
        for p in &mut self.participants {
            p.1 = P::Left;
        }
        self.state = MeetingState::Ended;
    }

    fn depart(&mut self, i: usize, removed: bool) {
        let Some(&(user, status, _)) = self.participants.get(i) else {
            return;
        };
        // User 0 hosts, and the host cannot be removed.
        if status == P::Left || (removed && user == 0) {
            return;
        }
        self.participants[i].1 = P::Left;
        if removed && user != 3 {
            self.removed.insert(user);
        }
        let others = self.participants.iter().any(|p| p.1 == P::Joined);
        if self.state == MeetingState::Live && status == P::Joined && !others {
            self.end();
        }
    }

    fn step(&mut self, step: &Step) {
        let open = matches!(self.state, MeetingState::Scheduled | MeetingState::Live);
        match *step {
            Step::Schedule { .. } => {}
            Step::Join(user) => {
                let host = user == 0;
                if !open || self.removed.contains(&user) {
                    return;
                }
                if !host && self.state == MeetingState::Scheduled && !self.join_before_host {
                    return;
                }
                if !host && self.waiting_room {
                    self.participants.push((user, P::Waiting, true));
                } else {
                    self.go_live();
                    self.participants.push((user, P::Joined, !host));
                }
            }
            Step::Leave(i) => self.depart(i, false),
            Step::Remove(i) => self.depart(i, true),
            Step::Admit(i) => {
                if open && self.participants.get(i).is_some_and(|p| p.1 == P::Waiting) {
                    self.go_live();
                    self.participants[i].1 = P::Joined;
                }
            }
            Step::Mute(i) => {
                if let Some(p) = self.participants.get_mut(i)
                    && p.1 != P::Left
                {
                    p.2 = true;
                }
            }
            Step::MuteAll => {
                for p in &mut self.participants {
                    if p.0 != 0 && p.1 != P::Left {
                        p.2 = true;
                    }
                }
            }
            Step::End => {
                if self.state == MeetingState::Live {
                    self.end();
                }
            }
            Step::Cancel => {
                if self.state == MeetingState::Scheduled {
                    self.state = MeetingState::Cancelled;
                }
            }
            Step::Duration(d) => {
                let valid = (1..=1440).contains(&d);
                let shorter = self.state == MeetingState::Live && d < i64::from(self.duration);
                if open && valid && !shorter {
                    self.duration = d as u32;
                }
            }
            Step::StartRecording => {
                if self.state == MeetingState::Live && !self.recordings.contains(&R::Recording) {
                    self.recordings.push(R::Recording);
                }
            }
            Step::StopRecording => {
                if let Some(r) = self.recordings.iter_mut().find(|r| **r == R::Recording) {
                    *r = R::Processing;
                }
            }
            Step::Complete(i) | Step::Fail(i) => {
                if let Some(r) = self.recordings.get_mut(i)
                    && *r == R::Processing
                {
                    *r = if matches!(step, Step::Complete(_)) {
                        R::Completed
                    } else {
                        R::Failed
                    };
                }
            }
        }
    }
}

impl ReferenceStateMachine for Model {
    type State = Model;
    type Transition = Step;

    fn init_state() -> BoxedStrategy<Model> {
        Just(Model::default()).boxed()
    }

    fn transitions(state: &Model) -> BoxedStrategy<Step> {
        if state.meeting.is_none() {
            return (any::<bool>(), any::<bool>(), any::<bool>())
                .prop_map(|(waiting_room, join_before_host, auto_cloud)| Step::Schedule {
                    waiting_room,
                    join_before_host,
                    auto_cloud,
                })
                .boxed();
        }
        let i = 0usize..6;
        prop_oneof![
            4 => (0usize..4).prop_map(Step::Join),
            2 => i.clone().prop_map(Step::Leave),
            2 => i.clone().prop_map(Step::Admit),
            1 => i.clone().prop_map(Step::Remove),
            1 => i.prop_map(Step::Mute),
            1 => Just(Step::MuteAll),
            1 => Just(Step::End),
            1 => Just(Step::Cancel),
            1 => (-2i64..1500).prop_map(Step::Duration),
            2 => Just(Step::StartRecording),
            2 => Just(Step::StopRecording),
            1 => (0usize..3).prop_map(Step::Complete),
            1 => (0usize..3).prop_map(Step::Fail),
        ]
        .boxed()
    }

    fn apply(mut state: Model, step: &Step) -> Model {
        match (&mut state.meeting, step) {
            (
                None,
                Step::Schedule {
                    waiting_room,
                    join_before_host,
                    auto_cloud,
                },
            ) => {
                state.meeting = Some(ModelMeeting {
                    state: MeetingState::Scheduled,
                    waiting_room: *waiting_room,
                    join_before_host: *join_before_host,
                    auto_cloud: *auto_cloud,
                    duration: 30,
                    participants: vec![],
                    recordings: vec![],
                    removed: BTreeSet::new(),
                });
            }
            (Some(m), step) => m.step(step),
            (None, _) => {}
        }
        state
    }
}

/// The system under test: an engine over a fresh store, and the meeting's id once scheduled.
pub struct Sut {
    engine: Engine,
    clock: Arc<ManualClock>,
    meeting: Option<MeetingId>,
}

/// The state-machine test, generic over the store.
pub struct LifecycleTest<F>(PhantomData<F>);

impl Sut {
    fn current(&self) -> Option<Meeting> {
        let id = self.meeting.as_ref()?;
        block_on(self.engine.meeting(&admin_app(), id))
            .ok()
            .map(|m| (*m).clone())
    }
}

impl<F: StoreFactory> StateMachineTest for LifecycleTest<F> {
    type SystemUnderTest = Sut;
    type Reference = Model;

    fn init_test(_: &Model) -> Sut {
        let clock = Arc::new(ManualClock::new(t0()));
        let config = EngineConfig {
            snapshot_every: 5,
            ..super::kit::engine_config()
        };
        let engine = block_on(Engine::open(
            F::create(),
            clock.clone(),
            Arc::new(SeededEntropy::new(42)),
            config,
        ))
        .unwrap_or_else(|e| panic!("engine opens: {e}"));
        Sut {
            engine,
            clock,
            meeting: None,
        }
    }

    fn apply(sut: Sut, _: &Model, step: Step) -> Sut {
        let app = admin_app();
        sut.clock.advance(chrono::Duration::seconds(7));
        let current = sut.current();
        let pid = |i: usize| {
            current
                .as_ref()
                .and_then(|m| m.participants.get(i))
                .map(|p| p.participant_id.clone())
        };
        let rid = |i: usize| {
            current
                .as_ref()
                .and_then(|m| m.recordings.get(i))
                .map(|r| r.recording_id.clone())
        };
        let run = |command: MeetingCommand| {
            if let Some(id) = &sut.meeting {
                let _ = block_on(sut.engine.execute(&app, Some(id), command, None));
            }
        };
        match step {
            Step::Schedule {
                waiting_room,
                join_before_host,
                auto_cloud,
            } => {
                let spec = ScheduleMeeting {
                    topic: "model".into(),
                    start_time: "2030-01-01T09:00:00Z".into(),
                    duration_minutes: 30,
                    timezone: None,
                    passcode: None,
                    waiting_room: Some(waiting_room),
                    settings: Some(MeetingSettings {
                        auto_recording: if auto_cloud {
                            AutoRecording::Cloud
                        } else {
                            AutoRecording::None
                        },
                        mute_upon_entry: true,
                        allow_join_before_host: join_before_host,
                    }),
                    host_id: Some("alice".into()),
                };
                let m = block_on(sut.engine.execute(&app, None, MeetingCommand::Schedule(spec), None))
                    .unwrap_or_else(|e| panic!("a valid schedule succeeds: {e}"));
                return Sut {
                    meeting: Some(m.id.clone()),
                    ..sut
                };
            }
            Step::Join(user) => {
                if let Some(id) = &sut.meeting {
                    let request = JoinRequest {
                        user_id: (user != 3).then(|| USERS[user].to_owned()),
                        guest: (user == 3).then_some(true),
                        display_name: Some(USERS[user].to_owned()),
                        passcode: None,
                    };
                    if let Ok(token) = block_on(sut.engine.issue_join_token(&app, id, &request, None)) {
                        let redeemed = block_on(sut.engine.redeem(&app, &token.jwt));
                        // A token is redeemed once.
                        if redeemed.is_ok() {
                            assert!(
                                block_on(sut.engine.redeem(&app, &token.jwt)).is_err(),
                                "a join token redeems once"
                            );
                        }
                    }
                }
            }
            Step::Leave(i) => {
                if let Some(participant_id) = pid(i) {
                    run(MeetingCommand::Leave { participant_id });
                }
            }
            Step::Admit(i) => {
                if let Some(participant_id) = pid(i) {
                    run(MeetingCommand::Admit { participant_id });
                }
            }
            Step::Remove(i) => {
                if let Some(participant_id) = pid(i) {
                    run(MeetingCommand::Remove { participant_id });
                }
            }
            Step::Mute(i) => {
                if let Some(participant_id) = pid(i) {
                    run(MeetingCommand::Mute {
                        participant_id,
                        audio: true,
                        video: false,
                    });
                }
            }
            Step::MuteAll => run(MeetingCommand::MuteAll {
                audio: true,
                video: false,
            }),
            Step::End => run(MeetingCommand::End),
            Step::Cancel => run(MeetingCommand::Cancel),
            Step::Duration(d) => run(MeetingCommand::Update(MeetingPatch {
                duration_minutes: Some(d),
                ..MeetingPatch::default()
            })),
            Step::StartRecording => run(MeetingCommand::StartRecording),
            Step::StopRecording => run(MeetingCommand::StopRecording),
            Step::Complete(i) => {
                if let Some(recording_id) = rid(i) {
                    run(MeetingCommand::CompleteRecording {
                        recording_id,
                        duration_seconds: 60,
                        files: vec![],
                    });
                }
            }
            Step::Fail(i) => {
                if let Some(recording_id) = rid(i) {
                    run(MeetingCommand::FailRecording {
                        recording_id,
                        error_code: "E".into(),
                        message: "failed".into(),
                    });
                }
            }
        }
        sut
    }

    fn check_invariants(sut: &Sut, reference: &Model) {
        let (Some(model), Some(actual)) = (&reference.meeting, sut.current()) else {
            assert!(
                reference.meeting.is_none() && sut.meeting.is_none(),
                "scheduled in one but not the other"
            );
            return;
        };
        assert_eq!(actual.state, model.state, "meeting state");
        assert_eq!(actual.duration_minutes, model.duration, "duration");
        let statuses: Vec<(&str, P, bool)> = actual
            .participants
            .iter()
            .map(|p| {
                (
                    p.user_id.as_ref().map_or("guest", |u| u.as_str()),
                    p.status,
                    p.audio_muted,
                )
            })
            .collect();
        let expected: Vec<(&str, P, bool)> = model.participants.iter().map(|(u, s, m)| (USERS[*u], *s, *m)).collect();
        assert_eq!(statuses, expected, "participants");
        let recordings: Vec<R> = actual.recordings.iter().map(|r| r.state).collect();
        assert_eq!(recordings, model.recordings, "recordings");
        // Invariants of the meeting rules (docs/api.md).
        assert!(
            actual.recordings.iter().filter(|r| r.state == R::Recording).count() <= 1,
            "one active recording"
        );
        if actual.state != MeetingState::Live {
            assert!(
                actual
                    .participants
                    .iter()
                    .all(|p| p.status != P::Joined || actual.state == MeetingState::Live)
            );
            assert!(actual.active_recording().is_none(), "no active recording outside LIVE");
        }
        // Folding the stored stream from scratch equals the engine's (cached, snapshotted) state.
        let rows = block_on(
            sut.engine
                .store()
                .read_stream(&StreamId::from(&actual.id), 1, usize::MAX),
        )
        .unwrap_or_else(|e| panic!("read stream: {e}"));
        let mut folded = None;
        for row in &rows {
            if let Ok(Event::Meeting(e)) = row.decode() {
                meeting::apply(&mut folded, &e, row.version);
            }
        }
        assert_eq!(
            folded.as_ref(),
            Some(&actual),
            "fold from scratch equals the live state"
        );
        // A cold engine on the same store loads through the latest snapshot plus the tail.
        let cold = block_on(Engine::open(
            sut.engine.store().clone(),
            sut.engine.clock().clone(),
            sut.engine.entropy().clone(),
            sut.engine.config().clone(),
        ))
        .unwrap_or_else(|e| panic!("cold engine opens: {e}"));
        let loaded = block_on(cold.meeting(&admin_app(), &actual.id)).unwrap_or_else(|e| panic!("cold load: {e}"));
        assert_eq!(*loaded, actual, "snapshot plus tail equals the live state");
    }
}
