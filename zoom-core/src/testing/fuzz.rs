//! The bodies of the cargo-fuzz targets in `fuzz/`, kept here so that an ordinary test on stable
//! replays the committed corpora through exactly the same code (`zoom-core/tests/fuzz_corpus.rs`).
//!
//! Each function takes arbitrary bytes and must return without panicking; the assertions inside
//! are properties that hold for every input.

use chrono::{TimeZone, Utc};

use super::kit::{fixtures, t0};
use crate::event::{Event, RecordedEvent, StreamId};
use crate::id::EventId;
use crate::meeting;
use crate::signature::{self, Verifier, WebhookSecret};
use crate::token::{self, KeyRing, SigningKey};

/// Splits `data` into at most `n` parts at NUL bytes, lossily as UTF-8.
fn parts(data: &[u8], n: usize) -> Vec<String> {
    data.splitn(n, |b| *b == 0)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect()
}

/// Event decoding plus fold: `type \0 schema_version \0 payload \0 metadata`. A row either decodes
/// or names itself in the error; a decoded meeting event applies to a live meeting and to nothing.
pub fn event_decode(data: &[u8]) {
    let p = parts(data, 4);
    let field = |i: usize| p.get(i).cloned().unwrap_or_default();
    let row = RecordedEvent {
        event_id: EventId::from_entropy([0; 16]),
        stream_id: StreamId::new("mtg_fuzz").unwrap_or_else(|e| panic!("fixed stream id: {e}")),
        version: 7,
        position: 9,
        recorded_at: t0(),
        event_type: field(0),
        schema_version: field(1).trim().parse().unwrap_or(1),
        payload: field(2),
        metadata: if p.len() > 3 { field(3) } else { "{}".into() },
    };
    match row.decode() {
        Ok(Event::Meeting(event)) => {
            let mut live = meeting::fold([(1, &fixtures::scheduled()), (2, &fixtures::started())]);
            meeting::apply(&mut live, &event, 3);
            let mut empty = None;
            meeting::apply(&mut empty, &event, 1);
        }
        Ok(_) => {}
        Err(e) => assert!(e.to_string().contains("mtg_fuzz@7"), "the error names the row: {e}"),
    }
}

/// The signature-header parsers and the verifier: `zoom-ts \0 zoom-sig \0 std-ts \0 std-sig \0 body`.
/// Nothing verifies except a signature made with the secret.
pub fn signature_verify(data: &[u8]) {
    let p = parts(data, 5);
    let field = |i: usize| p.get(i).cloned().unwrap_or_default();
    let _ = signature::parse_zoom_signature(&field(1));
    let _ = signature::parse_standard_signature(&field(3));
    let _ = WebhookSecret::parse(&field(0));
    let verifier = Verifier::new(WebhookSecret::from_bytes([7; 32]));
    let body = field(4);
    let now = 1_700_000_000;
    let zoom = verifier.verify_zoom(&field(0), &field(1), body.as_bytes(), now);
    let standard = verifier.verify_standard("msg_fuzz", &field(2), &field(3), body.as_bytes(), now);
    // A forged signature cannot verify: the only valid tags are the ones the secret makes.
    // (Hex is compared as bytes, so an upper-case copy of the right tag also verifies.)
    if zoom.is_ok() {
        let ts: i64 = field(0).parse().unwrap_or_default();
        let signed = signature::sign_request(&[WebhookSecret::from_bytes([7; 32])], "msg_fuzz", ts, body.as_bytes());
        let expected = signature::parse_zoom_signature(signed.x_zoom_signature())
            .map(|h| h.signatures().to_vec())
            .unwrap_or_default();
        let given = signature::parse_zoom_signature(&field(1))
            .map(|h| h.signatures().to_vec())
            .unwrap_or_default();
        assert!(
            expected.iter().all(|tag| given.contains(tag)),
            "only the secret's own tag verifies"
        );
    }
    let _ = standard;
}

/// Join-token verification of arbitrary text: never a panic, and whatever verifies carries the
/// pinned issuer and audience.
pub fn join_token_verify(data: &[u8]) {
    let jwt = String::from_utf8_lossy(data);
    let ring = fuzz_ring();
    let now = Utc
        .with_ymd_and_hms(2030, 1, 1, 9, 0, 0)
        .single()
        .map_or(0, |t| t.timestamp());
    if let Ok(claims) = token::verify_join_token(&ring, &jwt, "https://zoom.example", "sfu", now) {
        assert_eq!(claims.iss, "https://zoom.example");
        assert_eq!(claims.aud, "sfu");
    }
}

/// The fixed key ring the join-token target verifies with; `fuzz/` seeds are minted with it.
pub fn fuzz_ring() -> KeyRing {
    KeyRing::new(SigningKey::ed25519("fuzz", [3; 32], t0()))
}
