#![allow(clippy::unwrap_used)]
//! The token endpoint's user grants through the server's router: codes from the directory's
//! consent (the pages' own tests drive the browser half), exchanged and refreshed over HTTP,
//! every refusal RFC 6749 JSON, and user tokens that stop when what they stand on stops.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, header};
use base64::Engine as _;
use clap::Parser;
use serde_json::{Value, json};
use sha2::Digest;
use tower::ServiceExt;
use zoom_auth::user::Role;
use zoom_auth::{AuthorizeRequest, UserRef};
use zoom_core::clock::{ManualClock, SystemEntropy};
use zoom_core::id::Name;
use zoom_core::principal::Scope;
use zoom_server::Server;
use zoom_server::config::{Args, Bootstrap, StoreSpec};

const VERIFIER: &str = "the-verifier-is-forty-three-characters-or-more-0123456789";
const REDIRECT: &str = "https://calendar.example/cb";

fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

struct World {
    server: Server,
    app: axum::Router,
    clock: Arc<ManualClock>,
    admin: String,
    client_id: String,
    secret: String,
}

async fn send(app: &axum::Router, req: Request<Body>) -> (u16, Value) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

impl World {
    async fn new() -> Self {
        let args = Args::try_parse_from([
            "zoom-server",
            "--store",
            "memory",
            "--rate-limit",
            "off",
            "--webhook-allow-cidr",
            "127.0.0.0/8",
        ])
        .unwrap();
        let bootstrap = Bootstrap::from_values(Some("admin".into()), Some("pw-123".into()), None).unwrap();
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        let store = Arc::new(zoom_store_memory::MemoryStore::new());
        let server = Server::start_with(
            &args,
            &bootstrap,
            StoreSpec::Memory,
            store,
            clock.clone(),
            Arc::new(SystemEntropy),
        )
        .await
        .unwrap();
        let app = server.router();
        let mut world = Self {
            server,
            app,
            clock,
            admin: String::new(),
            client_id: String::new(),
            secret: String::new(),
        };
        let (_, token) = world
            .form(&[("grant_type", "client_credentials")], Some(("admin", "pw-123")))
            .await;
        world.admin = token["access_token"].as_str().unwrap().to_owned();
        for (id, role) in [("carol", "member"), ("dave", "admin")] {
            let user = json!({"id": id, "email": format!("{id}@example.com"), "display_name": id, "role": role});
            let (status, body) = world.api("POST", "/v1/users", &world.admin.clone(), Some(user)).await;
            assert_eq!(status, 201, "{body}");
        }
        let new_app = json!({"name": "Calendar", "kind": "user", "redirect_uris": [REDIRECT],
            "scopes": ["meeting.read", "meeting.write", "webhook.read", "webhook.write", "admin"]});
        let (status, app) = world.api("POST", "/v1/apps", &world.admin.clone(), Some(new_app)).await;
        assert_eq!(status, 201, "{app}");
        world.client_id = app["client_id"].as_str().unwrap().to_owned();
        world.secret = app["client_secret"].as_str().unwrap().to_owned();
        world
    }

    async fn form(&self, fields: &[(&str, &str)], basic: Option<(&str, &str)>) -> (u16, Value) {
        self.post_form("/oauth/token", fields, basic).await
    }

    async fn post_form(&self, path: &str, fields: &[(&str, &str)], basic: Option<(&str, &str)>) -> (u16, Value) {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let mut req = Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some((id, secret)) = basic {
            let pair = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
            req = req.header(header::AUTHORIZATION, format!("Basic {pair}"));
        }
        send(&self.app, req.body(Body::from(body)).unwrap()).await
    }

