#![allow(clippy::unwrap_used)]
//! The one runner: the scope check made once, idempotency (replay, mismatch, expiry), the
//! conflict-retry loop, key rings through it, cursors bound to their list, and commands that
//! neither copy nor re-serialise a meeting.

use std::sync::Arc;

use chrono::Duration;
use zoom_core::aggregate::Aggregate;
use zoom_core::clock::{Clock, Entropy, ManualClock, SeededEntropy};
use zoom_core::engine::{Engine, EngineConfig, EngineError, MeetingQuery, PageRequest};
use zoom_core::error::DomainError;
use zoom_core::event::{Metadata, StreamId};
use zoom_core::id::{MeetingId, Name, ParticipantId, TokenId};
use zoom_core::meeting::{self, Meeting, MeetingCommand, MeetingSettings, ScheduleMeeting};
use zoom_core::principal::{Principal, Scope};
use zoom_core::store::Store;
use zoom_core::system::JOIN_KEYS_STREAM;
use zoom_core::testing::kit::{self, admin_app, foreign_app, t0};
use zoom_core::token::JoinClaims;
use zoom_store_memory::MemoryStore;

struct Fixture {
    engine: Engine,
    store: Arc<dyn Store>,
    clock: Arc<ManualClock>,
}

async fn fixture_on(store: Arc<dyn Store>, config: EngineConfig) -> Fixture {
    let clock = Arc::new(ManualClock::new(t0()));
    let engine = Engine::open(store.clone(), clock.clone(), Arc::new(SeededEntropy::new(9)), config)
        .await
        .unwrap();
    Fixture { engine, store, clock }
}

async fn fixture() -> Fixture {
    fixture_on(Arc::new(MemoryStore::new()), kit::engine_config()).await
}

fn exclusive() -> EngineConfig {
    EngineConfig {
        exclusive: true,
        ..kit::engine_config()
    }
}

fn schedule(topic: &str, host: &str) -> MeetingCommand {
    MeetingCommand::Schedule(ScheduleMeeting {
        topic: topic.into(),
        start_time: "2030-01-01T10:00:00Z".into(),
        duration_minutes: 30,
        timezone: None,
        passcode: None,
        waiting_room: Some(false),
        settings: Some(MeetingSettings {
            mute_upon_entry: false,
            ..MeetingSettings::default()
        }),
        host_id: Some(host.into()),
    })
}

/// Claims of a join token the SFU has already verified, for participant `n`.
fn claims(meeting: &MeetingId, n: u32, user: &str, role: &str) -> JoinClaims {
    let mut raw = [0u8; 16];
    raw[..4].copy_from_slice(&n.to_le_bytes());
    JoinClaims {
        iss: "http://127.0.0.1:8080".into(),
        aud: "sfu".into(),
        sub: user.into(),
        iat: 0,
        nbf: 0,
        exp: i64::MAX,
        jti: TokenId::from_entropy(raw).as_str().to_owned(),
        mid: meeting.as_str().to_owned(),
        pid: ParticipantId::from_entropy(raw).as_str().to_owned(),
        role: role.into(),
        name: user.into(),
    }
}

async fn head(store: &Arc<dyn Store>) -> u64 {
    store.head_position().await.unwrap()
}

/// A missing scope is refused by the runner, before any decision; `decide` itself no longer
/// checks it (the check is made once).
#[tokio::test]
async fn the_scope_is_checked_once_by_the_runner() {
    let f = fixture().await;
    let reader = Principal::app(
        Name::parse("acme").unwrap(),
        Name::parse("reader").unwrap(),
        [Scope::MeetingRead],
    );
    let before = head(&f.store).await;
    let e = f.engine.execute(&reader, None, schedule("x", "alice"), None).await;
    assert!(matches!(
        e,
        Err(EngineError::Domain(DomainError::InsufficientScope(Scope::MeetingWrite)))
    ));
    assert_eq!(head(&f.store).await, before, "nothing was appended");
    // The decision alone accepts it: only the runner (and the kit, through the same function) checks.
    let entropy = SeededEntropy::new(1);
    let ctx = meeting::Context {
        now: t0(),
        principal: &reader,
        entropy: &entropy,
    };
    let id = MeetingId::from_entropy([3; 16]);
    assert!(meeting::decide(&id, None, &schedule("x", "alice"), &ctx).is_ok());
    zoom_core::testing::kit::MeetingTest::given_nothing()
        .as_principal(reader)
        .when(schedule("x", "alice"))
        .then_error("insufficient_scope");
}

