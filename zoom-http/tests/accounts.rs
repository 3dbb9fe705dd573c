//! `/v1/accounts`: the platform's tenants, their admin apps, paging, disabling, and every
//! refusal (scope, validation, conflicts, another account).
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::identity::*;
use common::*;
use serde_json::json;

/// A new account answers with an admin app holding every scope but `platform`, which acts in
/// that account alone.
#[tokio::test]
async fn a_new_account_has_an_admin_app_that_acts_in_it_alone() {
    let app = identity_app().await;
    let a = post("/v1/accounts")
        .token("platform")
        .json(json!({"name": "Acme", "id": "acme"}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(
        (a.body["id"].as_str(), a.body["status"].as_str()),
        (Some("acme"), Some("active"))
    );
    let scopes: Vec<&str> = a.body["admin_app"]["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(scopes.contains(&"admin") && scopes.contains(&"meeting.write"));
    assert!(!scopes.contains(&"platform"));
    assert!(
        a.body["admin_app"]["client_secret"]
            .as_str()
            .unwrap()
            .starts_with("zsec_")
    );
    let acme = credentials(&a.body["admin_app"]);

    let globex = tenant(&app, "Globex", None).await;
    assert!(globex.id.starts_with("acc_"), "{}", globex.id);

    let meeting = schedule(&app, &acme, json!({})).await;
    let a = get(format!("/v1/meetings/{meeting}")).token(&acme).send(&app).await;
    assert_eq!(a.status, StatusCode::OK);
    for other in [globex.token.as_str(), "platform"] {
        let a = get(format!("/v1/meetings/{meeting}")).token(other).send(&app).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);
    }
    // The admin app sees its own account's apps: itself.
    let a = get("/v1/apps").token(&acme).send(&app).await;
    assert_eq!(a.body["apps"].as_array().unwrap().len(), 1, "{}", a.body);
    // It holds no `platform`: it cannot make accounts or read its own.
    let a = post("/v1/accounts")
        .token(&acme)
        .json(json!({"name": "X"}))
        .send(&app)
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "insufficient_scope"));
    let a = get("/v1/accounts/acme").token(&acme).send(&app).await;
    assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "insufficient_scope"));
    let a = get(format!("/v1/accounts/{}", globex.id)).token(&acme).send(&app).await;
    assert_eq!((a.status, a.code()), (StatusCode::NOT_FOUND, "not_found"));
}

/// Without `platform`, every account route is 403, another account's read 404.
#[tokio::test]
async fn account_routes_need_platform() {
    let app = identity_app().await;
    let acme = tenant(&app, "Acme", Some("acme")).await;
    for token in ["platform-admin", "nothing"] {
        let a = post("/v1/accounts")
            .token(token)
            .json(json!({"name": "X"}))
            .send(&app)
            .await;
        assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "insufficient_scope"));
        let a = get("/v1/accounts").token(token).send(&app).await;
        assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "insufficient_scope"));
        let a = patch("/v1/accounts/acme")
            .token(token)
            .json(json!({"status": "disabled"}))
            .send(&app)
            .await;
        assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "insufficient_scope"));
        let a = get("/v1/accounts/acme").token(token).send(&app).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND);
    }
    let a = get("/v1/accounts").send(&app).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    // Nothing changed.
    let a = get("/v1/accounts/acme").token("platform").send(&app).await;
    assert_eq!(a.body["status"], "active");
    assert_eq!(
        get("/v1/apps").token(&acme.token).send(&app).await.status,
        StatusCode::OK
    );
}

