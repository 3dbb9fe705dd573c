//! `/v1/users`: an account's users, the server-wide email, the owner rules, paging and the
//! `status` filter, and every refusal (scope, validation, conflicts, another account).
#![allow(clippy::unwrap_used)]

mod common;

use axum::http::StatusCode;
use common::identity::*;
use common::*;
use serde_json::{Value, json};

fn alice() -> Value {
    json!({"email": "Alice@Acme.example", "display_name": "Alice", "id": "alice", "password": "correct horse"})
}

/// A user is created with a normalised email and a role, never shows a password, and is read
/// by `admin` and by `user.read`.
#[tokio::test]
async fn users_are_created_and_read() {
    let app = identity_app().await;
    let acme = tenant(&app, "Acme", Some("acme")).await;
    let a = post("/v1/users").token(&acme.token).json(alice()).send(&app).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(a.body["email"], "alice@acme.example");
    assert_eq!(
        (a.body["role"].as_str(), a.body["status"].as_str()),
        (Some("member"), Some("active"))
    );
    assert_eq!(
        (a.body["has_password"].as_bool(), a.body["account_id"].as_str()),
        (Some(true), Some("acme"))
    );
    assert!(a.body.get("password").is_none());
    let a = post("/v1/users")
        .token(&acme.token)
        .json(json!({"email": "bob@acme.example", "display_name": "Bob", "role": "owner"}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert!(a.id().starts_with("usr_"));
    assert_eq!(
        (a.body["role"].as_str(), a.body["has_password"].as_bool()),
        (Some("owner"), Some(false))
    );

    let a = post("/v1/apps")
        .token(&acme.token)
        .json(json!({"name": "Directory reader", "kind": "server", "scopes": ["user.read"]}))
        .send(&app)
        .await;
    let reader = credentials(&a.body);
    let a = get("/v1/users/alice").token(&reader).send(&app).await;
    assert_eq!(
        (a.status, a.body["display_name"].as_str()),
        (StatusCode::OK, Some("Alice"))
    );
    let a = get("/v1/users").token(&reader).send(&app).await;
    assert_eq!(a.body["users"].as_array().unwrap().len(), 2);
    // `user.read` reads, it does not write.
    let a = post("/v1/users")
        .token(&reader)
        .json(json!({"email": "c@acme.example", "display_name": "C"}))
        .send(&app)
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "insufficient_scope"));
    let a = patch("/v1/users/alice")
        .token(&reader)
        .json(json!({"display_name": "X"}))
        .send(&app)
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "insufficient_scope"));
    let a = delete("/v1/users/alice").token(&reader).send(&app).await;
    assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "insufficient_scope"));
    let a = get("/v1/users").token("nothing").send(&app).await;
    assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "insufficient_scope"));
}

