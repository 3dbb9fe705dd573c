//! Participants, recordings and the media seam through the router: every success and each
//! documented error.
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::json;

/// A LIVE meeting with a waiting room: (meeting, host participant, bob waiting).
async fn with_waiting_bob(app: &TestApp) -> (String, String, String) {
    let id = schedule(app, "alice", json!({})).await;
    let host = join(app, &id, "alice", json!({})).await;
    let bob = join(app, &id, "bob", json!({"display_name": "Bob"})).await;
    (id, host, bob)
}

/// The seam: joins answer 201 with role and status; reused and bad tokens are 401.
#[tokio::test]
async fn media_joins_redeem_once() {
    let app = app().await;
    let id = schedule(&app, "alice", json!({})).await;
    let t = post(format!("/v1/meetings/{id}/joinToken"))
        .token("alice")
        .json(json!({}))
        .send(&app)
        .await;
    let jwt = t.body["jwt"].as_str().unwrap();
    let a = post("/v1/media/joins")
        .token("media")
        .json(json!({"token": jwt}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    assert_eq!(a.body["meeting_id"], id.as_str());
    assert_eq!(a.body["role"], "host");
    assert_eq!(a.body["status"], "joined");
    assert!(a.body["participant_id"].as_str().unwrap().starts_with("par_"));
    let a = post("/v1/media/joins")
        .token("media")
        .json(json!({"token": jwt}))
        .send(&app)
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::UNAUTHORIZED, "token_reused"));
    let a = post("/v1/media/joins")
        .token("media")
        .json(json!({"token": "a.b.c"}))
        .send(&app)
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::UNAUTHORIZED, "invalid_token"));
    let a = post("/v1/media/joins")
        .token("reader")
        .json(json!({"token": jwt}))
        .send(&app)
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "insufficient_scope"));
    let a = post("/v1/media/joins").token("media").json(json!({})).send(&app).await;
    assert_eq!((a.status, a.field()), (StatusCode::BAD_REQUEST, "token"));
    let a = post("/v1/media/joins")
        .token("media")
        .raw(b"token=x", Some("application/x-www-form-urlencoded"))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

/// Attendees behind the waiting room wait; the host admits them (200 joined); admitting again is 409.
#[tokio::test]
async fn admit_from_the_waiting_room() {
    let app = app().await;
    let (id, _, bob) = with_waiting_bob(&app).await;
    let a = get(format!("/v1/meetings/{id}/participants?status=waiting"))
        .token("alice")
        .send(&app)
        .await;
    assert_eq!(a.body["participants"][0]["participant_id"], bob.as_str());
    assert_eq!(a.body["participants"][0]["status"], "waiting");
    let a = post(format!("/v1/meetings/{id}/participants/{bob}:admit"))
        .token("alice")
        .send(&app)
        .await;
    assert_eq!((a.status, a.body["status"].as_str()), (StatusCode::OK, Some("joined")));
    assert_eq!(a.body["audio_muted"], true);
    // Admitting someone already in changes nothing.
    let a = post(format!("/v1/meetings/{id}/participants/{bob}:admit"))
        .token("alice")
        .json(json!({}))
        .send(&app)
        .await;
    assert_eq!((a.status, a.body["status"].as_str()), (StatusCode::OK, Some("joined")));
    let a = post(format!("/v1/meetings/{id}/participants/par_nobody:admit"))
        .token("alice")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = post(format!("/v1/meetings/{id}/participants/{bob}:wave"))
        .token("alice")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = post(format!("/v1/meetings/{id}/participants/{bob}"))
        .token("alice")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    let a = post(format!("/v1/meetings/{id}/participants/{bob}:admit"))
        .token("bob")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
}

