#![allow(clippy::unwrap_used)]
//! Properties of the pure domain that hold for any input: folds are total, stored JSON
//! round-trips, and a snapshot plus the tail folds to the same state as the whole stream.

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use zoom_core::event::{Event, Metadata, NewEvent, RecordedEvent, StreamId};
use zoom_core::files::FileUrlSigner;
use zoom_core::id::{EventId, Name, WebhookId};
use zoom_core::meeting::{self, Meeting, MeetingEvent};
use zoom_core::testing::kit::admin_app;
use zoom_core::testing::strategies::{arb_meeting_command, arb_meeting_event};
use zoom_core::webhook::{self, Health, Subscription, WebhookEvent, catalogue};

fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: n,
        ..ProptestConfig::default()
    }
}

/// Webhook events, with ids drawn from a small set so that streams mix and repeat.
fn arb_webhook_event() -> impl Strategy<Value = WebhookEvent> {
    let id = (0u8..3).prop_map(|n| WebhookId::from_entropy([n; 16]));
    let at = (0i64..1_000_000).prop_map(|s| Utc.timestamp_opt(1_900_000_000 + s, 0).unwrap());
    prop_oneof![
        (id.clone(), at.clone()).prop_map(
            |(webhook_id, created_at)| WebhookEvent::Subscribed(webhook::Subscribed {
                webhook_id,
                account_id: Name::parse("acme").unwrap(),
                owner: Name::parse("app_1").unwrap(),
                url: "https://hooks.example.com/x".into(),
                events: vec!["meeting.started".into()],
                secret: "whsec_AAAA".into(),
                created_at,
                url_validation: created_at.timestamp() % 2 == 0,
            })
        ),
        (id.clone(), at.clone(), prop::option::of(0u8..3), any::<bool>()).prop_map(|(webhook_id, at, url, events)| {
            WebhookEvent::Updated(webhook::Updated {
                webhook_id,
                url: url.map(|n| format!("https://hooks.example.com/{n}")),
                events: events.then(|| vec!["meeting.ended".into()]),
                at,
            })
        }),
        (id.clone(), at.clone(), 0u8..3).prop_map(|(webhook_id, at, n)| WebhookEvent::UrlValidated(
            webhook::UrlValidated {
                webhook_id,
                url: format!("https://hooks.example.com/{n}"),
                at,
            }
        )),
        (id.clone(), at.clone()).prop_map(|(webhook_id, at)| WebhookEvent::Pinged(webhook::Pinged { webhook_id, at })),
        (id.clone(), at.clone()).prop_map(|(webhook_id, rotated_at)| WebhookEvent::SecretRotated(
            webhook::SecretRotated {
                webhook_id,
                secret: "whsec_BBBB".into(),
                rotated_at,
                previous_valid_until: rotated_at + chrono::Duration::hours(24),
            }
        )),
        (id.clone(), at.clone())
            .prop_map(|(webhook_id, at)| WebhookEvent::Unsubscribed(webhook::Unsubscribed { webhook_id, at })),
        (
            id,
            at,
            prop_oneof![Just(Health::Healthy), Just(Health::Degraded), Just(Health::Disabled)]
        )
            .prop_map(
                |(webhook_id, at, state)| WebhookEvent::HealthChanged(webhook::HealthChanged {
                    webhook_id,
                    state,
                    reason: "r".into(),
                    at
                })
            ),
    ]
}

fn fold_all(events: &[MeetingEvent]) -> Option<Meeting> {
    meeting::fold(events.iter().enumerate().map(|(i, e)| (i as u64 + 1, e)))
}

fn round_trip(event: &Event) -> Event {
    let metadata = Metadata {
        idempotency_key: Some("k".into()),
        ..Metadata::default()
    };
    let new = NewEvent::encode(EventId::from_entropy([9; 16]), event, &metadata, Utc::now()).unwrap();
    recorded(new).decode().unwrap()
}

/// An encoded event as the store would give it back, first in its stream and in the log.
fn recorded(new: NewEvent) -> RecordedEvent {
    RecordedEvent {
        event_id: new.event_id,
        stream_id: StreamId::new("mtg_prop").unwrap(),
        version: 1,
        position: 1,
        recorded_at: new.recorded_at,
        event_type: new.event_type,
        schema_version: new.schema_version,
        payload: new.payload,
        metadata: new.metadata,
    }
}