    async fn api(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        };
        send(&self.app, req.unwrap()).await
    }

    /// Whether the subscription `id` is active, as the admin reads it.
    async fn hook_active(&self, id: &str) -> Option<bool> {
        let (_, hook) = self.api("GET", &format!("/v1/webhooks/{id}"), &self.admin, None).await;
        hook["active"].as_bool()
    }

    /// Whether the subscription `id` becomes `active == want` within 5 s (the worker runs
    /// apart from the request).
    async fn hook_settles(&self, id: &str, want: bool) -> bool {
        for _ in 0..200 {
            if self.hook_active(id).await == Some(want) {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        false
    }

    fn client(&self) -> Option<(&str, &str)> {
        Some((self.client_id.as_str(), self.secret.as_str()))
    }

    /// A code for `user`, as the consent page gets one.
    async fn code(&self, user: &str, role: Role, scopes: &[Scope]) -> String {
        let request = AuthorizeRequest {
            user: UserRef {
                account_id: Name::parse("default").unwrap(),
                user_id: Name::parse(user).unwrap(),
                role,
            },
            client_id: Name::parse(&self.client_id).unwrap(),
            redirect_uri: REDIRECT.into(),
            scopes: scopes.to_vec(),
            code_challenge: challenge(VERIFIER),
        };
        self.server.directory.authorize(request).await.unwrap().code
    }

    async fn exchange(&self, code: &str) -> (u16, Value) {
        let fields = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ];
        self.form(&fields, self.client()).await
    }

    async fn refresh(&self, token: &str) -> (u16, Value) {
        self.form(
            &[("grant_type", "refresh_token"), ("refresh_token", token)],
            self.client(),
        )
        .await
    }
}

fn error(answer: &(u16, Value)) -> (u16, &str) {
    (answer.0, answer.1["error"].as_str().unwrap_or_default())
}

/// A member's user token: the granted scopes without `admin`, scheduling as itself only, and
/// `/v1/users/me` names them.
#[tokio::test]
async fn a_members_token_acts_as_the_member() {
    let w = World::new().await;
    let code = w
        .code(
            "carol",
            Role::Member,
            &[Scope::MeetingRead, Scope::MeetingWrite, Scope::Admin],
        )
        .await;
    let (status, token) = w.exchange(&code).await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(
        token["scope"], "meeting.read meeting.write",
        "a member never holds admin"
    );
    assert!(token["refresh_token"].as_str().unwrap().starts_with("zrt_"));
    let access = token["access_token"].as_str().unwrap();
    let (status, me) = w.api("GET", "/v1/users/me", access, None).await;
    assert_eq!((status, me["id"].as_str()), (200, Some("carol")), "{me}");
    let meeting = json!({"topic": "1:1", "start_time": "2030-01-01T09:00:00Z", "duration_minutes": 30});
    let (status, m) = w.api("POST", "/v1/meetings", access, Some(meeting.clone())).await;
    assert_eq!((status, m["host_id"].as_str()), (201, Some("carol")), "{m}");
    let mut for_alice = meeting;
    for_alice["host_id"] = json!("alice");
    let (status, body) = w.api("POST", "/v1/meetings", access, Some(for_alice.clone())).await;
    assert_eq!(status, 400, "a member schedules as itself only: {body}");
    let (status, _) = w.api("GET", "/v1/users", access, None).await;
    assert_eq!(status, 403);

    // An admin user acts for the account like an app.
    let code = w.code("dave", Role::Admin, &[Scope::MeetingWrite, Scope::Admin]).await;
    let (status, token) = w.exchange(&code).await;
    assert_eq!(status, 200, "{token}");
    let access = token["access_token"].as_str().unwrap();
    let (status, m) = w.api("POST", "/v1/meetings", access, Some(for_alice)).await;
    assert_eq!((status, m["host_id"].as_str()), (201, Some("alice")), "{m}");
    // An app token names no user.
    let (status, body) = w.api("GET", "/v1/users/me", &w.admin, None).await;
    assert_eq!(status, 404, "{body}");
}

