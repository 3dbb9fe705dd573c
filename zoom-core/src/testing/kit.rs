//! AggregateTest/when/then for any aggregate: a transition test in three lines. [`MeetingTest`] is the
//! meeting aggregate's; [`AggregateTest::of`] makes one for any other.
//!
//! ```
//! use zoom_core::testing::kit::{MeetingTest, fixtures};
//! use zoom_core::meeting::MeetingCommand;
//! MeetingTest::given(vec![fixtures::scheduled()])
//!     .when(MeetingCommand::Cancel)
//!     .then_state(|m| assert_eq!(m.state, zoom_core::meeting::MeetingState::Cancelled));
//! ```

use chrono::{DateTime, TimeZone, Utc};

use crate::aggregate::{self, Aggregate, Context};
use crate::clock::SeededEntropy;
use crate::error::DomainError;
use crate::id::{MeetingId, Name};
use crate::meeting::{Meeting, MeetingEvent, Meetings};
use crate::principal::{Principal, Scope};

/// The fixed instant tests run at: 2030-01-01T09:00:00Z.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 1, 9, 0, 0).single().unwrap_or_default()
}

/// The meeting id fixtures use.
pub fn meeting_id() -> MeetingId {
    MeetingId::from_entropy([1; 16])
}

fn name(s: &str) -> Name {
    Name::parse(s).unwrap_or_else(|e| panic!("{e}"))
}

/// An app of account `acme` holding every scope.
pub fn admin_app() -> Principal {
    Principal::app(name("acme"), name("app_1"), Scope::ALL)
}

/// The user `alice` of account `acme` (the fixtures' host) with every non-admin scope.
pub fn host_user() -> Principal {
    Principal::user(
        name("acme"),
        name("alice"),
        Scope::ALL.into_iter().filter(|s| *s != Scope::Admin),
    )
}

/// Another user of `acme`, not the host.
pub fn other_user() -> Principal {
    Principal::user(
        name("acme"),
        name("bob"),
        Scope::ALL.into_iter().filter(|s| *s != Scope::Admin),
    )
}

/// An admin app of another account.
pub fn foreign_app() -> Principal {
    // A tenant's admin app: `platform` is the operator's alone (and would reach the media seam
    // of every account).
    Principal::app(
        name("globex"),
        name("app_9"),
        Scope::ALL.into_iter().filter(|s| *s != Scope::Platform),
    )
}

/// Event builders for `given`.
pub mod fixtures {
    use super::*;
    use crate::id::{ParticipantId, RecordingId, TokenId};
    use crate::meeting::event::*;
    use crate::meeting::{LeftReason, MeetingSettings, Role};

    /// `meeting.scheduled` for [`meeting_id`], hosted by alice, waiting room off.
    pub fn scheduled() -> MeetingEvent {
        scheduled_with(|_| {})
    }

    /// `meeting.scheduled` with changes.
    pub fn scheduled_with(f: impl FnOnce(&mut MeetingScheduled)) -> MeetingEvent {
        let mut e = MeetingScheduled {
            meeting_id: meeting_id(),
            account_id: name("acme"),
            host_id: name("alice"),
            topic: "Weekly sync".into(),
            start_time: t0(),
            duration_minutes: 30,
            timezone: "UTC".into(),
            passcode: None,
            waiting_room: false,
            settings: MeetingSettings::default(),
            created_at: t0(),
        };
        f(&mut e);
        MeetingEvent::Scheduled(e)
    }

    /// `meeting.started`.
    pub fn started() -> MeetingEvent {
        MeetingEvent::Started(MeetingStarted {
            meeting_id: meeting_id(),
            started_at: t0(),
        })
    }

    /// A participant id from a small number.
    pub fn pid(n: u8) -> ParticipantId {
        ParticipantId::from_entropy([n; 16])
    }

    /// A recording id from a small number.
    pub fn rid(n: u8) -> RecordingId {
        RecordingId::from_entropy([n; 16])
    }

    /// `participant.joined` of participant `n` as `user` with `role`.
    pub fn joined(n: u8, user: &str, role: Role) -> MeetingEvent {
        MeetingEvent::ParticipantJoined(ParticipantJoined {
            meeting_id: meeting_id(),
            participant_id: pid(n),
            user_id: Some(name(user)),
            subject: user.into(),
            display_name: user.into(),
            role,
            audio_muted: false,
            video_off: false,
            jti: TokenId::from_entropy([n; 16]),
            admitted: false,
            joined_at: t0(),
        })
    }

