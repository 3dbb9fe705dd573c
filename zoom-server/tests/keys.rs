#![allow(clippy::unwrap_used)]
//! Scheduled rotation of the join-token key: due keys rotate, retired keys stay in the JWKS and
//! keep verifying the tokens they signed, another instance on the same store picks the new key
//! up, and on PostgreSQL two instances due at once rotate once (skipped, saying so, without
//! `ZOOM_TEST_POSTGRES_URL`).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, header};
use clap::Parser;
use serde_json::{Value, json};
use tower::ServiceExt;
use zoom_core::clock::{ManualClock, SystemEntropy};
use zoom_core::store::Store;
use zoom_server::Server;
use zoom_server::config::{Args, Bootstrap, StoreSpec};
use zoom_server::keys::rotate_if_due;

const DAY: Duration = Duration::from_secs(24 * 3600);

async fn server_on(store: Arc<dyn Store>, spec: StoreSpec, clock: Arc<ManualClock>) -> Server {
    let args = Args::try_parse_from(["zoom-server", "--store", "memory", "--rate-limit", "off"]).unwrap();
    let bootstrap = Bootstrap::from_values(Some("admin".into()), Some("pw-123".into()), None).unwrap();
    Server::start_with(&args, &bootstrap, spec, store, clock, Arc::new(SystemEntropy))
        .await
        .unwrap()
}

async fn call(app: &axum::Router, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Value {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    let mut v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    v["_status"] = json!(status);
    v
}

async fn token(app: &axum::Router) -> String {
    let req = Request::post("/oauth/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(
            "grant_type=client_credentials&client_id=admin&client_secret=pw-123",
        ))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    v["access_token"].as_str().unwrap().to_owned()
}

fn kids(server: &Server) -> Vec<String> {
    server.engine.jwks()["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// A key is rotated only once it is as old as the interval; the retired key stays published and
/// a join token it signed is still redeemed; another instance on the store picks up the new key.
#[tokio::test]
async fn due_keys_rotate_and_retired_keys_keep_verifying() {
    let store: Arc<dyn Store> = Arc::new(zoom_store_memory::MemoryStore::new());
    let start = chrono::DateTime::parse_from_rfc3339("2030-05-01T08:00:00Z")
        .unwrap()
        .to_utc();
    let clock = Arc::new(ManualClock::new(start));
    let server = server_on(store.clone(), StoreSpec::Memory, clock.clone()).await;
    let other = server_on(store.clone(), StoreSpec::Memory, clock.clone()).await;
    let app = server.router();
    let bearer = token(&app).await;
    let meeting = call(
        &app,
        "POST",
        "/v1/meetings",
        Some(&bearer),
        Some(
            json!({"topic": "Keys", "start_time": "2030-05-01T08:00:00Z", "duration_minutes": 30, "host_id": "alice",
            "waiting_room": false, "settings": {"allow_join_before_host": true}}),
        ),
    )
    .await;
    let id = meeting["id"].as_str().unwrap().to_owned();
    let join = |user: &'static str| {
        let (app, bearer, id) = (app.clone(), bearer.clone(), id.clone());
        async move {
            call(
                &app,
                "POST",
                &format!("/v1/meetings/{id}/joinToken"),
                Some(&bearer),
                Some(json!({"user_id": user, "display_name": user})),
            )
            .await["jwt"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };

    let before = kids(&server);
    assert_eq!(before.len(), 1);
    assert!(!rotate_if_due(&server.engine, DAY, None).await.unwrap());
    clock.advance(chrono::Duration::hours(23));
    assert!(!rotate_if_due(&server.engine, DAY, None).await.unwrap());
    // Minted one minute before the rotation.
    clock.advance(chrono::Duration::minutes(59));
    let old_token = join("early").await;
    clock.advance(chrono::Duration::minutes(1));
    assert!(rotate_if_due(&server.engine, DAY, None).await.unwrap());
    let after = kids(&server);
    assert_eq!(after.len(), 2, "{after:?}");
    assert_eq!(after[1], before[0], "the retired key is still published");
    assert!(
        !rotate_if_due(&server.engine, DAY, None).await.unwrap(),
        "a fresh key is not due"
    );
    let new_token = join("late").await;

    // The other instance learns the new key at its next reload, and redeems both tokens.
    assert_eq!(kids(&other), before);
    assert!(!rotate_if_due(&other.engine, DAY, None).await.unwrap());
    assert_eq!(kids(&other), after);
    let other_app = other.router();
    let other_bearer = token(&other_app).await;
    for jwt in [old_token, new_token] {
        let joined = call(
            &other_app,
            "POST",
            "/v1/media/joins",
            Some(&other_bearer),
            Some(json!({"token": jwt})),
        )
        .await;
        assert_eq!(joined["_status"], 201, "{joined}");
    }
}

/// Two instances on one PostgreSQL store, both due at once: exactly one rotates, and both end
/// with the same ring.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_one_instance_rotates() {
    let Ok(base) = std::env::var("ZOOM_TEST_POSTGRES_URL") else {
        eprintln!("skipped: ZOOM_TEST_POSTGRES_URL is not set");
        return;
    };
    let schema = format!("keys_{}", std::process::id());
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}schema={schema}");
    let start = chrono::DateTime::parse_from_rfc3339("2030-05-01T08:00:00Z")
        .unwrap()
        .to_utc();
    let clock = Arc::new(ManualClock::new(start));
    let open = || async {
        let store: Arc<dyn Store> = Arc::new(zoom_store_postgres::PostgresStore::connect(&url).await.unwrap());
        server_on(store, StoreSpec::Postgres(url.clone()), clock.clone()).await
    };
    let (a, b) = (open().await, open().await);
    let lock_a = zoom_store_postgres::PostgresStore::leader_lock_for(&url, zoom_server::keys::LEADER_LOCK).unwrap();
    let lock_b = zoom_store_postgres::PostgresStore::leader_lock_for(&url, zoom_server::keys::LEADER_LOCK).unwrap();
    clock.advance(chrono::Duration::hours(25));
    let (ra, rb) = tokio::join!(
        rotate_if_due(&a.engine, DAY, Some(&lock_a)),
        rotate_if_due(&b.engine, DAY, Some(&lock_b))
    );
    let rotations = [ra.unwrap(), rb.unwrap()].iter().filter(|r| **r).count();
    // Both may have found the lock taken at the same instant; then the next round rotates.
    let rotations = if rotations == 0 {
        usize::from(rotate_if_due(&a.engine, DAY, Some(&lock_a)).await.unwrap())
    } else {
        rotations
    };
    assert_eq!(rotations, 1);
    rotate_if_due(&a.engine, DAY, Some(&lock_a)).await.unwrap();
    rotate_if_due(&b.engine, DAY, Some(&lock_b)).await.unwrap();
    assert_eq!(kids(&a), kids(&b));
    assert_eq!(kids(&a).len(), 2);
    let (client, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls).await.unwrap();
    let conn = tokio::spawn(conn);
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .await
        .unwrap();
    drop(client);
    let _ = conn.await;
}
