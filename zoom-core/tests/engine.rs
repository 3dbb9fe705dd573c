#![allow(clippy::unwrap_used)]
//! The engine end to end on the memory store: authorisation, idempotency, concurrency, snapshots,
//! projections and pagination, join tokens and webhook subscriptions.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::Duration;
use zoom_core::clock::{Clock, ManualClock, SeededEntropy};
use zoom_core::engine::{Engine, EngineConfig, EngineError, MeetingQuery, PageRequest};
use zoom_core::error::DomainError;
use zoom_core::event::StreamId;
use zoom_core::id::{MeetingId, Name};
use zoom_core::meeting::{
    JoinRequest, Meeting, MeetingCommand, MeetingPatch, MeetingSettings, MeetingState, ParticipantStatus,
    ScheduleMeeting,
};
use zoom_core::principal::{Principal, Scope};
use zoom_core::store::Store;
use zoom_core::testing::kit::{admin_app, foreign_app, host_user, other_user, t0};
use zoom_core::webhook::WebhookCommand;
use zoom_core::webhook::address::{AllowList, Cidr};
use zoom_store_memory::MemoryStore;

struct Fixture {
    engine: Engine,
    clock: Arc<ManualClock>,
}

async fn fixture_with(config: EngineConfig) -> Fixture {
    let clock = Arc::new(ManualClock::new(t0()));
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let engine = Engine::open(store, clock.clone(), Arc::new(SeededEntropy::new(1)), config)
        .await
        .unwrap();
    Fixture { engine, clock }
}

async fn fixture() -> Fixture {
    fixture_with(zoom_core::testing::kit::engine_config()).await
}

fn schedule(host: Option<&str>) -> ScheduleMeeting {
    ScheduleMeeting {
        topic: "Planning".into(),
        start_time: "2030-01-01T10:00:00Z".into(),
        duration_minutes: 30,
        timezone: None,
        passcode: None,
        waiting_room: Some(false),
        settings: None,
        host_id: host.map(str::to_owned),
    }
}

impl Fixture {
    async fn schedule(&self, as_: &Principal, s: ScheduleMeeting) -> Arc<Meeting> {
        self.engine
            .execute(as_, None, MeetingCommand::Schedule(s), None)
            .await
            .unwrap()
    }

    /// Issues and redeems a join token: returns the participant id.
    async fn join(&self, id: &MeetingId, req: JoinRequest) -> Result<String, EngineError> {
        let token = self.engine.issue_join_token(&admin_app(), id, &req, None).await?;
        let (_, pid) = self.engine.redeem(&admin_app(), &token.jwt).await?;
        Ok(pid.to_string())
    }
}

fn user(id: &str) -> JoinRequest {
    JoinRequest {
        user_id: Some(id.into()),
        display_name: None,
        guest: None,
        passcode: None,
    }
}

fn code(e: &EngineError) -> &'static str {
    match e {
        EngineError::Domain(d) => d.code(),
        other => panic!("expected a domain error, got {other:?}"),
    }
}

fn app_with(scopes: &[Scope]) -> Principal {
    Principal::app(
        Name::parse("acme").unwrap(),
        Name::parse("app_2").unwrap(),
        scopes.iter().copied(),
    )
}

/// Another account's meeting, recording and webhook are NotFound, whatever the caller's scopes.
#[tokio::test]
async fn another_accounts_resources_are_not_found() {
    let f = fixture().await;
    let m = f.schedule(&admin_app(), schedule(Some("alice"))).await;
    let foreign = foreign_app();
    assert_eq!(code(&f.engine.meeting(&foreign, &m.id).await.unwrap_err()), "not_found");
    let end = f.engine.execute(&foreign, Some(&m.id), MeetingCommand::End, None).await;
    assert_eq!(code(&end.unwrap_err()), "not_found");
    let token = f.engine.issue_join_token(&foreign, &m.id, &user("alice"), None).await;
    assert_eq!(code(&token.unwrap_err()), "not_found");
    let list = f
        .engine
        .meetings(&foreign, &MeetingQuery::default(), &PageRequest::default())
        .await
        .unwrap();
    assert!(list.items.is_empty(), "lists are per account");
    let hook = f
        .engine
        .execute_webhook(
            &admin_app(),
            None,
            WebhookCommand::Subscribe {
                url: "https://hooks.example.com/x".into(),
                events: vec!["meeting.started".into()],
                url_validation: false,
            },
            None,
        )
        .await
        .unwrap();
    let read = f.engine.webhook(&foreign, &hook.subscription.id).await;
    assert_eq!(code(&read.unwrap_err()), "not_found");
}

