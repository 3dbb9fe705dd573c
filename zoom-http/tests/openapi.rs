//! The OpenAPI document: every route of docs/api.md is in it with its schemas.
//! (That real answers validate against those schemas is checked on every request the other
//! suites send, in `common::conforms`.)
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use serde_json::json;

/// Every (method, path) of docs/api.md, as written there.
const ROUTES: [(&str, &str); 59] = [
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
    ("post", "/v1/meetings/{id}/participants:muteAll"),
    ("delete", "/v1/meetings/{id}/participants/{pid}"),
    ("post", "/v1/meetings/{id}/recordings:start"),
    ("post", "/v1/meetings/{id}/recordings:stop"),
    ("get", "/v1/meetings/{id}/recordings"),
    ("get", "/v1/recordings/{rec_id}"),
    ("get", "/v1/meetings/{id}/events"),
    ("get", "/v1/events"),
    ("post", "/v1/stream-tickets"),
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
    ("post", "/v1/accounts"),
    ("get", "/v1/accounts"),
    ("get", "/v1/accounts/{id}"),
    ("patch", "/v1/accounts/{id}"),
    ("post", "/v1/users"),
    ("get", "/v1/users"),
    ("get", "/v1/users/{id}"),
    ("get", "/v1/users/me"),
    ("patch", "/v1/users/{id}"),
    ("delete", "/v1/users/{id}"),
    ("post", "/v1/apps"),
    ("get", "/v1/apps"),
    ("get", "/v1/marketplace/apps"),
    ("get", "/v1/apps/{client_id}"),
    ("patch", "/v1/apps/{client_id}"),
    ("delete", "/v1/apps/{client_id}"),
    ("post", "/v1/apps/{client_id}:rotateSecret"),
    ("get", "/openapi.json"),
    ("get", "/v1/authorizations"),
    ("delete", "/v1/authorizations/{id}"),
    ("post", "/oauth/token"),
    ("post", "/oauth/revoke"),
    ("post", "/oauth/introspect"),
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
            if status.starts_with('4') && !path.starts_with("/oauth/") {
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

/// The document states what the server enforces: ranges, formats, patterns and enums.
#[test]
fn schemas_carry_the_server_rules() {
    let doc = doc();
    let schemas = &doc["components"]["schemas"];
    let schedule = &schemas["ScheduleInput"]["properties"];
    assert_eq!(schedule["duration_minutes"]["minimum"], 1);
    assert_eq!(schedule["duration_minutes"]["maximum"], 1440);
    assert_eq!(schedule["topic"]["maxLength"], 200);
    assert_eq!(schedule["start_time"]["format"], "date-time");
    assert!(
        schedule["timezone"]["enum"]
            .as_array()
            .unwrap()
            .contains(&json!("Europe/Paris"))
    );
    assert!(schemas["PatchInput"]["properties"].get("host_id").is_none());
    let list = &doc["paths"]["/v1/meetings"]["get"]["parameters"];
    let param = |name: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(param("page_size")["schema"]["maximum"], 300);
    assert_eq!(param("page_size")["schema"]["minimum"], 1);
    assert_eq!(param("from")["schema"]["format"], "date-time");
    assert_eq!(
        schemas["ParticipantPatchInput"]["properties"]["role"]["enum"],
        json!(["co_host", "attendee"])
    );
}

proptest::proptest! {
    /// The topic and display-name patterns accept exactly what the validators accept.
    #[test]
    fn text_patterns_agree_with_the_validators(
        text in proptest::string::string_regex("[ a\\x00\\n\\t\\u{85}\\u{a0}\\u{2003}\\u{7f}é]{0,6}").unwrap()
    ) {
        use zoom_core::meeting::command::validate;
        let doc = doc();
        let topic = &doc["components"]["schemas"]["ScheduleInput"]["properties"]["topic"];
        let name = &doc["components"]["schemas"]["JoinTokenInput"]["properties"]["display_name"];
        let valid = |schema: &serde_json::Value| jsonschema::validator_for(schema).unwrap().is_valid(&json!(text));
        proptest::prop_assert_eq!(valid(topic), validate::topic(&text).is_ok(), "topic {:?}", text);
        proptest::prop_assert_eq!(valid(name), validate::display_name(&text).is_ok(), "name {:?}", text);
    }
}

/// Empty-body actions have an optional request body a client may leave out; the creating
/// operations link to those that take the ids they return; the oauth2 scheme and the webhook
/// bodies are in the document.
#[test]
fn bodies_links_security_and_webhooks() {
    let doc = doc();
    for path in [
        "/v1/meetings/{id}:end",
        "/v1/meetings/{id}/participants/{pid}/mute",
        "/v1/meetings/{id}/participants:muteAll",
        "/v1/meetings/{id}/recordings:start",
        "/v1/webhooks/{id}:rotateSecret",
        "/v1/meetings/{id}/joinToken",
    ] {
        let body = &doc["paths"][path]["post"]["requestBody"];
        assert_eq!(body["required"], false, "{path}");
        assert!(body.to_string().find("null").is_none(), "{path}: {body}");
    }
    let links =
        |path: &str, method: &str, status: &str| doc["paths"][path][method]["responses"][status]["links"].clone();
    let schedule = links("/v1/meetings", "post", "201");
    assert_eq!(schedule["MeetingsGet"]["parameters"]["id"], "$response.body#/id");
    assert!(schedule.get("EventsStream").is_none(), "streams never end");
    assert_eq!(
        links("/v1/meetings/{id}/joinToken", "post", "200")["MediaJoin"]["requestBody"]["token"],
        "$response.body#/jwt"
    );
    assert_eq!(
        links("/v1/meetings/{id}/recordings:start", "post", "202")["RecordingsGet"]["parameters"]["rec_id"],
        "$response.body#/recording_id"
    );
    assert!(links("/v1/webhooks", "post", "201")["WebhooksDelete"].is_object());
    let oauth2 = &doc["components"]["securitySchemes"]["oauth2"];
    assert_eq!(oauth2["flows"]["clientCredentials"]["tokenUrl"], "/oauth/token");
    assert_eq!(
        doc["paths"]["/v1/meetings"]["post"]["security"],
        json!([{"oauth2": ["meeting.write"]}])
    );
    assert_eq!(
        doc["paths"]["/v1/webhooks"]["post"]["security"],
        json!([{"oauth2": ["webhook.write"]}])
    );
    assert!(
        doc["paths"]["/oauth/token"]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"].is_object()
    );
    assert_eq!(
        doc["webhooks"]["participant.joined"]["post"]["requestBody"]["content"]["application/json"]["schema"]["properties"]
            ["event"]["const"],
        "participant.joined"
    );
}
