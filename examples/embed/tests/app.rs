//! The embedded app serves its own route and the meeting API side by side.
#![allow(clippy::unwrap_used)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

/// A meeting scheduled with the demo key comes back 201; the app's own route still answers.
#[tokio::test]
async fn schedules_a_meeting_through_the_embedded_router() {
    let app = embed_example::app(embed_example::ApiKeys::demo()).await.unwrap();
    let request = Request::post("/v1/meetings")
        .header("authorization", "Bearer demo-key")
        .header("content-type", "application/json")
        .body(Body::from(
            r#"{"topic":"Kickoff","start_time":"2030-01-01T09:00:00Z","duration_minutes":30,"host_id":"ann"}"#,
        ))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: serde_json::Value =
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["host_id"], "ann");
    assert_eq!(body["state"], "SCHEDULED");

    let denied = app
        .clone()
        .oneshot(
            Request::get("/v1/meetings")
                .header("authorization", "Bearer wrong")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(denied.status(), StatusCode::UNAUTHORIZED);
    let own = app
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(own.status(), StatusCode::OK);
}
