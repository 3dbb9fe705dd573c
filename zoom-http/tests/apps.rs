//! `/v1/apps` and `/v1/marketplace/apps`: an account's apps, the published ones of every
//! account, disabling, rotation, and every refusal (scope, validation, another account).
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::identity::*;
use common::*;
use serde_json::{Value, json};

fn server_app(name: &str, scopes: &[&str]) -> Value {
    json!({"name": name, "kind": "server", "scopes": scopes})
}

/// A confidential app's secret is shown at creation and works; a public user app gets none.
#[tokio::test]
async fn apps_are_created_with_a_secret_shown_once() {
    let app = identity_app().await;
    let acme = tenant(&app, "Acme", Some("acme")).await;
    let a = post("/v1/apps")
        .token(&acme.token)
        .json(server_app("Reporter", &["meeting.read", "meeting.read"]))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(a.body["account_id"], "acme");
    assert_eq!(a.body["scopes"], json!(["meeting.read"]));
    assert_eq!(
        (a.body["status"].as_str(), a.body["published"].as_bool()),
        (Some("active"), Some(false))
    );
    assert!(a.body["client_id"].as_str().unwrap().starts_with("app_"));
    let reporter = credentials(&a.body);
    let id = a.body["client_id"].as_str().unwrap().to_owned();
    // Its token holds only its scope.
    assert_eq!(
        get("/v1/meetings").token(&reporter).send(&app).await.status,
        StatusCode::OK
    );
    let a = get("/v1/apps").token(&reporter).send(&app).await;
    assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "insufficient_scope"));
    // No read shows the secret.
    let a = get(format!("/v1/apps/{id}")).token(&acme.token).send(&app).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.get("client_secret").is_none(), "{}", a.body);

    let a = post("/v1/apps")
        .token(&acme.token)
        .json(
            json!({"name": "Phone", "kind": "user", "public": true, "scopes": ["meeting.read"],
            "redirect_uris": ["http://127.0.0.1:8765/cb", "https://phone.example/cb"]}),
        )
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert!(a.body.get("client_secret").is_none(), "{}", a.body);
    assert_eq!(a.body["public"], true);
}

/// Each rule of a body is a 400 naming its field; without `admin` it is 403.
#[tokio::test]
async fn app_bodies_are_validated() {
    let app = identity_app().await;
    let acme = tenant(&app, "Acme", Some("acme")).await;
    let cases = [
        (json!({"kind": "server", "scopes": []}), "name"),
        (json!({"name": "A", "scopes": []}), "kind"),
        (json!({"name": "A", "kind": "robot", "scopes": []}), "kind"),
        (server_app("A", &["meeting.fly"]), "scopes"),
        (server_app("A", &["platform"]), "scopes"),
        (server_app("", &[]), "name"),
        (json!({"name": "A", "kind": "user", "scopes": []}), "redirect_uris"),
        (
            json!({"name": "A", "kind": "user", "scopes": [], "redirect_uris": ["http://example.com/cb"]}),
            "redirect_uris",
        ),
        (
            json!({"name": "A", "kind": "user", "scopes": [], "redirect_uris": ["https://a.example/cb#x"]}),
            "redirect_uris",
        ),
        (
            json!({"name": "A", "kind": "user", "scopes": [], "redirect_uris": ["https://a.example/cb", "https://a.example/cb"]}),
            "redirect_uris",
        ),
        (
            json!({"name": "A", "kind": "server", "scopes": [], "public": true}),
            "public",
        ),
    ];
    for (body, field) in cases {
        let a = post("/v1/apps").token(&acme.token).json(body.clone()).send(&app).await;
        assert_eq!(
            (a.status, a.field()),
            (StatusCode::BAD_REQUEST, field),
            "{body}: {}",
            a.body
        );
    }
    let a = post("/v1/apps")
        .token(&acme.token)
        .json(json!({"name": "A", "kind": "server", "scopes": [], "secret": "mine"}))
        .send(&app)
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::BAD_REQUEST, "unknown_field"));
    // The platform account's apps may hold `platform`.
    let a = post("/v1/apps")
        .token("platform")
        .json(server_app("Ops", &["platform"]))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let a = post("/v1/apps")
        .token("nothing")
        .json(server_app("A", &[]))
        .send(&app)
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "insufficient_scope"));
    let a = patch("/v1/apps/app_x")
        .token(&acme.token)
        .json(json!({"kind": "user"}))
        .send(&app)
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::BAD_REQUEST, "unknown_field"));
    // A client id that could name no app (a name may hold `@`, a client id may not) is not found.
    for id in ["13@0", "a%20b", &"x".repeat(121)] {
        let a = post(format!("/v1/apps/{id}:rotateSecret"))
            .token(&acme.token)
            .send(&app)
            .await;
        assert_eq!((a.status, a.code()), (StatusCode::NOT_FOUND, "not_found"), "{id}");
    }
}