proptest! {
    #![proptest_config(cases(1024))]

    /// The webhook body as sent (`body_text`, written straight from the event) is the text of
    /// the body as a JSON value (`body`): same keys, same values, same (sorted) order.
    #[test]
    fn webhook_body_text_is_the_body_value_printed(event in arb_meeting_event()) {
        let new = NewEvent::encode(EventId::from_entropy([9; 16]), &Event::Meeting(event), &Metadata::default(), Utc::now()).unwrap();
        let row = recorded(new);
        let signer = FileUrlSigner::new("https://files.test/rec/", b"key".to_vec());
        let now = Utc::now();
        match (zoom_core::webhook_body::body(&row, &signer, now), zoom_core::webhook_body::body_text(&row, &signer, now)) {
            (Some((name, value)), Some((same_name, text))) => {
                prop_assert_eq!(name, same_name);
                prop_assert_eq!(serde_json::to_string(&value).unwrap(), text);
            }
            (None, None) => prop_assert!(catalogue::webhook_name(&row.event_type).is_none()),
            (a, b) => prop_assert!(false, "body {:?} but body_text {:?}", a, b),
        }
    }

    /// `apply` is total: any sequence of meeting events, in any order, folds without a panic.
    #[test]
    fn meeting_apply_never_panics(events in prop::collection::vec(arb_meeting_event(), 0..60)) {
        let state = fold_all(&events);
        if let Some(m) = state {
            prop_assert_eq!(m.version, events.len() as u64);
        }
    }

    /// The same holds for webhook subscriptions, and however often a secret is rotated, the
    /// kept rotated-out secrets are only those still within their own 24 hours at the latest
    /// rotation.
    #[test]
    fn webhook_apply_never_panics(events in prop::collection::vec(arb_webhook_event(), 0..40)) {
        let mut state: Option<Subscription> = None;
        for (i, e) in events.iter().enumerate() {
            webhook::apply(&mut state, e, i as u64 + 1);
            if let (Some(s), WebhookEvent::SecretRotated(r)) = (&state, e) {
                prop_assert!(s.previous_secrets.iter().all(|(_, until)| *until > r.rotated_at));
            }
        }
    }

    /// Every meeting event survives its stored JSON form.
    #[test]
    fn meeting_events_round_trip_through_json(event in arb_meeting_event()) {
        let event = Event::Meeting(event);
        prop_assert_eq!(round_trip(&event), event);
    }

    /// Every webhook event survives its stored JSON form.
    #[test]
    fn webhook_events_round_trip_through_json(event in arb_webhook_event()) {
        let event = Event::Webhook(event);
        prop_assert_eq!(round_trip(&event), event);
    }

    /// A snapshot (the state's JSON at any version) plus the tail folds to the same state as
    /// the whole stream, for any sequence, out of order included.
    #[test]
    fn snapshot_plus_tail_equals_the_full_fold(
        events in prop::collection::vec(arb_meeting_event(), 1..60),
        split in any::<prop::sample::Index>(),
    ) {
        let k = split.index(events.len() + 1);
        let full = fold_all(&events);
        let prefix = fold_all(&events[..k]);
        let snapshot = serde_json::to_string(&prefix).unwrap();
        let mut state: Option<Meeting> = serde_json::from_str(&snapshot).unwrap();
        for (i, e) in events.iter().enumerate().skip(k) {
            meeting::apply(&mut state, e, i as u64 + 1);
        }
        prop_assert_eq!(state, full);
    }

    /// Deciding never panics, and what it decides applies cleanly: for random command
    /// sequences on one meeting, the live state is the fold of every accepted event.
    #[test]
    fn decided_events_fold_to_the_live_state(commands in prop::collection::vec(arb_meeting_command(), 1..40)) {
        let entropy = zoom_core::clock::SeededEntropy::new(7);
        let principal = admin_app();
        let id = zoom_core::testing::kit::meeting_id();
        let mut live: Option<Meeting> = None;
        let mut log: Vec<MeetingEvent> = Vec::new();
        for (step, command) in commands.iter().enumerate() {
            let ctx = meeting::Context {
                now: zoom_core::testing::kit::t0() + chrono::Duration::seconds(step as i64),
                principal: &principal,
                entropy: &entropy,
            };
            if let Ok(events) = meeting::decide(&id, live.as_ref(), command, &ctx) {
                for e in events {
                    log.push(e.clone());
                    meeting::apply(&mut live, &e, log.len() as u64);
                }
            }
            if let Some(m) = &live {
                let active = m.recordings.iter().filter(|r| r.state == meeting::RecordingState::Recording).count();
                prop_assert!(active <= 1, "at most one active recording");
                prop_assert_eq!(m.version, log.len() as u64);
            }
        }
        prop_assert_eq!(fold_all(&log), live);
    }
}