/// A user token changes only meetings it hosts; an app acts for the whole account.
#[tokio::test]
async fn a_user_changes_only_meetings_it_hosts() {
    let f = fixture().await;
    let m = f.schedule(&host_user(), schedule(None)).await;
    assert_eq!(m.host_id.as_str(), "alice", "a user schedules as itself");
    let patch = |topic: &str| {
        MeetingCommand::Update(MeetingPatch {
            topic: Some(topic.into()),
            ..MeetingPatch::default()
        })
    };
    let e = f.engine.execute(&other_user(), Some(&m.id), patch("Bob's"), None).await;
    assert_eq!(code(&e.unwrap_err()), "not_host");
    let ok = f.engine.execute(&admin_app(), Some(&m.id), patch("App's"), None).await;
    assert_eq!(ok.unwrap().topic, "App's");
    // A user cannot schedule for someone else.
    let e = f
        .engine
        .execute(
            &other_user(),
            None,
            MeetingCommand::Schedule(schedule(Some("alice"))),
            None,
        )
        .await;
    assert!(
        matches!(
            e,
            Err(EngineError::Domain(
                DomainError::Invalid { .. } | DomainError::Forbidden { .. }
            ))
        ),
        "{e:?}"
    );
}

/// A missing scope is `insufficient_scope`, checked before anything else.
#[tokio::test]
async fn a_missing_scope_is_refused() {
    let f = fixture().await;
    let m = f.schedule(&admin_app(), schedule(Some("alice"))).await;
    let reader = app_with(&[Scope::MeetingRead]);
    assert!(f.engine.meeting(&reader, &m.id).await.is_ok());
    let e = f.engine.execute(&reader, Some(&m.id), MeetingCommand::End, None).await;
    assert_eq!(code(&e.unwrap_err()), "insufficient_scope");
    let e = f.engine.issue_join_token(&reader, &m.id, &user("alice"), None).await;
    assert_eq!(code(&e.unwrap_err()), "insufficient_scope");
    let e = f.engine.webhooks(&reader, &PageRequest::default()).await;
    assert_eq!(code(&e.unwrap_err()), "insufficient_scope");
}