/// Bodies, ids and repeats: each refusal names its field or code.
#[tokio::test]
async fn account_bodies_are_validated() {
    let app = identity_app().await;
    let send = |body: serde_json::Value| post("/v1/accounts").token("platform").json(body);
    let a = send(json!({})).send(&app).await;
    assert_eq!(
        (a.status, a.code(), a.field()),
        (StatusCode::BAD_REQUEST, "invalid_field", "name")
    );
    let a = send(json!({"name": "A", "colour": "red"})).send(&app).await;
    assert_eq!((a.status, a.code()), (StatusCode::BAD_REQUEST, "unknown_field"));
    let a = send(json!({"name": "A", "id": "no spaces"})).send(&app).await;
    assert_eq!((a.status, a.field()), (StatusCode::BAD_REQUEST, "id"));
    let a = send(json!({"name": "   "})).send(&app).await;
    assert_eq!((a.status, a.field()), (StatusCode::BAD_REQUEST, "name"));
    let a = send(json!({"name": "x".repeat(201)})).send(&app).await;
    assert_eq!((a.status, a.field()), (StatusCode::BAD_REQUEST, "name"));
    tenant(&app, "Acme", Some("acme")).await;
    for name in ["Acme", "Other"] {
        let a = send(json!({"name": name, "id": "acme"})).send(&app).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::CONFLICT, "account_exists"),
            "{}",
            a.body
        );
    }
    let a = patch("/v1/accounts/acme")
        .token("platform")
        .json(json!({"status": "gone"}))
        .send(&app)
        .await;
    assert_eq!((a.status, a.field()), (StatusCode::BAD_REQUEST, "status"));
    let a = patch("/v1/accounts/nobody")
        .token("platform")
        .json(json!({"name": "N"}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = get("/v1/accounts/nobody").token("platform").send(&app).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = get("/v1/accounts/bad%20id").token("platform").send(&app).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = get("/v1/accounts?colour=red").token("platform").send(&app).await;
    assert_eq!((a.status, a.code()), (StatusCode::BAD_REQUEST, "unknown_field"));
}

/// Accounts list in creation order, in pages that join up.
#[tokio::test]
async fn accounts_are_paged() {
    let app = identity_app().await;
    let mut made = vec![];
    for i in 0..5 {
        made.push(tenant(&app, &format!("Tenant {i}"), None).await.id);
    }
    let mut seen = vec![];
    let mut path = "/v1/accounts?page_size=2".to_owned();
    for _ in 0..10 {
        let a = get(&path).token("platform").send(&app).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        let page = a.body["accounts"].as_array().unwrap();
        assert!(page.len() <= 2);
        seen.extend(page.iter().map(|x| x["id"].as_str().unwrap().to_owned()));
        match a.body["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/accounts?page_size=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, made);
    let a = get("/v1/accounts?page_size=301").token("platform").send(&app).await;
    assert_eq!((a.status, a.field()), (StatusCode::BAD_REQUEST, "page_size"));
    let a = get("/v1/accounts?cursor=bogus").token("platform").send(&app).await;
    assert_eq!((a.status, a.field()), (StatusCode::BAD_REQUEST, "cursor"));
}

/// Disabling an account refuses its tokens at once, though the router remembers accepted
/// tokens; enabling it lets them work again. A rename changes nothing else.
#[tokio::test]
async fn a_disabled_account_refuses_its_tokens() {
    let app = identity_app().await;
    let acme = tenant(&app, "Acme", Some("acme")).await;
    let globex = tenant(&app, "Globex", Some("globex")).await;
    assert_eq!(
        get("/v1/apps").token(&acme.token).send(&app).await.status,
        StatusCode::OK
    );
    let a = patch("/v1/accounts/acme")
        .token("platform")
        .json(json!({"status": "disabled", "name": "Acme Ltd"}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        (a.body["status"].as_str(), a.body["name"].as_str()),
        (Some("disabled"), Some("Acme Ltd"))
    );
    let a = get("/v1/apps").token(&acme.token).send(&app).await;
    assert_eq!((a.status, a.code()), (StatusCode::UNAUTHORIZED, "invalid_token"));
    assert_eq!(
        get("/v1/apps").token(&globex.token).send(&app).await.status,
        StatusCode::OK
    );
    let a = patch("/v1/accounts/acme")
        .token("platform")
        .json(json!({"status": "active"}))
        .send(&app)
        .await;
    assert_eq!(a.body["status"], "active");
    assert_eq!(
        get("/v1/apps").token(&acme.token).send(&app).await.status,
        StatusCode::OK
    );
    let a = get("/v1/accounts/acme").token("platform").send(&app).await;
    assert_eq!(a.body["name"], "Acme Ltd");
    // The operator cannot lock itself out; renaming its account is fine.
    tenant(&app, "Operator", Some(PLATFORM)).await;
    let a = patch(format!("/v1/accounts/{PLATFORM}"))
        .token("platform")
        .json(json!({"status": "disabled"}))
        .send(&app)
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::CONFLICT, "platform_account"),
        "{}",
        a.body
    );
    let a = patch(format!("/v1/accounts/{PLATFORM}"))
        .token("platform")
        .json(json!({"name": "Operations"}))
        .send(&app)
        .await;
    assert_eq!((a.status, a.body["status"].as_str()), (StatusCode::OK, Some("active")));
}

/// A router without a directory answers every identity route 404 `not_found`.
#[tokio::test]
async fn without_a_directory_identity_routes_are_404() {
    let app = app().await;
    for call in [
        post("/v1/accounts").json(json!({"name": "A"})),
        get("/v1/accounts"),
        get("/v1/users"),
        get("/v1/apps"),
        get("/v1/marketplace/apps"),
    ] {
        let a = call.token("admin").send(&app).await;
        assert_eq!((a.status, a.code()), (StatusCode::NOT_FOUND, "not_found"), "{}", a.body);
    }
}