/// Lists of participants: statuses filter, pages, and bad filters are 400.
#[tokio::test]
async fn participant_lists() {
    let app = app().await;
    let (id, host, bob) = with_waiting_bob(&app).await;
    let a = get(format!("/v1/meetings/{id}/participants"))
        .token("reader")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["participants"].as_array().unwrap().len(), 2);
    let a = get(format!("/v1/meetings/{id}/participants?status=joined"))
        .token("alice")
        .send(&app)
        .await;
    assert_eq!(a.body["participants"][0]["participant_id"], host.as_str());
    assert_eq!(a.body["participants"].as_array().unwrap().len(), 1);
    let a = get(format!("/v1/meetings/{id}/participants?page_size=1"))
        .token("alice")
        .send(&app)
        .await;
    let cursor = a.body["next_cursor"].as_str().unwrap().to_owned();
    let a = get(format!("/v1/meetings/{id}/participants?page_size=1&cursor={cursor}"))
        .token("alice")
        .send(&app)
        .await;
    assert_eq!(a.body["participants"][0]["participant_id"], bob.as_str());
    let a = get(format!("/v1/meetings/{id}/participants?status=gone"))
        .token("alice")
        .send(&app)
        .await;
    assert_eq!((a.status, a.field()), (StatusCode::BAD_REQUEST, "status"));
    let a = get(format!("/v1/meetings/{id}/participants?page_size=500"))
        .token("alice")
        .send(&app)
        .await;
    assert_eq!((a.status, a.field()), (StatusCode::BAD_REQUEST, "page_size"));
    let a = get("/v1/meetings/mtg_none/participants")
        .token("alice")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = get(format!("/v1/meetings/{id}/participants"))
        .token("media")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
}