    /// `participant.waiting` of participant `n` as `user`.
    pub fn waiting(n: u8, user: &str) -> MeetingEvent {
        MeetingEvent::ParticipantWaiting(ParticipantWaiting {
            meeting_id: meeting_id(),
            participant_id: pid(n),
            user_id: Some(name(user)),
            subject: user.into(),
            display_name: user.into(),
            role: Role::Attendee,
            jti: TokenId::from_entropy([n; 16]),
            at: t0(),
        })
    }

    /// `participant.left` of participant `n`.
    pub fn left(n: u8, user: &str, reason: LeftReason) -> MeetingEvent {
        MeetingEvent::ParticipantLeft(ParticipantLeft {
            meeting_id: meeting_id(),
            participant_id: pid(n),
            user_id: Some(name(user)),
            reason,
            left_at: t0(),
        })
    }

    /// `recording.started` of recording `n`.
    pub fn recording_started(n: u8) -> MeetingEvent {
        MeetingEvent::RecordingStarted(RecordingStarted {
            meeting_id: meeting_id(),
            recording_id: rid(n),
            started_at: t0(),
        })
    }

    /// `recording.stopped` of recording `n`.
    pub fn recording_stopped(n: u8) -> MeetingEvent {
        MeetingEvent::RecordingStopped(RecordingStopped {
            meeting_id: meeting_id(),
            recording_id: rid(n),
            stopped_at: t0(),
        })
    }

    /// A live meeting with alice (host, participant 1) joined.
    pub fn live_with_host() -> Vec<MeetingEvent> {
        vec![scheduled(), started(), joined(1, "alice", Role::Host)]
    }

    /// `meeting.cancelled`.
    pub fn cancelled() -> MeetingEvent {
        MeetingEvent::Cancelled(MeetingCancelled {
            meeting_id: meeting_id(),
            cancelled_at: t0(),
        })
    }

    /// `meeting.ended` by the host.
    pub fn ended() -> MeetingEvent {
        MeetingEvent::Ended(MeetingEnded {
            meeting_id: meeting_id(),
            ended_at: t0(),
            duration_seconds: 0,
            reason: crate::meeting::EndReason::HostEnded,
        })
    }
}

/// A transition test of any aggregate: history, caller, command. Its assertions are
/// `#[track_caller]`, so a failure points at the test's line, not at the kit.
pub struct AggregateTest<A: Aggregate> {
    aggregate: A,
    id: A::Id,
    given: Vec<A::Event>,
    principal: Option<Principal>,
    now: DateTime<Utc>,
    seed: u64,
}

/// The result of [`AggregateTest::when`].
pub struct Outcome<A: Aggregate> {
    before: A::State,
    version: u64,
    result: Result<Vec<A::Event>, DomainError>,
}

/// The meeting aggregate's transition test.
pub type MeetingTest = AggregateTest<Meetings>;

impl AggregateTest<Meetings> {
    /// A meeting test starting from these events on [`meeting_id`], run by [`admin_app`] at [`t0`].
    pub fn given(events: Vec<MeetingEvent>) -> Self {
        AggregateTest::of(Meetings, meeting_id(), events)
    }

    /// A test of a fresh meeting (no history).
    pub fn given_nothing() -> Self {
        Self::given(vec![])
    }
}

impl<A: Aggregate> AggregateTest<A> {
    /// A test of `aggregate`'s stream `id` starting from these events, run by [`admin_app`] at [`t0`].
    pub fn of(aggregate: A, id: A::Id, events: Vec<A::Event>) -> Self {
        Self {
            aggregate,
            id,
            given: events,
            principal: Some(admin_app()),
            now: t0(),
            seed: 1,
        }
    }

    /// Runs the command as `principal` instead.
    pub fn as_principal(mut self, principal: Principal) -> Self {
        self.principal = Some(principal);
        self
    }

    /// Runs the command as the system itself (no principal), as key rings are written.
    pub fn as_system(mut self) -> Self {
        self.principal = None;
        self
    }