/// Every refusal of the code exchange is `invalid_grant`, and a second use of a code revokes
/// what the first issued.
#[tokio::test]
async fn code_exchange_refusals() {
    let w = World::new().await;
    let scopes = [Scope::MeetingRead];
    let code = w.code("carol", Role::Member, &scopes).await;
    let wrong_verifier = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", "another-verifier-of-forty-three-characters-0123456789"),
    ];
    assert_eq!(
        error(&w.form(&wrong_verifier, w.client()).await),
        (400, "invalid_grant")
    );
    let other_redirect = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", "https://calendar.example/other"),
        ("code_verifier", VERIFIER),
    ];
    assert_eq!(
        error(&w.form(&other_redirect, w.client()).await),
        (400, "invalid_grant")
    );
    let missing = [("grant_type", "authorization_code"), ("code", code.as_str())];
    assert_eq!(error(&w.form(&missing, w.client()).await), (400, "invalid_request"));
    assert_eq!(
        error(
            &w.form(&wrong_verifier, Some((w.client_id.as_str(), "zsec_wrong")))
                .await
        ),
        (401, "invalid_client")
    );
    assert_eq!(
        error(&w.form(&wrong_verifier, Some(("app_unknown", "zsec_wrong"))).await),
        (401, "invalid_client")
    );
    // A server app may not use a user grant.
    assert_eq!(
        error(&w.form(&wrong_verifier, Some(("admin", "pw-123"))).await),
        (400, "unauthorized_client")
    );

    let first = w.exchange(&code).await;
    assert_eq!(first.0, 200, "{}", first.1);
    assert_eq!(error(&w.exchange(&code).await), (400, "invalid_grant"));
    assert_eq!(
        error(&w.refresh(first.1["refresh_token"].as_str().unwrap()).await),
        (400, "invalid_grant"),
        "the reuse revoked the first exchange's refresh token"
    );
    let (_, seen) = w
        .post_form(
            "/oauth/introspect",
            &[("token", first.1["access_token"].as_str().unwrap())],
            w.client(),
        )
        .await;
    assert_eq!(seen, json!({"active": false}), "and its access token");
    // A code lives five minutes.
    let late = w.code("carol", Role::Member, &scopes).await;
    w.clock.advance(chrono::Duration::seconds(301));
    assert_eq!(error(&w.exchange(&late).await), (400, "invalid_grant"));
}

/// Refresh rotates; a reused refresh token revokes the family; scopes only narrow.
#[tokio::test]
async fn refresh_rotates_and_reuse_revokes() {
    let w = World::new().await;
    let code = w
        .code("carol", Role::Member, &[Scope::MeetingRead, Scope::MeetingWrite])
        .await;
    let (_, first) = w.exchange(&code).await;
    let r1 = first["refresh_token"].as_str().unwrap();
    let widen = [
        ("grant_type", "refresh_token"),
        ("refresh_token", r1),
        ("scope", "meeting.read recording.read"),
    ];
    assert_eq!(error(&w.form(&widen, w.client()).await), (400, "invalid_scope"));
    let narrow = [
        ("grant_type", "refresh_token"),
        ("refresh_token", r1),
        ("scope", "meeting.read"),
    ];
    let (status, second) = w.form(&narrow, w.client()).await;
    assert_eq!(
        (status, second["scope"].as_str()),
        (200, Some("meeting.read")),
        "{second}"
    );
    let r2 = second["refresh_token"].as_str().unwrap();
    assert_ne!(r1, r2);
    assert_eq!(error(&w.refresh(r1).await), (400, "invalid_grant"));
    assert_eq!(
        error(&w.refresh(r2).await),
        (400, "invalid_grant"),
        "the family is revoked"
    );
    let (status, seen) = w.post_form("/oauth/introspect", &[("token", r2)], w.client()).await;
    assert_eq!((status, &seen), (200, &json!({"active": false})));
}

