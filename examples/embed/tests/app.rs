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

/// The other mounting of docs/embedding.md: nested under a prefix, the API answers there (and
/// its own 404 problem for unknown paths under the prefix), and the app's routes stay its own.
#[tokio::test]
async fn the_router_nests_under_a_prefix() {
    let meetings = zoom_http::router(
        std::sync::Arc::new(
            zoom_core::Engine::open(
                std::sync::Arc::new(zoom_store_memory::MemoryStore::new()),
                std::sync::Arc::new(zoom_core::clock::SystemClock),
                std::sync::Arc::new(zoom_core::clock::SystemEntropy),
                zoom_core::EngineConfig::new(zoom_core::files::FileUrlSigner::new(
                    "https://files.invalid/recordings",
                    b"embed test file-url key".to_vec(),
                )),
            )
            .await
            .unwrap(),
        ),
        std::sync::Arc::new(embed_example::ApiKeys::demo()),
        zoom_http::ApiConfig::default(),
    );
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "mine" }))
        .nest("/meetings-api", meetings);
    let get = |path: &str| Request::get(path).body(Body::empty()).unwrap();
    let health = app.clone().oneshot(get("/meetings-api/healthz")).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let listed = app
        .clone()
        .oneshot(
            Request::get("/meetings-api/v1/meetings")
                .header("authorization", "Bearer demo-key")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    let unknown = app.clone().oneshot(get("/meetings-api/nope")).await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(unknown.headers()["content-type"], "application/problem+json");
    let own = app.oneshot(get("/")).await.unwrap();
    assert_eq!(own.status(), StatusCode::OK);
}