/// A repeated idempotency key returns the first result; the same key with another command fails.
#[tokio::test]
async fn idempotency_keys_replay_the_first_result() {
    let f = fixture().await;
    let cmd = || MeetingCommand::Schedule(schedule(Some("alice")));
    let first = f.engine.execute(&admin_app(), None, cmd(), Some("k1")).await.unwrap();
    f.clock.advance(Duration::seconds(5));
    let again = f.engine.execute(&admin_app(), None, cmd(), Some("k1")).await.unwrap();
    assert_eq!(first, again, "the same meeting, not a second one");
    let list = f
        .engine
        .meetings(&admin_app(), &MeetingQuery::default(), &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(list.items.len(), 1);
    let mut other = schedule(Some("alice"));
    other.topic = "Different".into();
    let e = f
        .engine
        .execute(&admin_app(), None, MeetingCommand::Schedule(other), Some("k1"))
        .await;
    assert!(matches!(e, Err(EngineError::IdempotencyMismatch)), "{e:?}");
    // Keys are scoped to the caller: another app may use the same key.
    let mine = f
        .engine
        .execute(&app_with(&Scope::ALL), None, cmd(), Some("k1"))
        .await
        .unwrap();
    assert_ne!(mine.id, first.id);
}

/// Many concurrent commands on one meeting all land, in some order, with no contention error.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_commands_on_one_meeting_all_land() {
    let f = Arc::new(fixture().await);
    let m = f.schedule(&admin_app(), schedule(Some("alice"))).await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let f = f.clone();
        let id = m.id.clone();
        tasks.push(tokio::spawn(async move {
            let patch = MeetingPatch {
                duration_minutes: Some(31 + i),
                ..MeetingPatch::default()
            };
            f.engine
                .execute(&admin_app(), Some(&id), MeetingCommand::Update(patch), None)
                .await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let after = f.engine.meeting(&admin_app(), &m.id).await.unwrap();
    assert_eq!(after.version, 41);
    let rows = f
        .engine
        .store()
        .read_stream(&StreamId::from(&m.id), 1, usize::MAX)
        .await
        .unwrap();
    let versions: Vec<u64> = rows.iter().map(|r| r.version).collect();
    assert_eq!(versions, (1..=41).collect::<Vec<_>>(), "gap-free");
}

/// A long stream is loaded from a snapshot plus a short tail, and to the same state.
#[tokio::test]
async fn long_streams_load_from_a_snapshot() {
    let f = fixture_with(EngineConfig {
        snapshot_every: 16,
        ..zoom_core::testing::kit::engine_config()
    })
    .await;
    let m = f.schedule(&admin_app(), schedule(Some("alice"))).await;
    for i in 0..100 {
        let patch = MeetingPatch {
            topic: Some(format!("Topic {i}")),
            ..MeetingPatch::default()
        };
        f.engine
            .execute(&admin_app(), Some(&m.id), MeetingCommand::Update(patch), None)
            .await
            .unwrap();
    }
    let warm = f.engine.meeting(&admin_app(), &m.id).await.unwrap();
    let snapshot = f
        .engine
        .store()
        .load_snapshot(&StreamId::from(&m.id))
        .await
        .unwrap()
        .unwrap();
    assert!(
        warm.version - snapshot.version < 16,
        "the tail after the snapshot is short"
    );
    let cold = Engine::open(
        f.engine.store().clone(),
        f.engine.clock().clone(),
        f.engine.entropy().clone(),
        f.engine.config().clone(),
    )
    .await
    .unwrap();
    assert_eq!(cold.meeting(&admin_app(), &m.id).await.unwrap(), warm);
}

/// The meeting list filters by host, time window and state, and pages without loss or
/// duplicates even while meetings are being scheduled.
#[tokio::test]
async fn meeting_list_filters_and_pages_during_writes() {
    let f = fixture().await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let mut s = schedule(Some(if i % 2 == 0 { "alice" } else { "bob" }));
        s.start_time = format!("2030-01-0{}T10:00:00Z", i + 1);
        ids.push(f.schedule(&admin_app(), s).await.id.clone());
    }
    f.engine
        .execute(&admin_app(), Some(&ids[0]), MeetingCommand::Cancel, None)
        .await
        .unwrap();
    let list = |q: MeetingQuery| {
        let e = &f.engine;
        async move {
            e.meetings(&admin_app(), &q, &PageRequest::default())
                .await
                .unwrap()
                .items
        }
    };
    let by_bob = list(MeetingQuery {
        host_id: Some("bob".into()),
        ..MeetingQuery::default()
    })
    .await;
    assert_eq!(by_bob.len(), 3);
    let window = list(MeetingQuery {
        from: Some(
            chrono::DateTime::parse_from_rfc3339("2030-01-02T00:00:00Z")
                .unwrap()
                .into(),
        ),
        to: Some(
            chrono::DateTime::parse_from_rfc3339("2030-01-04T00:00:00Z")
                .unwrap()
                .into(),
        ),
        ..MeetingQuery::default()
    })
    .await;
    assert_eq!(window.len(), 2, "2 and 3 January");
    let cancelled = list(MeetingQuery {
        state: Some(MeetingState::Cancelled),
        ..MeetingQuery::default()
    })
    .await;
    assert_eq!(
        cancelled.iter().map(|m| m.id.clone()).collect::<Vec<_>>(),
        vec![ids[0].clone()]
    );

    // Page through with size 3, scheduling a new meeting between pages.
    let mut seen = Vec::new();
    let mut cursor = None;
    for _ in 0..10 {
        let page = f
            .engine
            .meetings(
                &admin_app(),
                &MeetingQuery::default(),
                &PageRequest {
                    page_size: Some(3),
                    cursor: cursor.clone(),
                },
            )
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|m| m.id.clone()));
        f.schedule(&admin_app(), schedule(Some("carol"))).await;
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let unique: BTreeSet<_> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "no duplicates");
    assert!(
        ids.iter().all(|id| unique.contains(id)),
        "nothing that existed is skipped"
    );
    let e = f
        .engine
        .meetings(
            &admin_app(),
            &MeetingQuery::default(),
            &PageRequest {
                page_size: Some(301),
                cursor: None,
            },
        )
        .await;
    assert!(matches!(e, Err(EngineError::Domain(DomainError::Invalid { ref field, .. })) if field == "page_size"));
    let e = f
        .engine
        .meetings(
            &admin_app(),
            &MeetingQuery::default(),
            &PageRequest {
                page_size: None,
                cursor: Some("garbage".into()),
            },
        )
        .await;
    assert!(matches!(e, Err(EngineError::Domain(DomainError::InvalidCursor { .. }))));
}

