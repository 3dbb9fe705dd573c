#![allow(clippy::unwrap_used)]
//! Replays the committed cargo-fuzz seeds (`fuzz/seeds/<target>/`) through the fuzz target
//! bodies on stable, so CI runs every seed and every crash ever found.

use std::path::PathBuf;

use chrono::{TimeZone, Utc};
use zoom_core::signature::{WebhookSecret, sign_request};
use zoom_core::testing::fuzz;
use zoom_core::token::{JoinClaims, mint_join_token, verify_join_token};

fn corpus(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(target)
}

/// Runs every seed of a target; returns how many there were.
fn replay(target: &str, body: fn(&[u8])) -> usize {
    let mut n = 0;
    for entry in std::fs::read_dir(corpus(target)).unwrap() {
        let path = entry.unwrap().path();
        body(&std::fs::read(&path).unwrap());
        n += 1;
    }
    n
}

fn join(parts: &[&[u8]]) -> Vec<u8> {
    parts.join(&0u8)
}

fn valid_token() -> String {
    let iat = Utc.with_ymd_and_hms(2030, 1, 1, 9, 0, 0).unwrap().timestamp();
    let claims = JoinClaims {
        iss: "https://zoom.example".into(),
        aud: "sfu".into(),
        sub: "alice".into(),
        iat,
        nbf: iat,
        exp: iat + 300,
        jti: "jti_040g2081040g2081040g208104".into(),
        mid: "mtg_040g2081040g2081040g208104".into(),
        pid: "par_040g2081040g2081040g208104".into(),
        role: "host".into(),
        name: "Alice".into(),
    };
    mint_join_token(&fuzz::fuzz_ring(), &claims).unwrap()
}

/// Writes the seed corpora (only with `UPDATE_FUZZ_SEEDS=1`).
fn write_seeds() {
    let write = |target: &str, name: &str, bytes: &[u8]| {
        std::fs::create_dir_all(corpus(target)).unwrap();
        std::fs::write(corpus(target).join(name), bytes).unwrap();
    };
    let golden = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    for entry in std::fs::read_dir(golden).unwrap() {
        let path = entry.unwrap().path();
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let seed = join(&[
            v["type"].as_str().unwrap_or("meeting.scheduled").as_bytes(),
            v["schema_version"].as_u64().unwrap_or(1).to_string().as_bytes(),
            v["payload"].to_string().as_bytes(),
            v.get("metadata").map_or("{}".to_owned(), |m| m.to_string()).as_bytes(),
        ]);
        write("event_decode", path.file_stem().unwrap().to_str().unwrap(), &seed);
    }
    write(
        "event_decode",
        "future-schema",
        &join(&[b"meeting.started", b"99", b"{}", b"{}"]),
    );
    write(
        "event_decode",
        "bad-json",
        &join(&[b"meeting.ended", b"1", b"{\"meeting_id\":", b"{}"]),
    );

    let body = br#"{"event":"meeting.started","event_id":"evt_1","ts":"2023-11-14T22:13:20Z","data":{}}"#;
    let ts = 1_700_000_000i64;
    let one = sign_request(&[WebhookSecret::from_bytes([7; 32])], "msg_fuzz", ts, body);
    let rotation = sign_request(
        &[WebhookSecret::from_bytes([8; 32]), WebhookSecret::from_bytes([7; 32])],
        "msg_fuzz",
        ts,
        body,
    );
    for (name, h) in [("signed", &one), ("rotation", &rotation)] {
        let seed = join(&[
            h.x_zoom_timestamp().as_bytes(),
            h.x_zoom_signature().as_bytes(),
            h.webhook_timestamp().as_bytes(),
            h.webhook_signature().as_bytes(),
            body,
        ]);
        write("signature_verify", name, &seed);
    }
    write(
        "signature_verify",
        "malformed",
        &join(&[b"17e8", b"t=,v1=zz,v1=", b"-1", b"v1,!!! v2,abc", b""]),
    );

    let token = valid_token();
    write("join_token_verify", "valid", token.as_bytes());
    let mut parts: Vec<&str> = token.split('.').collect();
    let none_header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0";
    parts[0] = none_header;
    write("join_token_verify", "alg-none", parts.join(".").as_bytes());
    write("join_token_verify", "garbage", b"a.b.c.d");
}

/// Every committed seed of every target runs through its fuzz body without a panic.
#[test]
fn corpora_replay_without_panics() {
    if std::env::var_os("UPDATE_FUZZ_SEEDS").is_some() {
        write_seeds();
    }
    assert!(
        replay("event_decode", fuzz::event_decode) >= 20,
        "a seed per event type"
    );
    assert!(replay("signature_verify", fuzz::signature_verify) >= 3);
    assert!(replay("join_token_verify", fuzz::join_token_verify) >= 3);
}

/// The seeds reach the interesting paths: the valid ones verify, so the fuzzer mutates from there.
#[test]
fn the_valid_seeds_verify() {
    let token = std::fs::read_to_string(corpus("join_token_verify").join("valid")).unwrap();
    let now = Utc.with_ymd_and_hms(2030, 1, 1, 9, 0, 0).unwrap().timestamp();
    verify_join_token(&fuzz::fuzz_ring(), &token, "https://zoom.example", "sfu", now).unwrap();
    let seed = std::fs::read(corpus("signature_verify").join("rotation")).unwrap();
    let p: Vec<String> = seed
        .splitn(5, |b| *b == 0)
        .map(|p| String::from_utf8_lossy(p).into())
        .collect();
    let verifier = zoom_core::signature::Verifier::new(WebhookSecret::from_bytes([7; 32]));
    verifier
        .verify_zoom(&p[0], &p[1], p[4].as_bytes(), 1_700_000_000)
        .unwrap();
    verifier
        .verify_standard("msg_fuzz", &p[2], &p[3], p[4].as_bytes(), 1_700_000_000)
        .unwrap();
}