/// Another account's app is 404 on every route, and lists show only the caller's own.
#[tokio::test]
async fn another_accounts_apps_are_404() {
    let app = identity_app().await;
    let acme = tenant(&app, "Acme", Some("acme")).await;
    let globex = tenant(&app, "Globex", Some("globex")).await;
    let a = post("/v1/apps")
        .token(&globex.token)
        .json(server_app("G", &[]))
        .send(&app)
        .await;
    let theirs = a.body["client_id"].as_str().unwrap().to_owned();
    for call in [
        get(format!("/v1/apps/{theirs}")),
        patch(format!("/v1/apps/{theirs}")).json(json!({"name": "Mine"})),
        delete(format!("/v1/apps/{theirs}")),
        post(format!("/v1/apps/{theirs}:rotateSecret")),
        get(format!("/v1/apps/{}", globex.client_id)),
    ] {
        let a = call.token(&acme.token).send(&app).await;
        assert_eq!((a.status, a.code()), (StatusCode::NOT_FOUND, "not_found"), "{}", a.body);
    }
    let ids = |body: &Value| -> Vec<String> {
        body["apps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["client_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let a = get("/v1/apps").token(&acme.token).send(&app).await;
    assert_eq!(ids(&a.body), [acme.client_id.as_str()]);
    let a = get("/v1/apps").token(&globex.token).send(&app).await;
    assert_eq!(ids(&a.body), [globex.client_id.clone(), theirs.clone()]);
    // Untouched.
    let a = get(format!("/v1/apps/{theirs}")).token(&globex.token).send(&app).await;
    assert_eq!(
        (a.body["name"].as_str(), a.body["status"].as_str()),
        (Some("G"), Some("active"))
    );
}

/// The marketplace lists the published, active apps of every account to any token, without
/// secrets; unpublishing or disabling takes an app out.
#[tokio::test]
async fn the_marketplace_lists_published_apps_of_every_account() {
    let app = identity_app().await;
    let acme = tenant(&app, "Acme", Some("acme")).await;
    let globex = tenant(&app, "Globex", Some("globex")).await;
    let user_app = |name: &str, published: bool| {
        json!({"name": name, "kind": "user", "scopes": ["meeting.read"], "published": published,
            "redirect_uris": ["https://apps.example/cb"]})
    };
    let a = post("/v1/apps")
        .token(&acme.token)
        .json(user_app("Listed", true))
        .send(&app)
        .await;
    let listed = a.body["client_id"].as_str().unwrap().to_owned();
    post("/v1/apps")
        .token(&acme.token)
        .json(user_app("Private", false))
        .send(&app)
        .await;
    let a = post("/v1/apps")
        .token(&globex.token)
        .json(user_app("Other", true))
        .send(&app)
        .await;
    let other = a.body["client_id"].as_str().unwrap().to_owned();
    let names = |body: &Value| -> Vec<String> {
        body["apps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["client_id"].as_str().unwrap().to_owned())
            .collect()
    };
    for token in [acme.token.as_str(), globex.token.as_str(), "nothing"] {
        let a = get("/v1/marketplace/apps").token(token).send(&app).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        assert_eq!(names(&a.body), [listed.clone(), other.clone()]);
        assert!(
            a.body["apps"]
                .as_array()
                .unwrap()
                .iter()
                .all(|x| x.get("client_secret").is_none())
        );
    }
    let a = get("/v1/marketplace/apps?page_size=1")
        .token("nothing")
        .send(&app)
        .await;
    assert_eq!(names(&a.body), [listed.as_str()]);
    let cursor = a.body["next_cursor"].as_str().unwrap().to_owned();
    let a = get(format!("/v1/marketplace/apps?page_size=1&cursor={cursor}"))
        .token("nothing")
        .send(&app)
        .await;
    assert_eq!(names(&a.body), [other.as_str()]);
    let a = patch(format!("/v1/apps/{listed}"))
        .token(&acme.token)
        .json(json!({"published": false}))
        .send(&app)
        .await;
    assert_eq!((a.status, a.body["published"].as_bool()), (StatusCode::OK, Some(false)));
    assert_eq!(
        delete(format!("/v1/apps/{other}"))
            .token(&globex.token)
            .send(&app)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let a = get("/v1/marketplace/apps").token("nothing").send(&app).await;
    assert!(names(&a.body).is_empty(), "{}", a.body);
    assert_eq!(
        get("/v1/marketplace/apps").send(&app).await.status,
        StatusCode::UNAUTHORIZED
    );
}

/// Disabling refuses the app's remembered token at once; rotation stops the old secret at once.
#[tokio::test]
async fn disabled_and_rotated_apps() {
    let app = identity_app().await;
    let acme = tenant(&app, "Acme", Some("acme")).await;
    let a = post("/v1/apps")
        .token(&acme.token)
        .json(server_app("R", &["meeting.read"]))
        .send(&app)
        .await;
    let id = a.body["client_id"].as_str().unwrap().to_owned();
    let old = credentials(&a.body);
    assert_eq!(get("/v1/meetings").token(&old).send(&app).await.status, StatusCode::OK);
    let a = post(format!("/v1/apps/{id}:rotateSecret"))
        .token(&acme.token)
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["client_id"], id.as_str());
    let new = credentials(&a.body);
    assert_ne!(new, old);
    assert_eq!(get("/v1/meetings").token(&new).send(&app).await.status, StatusCode::OK);
    let a = post(format!("/v1/apps/{id}:rotateSecret"))
        .token(&acme.token)
        .json(json!({"x": 1}))
        .send(&app)
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::BAD_REQUEST, "unknown_field"));

    let a = patch(format!("/v1/apps/{id}"))
        .token(&acme.token)
        .json(json!({"name": "Renamed", "scopes": ["meeting.read", "recording.read"]}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        (a.body["name"].as_str(), a.body["scopes"].clone()),
        (Some("Renamed"), json!(["meeting.read", "recording.read"]))
    );

    assert_eq!(
        delete(format!("/v1/apps/{id}"))
            .token(&acme.token)
            .send(&app)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        delete(format!("/v1/apps/{id}"))
            .token(&acme.token)
            .send(&app)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let a = get("/v1/meetings").token(&new).send(&app).await;
    assert_eq!((a.status, a.code()), (StatusCode::UNAUTHORIZED, "invalid_token"));
    let a = get(format!("/v1/apps/{id}")).token(&acme.token).send(&app).await;
    assert_eq!(a.body["status"], "disabled");
    let a = post(format!("/v1/apps/{id}:rotateSecret"))
        .token(&acme.token)
        .send(&app)
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::CONFLICT, "app_disabled"));
    // A public app has no secret to rotate.
    let a = post("/v1/apps")
        .token(&acme.token)
        .json(json!({"name": "P", "kind": "user", "public": true, "scopes": [], "redirect_uris": ["https://p.example/cb"]}))
        .send(&app)
        .await;
    let public = a.body["client_id"].as_str().unwrap().to_owned();
    let a = post(format!("/v1/apps/{public}:rotateSecret"))
        .token(&acme.token)
        .send(&app)
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::CONFLICT, "public_client"));
    let a = get("/v1/apps/no%20such").token(&acme.token).send(&app).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = get("/v1/apps/app_nosuch").token(&acme.token).send(&app).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}