/// Join tokens carry the claims docs/api.md lists and are redeemed once.
#[tokio::test]
async fn join_tokens_carry_their_claims_and_redeem_once() {
    let f = fixture().await;
    let m = f.schedule(&admin_app(), schedule(Some("alice"))).await;
    let t = f
        .engine
        .issue_join_token(&admin_app(), &m.id, &user("alice"), None)
        .await
        .unwrap();
    assert_eq!(t.claims.role, "host");
    assert_eq!(t.claims.aud, "sfu");
    assert_eq!(t.claims.exp - t.claims.iat, 300);
    assert_eq!(t.claims.mid, m.id.to_string());
    assert_eq!(t.expires_in, 300);
    let (live, pid) = f.engine.redeem(&admin_app(), &t.jwt).await.unwrap();
    assert_eq!(live.state, MeetingState::Live, "the host's join starts the meeting");
    assert_eq!(pid.to_string(), t.claims.pid);
    let again = f.engine.redeem(&admin_app(), &t.jwt).await;
    assert_eq!(code(&again.unwrap_err()), "token_reused");
    let e = f.engine.redeem(&admin_app(), "not.a.jwt").await;
    assert_eq!(code(&e.unwrap_err()), "invalid_token");
    // Redemption needs the media scope.
    let t2 = f
        .engine
        .issue_join_token(&admin_app(), &m.id, &user("bob"), None)
        .await
        .unwrap();
    let e = f.engine.redeem(&app_with(&[Scope::MeetingJoin]), &t2.jwt).await;
    assert_eq!(code(&e.unwrap_err()), "insufficient_scope");
    // An expired token does not redeem.
    f.clock.advance(Duration::seconds(300 + 31));
    let e = f.engine.redeem(&admin_app(), &t2.jwt).await;
    assert_eq!(code(&e.unwrap_err()), "invalid_token");
}

/// Passcode, join-before-host, removed users, guests, cancelled and ended meetings.
#[tokio::test]
async fn join_rules() {
    let f = fixture().await;
    let mut s = schedule(Some("alice"));
    s.passcode = Some("s3cr3t".into());
    let m = f.schedule(&admin_app(), s).await;
    let e = f.engine.issue_join_token(&admin_app(), &m.id, &user("bob"), None).await;
    assert_eq!(code(&e.unwrap_err()), "invalid_passcode");
    let with_code = JoinRequest {
        passcode: Some("s3cr3t".into()),
        ..user("bob")
    };
    let e = f.engine.issue_join_token(&admin_app(), &m.id, &with_code, None).await;
    assert_eq!(code(&e.unwrap_err()), "meeting_not_started", "no join before the host");
    f.join(&m.id, user("alice")).await.unwrap();
    let bob = f.join(&m.id, with_code.clone()).await.unwrap();
    f.engine
        .execute(
            &admin_app(),
            Some(&m.id),
            MeetingCommand::Remove {
                participant_id: bob.parse().unwrap(),
            },
            None,
        )
        .await
        .unwrap();
    let e = f.engine.issue_join_token(&admin_app(), &m.id, &with_code, None).await;
    assert_eq!(code(&e.unwrap_err()), "participant_removed");
    let guest = JoinRequest {
        user_id: None,
        display_name: Some("Visitor".into()),
        guest: Some(true),
        passcode: Some("s3cr3t".into()),
    };
    let t = f
        .engine
        .issue_join_token(&admin_app(), &m.id, &guest, None)
        .await
        .unwrap();
    assert!(t.claims.sub.starts_with("guest_"));
    assert_eq!(t.claims.role, "attendee");
    f.engine
        .execute(&admin_app(), Some(&m.id), MeetingCommand::End, None)
        .await
        .unwrap();
    let e = f
        .engine
        .issue_join_token(&admin_app(), &m.id, &user("alice"), None)
        .await;
    assert!(matches!(
        e,
        Err(EngineError::Domain(DomainError::Conflict {
            code: "meeting_ended",
            ..
        }))
    ));

    let c = f.schedule(&admin_app(), schedule(Some("alice"))).await;
    f.engine
        .execute(&admin_app(), Some(&c.id), MeetingCommand::Cancel, None)
        .await
        .unwrap();
    let e = f
        .engine
        .issue_join_token(&admin_app(), &c.id, &user("alice"), None)
        .await;
    assert!(matches!(
        e,
        Err(EngineError::Domain(DomainError::Gone {
            code: "meeting_cancelled",
            ..
        }))
    ));
}