/// A user token stops when its grant is revoked, its user deactivated, its app or its account
/// disabled; introspection agrees with the API.
#[tokio::test]
async fn user_tokens_stop_with_what_they_stand_on() {
    let w = World::new().await;
    let token_of = |answer: &Value| answer["access_token"].as_str().unwrap().to_owned();

    // Revoked by the user, through the API.
    let (_, t) = w
        .exchange(&w.code("carol", Role::Member, &[Scope::MeetingRead]).await)
        .await;
    let access = token_of(&t);
    let (status, seen) = w
        .post_form("/oauth/introspect", &[("token", &access)], w.client())
        .await;
    assert_eq!(
        (status, seen["active"].as_bool(), seen["sub"].as_str()),
        (200, Some(true), Some("carol"))
    );
    let (status, list) = w.api("GET", "/v1/authorizations", &access, None).await;
    assert_eq!(status, 200, "{list}");
    let grants = list["authorizations"].as_array().unwrap();
    assert_eq!(grants.len(), 1, "{list}");
    let grant = grants[0]["id"].as_str().unwrap();
    let (status, _) = w
        .api("DELETE", &format!("/v1/authorizations/{grant}"), &access, None)
        .await;
    assert_eq!(status, 204);
    assert_eq!(w.api("GET", "/v1/meetings", &access, None).await.0, 401);
    let (_, seen) = w
        .post_form("/oauth/introspect", &[("token", &access)], w.client())
        .await;
    assert_eq!(seen, json!({"active": false}));
    assert_eq!(
        error(&w.refresh(t["refresh_token"].as_str().unwrap()).await),
        (400, "invalid_grant")
    );

    // Revoked by the client (RFC 7009), with its refresh token.
    let (_, t) = w
        .exchange(&w.code("carol", Role::Member, &[Scope::MeetingRead]).await)
        .await;
    let refresh = t["refresh_token"].as_str().unwrap();
    let access = token_of(&t);
    assert_eq!(
        w.api("GET", "/v1/meetings", &access, None).await.0,
        200,
        "now in the auth cache"
    );
    let (status, _) = w.post_form("/oauth/revoke", &[("token", refresh)], w.client()).await;
    assert_eq!(status, 200);
    assert_eq!(error(&w.refresh(refresh).await), (400, "invalid_grant"));
    assert_eq!(
        w.api("GET", "/v1/meetings", &access, None).await.0,
        401,
        "this process's cache forgot the grant's tokens"
    );
    let (status, _) = w.post_form("/oauth/revoke", &[("token", "nonsense")], w.client()).await;
    assert_eq!(status, 200, "whatever the token");

    // The user deactivated.
    let (_, t) = w
        .exchange(&w.code("carol", Role::Member, &[Scope::MeetingRead]).await)
        .await;
    let access = token_of(&t);
    assert_eq!(w.api("DELETE", "/v1/users/carol", &w.admin, None).await.0, 204);
    assert_eq!(w.api("GET", "/v1/meetings", &access, None).await.0, 401);
    assert_eq!(
        error(&w.refresh(t["refresh_token"].as_str().unwrap()).await),
        (400, "invalid_grant")
    );

    // The app disabled.
    let (_, t) = w
        .exchange(&w.code("dave", Role::Admin, &[Scope::MeetingRead]).await)
        .await;
    let access = token_of(&t);
    let (status, _) = w
        .api("DELETE", &format!("/v1/apps/{}", w.client_id), &w.admin, None)
        .await;
    assert_eq!(status, 204);
    assert_eq!(w.api("GET", "/v1/meetings", &access, None).await.0, 401);
    assert_eq!(
        error(&w.refresh(t["refresh_token"].as_str().unwrap()).await),
        (401, "invalid_client")
    );
}

/// Another account's client sees another account's token as inactive.
#[tokio::test]
async fn introspection_of_a_foreign_token_is_inactive() {
    let w = World::new().await;
    let (status, created) = w
        .api("POST", "/v1/accounts", &w.admin, Some(json!({"name": "Globex"})))
        .await;
    assert_eq!(status, 201, "{created}");
    let globex = (
        created["admin_app"]["client_id"].as_str().unwrap().to_owned(),
        created["admin_app"]["client_secret"].as_str().unwrap().to_owned(),
    );
    let (_, t) = w
        .exchange(&w.code("carol", Role::Member, &[Scope::MeetingRead]).await)
        .await;
    let access = t["access_token"].as_str().unwrap();
    let (status, seen) = w
        .post_form(
            "/oauth/introspect",
            &[("token", access)],
            Some((globex.0.as_str(), globex.1.as_str())),
        )
        .await;
    assert_eq!((status, seen), (200, json!({"active": false})));
    // The platform's own client sees it.
    let (_, seen) = w
        .post_form("/oauth/introspect", &[("token", access)], Some(("admin", "pw-123")))
        .await;
    assert_eq!(seen["active"], true, "{seen}");
}

