#![allow(clippy::unwrap_used)]
//! Webhook bodies of the events a media server follows: `participant.admitted`,
//! `participant.muted` (current and upcast from schema 1) and `participant.role_changed`, each
//! with its catalogue name and exactly the `data` docs/events.md lists.

use chrono::Duration;
use serde_json::{Value, json};
use zoom_core::event::{Event, Metadata, NewEvent, RecordedEvent, StreamId};
use zoom_core::files::FileUrlSigner;
use zoom_core::id::{EventId, Name};
use zoom_core::meeting::event::{ParticipantAdmitted, ParticipantMuted, ParticipantRoleChanged};
use zoom_core::meeting::{MeetingEvent, Role};
use zoom_core::testing::kit::fixtures::pid;
use zoom_core::testing::kit::{meeting_id, t0};
use zoom_core::webhook::catalogue::{CATALOGUE, webhook_name};
use zoom_core::webhook_body::{body, body_text};

fn name(s: &str) -> Name {
    Name::parse(s).unwrap()
}

fn row(event: MeetingEvent) -> RecordedEvent {
    let new = NewEvent::encode(
        EventId::from_entropy([4; 16]),
        &Event::Meeting(event),
        &Metadata::default(),
        t0(),
    )
    .unwrap();
    RecordedEvent {
        event_id: new.event_id,
        stream_id: StreamId::new(meeting_id().as_str()).unwrap(),
        version: 7,
        position: 70,
        recorded_at: new.recorded_at,
        event_type: new.event_type,
        schema_version: new.schema_version,
        payload: new.payload,
        metadata: new.metadata,
    }
}

/// The body's name and `data`, after checking the envelope and that the sent text is the same.
fn sent(row: &RecordedEvent) -> (&'static str, Value) {
    let signer = FileUrlSigner::new("https://files.test/rec/", b"key".to_vec());
    let (name, value) = body(row, &signer, t0()).unwrap();
    let (same, text) = body_text(row, &signer, t0()).unwrap();
    assert_eq!(name, same);
    assert_eq!(serde_json::to_string(&value).unwrap(), text);
    assert_eq!(value["event"], name);
    assert_eq!(value["event_id"], row.event_id.as_str());
    assert_eq!(value["ts"], "2030-01-01T09:00:00.000Z");
    (name, value["data"].clone())
}

/// The three names are in the catalogue, so subscriptions can ask for them, and every meeting
/// event type now has a catalogue name (no stream skips over one).
#[test]
fn the_media_events_are_in_the_catalogue() {
    for n in ["participant.admitted", "participant.muted", "participant.role_changed"] {
        assert!(CATALOGUE.contains(&n), "{n}");
        assert_eq!(webhook_name(n), Some(n));
    }
    let meeting_types = zoom_core::event::EVENT_TYPES
        .iter()
        .filter(|t| t.starts_with("meeting.") || t.starts_with("participant.") || t.starts_with("recording."));
    for t in meeting_types {
        assert!(webhook_name(t).is_some(), "{t} has no catalogue name");
    }
}

/// `participant.muted`: `{audio_muted, by, meeting_id, participant_id, video_off}`.
#[test]
fn muted_body() {
    let (event, data) = sent(&row(MeetingEvent::ParticipantMuted(ParticipantMuted {
        meeting_id: meeting_id(),
        participant_id: pid(2),
        audio_muted: true,
        video_off: true,
        by: Some(name("alice")),
        at: t0() + Duration::minutes(5),
    })));
    assert_eq!(event, "participant.muted");
    assert_eq!(
        data,
        json!({
            "audio_muted": true,
            "by": "alice",
            "meeting_id": meeting_id().as_str(),
            "participant_id": pid(2).as_str(),
            "video_off": true,
        })
    );
}

/// A schema 1 `participant.muted` (stored before video could be turned off) is sent as an
/// audio mute by nobody named.
#[test]
fn muted_body_of_a_schema_1_event() {
    let mut old = row(MeetingEvent::ParticipantMuted(ParticipantMuted {
        meeting_id: meeting_id(),
        participant_id: pid(2),
        audio_muted: true,
        video_off: false,
        by: None,
        at: t0(),
    }));
    old.schema_version = 1;
    old.payload = json!({
        "at": "2030-01-01T09:05:00Z",
        "meeting_id": meeting_id().as_str(),
        "participant_id": pid(2).as_str(),
    })
    .to_string();
    let (_, data) = sent(&old);
    assert_eq!(
        data,
        json!({
            "audio_muted": true,
            "by": null,
            "meeting_id": meeting_id().as_str(),
            "participant_id": pid(2).as_str(),
            "video_off": false,
        })
    );
}

/// `participant.role_changed`: `{meeting_id, participant_id, role}`.
#[test]
fn role_changed_body() {
    let (event, data) = sent(&row(MeetingEvent::ParticipantRoleChanged(ParticipantRoleChanged {
        meeting_id: meeting_id(),
        participant_id: pid(2),
        role: Role::CoHost,
        at: t0(),
    })));
    assert_eq!(event, "participant.role_changed");
    assert_eq!(
        data,
        json!({"meeting_id": meeting_id().as_str(), "participant_id": pid(2).as_str(), "role": "co_host"})
    );
}

/// `participant.admitted`: who, by whom, when.
#[test]
fn admitted_body() {
    let (event, data) = sent(&row(MeetingEvent::ParticipantAdmitted(ParticipantAdmitted {
        meeting_id: meeting_id(),
        participant_id: pid(2),
        user_id: None,
        display_name: "Guest Bob".into(),
        by: name("app_1"),
        at: t0() + Duration::minutes(5),
    })));
    assert_eq!(event, "participant.admitted");
    assert_eq!(
        data,
        json!({
            "admitted_at": "2030-01-01T09:05:00Z",
            "by": "app_1",
            "display_name": "Guest Bob",
            "meeting_id": meeting_id().as_str(),
            "participant_id": pid(2).as_str(),
            "user_id": null,
        })
    );
}