/// A repeat with the same key answers the first result without appending; another request
/// with the same key is a mismatch; the record is small (a stream and a version), however
/// many participants the meeting has.
#[tokio::test]
async fn idempotency_replays_refuses_mismatches_and_stays_small() {
    let f = fixture().await;
    let app = admin_app();
    let first = f
        .engine
        .execute(&app, None, schedule("Planning", "alice"), Some("k1"))
        .await
        .unwrap();
    let after_first = head(&f.store).await;
    let again = f
        .engine
        .execute(&app, None, schedule("Planning", "alice"), Some("k1"))
        .await
        .unwrap();
    assert_eq!(again.id, first.id, "the replay names the same meeting");
    assert_eq!(*again, *first);
    assert_eq!(head(&f.store).await, after_first, "a replay appends nothing");
    let other = f
        .engine
        .execute(&app, None, schedule("Other", "alice"), Some("k1"))
        .await;
    assert!(matches!(other, Err(EngineError::IdempotencyMismatch)));

    // A replay after the meeting changed still answers the first result.
    for n in 0..40 {
        let role = if n == 0 { "host" } else { "attendee" };
        let user = if n == 0 { "alice".to_owned() } else { format!("u{n}") };
        f.engine
            .redeem_claims(&app, claims(&first.id, n, &user, role))
            .await
            .unwrap();
    }
    let replay = f
        .engine
        .execute(&app, None, schedule("Planning", "alice"), Some("k1"))
        .await
        .unwrap();
    assert_eq!(replay.participants.len(), 0, "the first answer, not the current state");
    let key = format!("{}/{}/k1", app.account_id, app.subject);
    let record = f.store.get_idempotency(&key).await.unwrap().unwrap();
    assert!(record.reply.contains("\"format\":2"), "{}", record.reply);
    assert!(record.reply.len() < 200, "a record names a version: {}", record.reply);

    // Keyed commands on a large meeting store records of the same small size.
    let end = f
        .engine
        .execute(&app, Some(&first.id), MeetingCommand::End, Some("end-1"))
        .await
        .unwrap();
    assert_eq!(end.state, meeting::MeetingState::Ended);
    let key = format!("{}/{}/end-1", app.account_id, app.subject);
    let record = f.store.get_idempotency(&key).await.unwrap().unwrap();
    assert!(record.reply.len() < 200, "{}", record.reply);
    let replay = f
        .engine
        .execute(&app, Some(&first.id), MeetingCommand::End, Some("end-1"))
        .await
        .unwrap();
    assert_eq!(replay.version, end.version);
}

/// An idempotency record expires after its lifetime: it is pruned and the key may be used again.
#[tokio::test]
async fn idempotency_records_expire_and_are_pruned() {
    let f = fixture_on(
        Arc::new(MemoryStore::new()),
        EngineConfig {
            idempotency_ttl: Duration::hours(24),
            ..kit::engine_config()
        },
    )
    .await;
    let app = admin_app();
    let first = f
        .engine
        .execute(&app, None, schedule("Planning", "alice"), Some("k"))
        .await
        .unwrap();
    f.clock.advance(Duration::hours(23));
    assert!(matches!(
        f.engine
            .execute(&app, None, schedule("Other", "alice"), Some("k"))
            .await,
        Err(EngineError::IdempotencyMismatch)
    ));
    f.clock.advance(Duration::hours(2));
    let second = f
        .engine
        .execute(&app, None, schedule("Other", "alice"), Some("k"))
        .await
        .unwrap();
    assert_ne!(second.id, first.id, "after expiry the key starts a new request");
    assert_eq!(second.topic, "Other");
    let key = format!("{}/{}/k", app.account_id, app.subject);
    let record = f.store.get_idempotency(&key).await.unwrap().unwrap();
    assert_eq!(record.created_at, f.clock.now(), "the expired record was replaced");
    assert_eq!(
        f.store.prune_idempotency(f.clock.now()).await.unwrap(),
        0,
        "only the fresh record is left"
    );
}

