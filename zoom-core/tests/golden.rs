#![allow(clippy::unwrap_used)]
//! The stored JSON form of every event type is pinned by golden files, and docs/events.md shows
//! a payload for each type that decodes as that type.
//!
//! To accept an intended change of the stored form (a new event type, never an edit of a released
//! one), run with `UPDATE_GOLDEN=1` and review the diff.

use std::path::PathBuf;

use chrono::{Duration, TimeZone, Utc};
use zoom_core::event::{EVENT_TYPES, Event, Metadata, NewEvent, RecordedEvent, StreamId};
use zoom_core::id::{AccountId, EventId, Name, WebhookId};
use zoom_core::meeting::event::*;
use zoom_core::meeting::{FileType, MeetingEvent, RecordingFile, Role};
use zoom_core::principal::PrincipalKind;
use zoom_core::system::{SigningKeyAdded, SystemEvent};
use zoom_core::testing::kit::fixtures::{self, pid, rid};
use zoom_core::testing::kit::{meeting_id, t0};
use zoom_core::token::SigningKey;
use zoom_core::webhook::{self, Health, WebhookEvent};

fn name(s: &str) -> AccountId {
    Name::parse(s).unwrap()
}

/// One sample of every event type, in `EVENT_TYPES` order.
fn samples() -> Vec<Event> {
    let m = meeting_id();
    let w = WebhookId::from_entropy([9; 16]);
    let t = t0() + Duration::minutes(5);
    vec![
        Event::Meeting(fixtures::scheduled_with(|e| e.passcode = Some("123456".into()))),
        Event::Meeting(MeetingEvent::Updated(MeetingUpdated {
            meeting_id: m.clone(),
            topic: Some("Renamed".into()),
            start_time: None,
            duration_minutes: Some(60),
            timezone: None,
            passcode: Some(None),
            waiting_room: None,
            settings: None,
            updated_at: t,
        })),
        Event::Meeting(fixtures::cancelled()),
        Event::Meeting(fixtures::started()),
        Event::Meeting(MeetingEvent::Ended(MeetingEnded {
            meeting_id: m.clone(),
            ended_at: t,
            duration_seconds: 300,
            reason: zoom_core::meeting::EndReason::AllLeft,
        })),
        Event::Meeting(fixtures::waiting(2, "bob")),
        Event::Meeting(fixtures::joined(1, "alice", Role::Host)),
        Event::Meeting(fixtures::left(2, "bob", zoom_core::meeting::LeftReason::Removed)),
        Event::Meeting(MeetingEvent::ParticipantMuted(ParticipantMuted {
            meeting_id: m.clone(),
            participant_id: pid(2),
            audio_muted: true,
            video_off: true,
            by: Some(name("alice")),
            at: t,
        })),
        Event::Meeting(MeetingEvent::ParticipantRoleChanged(ParticipantRoleChanged {
            meeting_id: m.clone(),
            participant_id: pid(2),
            role: Role::CoHost,
            at: t,
        })),
        Event::Meeting(fixtures::recording_started(1)),
        Event::Meeting(fixtures::recording_stopped(1)),
        Event::Meeting(MeetingEvent::RecordingCompleted(RecordingCompleted {
            meeting_id: m.clone(),
            recording_id: rid(1),
            duration_seconds: 1800,
            files: vec![RecordingFile {
                file_type: FileType::Video,
                storage_key: "acme/2030/rec1.mp4".into(),
                size_bytes: 73_400_320,
            }],
            completed_at: t,
        })),
        Event::Meeting(MeetingEvent::RecordingFailed(RecordingFailed {
            meeting_id: m,
            recording_id: rid(1),
            error_code: "transcode_failed".into(),
            message: "the encoder crashed".into(),
            failed_at: t,
        })),
        Event::Webhook(WebhookEvent::Subscribed(webhook::Subscribed {
            webhook_id: w.clone(),
            account_id: name("acme"),
            owner: name("app_1"),
            url: "https://hooks.example.com/zoom".into(),
            events: vec!["meeting.started".into(), "recording.completed".into()],
            secret: zoom_core::signature::WebhookSecret::from_bytes([7; 32]).as_str().into(),
            created_at: t0(),
            url_validation: false,
        })),
        Event::Webhook(WebhookEvent::SecretRotated(webhook::SecretRotated {
            webhook_id: w.clone(),
            secret: zoom_core::signature::WebhookSecret::from_bytes([8; 32]).as_str().into(),
            previous_valid_until: t0() + Duration::hours(24),
            rotated_at: t0(),
        })),
        Event::Webhook(WebhookEvent::Unsubscribed(webhook::Unsubscribed {
            webhook_id: w.clone(),
            at: t,
        })),
        Event::Webhook(WebhookEvent::HealthChanged(webhook::HealthChanged {
            webhook_id: w.clone(),
            state: Health::Degraded,
            reason: "failing since 2030-01-01T09:00:00Z".into(),
            at: t,
        })),
        Event::System(SystemEvent::SigningKeyAdded(SigningKeyAdded {
            key: SigningKey::ed25519("k1", [5; 32], t0()).to_stored(),
        })),
        Event::Webhook(WebhookEvent::Updated(webhook::Updated {
            webhook_id: w.clone(),
            url: Some("https://hooks.example.com/zoom/v2".into()),
            events: None,
            at: t,
        })),
        Event::Webhook(WebhookEvent::UrlValidated(webhook::UrlValidated {
            webhook_id: w.clone(),
            url: "https://hooks.example.com/zoom/v2".into(),
            at: t,
        })),
        Event::Webhook(WebhookEvent::Pinged(webhook::Pinged { webhook_id: w, at: t })),
        Event::Meeting(MeetingEvent::ParticipantAdmitted(ParticipantAdmitted {
            meeting_id: meeting_id(),
            participant_id: pid(2),
            user_id: Some(name("bob")),
            display_name: "bob".into(),
            by: name("alice"),
            at: t,
        })),
    ]
}

