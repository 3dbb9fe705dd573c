//! The OpenAPI document: every route of docs/api.md is in it with its schemas.
//! (That real answers validate against those schemas is checked on every request the other
//! suites send, in `common::conforms`.)
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::json;

/// Every (method, path) of docs/api.md, as written there.
const ROUTES: [(&str, &str); 35] = [
    ("post", "/v1/meetings"),
    ("get", "/v1/meetings"),
    ("get", "/v1/meetings/{id}"),
    ("patch", "/v1/meetings/{id}"),
    ("delete", "/v1/meetings/{id}"),
    ("post", "/v1/meetings/{id}:end"),
    ("post", "/v1/meetings/{id}/joinToken"),
    ("get", "/v1/meetings/{id}/participants"),
    ("patch", "/v1/meetings/{id}/participants/{pid}"),
    ("post", "/v1/meetings/{id}/participants/{pid}:admit"),
    ("post", "/v1/meetings/{id}/participants/{pid}/mute"),
    ("delete", "/v1/meetings/{id}/participants/{pid}"),
    ("post", "/v1/meetings/{id}/recordings:start"),
    ("post", "/v1/meetings/{id}/recordings:stop"),
    ("get", "/v1/meetings/{id}/recordings"),
    ("get", "/v1/recordings/{rec_id}"),
    ("get", "/v1/meetings/{id}/events"),
    ("post", "/v1/webhooks"),
    ("get", "/v1/webhooks"),
    ("get", "/v1/webhooks/{id}"),
    ("patch", "/v1/webhooks/{id}"),
    ("delete", "/v1/webhooks/{id}"),
    ("post", "/v1/webhooks/{id}:rotateSecret"),
    ("post", "/v1/webhooks/{id}:redeliver"),
    ("post", "/v1/webhooks/{id}:ping"),
    ("post", "/v1/webhooks/{id}:validate"),
    ("get", "/v1/webhooks/{id}/deliveries"),
    ("get", "/.well-known/jwks.json"),
    ("get", "/healthz"),
    ("post", "/v1/media/joins"),
    ("post", "/v1/media/leaves"),
    ("post", "/v1/media/recordings/{rec_id}:complete"),
    ("post", "/v1/media/recordings/{rec_id}:fail"),
    ("get", "/openapi.json"),
    ("post", "/oauth/token"),
];

/// Each route is documented with its answers, and every problem answer uses the Problem schema.
#[test]
fn every_route_is_documented() {
    let doc = doc();
    assert_eq!(doc["openapi"], "3.1.0");
    for (method, path) in ROUTES {
        if path == "/openapi.json" {
            // docs/api.md: the document need not list itself.
            continue;
        }
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not in the document");
        let responses = op["responses"].as_object().unwrap();
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{method} {path} has no success answer"
        );
        for (status, r) in responses {
            let r = match r["$ref"]
                .as_str()
                .and_then(|r| r.strip_prefix("#/components/responses/"))
            {
                Some(name) => &doc["components"]["responses"][name],
                None => r,
            };
            // The token endpoint answers RFC 6749 errors, not problems.
            if status.starts_with('4') && path != "/oauth/token" {
                assert_eq!(
                    r["content"]["application/problem+json"]["schema"]["$ref"], "#/components/schemas/Problem",
                    "{method} {path} {status}"
                );
            }
        }
        if path.starts_with("/v1/") {
            assert!(responses.contains_key("401"), "{method} {path} documents no 401");
            assert!(op["security"].is_array(), "{method} {path} names no scope");
        }
    }
    let documented: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_object().unwrap().len())
        .sum();
    assert_eq!(
        documented,
        ROUTES.len() - 1,
        "the document lists routes the design does not"
    );
}

/// Operation ids are unique, as OpenAPI requires (code generators name functions after them).
#[test]
fn operation_ids_are_unique() {
    let mut seen = std::collections::BTreeSet::new();
    for (path, ops) in doc()["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            assert!(seen.insert(id.to_owned()), "{id} is used twice");
        }
    }
}

/// Request bodies are documented with their schemas, and unknown fields are refused by them too.
#[test]
fn request_bodies_have_schemas() {
    let doc = doc();
    let body = |method: &str, path: &str| {
        doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"].clone()
    };
    assert_eq!(
        body("post", "/v1/meetings")["$ref"],
        "#/components/schemas/ScheduleInput"
    );
    let schedule = &doc["components"]["schemas"]["ScheduleInput"];
    let required: Vec<&str> = schedule["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(required, vec!["topic", "start_time", "duration_minutes"]);
    validate(&body("post", "/v1/meetings"), &schedule_body(), "schedule body");
    validate(&body("post", "/v1/media/joins"), &json!({"token": "x"}), "join body");
    validate(
        &body("post", "/v1/media/recordings/{rec_id}:complete"),
        &json!({"duration_seconds": 3, "files": [{"type": "chat", "storage_key": "k", "size_bytes": 1}]}),
        "complete body",
    );
}

/// The matcher that maps concrete paths to templates (used to validate every answer).
#[test]
fn templates_match_concrete_paths() {
    assert_eq!(
        template_of("/v1/meetings/mtg_1:end").as_deref(),
        Some("/v1/meetings/{id}:end")
    );
    assert_eq!(template_of("/v1/meetings/mtg_1").as_deref(), Some("/v1/meetings/{id}"));
    assert_eq!(
        template_of("/v1/meetings/mtg_1/joinToken").as_deref(),
        Some("/v1/meetings/{id}/joinToken")
    );
    assert_eq!(
        template_of("/v1/meetings/mtg_1/recordings:stop").as_deref(),
        Some("/v1/meetings/{id}/recordings:stop")
    );
    assert_eq!(
        template_of("/v1/meetings/mtg_1/recordings").as_deref(),
        Some("/v1/meetings/{id}/recordings")
    );
    assert_eq!(
        template_of("/v1/webhooks/whk_1:rotateSecret").as_deref(),
        Some("/v1/webhooks/{id}:rotateSecret")
    );
    assert_eq!(template_of("/v1/meetings/mtg_1:explode"), None);
}