/// Revoking a grant deactivates the webhook subscriptions its app made in the account, and
/// disabling the app does it again after the app re-enabled one; another app's stay.
#[tokio::test]
async fn revoked_access_deactivates_the_apps_webhooks() {
    let w = World::new().await;
    let worker = zoom_server::delivery::Webhooks::start(&w.server).unwrap();
    let hook = json!({"url": "http://127.0.0.1:9/hook", "events": ["meeting.created"]});
    let webhooks = [Scope::WebhookRead, Scope::WebhookWrite];
    let (_, t) = w.exchange(&w.code("carol", Role::Member, &webhooks).await).await;
    let carol = t["access_token"].as_str().unwrap().to_owned();
    let (status, made) = w.api("POST", "/v1/webhooks", &carol, Some(hook.clone())).await;
    assert_eq!(status, 201, "{made}");
    let id = made["id"].as_str().unwrap().to_owned();
    let (_, seen) = w.api("GET", &format!("/v1/webhooks/{id}"), &carol, None).await;
    assert_eq!(
        seen["owner"].as_str(),
        Some(w.client_id.as_str()),
        "the app owns it, not carol: {seen}"
    );
    let (status, theirs) = w.api("POST", "/v1/webhooks", &w.admin, Some(hook)).await;
    assert_eq!(status, 201, "{theirs}");
    let theirs = theirs["id"].as_str().unwrap().to_owned();

    // Another user of the same app sees the app's subscriptions, not the other app's.
    let (_, t) = w.exchange(&w.code("dave", Role::Admin, &webhooks).await).await;
    let dave = t["access_token"].as_str().unwrap().to_owned();
    let (status, list) = w.api("GET", "/v1/webhooks", &dave, None).await;
    assert_eq!(status, 200, "{list}");
    let ids: Vec<&str> = list["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id.as_str()], "{list}");

    let (_, list) = w.api("GET", "/v1/authorizations", &carol, None).await;
    let grant = list["authorizations"][0]["id"].as_str().unwrap().to_owned();
    let (status, _) = w
        .api("DELETE", &format!("/v1/authorizations/{grant}"), &carol, None)
        .await;
    assert_eq!(status, 204);
    assert!(
        w.hook_settles(&id, false).await,
        "the app's subscription is deactivated"
    );
    let (_, seen) = w.api("GET", &format!("/v1/webhooks/{id}"), &w.admin, None).await;
    assert_eq!(seen["state"], "disabled", "{seen}");
    assert_eq!(w.hook_active(&theirs).await, Some(true), "another app's stays");

    // Authorized again, the app re-enables it; a restart of the worker does not undo that.
    let (_, t) = w.exchange(&w.code("carol", Role::Member, &webhooks).await).await;
    let carol = t["access_token"].as_str().unwrap().to_owned();
    let (status, seen) = w
        .api(
            "PATCH",
            &format!("/v1/webhooks/{id}"),
            &carol,
            Some(json!({"active": true})),
        )
        .await;
    assert_eq!((status, seen["active"].as_bool()), (200, Some(true)), "{seen}");
    worker.shutdown().await;
    let worker = zoom_server::delivery::Webhooks::start(&w.server).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        w.hook_active(&id).await,
        Some(true),
        "the old revocation is not replayed"
    );

    // Disabling the app revokes its grants, and so deactivates it again.
    let (status, _) = w
        .api("DELETE", &format!("/v1/apps/{}", w.client_id), &w.admin, None)
        .await;
    assert_eq!(status, 204);
    assert!(w.hook_settles(&id, false).await, "deactivated with the app");
    assert_eq!(w.hook_active(&theirs).await, Some(true));
    worker.shutdown().await;
}