/// A command that loses the race to another writer is decided again on the fresh state.
#[tokio::test]
async fn a_lost_race_is_retried_on_the_new_state() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    // Exclusive engines decide on their cached state without reading the tail first, so the
    // second writer's append conflicts and the runner must reload and retry.
    let a = fixture_on(store.clone(), exclusive()).await;
    let b = fixture_on(store.clone(), exclusive()).await;
    let app = admin_app();
    let m = a
        .engine
        .execute(&app, None, schedule("Race", "alice"), None)
        .await
        .unwrap();
    let id = m.id.clone();
    drop(m);
    // b loads and changes the meeting; a's cached copy is now one version behind.
    b.engine
        .redeem_claims(&app, claims(&id, 1, "alice", "host"))
        .await
        .unwrap();
    // An update succeeds on a's stale state, so its append conflicts and the runner retries.
    let patch = MeetingCommand::Update(zoom_core::meeting::MeetingPatch {
        topic: Some("Renamed".into()),
        ..Default::default()
    });
    let updated = a.engine.execute(&app, Some(&id), patch, None).await.unwrap();
    assert_eq!(updated.topic, "Renamed");
    assert_eq!(updated.participant_count(), 1, "a decided again on b's change");
    drop(updated);
    // A refusal on a stale cached state is checked against the store before it is returned.
    b.engine
        .redeem_claims(&app, claims(&id, 3, "carol", "attendee"))
        .await
        .unwrap();
    let after = a.engine.redeem_claims(&app, claims(&id, 3, "carol", "attendee")).await;
    assert!(
        matches!(&after, Err(EngineError::Domain(e)) if e.code() == "token_reused"),
        "{after:?}"
    );
    let after = a
        .engine
        .redeem_claims(&app, claims(&id, 2, "bob", "attendee"))
        .await
        .unwrap()
        .0;
    assert_eq!(after.participant_count(), 3);
    assert_eq!(after.topic, "Renamed");
    assert_eq!(after.state, meeting::MeetingState::Live);
    let rows = store.read_stream(&StreamId::from(&id), 1, 100).await.unwrap();
    let versions: Vec<u64> = rows.iter().map(|r| r.version).collect();
    assert_eq!(
        versions,
        (1..=rows.len() as u64).collect::<Vec<_>>(),
        "no gap, no duplicate"
    );
    assert_eq!(after.version, rows.len() as u64);
}

/// Key rings are written through the runner: one first key however many engines open at once,
/// rotation appends with causation metadata, and a reopened engine publishes the same keys.
#[tokio::test]
async fn key_rings_go_through_the_runner() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(t0()));
    let entropy: Arc<dyn Entropy> = Arc::new(SeededEntropy::new(5));
    let (r1, r2) = futures::join!(
        zoom_core::engine::load_or_create_ring(&store, &clock, &entropy, "sys_keys_test"),
        zoom_core::engine::load_or_create_ring(&store, &clock, &entropy, "sys_keys_test"),
    );
    assert_eq!(
        r1.unwrap().jwks(),
        r2.unwrap().jwks(),
        "both callers got the one first key"
    );
    let stream = StreamId::new("sys_keys_test").unwrap();
    assert_eq!(store.stream_version(&stream).await.unwrap(), 1);

    let f = fixture_on(store.clone(), kit::engine_config()).await;
    f.engine.rotate_join_key().await.unwrap();
    let keys = StreamId::new(JOIN_KEYS_STREAM).unwrap();
    let rows = store.read_stream(&keys, 1, 10).await.unwrap();
    assert_eq!(rows.len(), 2);
    let metadata: Metadata = serde_json::from_str(&rows[1].metadata).unwrap();
    assert_eq!(metadata.causation.as_deref(), Some("signing_key.add"));
    let reopened = fixture_on(store.clone(), kit::engine_config()).await;
    assert_eq!(reopened.engine.jwks(), f.engine.jwks());
    assert_eq!(f.engine.jwks()["keys"].as_array().unwrap().len(), 2);
}

/// A cursor works only for the list it came from: another list, other filters or another
/// account is `invalid_cursor`.
#[tokio::test]
async fn cursors_are_bound_to_their_list_filters_and_account() {
    let f = fixture().await;
    let app = admin_app();
    let mut last = None;
    for i in 0..3 {
        last = Some(
            f.engine
                .execute(&app, None, schedule(&format!("m{i}"), "alice"), None)
                .await
                .unwrap(),
        );
    }
    let m = last.unwrap();
    for n in 0..3 {
        let role = if n == 0 { "host" } else { "attendee" };
        let user = if n == 0 { "alice".to_owned() } else { format!("u{n}") };
        f.engine
            .redeem_claims(&app, claims(&m.id, n, &user, role))
            .await
            .unwrap();
    }
    let one = |cursor: Option<String>| PageRequest {
        page_size: Some(1),
        cursor,
    };
    let page = f
        .engine
        .meetings(&app, &MeetingQuery::default(), &one(None))
        .await
        .unwrap();
    let cursor = page.next_cursor.clone().unwrap();
    // The same list takes it.
    let next = f
        .engine
        .meetings(&app, &MeetingQuery::default(), &one(Some(cursor.clone())))
        .await
        .unwrap();
    assert_eq!(next.items.len(), 1);
    assert_ne!(next.items[0].id, page.items[0].id);
    let invalid = |r: Result<(), EngineError>| {
        assert!(
            matches!(&r, Err(EngineError::Domain(e @ DomainError::InvalidCursor { .. })) if e.code() == "invalid_cursor"),
            "{r:?}"
        );
    };
    // Other filters.
    let by_host = MeetingQuery {
        host_id: Some("alice".into()),
        ..MeetingQuery::default()
    };
    invalid(
        f.engine
            .meetings(&app, &by_host, &one(Some(cursor.clone())))
            .await
            .map(|_| ()),
    );
    // Another account.
    invalid(
        f.engine
            .meetings(&foreign_app(), &MeetingQuery::default(), &one(Some(cursor.clone())))
            .await
            .map(|_| ()),
    );
    // Another list.
    invalid(
        f.engine
            .participants(&app, &m.id, None, &one(Some(cursor.clone())))
            .await
            .map(|_| ()),
    );
    invalid(f.engine.webhooks(&app, &one(Some(cursor.clone()))).await.map(|_| ()));
    // A participants cursor pages its own meeting and status only.
    let parts = f.engine.participants(&app, &m.id, None, &one(None)).await.unwrap();
    let pc = parts.next_cursor.unwrap();
    assert_eq!(
        f.engine
            .participants(&app, &m.id, None, &one(Some(pc.clone())))
            .await
            .unwrap()
            .items
            .len(),
        1
    );
    invalid(
        f.engine
            .participants(
                &app,
                &m.id,
                Some(meeting::ParticipantStatus::Joined),
                &one(Some(pc.clone())),
            )
            .await
            .map(|_| ()),
    );
    invalid(
        f.engine
            .recordings(&app, &m.id, &one(Some(pc.clone())))
            .await
            .map(|_| ()),
    );
    invalid(
        f.engine
            .meetings(&app, &MeetingQuery::default(), &one(Some(pc)))
            .await
            .map(|_| ()),
    );
    invalid(
        f.engine
            .meetings(&app, &MeetingQuery::default(), &one(Some("garbage".into())))
            .await
            .map(|_| ()),
    );
}

