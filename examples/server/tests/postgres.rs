#![allow(clippy::unwrap_used)]
//! The server on PostgreSQL through the same path as `--store postgres://…`, over real HTTP on
//! loopback: a token, a scheduled meeting, a restart, the meeting read back; the webhook worker
//! runs under the leader lock. Each run uses a fresh schema (the URL's `schema` parameter),
//! dropped at the end. Skipped, saying so, when `ZOOM_TEST_POSTGRES_URL` is unset.

use clap::Parser;
use serde_json::{Value, json};
use zoom_server::Server;
use zoom_server::config::{Args, Bootstrap, StoreSpec};

/// Drops the schema when the test ends, however it ends.
struct SchemaGuard {
    url: String,
    schema: String,
}

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        let url = self.url.clone();
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema);
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
                let conn = tokio::spawn(conn);
                client.batch_execute(&sql).await.unwrap();
                drop(client);
                let _ = conn.await;
            });
        })
        .join();
    }
}

/// Starts a server on `store` with its socket and webhook worker, as `main` does.
async fn start(store: &str) -> (String, Server, zoom_server::delivery::Webhooks) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let args = Args::try_parse_from(["zoom-server", "--listen", &addr.to_string(), "--store", store]).unwrap();
    let bootstrap =
        Bootstrap::from_values(Some("admin".into()), Some("s3cret-admin".into()), Some("acme".into())).unwrap();
    let server = Server::start(&args, &bootstrap).await.unwrap();
    let webhooks = zoom_server::delivery::Webhooks::start(&server).unwrap();
    let app = server.router();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), server, webhooks)
}

async fn access_token(client: &reqwest::Client, base: &str) -> String {
    let resp = client
        .post(format!("{base}/oauth/token"))
        .basic_auth("admin", Some("s3cret-admin"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// Schedule over HTTP on PostgreSQL, restart, and read the meeting back with a fresh token
/// (signing keys live in the store too).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_meeting_survives_a_restart_on_postgres() {
    let Ok(url) = std::env::var("ZOOM_TEST_POSTGRES_URL") else {
        eprintln!("skipped a_meeting_survives_a_restart_on_postgres: ZOOM_TEST_POSTGRES_URL is not set");
        return;
    };
    let guard = SchemaGuard {
        url: url.clone(),
        schema: format!(
            "zt_server_{}_{}",
            std::process::id(),
            chrono::Utc::now().timestamp_micros()
        ),
    };
    let sep = if url.contains('?') { '&' } else { '?' };
    let store = format!("{url}{sep}schema={}", guard.schema);
    let client = reqwest::Client::new();

    let (base, server, webhooks) = start(&store).await;
    assert!(matches!(server.store_spec, StoreSpec::Postgres(_)));
    assert!(
        webhooks.is_elected(),
        "on PostgreSQL the worker runs under the leader lock"
    );
    let token = access_token(&client, &base).await;
    let resp = client
        .post(format!("{base}/v1/meetings"))
        .bearer_auth(&token)
        .json(&json!({"topic": "On PostgreSQL", "start_time": "2030-01-01T09:00:00Z", "duration_minutes": 30, "host_id": "alice"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);
    let meeting: Value = resp.json().await.unwrap();
    let id = meeting["id"].as_str().unwrap().to_owned();
    webhooks.shutdown().await;
    drop(server);

    let (base, _server, webhooks) = start(&store).await;
    let token = access_token(&client, &base).await;
    let resp = client
        .get(format!("{base}/v1/meetings/{id}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let read: Value = resp.json().await.unwrap();
    assert_eq!(read["topic"], "On PostgreSQL");
    assert_eq!(read["state"], "SCHEDULED");
    webhooks.shutdown().await;
    drop(guard);
}