/// An email names one user in the whole server, whatever its case; ids are unique in an
/// account; bodies are checked field by field.
#[tokio::test]
async fn emails_ids_and_bodies() {
    let app = identity_app().await;
    let acme = tenant(&app, "Acme", Some("acme")).await;
    let globex = tenant(&app, "Globex", Some("globex")).await;
    assert_eq!(
        post("/v1/users")
            .token(&acme.token)
            .json(alice())
            .send(&app)
            .await
            .status,
        StatusCode::CREATED
    );
    let a = post("/v1/users")
        .token(&globex.token)
        .json(json!({"email": "ALICE@acme.example", "display_name": "Other Alice"}))
        .send(&app)
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::CONFLICT, "email_taken"),
        "{}",
        a.body
    );
    let a = post("/v1/users")
        .token(&acme.token)
        .json(json!({"email": "alice2@acme.example", "display_name": "A2", "id": "alice"}))
        .send(&app)
        .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::CONFLICT, "user_exists"),
        "{}",
        a.body
    );
    // The failed creation gave its address back.
    let a = post("/v1/users")
        .token(&acme.token)
        .json(json!({"email": "alice2@acme.example", "display_name": "A2"}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    // The same id in another account is another user.
    let a = post("/v1/users")
        .token(&globex.token)
        .json(json!({"email": "alice@globex.example", "display_name": "Alice G", "id": "alice"}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let cases = [
        (json!({"display_name": "A"}), "email"),
        (json!({"email": "not-an-email", "display_name": "A"}), "email"),
        (json!({"email": "a@b.example"}), "display_name"),
        (json!({"email": "a@b.example", "display_name": " "}), "display_name"),
        (
            json!({"email": "a@b.example", "display_name": "A", "id": "has space"}),
            "id",
        ),
        (
            json!({"email": "a@b.example", "display_name": "A", "role": "king"}),
            "role",
        ),
        (
            json!({"email": "a@b.example", "display_name": "A", "password": ""}),
            "password",
        ),
        (
            json!({"email": "a@b.example", "display_name": "A", "password": "é".repeat(257)}),
            "password",
        ),
        (json!({"email": " a@b.example", "display_name": "A"}), "email"),
        (json!({"email": "zoë@b.example", "display_name": "A"}), "email"),
        (json!({"email": "a@b@c.example", "display_name": "A"}), "email"),
        (
            json!({"email": format!("{}@b.example", "a".repeat(250)), "display_name": "A"}),
            "email",
        ),
    ];
    for (body, field) in cases {
        let a = post("/v1/users").token(&acme.token).json(body.clone()).send(&app).await;
        assert_eq!(
            (a.status, a.field()),
            (StatusCode::BAD_REQUEST, field),
            "{body}: {}",
            a.body
        );
    }
    let a = post("/v1/users")
        .token(&acme.token)
        .json(json!({"email": "a@b.example", "display_name": "A", "admin": true}))
        .send(&app)
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::BAD_REQUEST, "unknown_field"));
    // 256 characters of four bytes each: the longest password there is.
    let a = patch("/v1/users/alice")
        .token(&acme.token)
        .json(json!({"password": "𝄞".repeat(256)}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let a = patch("/v1/users/alice")
        .token(&acme.token)
        .json(json!({"password": "x".repeat(257)}))
        .send(&app)
        .await;
    assert_eq!((a.status, a.field()), (StatusCode::BAD_REQUEST, "password"));
    let a = patch("/v1/users/alice")
        .token(&acme.token)
        .json(json!({"email": "x@y.example"}))
        .send(&app)
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::BAD_REQUEST, "unknown_field"));
}

/// Another account's user is 404 on every route, and lists hold only the caller's account.
#[tokio::test]
async fn another_accounts_users_are_404() {
    let app = identity_app().await;
    let acme = tenant(&app, "Acme", Some("acme")).await;
    let globex = tenant(&app, "Globex", Some("globex")).await;
    post("/v1/users").token(&acme.token).json(alice()).send(&app).await;
    for call in [
        get("/v1/users/alice"),
        patch("/v1/users/alice").json(json!({"display_name": "Mine"})),
        delete("/v1/users/alice"),
    ] {
        let a = call.token(&globex.token).send(&app).await;
        assert_eq!((a.status, a.code()), (StatusCode::NOT_FOUND, "not_found"), "{}", a.body);
    }
    let a = get("/v1/users").token(&globex.token).send(&app).await;
    assert!(a.body["users"].as_array().unwrap().is_empty(), "{}", a.body);
    let a = get("/v1/users/alice").token(&acme.token).send(&app).await;
    assert_eq!(
        (a.body["display_name"].as_str(), a.body["status"].as_str()),
        (Some("Alice"), Some("active"))
    );
    let a = get("/v1/users/bad%20id").token(&acme.token).send(&app).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}

/// Changes, deactivation, the `status` filter, pages, and the last owner.
#[tokio::test]
async fn users_change_deactivate_and_page() {
    let app = identity_app().await;
    let acme = tenant(&app, "Acme", Some("acme")).await;
    for i in 0..4 {
        let body =
            json!({"email": format!("u{i}@acme.example"), "display_name": format!("U{i}"), "id": format!("u{i}")});
        assert_eq!(
            post("/v1/users").token(&acme.token).json(body).send(&app).await.status,
            StatusCode::CREATED
        );
    }
    let a = patch("/v1/users/u0")
        .token(&acme.token)
        .json(json!({"display_name": "Zero", "role": "owner", "password": "a new one"}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        (a.body["display_name"].as_str(), a.body["role"].as_str()),
        (Some("Zero"), Some("owner"))
    );
    assert_eq!(a.body["has_password"], true);
    // The only owner stays one and stays active.
    let a = patch("/v1/users/u0")
        .token(&acme.token)
        .json(json!({"role": "member"}))
        .send(&app)
        .await;
    assert_eq!((a.status, a.code()), (StatusCode::CONFLICT, "last_owner"), "{}", a.body);
    let a = delete("/v1/users/u0").token(&acme.token).send(&app).await;
    assert_eq!((a.status, a.code()), (StatusCode::CONFLICT, "last_owner"), "{}", a.body);

    assert_eq!(
        delete("/v1/users/u1").token(&acme.token).send(&app).await.status,
        StatusCode::NO_CONTENT
    );
    let a = patch("/v1/users/u2")
        .token(&acme.token)
        .json(json!({"status": "deactivated"}))
        .send(&app)
        .await;
    assert_eq!(a.body["status"], "deactivated");
    let ids = |body: &Value| -> Vec<String> {
        body["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let a = get("/v1/users?status=deactivated").token(&acme.token).send(&app).await;
    assert_eq!(ids(&a.body), ["u1", "u2"]);
    let a = get("/v1/users?status=active").token(&acme.token).send(&app).await;
    assert_eq!(ids(&a.body), ["u0", "u3"]);
    let a = get("/v1/users?status=gone").token(&acme.token).send(&app).await;
    assert_eq!((a.status, a.field()), (StatusCode::BAD_REQUEST, "status"));
    let a = patch("/v1/users/u2")
        .token(&acme.token)
        .json(json!({"status": "active"}))
        .send(&app)
        .await;
    assert_eq!(a.body["status"], "active");

    let mut seen = vec![];
    let mut path = "/v1/users?page_size=3".to_owned();
    for _ in 0..5 {
        let a = get(&path).token(&acme.token).send(&app).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        seen.extend(ids(&a.body));
        match a.body["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/users?page_size=3&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ["u0", "u1", "u2", "u3"]);
    let a = get("/v1/users?page_size=0").token(&acme.token).send(&app).await;
    assert_eq!((a.status, a.field()), (StatusCode::BAD_REQUEST, "page_size"));
    let a = patch("/v1/users/nobody")
        .token(&acme.token)
        .json(json!({"display_name": "N"}))
        .send(&app)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let a = delete("/v1/users/nobody").token(&acme.token).send(&app).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
}