/// What a command returns is the cached meeting itself, not a copy, and a command whose caller
/// dropped the previous answer changes that meeting in place (no clone per command).
#[tokio::test]
async fn commands_share_the_meeting_instead_of_copying_it() {
    let f = fixture_on(Arc::new(MemoryStore::new()), exclusive()).await;
    let app = admin_app();
    let m = f
        .engine
        .execute(&app, None, schedule("Big", "alice"), None)
        .await
        .unwrap();
    let id = m.id.clone();
    let read = f.engine.meeting(&app, &id).await.unwrap();
    assert!(Arc::ptr_eq(&m, &read), "the command's answer is the cached meeting");
    drop((m, read));
    let mut previous: Option<*const Meeting> = None;
    for n in 0..50 {
        let role = if n == 0 { "host" } else { "attendee" };
        let user = if n == 0 { "alice".to_owned() } else { format!("u{n}") };
        let (m, _) = f.engine.redeem_claims(&app, claims(&id, n, &user, role)).await.unwrap();
        let here = Arc::as_ptr(&m);
        if let Some(p) = previous {
            assert_eq!(p, here, "command {n} changed the meeting in place");
        }
        previous = Some(here);
        assert_eq!(Arc::strong_count(&m), 2, "held by the cache and this caller only");
    }
}

/// The aggregate seam is public: an embedder's own aggregate runs on the same runner.
#[tokio::test]
async fn any_aggregate_runs_on_the_runner() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let runner = zoom_core::engine::Runner::new(
        zoom_core::engine::SigningKeys,
        store.clone(),
        Arc::new(ManualClock::new(t0())),
        Arc::new(SeededEntropy::new(1)),
        zoom_core::engine::RunnerConfig::default(),
    );
    let stream = StreamId::new("sys_keys_other").unwrap();
    let key = zoom_core::token::SigningKey::ed25519("k1", [7; 32], t0());
    let done = runner
        .execute(
            Some(&stream),
            None,
            &zoom_core::engine::KeyCommand::CreateFirst(key.to_stored()),
            None,
        )
        .await
        .unwrap();
    assert_eq!(done.appended, 1);
    let again = runner
        .execute(
            Some(&stream),
            None,
            &zoom_core::engine::KeyCommand::CreateFirst(key.to_stored()),
            None,
        )
        .await
        .unwrap();
    assert_eq!(again.appended, 0, "the first key exists: a no-op");
    assert!(zoom_core::engine::SigningKeys::exists(&again.state));
    // A principal without the scope is refused, as for any aggregate.
    let e = runner
        .execute(
            Some(&stream),
            Some(&foreign_app_without_admin()),
            &zoom_core::engine::KeyCommand::Add(key.to_stored()),
            None,
        )
        .await;
    assert!(matches!(e, Err(EngineError::Domain(DomainError::InsufficientScope(_)))));
}

fn foreign_app_without_admin() -> Principal {
    Principal::app(
        Name::parse("globex").unwrap(),
        Name::parse("app_2").unwrap(),
        [Scope::MeetingRead],
    )
}
