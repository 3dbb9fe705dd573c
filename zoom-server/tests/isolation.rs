#![allow(clippy::unwrap_used)]
//! Tenant isolation on every route: two accounts made through the API, one with a meeting (live,
//! with a participant and a recording), a webhook subscription, a user, an app and a user's
//! authorization; the other account's admin token reaches none of them. The routes come from
//! the served OpenAPI document, so a new route is checked without being listed here.

use clap::Parser;
use serde_json::{Value, json};
use zoom_server::Server;
use zoom_server::config::{Args, Bootstrap};

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    async fn call(&self, method: reqwest::Method, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn ok(&self, method: reqwest::Method, path: &str, token: &str, body: Value) -> Value {
        let (status, answer) = self.call(method.clone(), path, token, Some(body)).await;
        assert!((200..300).contains(&status), "{method} {path}: {status} {answer}");
        answer
    }

    async fn token(&self, id: &str, secret: &str) -> String {
        let resp = self
            .http
            .post(format!("{}/oauth/token", self.base))
            .basic_auth(id, Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        let body: Value = resp.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }
}

/// A body each operation accepts, so that what answers is the resource lookup, not validation.
fn body_for(operation: &str) -> Option<Value> {
    Some(match operation {
        "meetings.patch" => json!({"topic": "Renamed"}),
        "meetings.join_token" => json!({"user_id": "mallory", "display_name": "Mallory"}),
        "participants.patch" => json!({"role": "co_host"}),
        "participants.mute" => json!({"audio": true}),
        "webhooks.patch" => json!({"active": true}),
        "webhooks.redeliver" => json!({"status": "failed"}),
        "users.patch" => json!({"display_name": "Mallory"}),
        "apps.patch" => json!({"name": "Mallory's"}),
        "accounts.patch" => json!({"name": "Mallory's"}),
        "media.complete" => {
            json!({"duration_seconds": 1, "files": [{"type": "video", "storage_key": "x.mp4", "size_bytes": 1}]})
        }
        "media.fail" => json!({"error_code": "storage_failed", "message": "no"}),
        _ => return None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_accounts_resources_are_404_on_every_route() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let db = dir.path().join("zoom.db");
    let args = Args::try_parse_from([
        "zoom-server",
        "--listen",
        &addr.to_string(),
        "--store",
        &format!("sqlite://{}", db.display()),
        "--webhook-allow-cidr",
        "127.0.0.1/32",
        "--rate-limit",
        "off",
    ])
    .unwrap();
    let bootstrap = Bootstrap::from_values(Some("admin".into()), Some("s3cret-admin".into()), None).unwrap();
    let server = Server::start(&args, &bootstrap).await.unwrap();
    let app = server.router();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap();
    });
    let c = Client {
        http: reqwest::Client::new(),
        base: format!("http://{addr}"),
    };
    use reqwest::Method as M;
    let platform = c.token("admin", "s3cret-admin").await;

    // Two accounts, each with its admin app, made through the API.
    let mut tokens = Vec::new();
    for name in ["acme", "globex"] {
        let created = c
            .ok(M::POST, "/v1/accounts", &platform, json!({"name": name, "id": name}))
            .await;
        let admin = &created["admin_app"];
        tokens.push(
            c.token(
                admin["client_id"].as_str().unwrap(),
                admin["client_secret"].as_str().unwrap(),
            )
            .await,
        );
    }
    let (acme, globex) = (&tokens[0], &tokens[1]);

    // Acme's resources: a live meeting with a participant and a recording, a subscription, a
    // user, an app.
    let meeting = c
        .ok(
            M::POST,
            "/v1/meetings",
            acme,
            json!({"topic": "Acme only", "start_time": "2030-01-01T10:00:00Z", "duration_minutes": 30, "host_id": "alice"}),
        )
        .await;
    let mid = meeting["id"].as_str().unwrap().to_owned();
    let join = c
        .ok(
            M::POST,
            &format!("/v1/meetings/{mid}/joinToken"),
            acme,
            json!({"user_id": "alice", "display_name": "Alice"}),
        )
        .await;
    let joined = c
        .ok(M::POST, "/v1/media/joins", acme, json!({"token": join["jwt"]}))
        .await;
    let pid = joined["participant_id"].as_str().unwrap().to_owned();
    let rec = c
        .ok(
            M::POST,
            &format!("/v1/meetings/{mid}/recordings:start"),
            acme,
            json!({}),
        )
        .await;
    let rec_id = rec["recording_id"].as_str().unwrap().to_owned();
    let hook = c
        .ok(
            M::POST,
            "/v1/webhooks",
            acme,
            json!({"url": "http://127.0.0.1:9/hook", "events": ["meeting.created"]}),
        )
        .await;
    let hook_id = hook["id"].as_str().unwrap().to_owned();
    let user = c
        .ok(
            M::POST,
            "/v1/users",
            acme,
            json!({"email": "alice@acme.example", "display_name": "Alice", "id": "alice"}),
        )
        .await;
    let user_id = user["id"].as_str().unwrap().to_owned();
    let acme_app = c
        .ok(
            M::POST,
            "/v1/apps",
            acme,
            json!({"name": "Acme CRM", "kind": "server", "scopes": ["meeting.read"]}),
        )
        .await;
    let client_id = acme_app["client_id"].as_str().unwrap().to_owned();

    // Every path with a parameter, from the served document, with acme's ids, as globex.
    let (_, document) = c.call(M::GET, "/openapi.json", acme, None).await;
    let mut checked = 0;
    for (template, item) in document["paths"].as_object().unwrap() {
        if !template.contains('{') {
            continue;
        }
        let first = template.trim_start_matches("/v1/").split('/').next().unwrap();
        let id = match first {
            "meetings" => mid.as_str(),
            "webhooks" => hook_id.as_str(),
            "users" => user_id.as_str(),
            "accounts" => "acme",
            "authorizations" => "grt_0000000000000000000000000",
            _ => "",
        };
        let path = template
            .replace("{id}", id)
            .replace("{pid}", &pid)
            .replace("{rec_id}", &rec_id)
            .replace("{client_id}", &client_id);
        assert!(!path.contains('{'), "a parameter this test does not know: {template}");
        for (method, operation) in item.as_object().unwrap() {
            let Ok(method) = M::from_bytes(method.to_uppercase().as_bytes()) else {
                continue;
            };
            if !["GET", "POST", "PATCH", "DELETE", "PUT"].contains(&method.as_str()) {
                continue;
            }
            let op = operation["operationId"].as_str().unwrap_or_default();
            let (status, answer) = c.call(method.clone(), &path, globex, body_for(op)).await;
            // Changing an account needs `platform`, which no tenant holds: refused whatever the id,
            // so the answer tells nothing about the account.
            let expected = if op == "accounts.patch" { 403 } else { 404 };
            assert_eq!(status, expected, "{method} {path} ({op}) as another account: {answer}");
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} operations were checked");

    // The lists of globex hold nothing of acme's.
    for (path, field) in [
        ("/v1/meetings", "meetings"),
        ("/v1/webhooks", "webhooks"),
        ("/v1/users", "users"),
        ("/v1/apps", "apps"),
    ] {
        let (status, list) = c.call(M::GET, path, globex, None).await;
        assert_eq!(status, 200, "{path}: {list}");
        let text = list[field].to_string();
        for id in [&mid, &hook_id, &user_id, &client_id] {
            assert!(!text.contains(id.as_str()), "{path} shows acme's {id}: {text}");
        }
    }
    // And acme still reaches its own.
    assert_eq!(c.call(M::GET, &format!("/v1/meetings/{mid}"), acme, None).await.0, 200);
    assert_eq!(
        c.call(M::GET, &format!("/v1/webhooks/{hook_id}"), acme, None).await.0,
        200
    );
}
