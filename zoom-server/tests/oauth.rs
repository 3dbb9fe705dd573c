#![allow(clippy::unwrap_used)]
//! `POST /oauth/token` and the bootstrap, through the Router (no socket).

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine as _;
use clap::Parser;
use serde_json::Value;
use tower::ServiceExt;
use zoom_core::clock::{SystemClock, SystemEntropy};
use zoom_core::store::Store;
use zoom_server::config::{Args, Bootstrap, StoreSpec};
use zoom_server::{BootstrapOutcome, Server};

async fn server_on(store: Arc<dyn Store>, bootstrap: &Bootstrap) -> Server {
    let args = Args::try_parse_from([
        "zoom-server",
        "--store",
        "memory",
        "--public-url",
        "https://zoom.example",
    ])
    .unwrap();
    Server::start_with(
        &args,
        bootstrap,
        StoreSpec::Memory,
        store,
        Arc::new(SystemClock),
        Arc::new(SystemEntropy),
    )
    .await
    .unwrap()
}

fn env_bootstrap() -> Bootstrap {
    Bootstrap::from_values(Some("admin".into()), Some("pw-123".into()), Some("acme".into())).unwrap()
}

async fn post_token(server: &Server, body: &str, basic: Option<(&str, &str)>) -> (StatusCode, Value) {
    let mut req = Request::post("/oauth/token").header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some((id, secret)) = basic {
        let b = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        req = req.header(header::AUTHORIZATION, format!("Basic {b}"));
    }
    let resp = server
        .router()
        .oneshot(req.body(Body::from(body.to_owned())).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

async fn get(server: &Server, path: &str, token: &str) -> StatusCode {
    let req = Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    server.router().oneshot(req).await.unwrap().status()
}

/// Credentials in the body or by HTTP Basic both grant a bearer token with every scope.
#[tokio::test]
async fn client_credentials_grant_a_token() {
    let server = server_on(Arc::new(zoom_store_memory::MemoryStore::new()), &env_bootstrap()).await;
    let (status, body) = post_token(
        &server,
        "grant_type=client_credentials&client_id=admin&client_secret=pw-123",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 3600);
    assert!(body["scope"].as_str().unwrap().contains("meeting.write"));
    let (status, body) = post_token(&server, "grant_type=client_credentials", Some(("admin", "pw-123"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(get(&server, "/v1/meetings", token).await, StatusCode::OK);
}

/// A narrowed token gets only what it asked for: a missing scope is 403.
#[tokio::test]
async fn scope_narrows_the_token() {
    let server = server_on(Arc::new(zoom_store_memory::MemoryStore::new()), &env_bootstrap()).await;
    let (status, body) = post_token(
        &server,
        "grant_type=client_credentials&scope=webhook.read",
        Some(("admin", "pw-123")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "webhook.read");
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(get(&server, "/v1/meetings", token).await, StatusCode::FORBIDDEN);
    assert_eq!(get(&server, "/v1/webhooks", token).await, StatusCode::OK);
    let (status, body) = post_token(
        &server,
        "grant_type=client_credentials&scope=teleport",
        Some(("admin", "pw-123")),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_scope"))
    );
}

/// A request body, its Basic credentials, and the status and `error` it must get.
type Case<'a> = (&'a str, Option<(&'a str, &'a str)>, StatusCode, &'a str);

/// RFC 6749 errors: 401 invalid_client for bad credentials, 400 for the rest.
#[tokio::test]
async fn oauth_errors_follow_rfc_6749() {
    let server = server_on(Arc::new(zoom_store_memory::MemoryStore::new()), &env_bootstrap()).await;
    let cases: [Case; 6] = [
        (
            "grant_type=client_credentials",
            Some(("admin", "wrong")),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            "grant_type=client_credentials",
            Some(("nobody", "pw-123")),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            "grant_type=client_credentials",
            None,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            "grant_type=password",
            Some(("admin", "pw-123")),
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ),
        (
            "client_id=admin&client_secret=pw-123",
            None,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            "grant_type=client_credentials&grant_type=client_credentials",
            Some(("admin", "pw-123")),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
    ];
    for (body, basic, status, error) in cases {
        let (got, json) = post_token(&server, body, basic).await;
        assert_eq!((got, json["error"].as_str()), (status, Some(error)), "{body}");
        assert!(json["error_description"].is_string());
    }
    // JSON instead of a form is a 400 too.
    let req = Request::post("/oauth/token")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{}"))
        .unwrap();
    assert_eq!(
        server.router().oneshot(req).await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
}

/// A bad or foreign bearer token is 401 on the API.
#[tokio::test]
async fn bad_bearer_tokens_are_401() {
    let server = server_on(Arc::new(zoom_store_memory::MemoryStore::new()), &env_bootstrap()).await;
    assert_eq!(
        get(&server, "/v1/meetings", "not-a-jwt").await,
        StatusCode::UNAUTHORIZED
    );
    let other = server_on(Arc::new(zoom_store_memory::MemoryStore::new()), &env_bootstrap()).await;
    let (_, body) = post_token(&other, "grant_type=client_credentials", Some(("admin", "pw-123"))).await;
    let foreign = body["access_token"].as_str().unwrap();
    assert_eq!(
        get(&server, "/v1/meetings", foreign).await,
        StatusCode::UNAUTHORIZED,
        "signed by another server's key"
    );
}

/// An empty store with no credentials gets a fresh admin app, once; its secret works.
#[tokio::test]
async fn an_empty_store_bootstraps_an_admin_app_once() {
    let store: Arc<dyn Store> = Arc::new(zoom_store_memory::MemoryStore::new());
    let none = Bootstrap::from_values(None, None, None).unwrap();
    let first = server_on(store.clone(), &none).await;
    let BootstrapOutcome::Created {
        client_id,
        client_secret,
    } = first.bootstrap.clone()
    else {
        panic!("expected a created app, got {:?}", first.bootstrap);
    };
    let (status, _) = post_token(
        &first,
        "grant_type=client_credentials",
        Some((&client_id, &client_secret)),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // A restart on the same store creates nothing, and the old token still verifies.
    let (_, body) = post_token(
        &first,
        "grant_type=client_credentials",
        Some((&client_id, &client_secret)),
    )
    .await;
    let token = body["access_token"].as_str().unwrap().to_owned();
    let second = server_on(store, &none).await;
    assert_eq!(second.bootstrap, BootstrapOutcome::Existing);
    assert_eq!(
        get(&second, "/v1/meetings", &token).await,
        StatusCode::OK,
        "access keys persist"
    );
}

/// The token endpoint sits behind zoom-http's layers: its answers carry `x-request-id`, and a
/// wrong method on it is a 405 problem with `Allow`.
#[tokio::test]
async fn token_answers_carry_request_ids_and_wrong_methods_are_problems() {
    let server = server_on(Arc::new(zoom_store_memory::MemoryStore::new()), &env_bootstrap()).await;
    let req = Request::post("/oauth/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(
            "grant_type=client_credentials&client_id=admin&client_secret=pw-123",
        ))
        .unwrap();
    let resp = server.router().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers().contains_key("x-request-id"));

    let resp = server
        .router()
        .oneshot(Request::get("/oauth/token").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(resp.headers()[header::ALLOW], "POST");
    assert_eq!(resp.headers()[header::CONTENT_TYPE], "application/problem+json");
    assert!(resp.headers().contains_key("x-request-id"));
}

/// An app stored as `app.registered` (what the server wrote before zoom-auth held apps), exactly
/// as it was written, still gets tokens with its secret and scopes, and a wrong secret does not.
#[tokio::test]
async fn an_app_stored_as_app_registered_still_gets_tokens() {
    use zoom_core::event::{NewEvent, StreamId};
    use zoom_core::id::EventId;
    use zoom_core::store::{AppendRequest, EventStore};
    let store = Arc::new(zoom_store_memory::MemoryStore::new());
    let payload = format!(
        r#"{{"client_id":"legacy","account_id":"acme","name":"Old app","secret_sha256":"{}","scopes":["meeting.read"],"registered_at":"2025-01-01T00:00:00Z"}}"#,
        zoom_auth::secret::SecretHash::of("old-secret").as_str()
    );
    store
        .append(AppendRequest {
            stream_id: StreamId::new("sys_app_legacy").unwrap(),
            expected_version: 0,
            events: vec![NewEvent {
                event_id: EventId::from_entropy([9; 16]),
                event_type: "app.registered".into(),
                schema_version: 1,
                payload,
                metadata: r#"{"account_id":"acme","causation":"app.register"}"#.into(),
                recorded_at: chrono::Utc::now(),
            }],
            index: None,
            snapshot: None,
            links: vec![],
            idempotency: None,
        })
        .await
        .unwrap();
    let server = server_on(store, &env_bootstrap()).await;
    let (status, body) = post_token(&server, "grant_type=client_credentials", Some(("legacy", "old-secret"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "meeting.read");
    let (status, _) = post_token(&server, "grant_type=client_credentials", Some(("legacy", "new-secret"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