/// With the waiting room on, attendees wait until admitted; participants list by status.
#[tokio::test]
async fn the_waiting_room_holds_attendees_until_admitted() {
    let f = fixture().await;
    let mut s = schedule(Some("alice"));
    s.waiting_room = Some(true);
    s.settings = Some(MeetingSettings {
        allow_join_before_host: true,
        ..MeetingSettings::default()
    });
    let m = f.schedule(&admin_app(), s).await;
    let bob = f.join(&m.id, user("bob")).await.unwrap();
    let waiting = f
        .engine
        .participants(
            &admin_app(),
            &m.id,
            Some(ParticipantStatus::Waiting),
            &PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(waiting.items.len(), 1);
    f.engine
        .execute(
            &admin_app(),
            Some(&m.id),
            MeetingCommand::Admit {
                participant_id: bob.parse().unwrap(),
            },
            None,
        )
        .await
        .unwrap();
    let joined = f
        .engine
        .participants(
            &admin_app(),
            &m.id,
            Some(ParticipantStatus::Joined),
            &PageRequest::default(),
        )
        .await
        .unwrap();
    assert_eq!(joined.items.len(), 1);
}

/// Key rotation keeps earlier tokens redeemable and publishes both public keys.
#[tokio::test]
async fn join_keys_rotate_and_the_jwks_lists_them() {
    let f = fixture().await;
    let m = f.schedule(&admin_app(), schedule(Some("alice"))).await;
    let before = f
        .engine
        .issue_join_token(&admin_app(), &m.id, &user("alice"), None)
        .await
        .unwrap();
    assert_eq!(f.engine.jwks()["keys"].as_array().unwrap().len(), 1);
    f.engine.rotate_join_key().await.unwrap();
    let keys = f.engine.jwks()["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 2);
    assert!(
        keys.iter().all(|k| k["kty"] == "OKP" && k.get("d").is_none()),
        "public keys only"
    );
    f.engine.redeem(&admin_app(), &before.jwt).await.unwrap();
}

/// Subscriptions: the secret is shown at creation and rotation only, the old secret signs for
/// 24 hours, lists show a caller its own, unsubscribed ones are gone, and URLs are checked.
#[tokio::test]
async fn webhook_subscriptions() {
    let f = fixture().await;
    let app = app_with(&[Scope::WebhookRead, Scope::WebhookWrite]);
    let subscribe = |url: &str, events: &[&str]| WebhookCommand::Subscribe {
        url: url.into(),
        events: events.iter().map(|e| (*e).to_owned()).collect(),
        url_validation: false,
    };
    let created = f
        .engine
        .execute_webhook(
            &app,
            None,
            subscribe("https://hooks.example.com/a", &["meeting.started"]),
            None,
        )
        .await
        .unwrap();
    let secret = created.secret.clone().unwrap();
    assert!(secret.starts_with("whsec_"));
    let id = created.subscription.id.clone();
    f.engine
        .execute_webhook(
            &admin_app(),
            None,
            subscribe("https://hooks.example.com/b", &["meeting.ended"]),
            None,
        )
        .await
        .unwrap();
    let mine = f.engine.webhooks(&app, &PageRequest::default()).await.unwrap();
    assert_eq!(mine.items.len(), 1, "a caller lists its own");
    let all = f.engine.webhooks(&admin_app(), &PageRequest::default()).await.unwrap();
    assert_eq!(all.items.len(), 2, "an admin lists the account's");

    let rotated = f
        .engine
        .execute_webhook(&app, Some(&id), WebhookCommand::RotateSecret, None)
        .await
        .unwrap();
    let new_secret = rotated.secret.unwrap();
    assert_ne!(new_secret, secret);
    let s = f.engine.webhook(&app, &id).await.unwrap();
    assert_eq!(
        s.signing_secrets(f.clock.now()).len(),
        2,
        "both sign during the overlap"
    );
    assert_eq!(s.signing_secrets(f.clock.now() + Duration::hours(25)).len(), 1);

    f.engine
        .execute_webhook(&app, Some(&id), WebhookCommand::Unsubscribe, None)
        .await
        .unwrap();
    assert_eq!(code(&f.engine.webhook(&app, &id).await.unwrap_err()), "not_found");

    for (url, events, field) in [
        ("http://127.0.0.1:9000/x", vec!["meeting.started"], "url"),
        ("ftp://hooks.example.com/x", vec!["meeting.started"], "url"),
        ("https://hooks.example.com/x", vec![], "events"),
        ("https://hooks.example.com/x", vec!["meeting.*"], "events"),
    ] {
        let e = f
            .engine
            .execute_webhook(&app, None, subscribe(url, &events), None)
            .await;
        assert!(
            matches!(e, Err(EngineError::Domain(DomainError::Invalid { field: ref got, .. })) if got == field),
            "{url} {events:?}: {e:?}"
        );
    }
}

/// Loopback receivers are accepted when the allow-list names them.
#[tokio::test]
async fn the_allow_list_admits_named_blocks() {
    let f = fixture_with(EngineConfig {
        webhook_allow: AllowList::new(vec![Cidr::parse("127.0.0.1/32").unwrap()]),
        ..zoom_core::testing::kit::engine_config()
    })
    .await;
    let ok = f
        .engine
        .execute_webhook(
            &admin_app(),
            None,
            WebhookCommand::Subscribe {
                url: "http://127.0.0.1:9000/x".into(),
                events: vec!["meeting.started".into()],
                url_validation: false,
            },
            None,
        )
        .await;
    assert!(ok.is_ok(), "{ok:?}");
}

/// Two engines on one store: a non-exclusive reader sees the other's writes at once; an exclusive
/// one may read its cache, but its commands still see the other's writes (optimistic concurrency).
#[tokio::test]
async fn exclusive_engines_read_their_cache_and_still_write_correctly() {
    let f = fixture().await;
    let m = f.schedule(&admin_app(), schedule(Some("alice"))).await;
    let open = |exclusive| {
        Engine::open(
            f.engine.store().clone(),
            f.engine.clock().clone(),
            f.engine.entropy().clone(),
            EngineConfig {
                exclusive,
                ..f.engine.config().clone()
            },
        )
    };
    let shared = open(false).await.unwrap();
    let exclusive = open(true).await.unwrap();
    assert_eq!(exclusive.meeting(&admin_app(), &m.id).await.unwrap().topic, "Planning");
    let rename = |topic: &str| {
        MeetingCommand::Update(MeetingPatch {
            topic: Some(topic.into()),
            ..MeetingPatch::default()
        })
    };
    f.engine
        .execute(&admin_app(), Some(&m.id), rename("Renamed"), None)
        .await
        .unwrap();
    assert_eq!(shared.meeting(&admin_app(), &m.id).await.unwrap().topic, "Renamed");
    assert_eq!(
        exclusive.meeting(&admin_app(), &m.id).await.unwrap().topic,
        "Planning",
        "an exclusive engine trusts its cache"
    );
    let after = exclusive
        .execute(&admin_app(), Some(&m.id), MeetingCommand::Cancel, None)
        .await
        .unwrap();
    assert_eq!(after.topic, "Renamed", "a command decides on the store's latest state");
    assert_eq!(after.version, 3);
}