    /// Runs the command at `now` instead.
    pub fn at(mut self, now: DateTime<Utc>) -> Self {
        self.now = now;
        self
    }

    /// Decides `command` against the folded history, after the same scope check the runner makes.
    pub fn when(self, command: A::Command) -> Outcome<A> {
        let mut before = A::State::default();
        for (i, e) in self.given.iter().enumerate() {
            A::apply(&mut before, e, i as u64 + 1);
        }
        let version = self.given.len() as u64;
        let entropy = SeededEntropy::new(self.seed);
        let ctx = Context {
            id: &self.id,
            now: self.now,
            principal: self.principal.as_ref(),
            entropy: &entropy,
        };
        let result = aggregate::authorize(&self.aggregate, &command, self.principal.as_ref())
            .and_then(|()| self.aggregate.decide(&before, &command, &ctx).map_err(Into::into));
        Outcome {
            before,
            version,
            result,
        }
    }
}

impl<A: Aggregate> Outcome<A> {
    /// Asserts the decision produced exactly these events.
    #[track_caller]
    pub fn then_expect(self, expected: Vec<A::Event>)
    where
        A::Event: PartialEq + std::fmt::Debug,
    {
        match self.result {
            Ok(events) => assert_eq!(events, expected),
            Err(e) => panic!("expected events, got error {e:?}"),
        }
    }

    /// Asserts the decision produced events of these stored types, in order.
    #[track_caller]
    pub fn then_types(self, expected: &[&str]) -> Self {
        match &self.result {
            Ok(events) => {
                let types: Vec<String> = events.iter().map(|e| A::widen(e).event_type().to_owned()).collect();
                assert_eq!(types, expected);
            }
            Err(e) => panic!("expected events {expected:?}, got error {e:?}"),
        }
        self
    }

    /// Asserts the decision produced no event (an idempotent no-op).
    #[track_caller]
    pub fn then_nothing(self) {
        match self.result {
            Ok(events) => assert!(events.is_empty(), "expected no event, got {}", events.len()),
            Err(e) => panic!("expected no event, got error {e:?}"),
        }
    }

    /// Asserts the decision was refused with this error code.
    #[track_caller]
    pub fn then_error(self, code: &str) {
        match self.result {
            Ok(events) => panic!("expected error {code}, got {} events", events.len()),
            Err(e) => assert_eq!(e.code(), code, "{e}"),
        }
    }

    /// Asserts the decision was refused as invalid, naming `field`.
    #[track_caller]
    pub fn then_invalid(self, field: &str) {
        match self.result {
            Err(DomainError::Invalid { field: f, .. }) => assert_eq!(f, field),
            Err(other) => panic!("expected invalid {field}, got {other:?}"),
            Ok(events) => panic!("expected invalid {field}, got {} events", events.len()),
        }
    }

    /// Applies the decided events and checks the new state.
    #[track_caller]
    pub fn then_fold(self, check: impl FnOnce(&A::State)) {
        let events = match self.result {
            Ok(e) => e,
            Err(e) => panic!("expected events, got error {e:?}"),
        };
        let mut state = self.before;
        for (i, e) in events.iter().enumerate() {
            A::apply(&mut state, e, self.version + 1 + i as u64);
        }
        check(&state);
    }

    /// The raw result.
    pub fn result(self) -> Result<Vec<A::Event>, DomainError> {
        self.result
    }
}

impl Outcome<Meetings> {
    /// Applies the decided events and checks the new meeting.
    #[track_caller]
    pub fn then_state(self, check: impl FnOnce(&Meeting)) {
        let events = match self.result {
            Ok(e) => e,
            Err(e) => panic!("expected events, got error {e:?}"),
        };
        let mut state = self.before;
        let base = state.as_ref().map_or(0, |m| m.version);
        for (i, e) in events.iter().enumerate() {
            Meetings::apply(&mut state, e, base + 1 + i as u64);
        }
        match state {
            Some(m) => check(&m),
            None => panic!("no meeting after the events"),
        }
    }
}

/// Engine settings for tests: the defaults, with a fixed file-URL key (never a deployment's).
pub fn engine_config() -> crate::engine::EngineConfig {
    crate::engine::EngineConfig::new(crate::files::FileUrlSigner::new(
        "https://files.invalid/recordings",
        b"zoom-core test kit file-url key".to_vec(),
    ))
}