/// The pinned envelope of sample `n`. Slot 19 was `app.registered`, which moved to zoom-auth
/// (its golden file with it): the samples after it keep the ids and positions their golden files
/// pin.
fn recorded(n: usize, event: &Event) -> RecordedEvent {
    let n = if n >= 19 { n + 1 } else { n };
    let metadata = Metadata {
        account_id: Some(name("acme")),
        subject: Some(name("app_1")),
        kind: Some(PrincipalKind::App),
        idempotency_key: Some("key-1".into()),
        causation: Some("meeting.schedule".into()),
    };
    let new = NewEvent::encode(EventId::from_entropy([n as u8; 16]), event, &metadata, t0()).unwrap();
    RecordedEvent {
        event_id: new.event_id,
        stream_id: StreamId::new("mtg_golden").unwrap(),
        version: n as u64 + 1,
        position: n as u64 + 100,
        recorded_at: new.recorded_at,
        event_type: new.event_type,
        schema_version: new.schema_version,
        payload: new.payload,
        metadata: new.metadata,
    }
}

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Every event type has a sample, and its stored envelope matches its golden file byte for byte.
#[test]
fn stored_form_matches_the_golden_files() {
    let samples = samples();
    let types: Vec<&str> = samples.iter().map(Event::event_type).collect();
    assert_eq!(types, EVENT_TYPES, "one sample per event type, in catalogue order");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    for (n, event) in samples.iter().enumerate() {
        let row = recorded(n, event);
        let json = serde_json::to_string_pretty(&row.to_json().unwrap()).unwrap() + "\n";
        let path = golden_dir().join(format!("{}.json", event.event_type()));
        if update {
            std::fs::create_dir_all(golden_dir()).unwrap();
            std::fs::write(&path, &json).unwrap();
        }
        let golden = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(json, golden, "stored form of {} changed", event.event_type());
    }
}

/// Every golden file decodes back to its sample: old rows stay readable.
#[test]
fn golden_files_decode() {
    for (n, event) in samples().iter().enumerate() {
        let path = golden_dir().join(format!("{}.json", event.event_type()));
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let row = RecordedEvent {
            event_id: EventId::parse(v["event_id"].as_str().unwrap()).unwrap(),
            stream_id: StreamId::new(v["stream_id"].as_str().unwrap()).unwrap(),
            version: v["version"].as_u64().unwrap(),
            position: v["position"].as_u64().unwrap(),
            recorded_at: chrono::DateTime::parse_from_rfc3339(v["recorded_at"].as_str().unwrap())
                .unwrap()
                .with_timezone(&Utc),
            event_type: v["type"].as_str().unwrap().into(),
            schema_version: v["schema_version"].as_u64().unwrap() as u32,
            payload: v["payload"].to_string(),
            metadata: v["metadata"].to_string(),
        };
        assert_eq!(&row.decode().unwrap(), event, "{} decodes", event.event_type());
        assert_eq!(
            row.to_json().unwrap(),
            recorded(n, event).to_json().unwrap(),
            "{} round-trips",
            event.event_type()
        );
    }
}

/// A `meeting.scheduled` of schema 1 (flat settings, no timezone) is upcast and decodes.
#[test]
fn schema_1_meeting_scheduled_is_upcast() {
    let path = golden_dir().join("meeting.scheduled.v1.json");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let row = RecordedEvent {
        event_id: EventId::from_entropy([1; 16]),
        stream_id: StreamId::new("mtg_old").unwrap(),
        version: 1,
        position: 1,
        recorded_at: Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap(),
        event_type: "meeting.scheduled".into(),
        schema_version: 1,
        payload: v["payload"].to_string(),
        metadata: "{}".into(),
    };
    let Event::Meeting(MeetingEvent::Scheduled(e)) = row.decode().unwrap() else {
        panic!("not a meeting.scheduled");
    };
    assert_eq!(e.timezone, "UTC");
    assert!(!e.settings.mute_upon_entry, "the flat field moved into settings");
    assert_eq!(e.settings.auto_recording, zoom_core::meeting::AutoRecording::Cloud);
}

