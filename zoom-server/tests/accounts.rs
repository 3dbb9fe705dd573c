#![allow(clippy::unwrap_used)]
//! Accounts over a real socket: the platform makes an account, its admin app gets a token and
//! acts in that account alone, and disabling the account stops its tokens and its token grants
//! and pauses its webhooks.

use clap::Parser;
use serde_json::{Value, json};
use zoom_core::id::WebhookId;
use zoom_core::webhook::Health;
use zoom_server::Server;
use zoom_server::config::{Args, Bootstrap};

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn token(client: &reqwest::Client, base: &str, id: &str, secret: &str) -> (u16, Value) {
    let resp = client
        .post(format!("{base}/oauth/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
}

/// Whether the subscription `id` reaches `health` within 5 s (the webhook worker pauses and
/// resumes apart from the request).
async fn settles(server: &Server, id: &str, health: Health) -> bool {
    let id = WebhookId::parse(id).unwrap();
    for _ in 0..200 {
        if server
            .engine
            .subscription(&id)
            .await
            .unwrap()
            .is_some_and(|s| s.state == health)
        {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    false
}

/// Platform token → new account → its admin app's token → a meeting the bootstrap admin cannot
/// see → the account disabled: its token is 401, `/oauth/token` refuses its app and its
/// webhooks pause; enabled again, the paused ones resume (not one its owner had disabled).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_account_acts_alone_and_stops_when_disabled() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let db = dir.path().join("zoom.db");
    let args = Args::try_parse_from([
        "zoom-server",
        "--listen",
        &addr.to_string(),
        "--store",
        &format!("sqlite://{}", db.display()),
        "--webhook-allow-cidr",
        "127.0.0.0/8",
    ])
    .unwrap();
    let bootstrap = Bootstrap::from_values(
        Some("admin".into()),
        Some("s3cret-admin".into()),
        Some("operator".into()),
    )
    .unwrap();
    let server = Server::start(&args, &bootstrap).await.unwrap();
    let worker = zoom_server::delivery::Webhooks::start(&server).unwrap();
    let app = server.router();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = reqwest::Client::new();
    use reqwest::Method as M;

    let (status, body) = token(&client, &base, "admin", "s3cret-admin").await;
    assert_eq!(status, 200, "{body}");
    let platform = body["access_token"].as_str().unwrap().to_owned();

    // The platform account is listed; a new one joins it.
    let (status, created) = call(
        &client,
        M::POST,
        format!("{base}/v1/accounts"),
        &platform,
        Some(json!({"name": "Acme", "id": "acme"})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let (status, list) = call(&client, M::GET, format!("{base}/v1/accounts"), &platform, None).await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = list["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["operator", "acme"]);

    let admin = &created["admin_app"];
    let (client_id, secret) = (
        admin["client_id"].as_str().unwrap(),
        admin["client_secret"].as_str().unwrap(),
    );
    let (status, body) = token(&client, &base, client_id, secret).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        !body["scope"].as_str().unwrap().split(' ').any(|s| s == "platform"),
        "{body}"
    );
    let acme = body["access_token"].as_str().unwrap().to_owned();

    let (status, meeting) = call(
        &client,
        M::POST,
        format!("{base}/v1/meetings"),
        &acme,
        Some(json!({"topic": "Acme standup", "start_time": "2030-01-01T10:00:00Z", "duration_minutes": 30})),
    )
    .await;
    assert_eq!(status, 201, "{meeting}");
    let url = format!("{base}/v1/meetings/{}", meeting["id"].as_str().unwrap());
    assert_eq!(call(&client, M::GET, url.clone(), &acme, None).await.0, 200);
    let (status, body) = call(&client, M::GET, url.clone(), &platform, None).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")), "{body}");
    let (status, body) = call(&client, M::GET, format!("{base}/v1/meetings"), &platform, None).await;
    assert_eq!(status, 200);
    assert!(body["meetings"].as_array().unwrap().is_empty(), "{body}");

    let mut hooks = Vec::new();
    for _ in 0..2 {
        let hook = json!({"url": "http://127.0.0.1:9/hook", "events": ["meeting.created"]});
        let (status, made) = call(&client, M::POST, format!("{base}/v1/webhooks"), &acme, Some(hook)).await;
        assert_eq!(status, 201, "{made}");
        hooks.push(made["id"].as_str().unwrap().to_owned());
    }
    let off = json!({"active": false});
    let (status, _) = call(
        &client,
        M::PATCH,
        format!("{base}/v1/webhooks/{}", hooks[1]),
        &acme,
        Some(off),
    )
    .await;
    assert_eq!(status, 200);

    let (status, body) = call(
        &client,
        M::PATCH,
        format!("{base}/v1/accounts/acme"),
        &platform,
        Some(json!({"status": "disabled"})),
    )
    .await;
    assert_eq!((status, body["status"].as_str()), (200, Some("disabled")), "{body}");
    assert!(settles(&server, &hooks[0], Health::Disabled).await, "paused");
    let (status, body) = call(&client, M::GET, url.clone(), &acme, None).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("invalid_token")), "{body}");
    let (status, body) = token(&client, &base, client_id, secret).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client")),
        "{body}"
    );
    // The platform still works, and enabling the account lets its app in again.
    let (status, _) = call(
        &client,
        M::PATCH,
        format!("{base}/v1/accounts/acme"),
        &platform,
        Some(json!({"status": "active"})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(call(&client, M::GET, url, &acme, None).await.0, 200);
    assert_eq!(token(&client, &base, client_id, secret).await.0, 200);
    assert!(settles(&server, &hooks[0], Health::Healthy).await, "resumed");
    let (_, seen) = call(&client, M::GET, format!("{base}/v1/webhooks/{}", hooks[1]), &acme, None).await;
    assert_eq!(seen["active"], false, "disabled by its owner before the pause: {seen}");
    worker.shutdown().await;
}

/// A disabled app's token stops at once in the instance that disabled it, and its credentials
/// get no new token; a rotated secret stops the old one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_or_rotated_app_gets_no_token() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    let args = Args::try_parse_from(["zoom-server", "--listen", &addr.to_string(), "--store", "memory"]).unwrap();
    let bootstrap = Bootstrap::from_values(
        Some("admin".into()),
        Some("s3cret-admin".into()),
        Some("operator".into()),
    )
    .unwrap();
    let server = Server::start(&args, &bootstrap).await.unwrap();
    let app = server.router();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = reqwest::Client::new();
    use reqwest::Method as M;
    let platform = token(&client, &base, "admin", "s3cret-admin").await.1["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, made) = call(
        &client,
        M::POST,
        format!("{base}/v1/apps"),
        &platform,
        Some(json!({"name": "Reporter", "kind": "server", "scopes": ["meeting.read"]})),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let id = made["client_id"].as_str().unwrap().to_owned();
    let old = made["client_secret"].as_str().unwrap().to_owned();
    let reporter = token(&client, &base, &id, &old).await.1["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        call(&client, M::GET, format!("{base}/v1/meetings"), &reporter, None)
            .await
            .0,
        200
    );

    let (status, rotated) = call(
        &client,
        M::POST,
        format!("{base}/v1/apps/{id}:rotateSecret"),
        &platform,
        None,
    )
    .await;
    assert_eq!(status, 200, "{rotated}");
    let new = rotated["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(token(&client, &base, &id, &old).await.0, 401);
    assert_eq!(token(&client, &base, &id, &new).await.0, 200);

    let (status, _) = call(&client, M::DELETE, format!("{base}/v1/apps/{id}"), &platform, None).await;
    assert_eq!(status, 204);
    let (status, body) = call(&client, M::GET, format!("{base}/v1/meetings"), &reporter, None).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("invalid_token")), "{body}");
    assert_eq!(token(&client, &base, &id, &new).await.0, 401);
}