/// Role changes: co_host works; host is refused 400; unknown participant 404; left 409.
#[tokio::test]
async fn role_changes() {
    let app = app().await;
    let (id, host, bob) = with_waiting_bob(&app).await;
    post(format!("/v1/meetings/{id}/participants/{bob}:admit"))
        .token("alice")
        .send(&app)
        .await;
    let a = patch(format!("/v1/meetings/{id}/participants/{bob}"))
        .token("alice")
        .json(json!({"role": "co_host"}))
        .send(&app)
        .await;
    assert_eq!((a.status, a.body["role"].as_str()), (StatusCode::OK, Some("co_host")));
    let a = patch(format!("/v1/meetings/{id}/participants/{bob}"))
        .token("alice")
        .json(json!({"role": "host"}))
        .send(&app)
        .await;
    assert_eq!((a.status, a.field()), (StatusCode::BAD_REQUEST, "role"));
    let a = patch(format!("/v1/meetings/{id}/participants/{bob}"))
        .token("alice")
        .json(json!({"role": "king"}))
        .send(&app)
        .await;
    assert_eq!((a.status, a.field()), (StatusCode::BAD_REQUEST, "role"));
    let a = patch(format!("/v1/meetings/{id}/participants/{host}"))
        .token("alice")
        .json(json!({"role": "attendee"}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    let a = patch(format!("/v1/meetings/{id}/participants/par_x"))
        .token("alice")
        .json(json!({"role": "attendee"}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = patch(format!("/v1/meetings/{id}/participants/{bob}"))
        .token("bob")
        .json(json!({"role": "attendee"}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = patch(format!("/v1/meetings/{id}/participants/{bob}"))
        .token("alice")
        .raw(b"role=x", Some("text/plain"))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    post("/v1/media/leaves")
        .token("media")
        .json(json!({"meeting_id": id, "participant_id": bob}))
        .send(&app)
        .await;
    let a = patch(format!("/v1/meetings/{id}/participants/{bob}"))
        .token("alice")
        .json(json!({"role": "attendee"}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT);
}

/// Mute: 200 muted; unknown participant 404; the meeting's host check applies.
#[tokio::test]
async fn mute() {
    let app = app().await;
    let id = schedule(
        &app,
        "alice",
        json!({"waiting_room": false, "settings": {"mute_upon_entry": false, "allow_join_before_host": true}}),
    )
    .await;
    let bob = join(&app, &id, "bob", json!({"display_name": "Bob"})).await;
    let a = get(format!("/v1/meetings/{id}/participants"))
        .token("alice")
        .send(&app)
        .await;
    assert_eq!(a.body["participants"][0]["audio_muted"], false);
    let a = post(format!("/v1/meetings/{id}/participants/{bob}/mute"))
        .token("alice")
        .send(&app)
        .await;
    assert_eq!(
        (a.status, a.body["audio_muted"].as_bool()),
        (StatusCode::OK, Some(true))
    );
    let a = post(format!("/v1/meetings/{id}/participants/par_x/mute"))
        .token("alice")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = post(format!("/v1/meetings/{id}/participants/{bob}/mute"))
        .token("bob")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = post(format!("/v1/meetings/{id}/participants/{bob}/mute"))
        .token("alice")
        .json(json!({"all": true}))
        .send(&app)
        .await;
    assert_eq!(a.code(), "unknown_field");
    post("/v1/media/leaves")
        .token("media")
        .json(json!({"meeting_id": id, "participant_id": bob}))
        .send(&app)
        .await;
    let a = post(format!("/v1/meetings/{id}/participants/{bob}/mute"))
        .token("alice")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT);
}

/// Remove: 204, status left with reason removed, and the user gets no new join token.
#[tokio::test]
async fn remove() {
    let app = app().await;
    let (id, _, bob) = with_waiting_bob(&app).await;
    let a = delete(format!("/v1/meetings/{id}/participants/{bob}"))
        .token("alice")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let a = get(format!("/v1/meetings/{id}/participants?status=left"))
        .token("alice")
        .send(&app)
        .await;
    assert_eq!(a.body["participants"][0]["left_reason"], "removed");
    let a = post(format!("/v1/meetings/{id}/joinToken"))
        .token("bob")
        .json(json!({"display_name": "Bob"}))
        .send(&app)
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "participant_removed"));
    let a = delete(format!("/v1/meetings/{id}/participants/par_x"))
        .token("alice")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = delete(format!("/v1/meetings/{id}/participants/{bob}"))
        .token("bob")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
}

/// Leaves: 200; a duplicate leave is a 200 no-op; the last leave ends the meeting.
#[tokio::test]
async fn leaves() {
    let app = app().await;
    let (id, host) = live(&app).await;
    let body = json!({"meeting_id": id, "participant_id": host, "reason": "disconnected"});
    let a = post("/v1/media/leaves")
        .token("media")
        .json(body.clone())
        .send(&app)
        .await;
    assert_eq!((a.status, a.body["status"].as_str()), (StatusCode::OK, Some("left")));
    let a = post("/v1/media/leaves").token("media").json(body).send(&app).await;
    assert_eq!(a.status, StatusCode::OK);
    let m = get(format!("/v1/meetings/{id}")).token("alice").send(&app).await;
    assert_eq!(m.body["state"], "ENDED");
    let a = post("/v1/media/leaves")
        .token("media")
        .json(json!({"meeting_id": id, "participant_id": "par_x"}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = post("/v1/media/leaves")
        .token("media")
        .json(json!({"meeting_id": "mtg_x", "participant_id": host}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = post("/v1/media/leaves")
        .token("media")
        .json(json!({"meeting_id": "bad", "participant_id": host}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = post("/v1/media/leaves")
        .token("media")
        .json(json!({"meeting_id": id}))
        .send(&app)
        .await;
    assert_eq!((a.status, a.field()), (StatusCode::BAD_REQUEST, "participant_id"));
    let a = post("/v1/media/leaves")
        .token("reader")
        .json(json!({"meeting_id": id, "participant_id": host}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = post("/v1/media/leaves")
        .token("media")
        .raw(b"x", Some("text/plain"))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

/// Recordings: start 202, a second start 409, stop 202 processing, a second stop 409, then
/// complete at the seam and read with signed URLs.
#[tokio::test]
async fn recording_lifecycle() {
    let app = app().await;
    let sched = schedule(&app, "alice", json!({})).await;
    let a = post(format!("/v1/meetings/{sched}/recordings:start"))
        .token("alice")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    let (id, _) = live(&app).await;
    let a = post(format!("/v1/meetings/{id}/recordings:start"))
        .token("alice")
        .json(json!({}))
        .send(&app)
        .await;
    assert_eq!(
        (a.status, a.body["state"].as_str()),
        (StatusCode::ACCEPTED, Some("recording"))
    );
    let rec = a.body["recording_id"].as_str().unwrap().to_owned();
    let a = post(format!("/v1/meetings/{id}/recordings:start"))
        .token("alice")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    let a = post(format!("/v1/meetings/{id}/recordings:start"))
        .token("reader")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = post(format!("/v1/meetings/{id}/recordings:pause"))
        .token("alice")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = post(format!("/v1/meetings/{id}/recordings:stop"))
        .token("alice")
        .send(&app)
        .await;
    assert_eq!(
        (a.status, a.body["state"].as_str()),
        (StatusCode::ACCEPTED, Some("processing"))
    );
    assert_eq!(a.body["recording_id"], rec.as_str());
    let a = post(format!("/v1/meetings/{id}/recordings:stop"))
        .token("alice")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    let a = post("/v1/meetings/mtg_none/recordings:stop")
        .token("alice")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);

    let done = json!({"duration_seconds": 61, "files": [
        {"type": "video", "storage_key": "acme/r1.mp4", "size_bytes": 1000},
        {"type": "transcript", "storage_key": "acme/r1.vtt", "size_bytes": 10}]});
    let a = post(format!("/v1/media/recordings/{rec}:complete"))
        .token("reader")
        .json(done.clone())
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    let a = post(format!("/v1/media/recordings/{rec}:complete"))
        .token("media")
        .json(json!({"duration_seconds": 1, "files": [{"type": "hologram", "storage_key": "k", "size_bytes": 1}]}))
        .send(&app)
        .await;
    assert_eq!((a.status, a.field()), (StatusCode::BAD_REQUEST, "files[0].type"));
    let a = post(format!("/v1/media/recordings/{rec}:complete"))
        .token("media")
        .json(done.clone())
        .send(&app)
        .await;
    assert_eq!(
        (a.status, a.body["state"].as_str()),
        (StatusCode::OK, Some("completed"))
    );
    let a = post(format!("/v1/media/recordings/{rec}:complete"))
        .token("media")
        .json(done.clone())
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    let a = post(format!("/v1/media/recordings/{rec}:fail"))
        .token("media")
        .json(json!({"error_code": "x", "message": "y"}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    let a = post("/v1/media/recordings/rec_none:complete")
        .token("media")
        .json(done.clone())
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = post(format!("/v1/media/recordings/{rec}:rewind"))
        .token("media")
        .json(json!({}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    // The recording itself is no resource of the seam's: only its actions are.
    let a = post(format!("/v1/media/recordings/{rec}"))
        .token("media")
        .json(json!({}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = get(format!("/v1/media/recordings/{rec}:complete"))
        .token("media")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(a.headers["allow"], "POST");

    let a = get(format!("/v1/recordings/{rec}")).token("alice").send(&app).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["meeting_id"], id.as_str());
    assert_eq!(a.body["duration_seconds"], 61);
    let file = &a.body["files"][0];
    assert_eq!(file["type"], "video");
    assert!(file["url"].as_str().unwrap().starts_with("https://"));
    assert!(file["url"].as_str().unwrap().contains("signature="));
    assert!(file["expires_at"].is_string());
    let a = get(format!("/v1/recordings/{rec}")).token("foreign").send(&app).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = get("/v1/recordings/rec_none").token("alice").send(&app).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = get("/v1/recordings/whatever").token("alice").send(&app).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = get(format!("/v1/recordings/{rec}")).token("reader").send(&app).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);

    let a = get(format!("/v1/meetings/{id}/recordings"))
        .token("alice")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["recordings"][0]["recording_id"], rec.as_str());
    assert!(a.body["next_cursor"].is_null());
    let a = get(format!("/v1/meetings/{id}/recordings?page_size=0"))
        .token("alice")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    let a = get("/v1/meetings/mtg_none/recordings").token("alice").send(&app).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = get(format!("/v1/meetings/{id}/recordings"))
        .token("reader")
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
}

/// A failed recording: `:fail` answers 200 failed with the pipeline's code.
#[tokio::test]
async fn recording_failure() {
    let app = app().await;
    let (id, _) = live(&app).await;
    let rec = post(format!("/v1/meetings/{id}/recordings:start"))
        .token("admin")
        .send(&app)
        .await
        .body["recording_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let fail = json!({"error_code": "encoder_crash", "message": "exit 139"});
    let a = post(format!("/v1/media/recordings/{rec}:fail"))
        .token("media")
        .json(fail.clone())
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::CONFLICT, "still recording, not processing");
    post(format!("/v1/meetings/{id}:end")).token("alice").send(&app).await;
    let a = post(format!("/v1/media/recordings/{rec}:fail"))
        .token("media")
        .json(fail)
        .send(&app)
        .await;
    assert_eq!((a.status, a.body["state"].as_str()), (StatusCode::OK, Some("failed")));
    assert_eq!(a.body["error_code"], "encoder_crash");
    let a = post(format!("/v1/media/recordings/{rec}:fail"))
        .token("media")
        .json(json!({"error_code": "x"}))
        .send(&app)
        .await;
    assert_eq!((a.status, a.field()), (StatusCode::BAD_REQUEST, "message"));
}