/// A `participant.muted` of schema 1 (released when a mute could only mute audio, and nothing
/// could turn video off) is upcast: audio muted, video on, nobody named.
#[test]
fn schema_1_participant_muted_is_upcast() {
    let path = golden_dir().join("participant.muted.v1.json");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(v["schema_version"], 1);
    let row = RecordedEvent {
        event_id: EventId::parse(v["event_id"].as_str().unwrap()).unwrap(),
        stream_id: StreamId::new("mtg_old").unwrap(),
        version: 9,
        position: 108,
        recorded_at: t0(),
        event_type: "participant.muted".into(),
        schema_version: 1,
        payload: v["payload"].to_string(),
        metadata: v["metadata"].to_string(),
    };
    let Event::Meeting(MeetingEvent::ParticipantMuted(e)) = row.decode().unwrap() else {
        panic!("not a participant.muted");
    };
    assert_eq!(
        e,
        ParticipantMuted {
            meeting_id: meeting_id(),
            participant_id: pid(2),
            audio_muted: true,
            video_off: false,
            by: None,
            at: t0() + Duration::minutes(5),
        }
    );
}

/// Rows that cannot decode name their stream and version.
#[test]
fn undecodable_rows_name_the_row() {
    let mut row = recorded(0, &samples()[0]);
    row.event_type = "meeting.teleported".into();
    let err = row.decode().unwrap_err();
    assert!(err.to_string().contains("mtg_golden@1"), "{err}");
    let mut row = recorded(0, &samples()[0]);
    row.schema_version = 99;
    assert!(row.decode().unwrap_err().reason.contains("newer"));
    let mut row = recorded(0, &samples()[0]);
    row.payload = "{not json".into();
    assert_eq!(row.decode().unwrap_err().version, 1);
}

/// docs/events.md has a section for every event type, and each section's JSON payload decodes
/// as that type (so the catalogue cannot drift from the code).
#[test]
fn the_event_catalogue_document_matches_the_code() {
    let doc = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/events.md")).unwrap();
    for (n, event) in samples().iter().enumerate() {
        let ty = event.event_type();
        let heading = format!("### `{ty}`");
        let start = doc
            .find(&heading)
            .unwrap_or_else(|| panic!("docs/events.md lacks {heading}"));
        let section = &doc[start..];
        let json_start = section
            .find("```json\n")
            .unwrap_or_else(|| panic!("{ty}: no json block"))
            + 8;
        let json_end = json_start + section[json_start..].find("```").unwrap();
        let mut row = recorded(n, event);
        row.payload = section[json_start..json_end].to_owned();
        let decoded = row
            .decode()
            .unwrap_or_else(|e| panic!("docs/events.md example of {ty}: {e}"));
        assert_eq!(decoded.event_type(), ty);
        let webhook = zoom_core::webhook::catalogue::webhook_name(ty);
        let line = section.lines().nth(2).unwrap_or("");
        match webhook {
            Some(name) => assert!(
                line.contains(&format!("webhook `{name}`")),
                "{ty}: the doc must name webhook `{name}`"
            ),
            None => assert!(
                line.contains("not sent as a webhook"),
                "{ty}: the doc must say it is not sent"
            ),
        }
    }
}

/// An event of a type defined outside zoom-core decodes as `Event::External` with its version
/// and payload as stored, and encodes back to the same row; a type of one of zoom-core's own
/// namespaces that this code does not know is still refused.
#[test]
fn external_events_round_trip_and_core_namespaces_stay_closed() {
    use zoom_core::event::ExternalEvent;
    let mut row = recorded(0, &samples()[0]);
    row.event_type = "account.created".into();
    row.schema_version = 3;
    row.payload = r#"{"id":"acc_1","name":"Acme"}"#.into();
    let Event::External(e) = row.decode().unwrap() else {
        panic!("not external");
    };
    assert_eq!(e.event_type(), "account.created");
    assert_eq!(e.schema_version(), 3);
    assert_eq!(e.payload()["name"], "Acme");
    let again = NewEvent::encode(row.event_id.clone(), &Event::External(e), &Metadata::default(), t0()).unwrap();
    assert_eq!(
        (again.event_type.as_str(), again.schema_version),
        ("account.created", 3)
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&again.payload).unwrap(),
        serde_json::from_str::<serde_json::Value>(&row.payload).unwrap()
    );
    for refused in ["meeting.teleported", "webhook.exploded", "NoDot", "account.Created"] {
        row.event_type = refused.into();
        assert!(
            row.decode().unwrap_err().reason.contains("unknown event type"),
            "{refused}"
        );
    }
    row.event_type = "account.created".into();
    row.schema_version = 0;
    assert!(row.decode().is_err(), "schema version 0 is refused");
    assert!(ExternalEvent::new("meeting.scheduled", 1, serde_json::Value::Null).is_err());
    // `app.registered` moved to zoom-auth: zoom-core reads it as an external event now.
    assert!(ExternalEvent::new("app.registered", 1, serde_json::Value::Null).is_ok());
}
