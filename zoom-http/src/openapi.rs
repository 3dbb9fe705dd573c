//! The OpenAPI 3.1 document served at `GET /openapi.json`.
//!
//! utoipa generates the paths from the handlers' own annotations and body types; [`finish`] then
//! adds what every route shares, so no handler repeats it:
//! - the problem answers, once each in `components.responses`, referenced from every operation
//!   they apply to (401 and 403 where a token is needed, 404 where a path names a resource, 413
//!   and 415 where a body is read, 422 where `Idempotency-Key` is honoured, ...);
//! - the `oauth2` security scheme (client credentials at `/oauth/token`) and each operation's
//!   scopes, and `POST /oauth/token` itself (served by zoom-server);
//! - links from the operations that create a resource to those that take its id;
//! - the webhook bodies, in the 3.1 `webhooks` section.

use std::borrow::Cow;

use serde_json::{Map, Value, json};
use utoipa::OpenApi;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::AdditionalProperties;
use utoipa::openapi::{ObjectBuilder, RefOr, Required, Schema, Type};
use zoom_core::engine::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use zoom_core::principal::Scope;
use zoom_core::webhook::catalogue::CATALOGUE;

use crate::limits::RateLimitAnswers;
use crate::problem::ProblemDocument;
use crate::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "zoom meeting engine API",
        description = "The REST surface and media seam of the meeting engine (docs/api.md)."
    ),
    paths(
        routes::meta::healthz,
        routes::meta::jwks,
        routes::meetings::schedule,
        routes::meetings::list,
        routes::meetings::get,
        routes::meetings::patch,
        routes::meetings::cancel,
        routes::meetings::end,
        routes::meetings::join_token,
        routes::events::stream,
        routes::events::account,
        routes::events::ticket,
        routes::participants::list,
        routes::participants::patch,
        routes::participants::remove,
        routes::participants::admit,
        routes::participants::mute,
        routes::participants::mute_all,
        routes::recordings::start,
        routes::recordings::stop,
        routes::recordings::list,
        routes::recordings::get,
        routes::webhooks::create,
        routes::webhooks::list,
        routes::webhooks::get,
        routes::webhooks::patch,
        routes::webhooks::delete,
        routes::webhooks::rotate_secret,
        routes::webhooks::redeliver,
        routes::webhooks::ping,
        routes::webhooks::validate,
        routes::webhooks::deliveries,
        routes::accounts::create,
        routes::accounts::list,
        routes::accounts::get,
        routes::accounts::patch,
        routes::users::create,
        routes::users::list,
        routes::users::get,
        routes::users::me,
        routes::users::patch,
        routes::users::deactivate,
        routes::apps::create,
        routes::apps::list,
        routes::apps::marketplace,
        routes::apps::get,
        routes::apps::patch,
        routes::apps::disable,
        routes::apps::rotate_secret,
        routes::authorizations::list,
        routes::authorizations::revoke,
        routes::media::join,
        routes::media::leave,
        routes::media::complete,
        routes::media::fail,
    ),
    components(schemas(ProblemDocument)),
    modifiers(&RateLimitAnswers)
)]
struct ApiDoc;

/// The OpenAPI 3.1 document served at `GET /openapi.json`, generated from the handlers'
/// annotations and completed by [`finish`].
pub fn openapi() -> Value {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    let mut doc = serde_json::to_value(&doc).unwrap_or_default();
    finish(&mut doc);
    doc
}

/// The body of an action that takes none: nothing, or `{}`. Its request body is optional, so a
/// generated client may call the action without one.
pub(crate) struct EmptyBody;

impl utoipa::PartialSchema for EmptyBody {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some("Nothing, or the empty object `{}`"))
            .max_properties(Some(0))
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .into()
    }
}

impl utoipa::ToSchema for EmptyBody {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("EmptyBody")
    }
}

/// `page_size` and `cursor`, as every list takes them.
pub(crate) struct PageParams;

impl utoipa::IntoParams for PageParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let page_size = ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1))
            .maximum(Some(MAX_PAGE_SIZE as i64))
            .default(Some(json!(DEFAULT_PAGE_SIZE)));
        let cursor = ObjectBuilder::new().schema_type(Type::String).min_length(Some(1));
        vec![
            ParameterBuilder::new()
                .name("page_size")
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some("Items per page"))
                .schema(Some(page_size))
                .build(),
            ParameterBuilder::new()
                .name("cursor")
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(
                    "`next_cursor` of the previous page of the same list, with the same filters",
                ))
                .schema(Some(cursor))
                .build(),
        ]
    }
}

/// The shared problem answers: (status, name in `components.responses`, description).
const PROBLEMS: [(&str, &str, &str); 11] = [
    (
        "400",
        "BadRequest",
        "A body, query or header the server cannot accept (`code` and `field` say which)",
    ),
    ("401", "Unauthorized", "No valid access token"),
    (
        "403",
        "Forbidden",
        "The token lacks the scope, or the caller may not change this resource",
    ),
    ("404", "NotFound", "No such resource in the caller's account"),
    ("413", "PayloadTooLarge", "The body is larger than the server accepts"),
    (
        "414",
        "UriTooLong",
        "The request target is longer than the server accepts",
    ),
    ("415", "UnsupportedMediaType", "A body that is not `application/json`"),
    (
        "422",
        "IdempotencyKeyReused",
        "This `Idempotency-Key` was used with another request",
    ),
    (
        "431",
        "HeadersTooLarge",
        "The request's headers are larger than the server accepts",
    ),
    ("410", "Gone", "The meeting was cancelled"),
    (
        "503",
        "Unavailable",
        "The store is unavailable or the resource too contended; retry",
    ),
];

/// Completes the generated document (see the module doc).
fn finish(doc: &mut Value) {
    let Some(root) = doc.as_object_mut() else { return };
    let components = root.entry("components").or_insert_with(|| json!({})).as_object_mut();
    if let Some(components) = components {
        let responses = components.entry("responses").or_insert_with(|| json!({}));
        for (status, name, description) in PROBLEMS {
            let mut response = json!({
                "description": description,
                "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
            });
            if status == "401" {
                response["headers"] =
                    json!({"WWW-Authenticate": {"schema": {"type": "string"}, "description": "`Bearer`"}});
            }
            responses[name] = response;
        }
        let scopes: Map<String, Value> = Scope::ALL
            .iter()
            .map(|s| (s.as_str().to_owned(), Value::String(scope_description(*s).to_owned())))
            .collect();
        components.entry("securitySchemes").or_insert_with(|| json!({}))["oauth2"] = json!({
            "type": "oauth2",
            "description": "Access tokens from `POST /oauth/token` (client credentials), sent as `Authorization: Bearer <token>`",
            "flows": {"clientCredentials": {"tokenUrl": "/oauth/token", "scopes": scopes}},
        });
    }
    if let Some(paths) = root.get_mut("paths").and_then(Value::as_object_mut) {
        let templates: Vec<String> = paths.keys().cloned().collect();
        for template in &templates {
            let Some(item) = paths.get_mut(template).and_then(Value::as_object_mut) else {
                continue;
            };
            for (method, op) in item.iter_mut() {
                shared_problems(template, method, op);
            }
        }
        links(paths);
        query_constraints(paths);
        paths.insert("/oauth/token".to_owned(), token_endpoint());
        let (revoke, introspect) = revoke_and_introspect();
        paths.insert("/oauth/revoke".to_owned(), revoke);
        paths.insert("/oauth/introspect".to_owned(), introspect);
    }
    if let Some(schemas) = root
        .get_mut("components")
        .and_then(|c| c.get_mut("schemas"))
        .and_then(Value::as_object_mut)
    {
        body_constraints(schemas);
    }
    root.insert("webhooks".to_owned(), webhooks());
}

/// The pattern of a user id or other name (`zoom_core::id::Name`).
pub(crate) const NAME_PATTERN: &str = "^[A-Za-z0-9_.@:-]{1,128}$";

/// The rules of every list's `page_size` and `cursor`, whichever route declares them.
fn query_constraints(paths: &mut Map<String, Value>) {
    for op in paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|i| i.values_mut())
    {
        let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
            continue;
        };
        for p in params {
            let schema = match (p["in"].as_str(), p["name"].as_str()) {
                (Some("query"), Some("page_size")) => json!({
                    "type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": DEFAULT_PAGE_SIZE,
                }),
                (Some("query"), Some("cursor")) => json!({"type": "string", "minLength": 1}),
                (Some("query"), Some("host_id")) => json!({"type": "string", "pattern": NAME_PATTERN}),
                (Some("query"), Some("events")) => json!({
                    "type": "string", "pattern": events_pattern(),
                    "description": "Comma-separated catalogue names (docs/events.md)",
                }),
                (Some("header"), Some("Last-Event-ID")) => json!({"type": "integer", "minimum": 0}),
                (Some("header"), Some("Idempotency-Key")) => json!({
                    "type": "string", "minLength": 1, "maxLength": crate::extract::MAX_IDEMPOTENCY_KEY, "pattern": "^[!-~]+$",
                }),
                _ => continue,
            };
            p["schema"] = schema;
        }
    }
}

/// A comma-separated list of catalogue names, as the `events` filter of `GET /v1/events` takes.
fn events_pattern() -> String {
    let names: Vec<String> = CATALOGUE.iter().map(|n| n.replace('.', "\\.")).collect();
    let one = format!("({})", names.join("|"));
    format!("^{one}(,{one})*$")
}

/// Sets `schema.properties.<property>` to `value`.
fn property(schemas: &mut Map<String, Value>, schema: &str, property: &str, value: Value) {
    if let Some(p) = schemas
        .get_mut(schema)
        .and_then(|s| s.get_mut("properties"))
        .and_then(Value::as_object_mut)
    {
        p.insert(property.to_owned(), value);
    }
}

/// Every rule the server enforces on a body that a schema can state, written where utoipa's
/// attributes cannot take the patterns and lists that zoom-core defines.
fn body_constraints(schemas: &mut Map<String, Value>) {
    use zoom_core::meeting::command::validate;
    // `null` is accepted wherever a field is optional; an enum must then list it too.
    let nullable = |mut v: Value| {
        v["type"] = json!([v["type"].clone(), "null"]);
        if let Some(values) = v.get_mut("enum").and_then(Value::as_array_mut) {
            values.push(Value::Null);
        }
        v
    };
    let topic = json!({"type": "string", "minLength": 1, "maxLength": 200, "pattern": validate::TEXT_PATTERN,
        "description": "1 to 200 characters, not only white space, no control characters"});
    let duration = json!({"type": "integer", "minimum": 1, "maximum": 1440, "description": "Minutes, 1 to 1440"});
    let timezones: Vec<&str> = validate::timezone_names().collect();
    let timezone = json!({"type": "string", "enum": timezones, "description": "An IANA time-zone name"});
    let passcode = json!({"type": "string", "pattern": validate::PASSCODE_PATTERN});
    let start = json!({"type": "string", "format": "date-time", "description": "RFC 3339"});
    let name = json!({"type": "string", "pattern": NAME_PATTERN});
    for schema in ["ScheduleInput", "PatchInput"] {
        let patch = schema == "PatchInput";
        let maybe = |v: &Value| if patch { nullable(v.clone()) } else { v.clone() };
        property(schemas, schema, "topic", maybe(&topic));
        property(schemas, schema, "duration_minutes", maybe(&duration));
        property(schemas, schema, "start_time", maybe(&start));
        property(schemas, schema, "timezone", nullable(timezone.clone()));
        property(schemas, schema, "passcode", nullable(passcode.clone()));
    }
    property(schemas, "ScheduleInput", "host_id", nullable(name.clone()));
    // The host never changes: a patch naming one is always refused, so the document has none.
    if let Some(p) = schemas
        .get_mut("PatchInput")
        .and_then(|s| s.get_mut("properties"))
        .and_then(Value::as_object_mut)
    {
        p.remove("host_id");
    }
    property(schemas, "JoinTokenInput", "user_id", nullable(name));
    property(
        schemas,
        "JoinTokenInput",
        "display_name",
        nullable(json!({"type": "string", "pattern": validate::DISPLAY_NAME_PATTERN,
            "description": "1 to 100 characters once trimmed, no control characters"})),
    );
    property(
        schemas,
        "ParticipantPatchInput",
        "role",
        json!({"type": "string", "enum": ["co_host", "attendee"], "description": "The host is fixed"}),
    );
    property(
        schemas,
        "MediaJoinInput",
        "token",
        json!({"type": "string", "minLength": 1}),
    );
    property(
        schemas,
        "MediaLeaveInput",
        "meeting_id",
        json!({"type": "string", "pattern": "^mtg_[A-Za-z0-9_]{1,64}$"}),
    );
    property(
        schemas,
        "MediaLeaveInput",
        "participant_id",
        json!({"type": "string", "pattern": "^par_[A-Za-z0-9_]{1,64}$"}),
    );
    property(
        schemas,
        "RecordingCompleteInput",
        "duration_seconds",
        json!({"type": "integer", "minimum": 0, "maximum": validate::MAX_RECORDING_SECONDS}),
    );
    if let Some(files) = schemas
        .get_mut("RecordingCompleteInput")
        .and_then(|s| s.get_mut("properties"))
        .and_then(|p| p.get_mut("files"))
    {
        files["maxItems"] = json!(validate::MAX_RECORDING_FILES);
    }
    property(
        schemas,
        "RecordingFileInput",
        "storage_key",
        json!({"type": "string", "minLength": 1, "maxLength": validate::MAX_STORAGE_KEY, "pattern": validate::TEXT_PATTERN}),
    );
    property(
        schemas,
        "RecordingFileInput",
        "size_bytes",
        json!({"type": "integer", "minimum": 0, "maximum": validate::MAX_FILE_BYTES}),
    );
    property(
        schemas,
        "RecordingFailInput",
        "error_code",
        json!({"type": "string", "minLength": 1, "maxLength": 100, "pattern": validate::TEXT_PATTERN}),
    );
    property(
        schemas,
        "WebhookInput",
        "events",
        json!({"type": "array", "minItems": 1, "items": {"type": "string", "enum": CATALOGUE}}),
    );
    property(
        schemas,
        "WebhookPatchInput",
        "events",
        json!({"type": ["array", "null"], "minItems": 1, "items": {"type": "string", "enum": CATALOGUE}}),
    );
    property(
        schemas,
        "WebhookPatchInput",
        "url",
        json!({"type": ["string", "null"], "format": "uri", "description": "A public `https` or `http` URL"}),
    );
    property(
        schemas,
        "WebhookInput",
        "url",
        json!({"type": "string", "format": "uri", "description": "A public `https` or `http` URL"}),
    );
    identity_constraints(schemas, &topic, &nullable);
}

/// The rules of the identity bodies (zoom-auth's): names as meeting topics are, ids as names,
/// emails, passwords, redirect URIs and scope names.
fn identity_constraints(schemas: &mut Map<String, Value>, text: &Value, nullable: &dyn Fn(Value) -> Value) {
    use zoom_auth::app::redirect::{MAX_REDIRECT_URI_BYTES, MAX_REDIRECT_URIS};
    let id = json!({"type": "string", "pattern": NAME_PATTERN});
    let email = json!({"type": "string", "minLength": 3, "maxLength": 254, "pattern": "^[!-?A-~]+@[!-?A-~]+$",
        "description": "Visible ASCII, one `@` between a local part and a domain; compared in lower case"});
    let password = json!({"type": "string", "minLength": 1, "maxLength": crate::routes::users::MAX_PASSWORD_CHARS,
        "description": "1 to 256 characters"});
    let names: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
    let scopes = json!({"type": "array", "items": {"type": "string", "enum": names}});
    let uris = json!({"type": "array", "maxItems": MAX_REDIRECT_URIS, "uniqueItems": true, "items": {
        "type": "string", "format": "uri", "maxLength": MAX_REDIRECT_URI_BYTES, "pattern": "^(https://|http://(127\\.0\\.0\\.1|\\[::1\\]|localhost)([:/?]|$))[!-\"$-~]*$",
        "description": "Absolute, visible ASCII, no fragment, `https` (or `http` for 127.0.0.1, [::1] and localhost)"}});
    property(schemas, "AccountInput", "name", text.clone());
    property(schemas, "AccountInput", "id", nullable(id.clone()));
    property(schemas, "AccountPatchInput", "name", nullable(text.clone()));
    property(schemas, "UserInput", "email", email);
    property(schemas, "UserInput", "display_name", text.clone());
    property(schemas, "UserInput", "id", nullable(id));
    property(schemas, "UserInput", "password", nullable(password.clone()));
    property(schemas, "UserPatchInput", "display_name", nullable(text.clone()));
    property(schemas, "UserPatchInput", "password", nullable(password));
    property(schemas, "AppInput", "name", text.clone());
    property(schemas, "AppInput", "scopes", scopes.clone());
    property(schemas, "AppInput", "redirect_uris", uris.clone());
    property(schemas, "AppPatchInput", "name", nullable(text.clone()));
    let mut maybe_scopes = scopes;
    maybe_scopes["type"] = json!(["array", "null"]);
    property(schemas, "AppPatchInput", "scopes", maybe_scopes);
    let mut maybe_uris = uris;
    maybe_uris["type"] = json!(["array", "null"]);
    property(schemas, "AppPatchInput", "redirect_uris", maybe_uris);
}

/// Adds the shared problem answers that apply to one operation, keeping its own.
fn shared_problems(template: &str, method: &str, op: &mut Value) {
    // Requirements written as `bearer` name the one scheme this document has.
    if let Some(security) = op.get_mut("security").and_then(Value::as_array_mut) {
        for requirement in security.iter_mut() {
            if let Some(r) = requirement.as_object_mut()
                && let Some(scopes) = r.remove("bearer")
            {
                r.insert("oauth2".to_owned(), scopes);
            }
        }
    }
    let secured = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|s| !s.is_empty());
    let body = op.get("requestBody").is_some();
    let idempotent = op
        .get("parameters")
        .and_then(Value::as_array)
        .is_some_and(|ps| ps.iter().any(|p| p["name"] == "Idempotency-Key"));
    let applies = |status: &str| match status {
        "401" | "403" => secured,
        // The identity routes are 404 on a router without a directory (`ApiConfig::directory`).
        "404" => template.contains('{') || IDENTITY_ROUTES.iter().any(|p| template.starts_with(p)),
        "413" | "415" => body,
        "422" => idempotent,
        "410" => method != "get" && template.starts_with("/v1/meetings/{id}"),
        "503" => template.starts_with("/v1/"),
        _ => true,
    };
    // An action without a body, a join token for oneself and a mute of audio may be sent without one.
    if let Some(request) = op.get_mut("requestBody").and_then(Value::as_object_mut) {
        // `Option<Object>` bodies (`object` or `null`) are empty bodies written the old way.
        if let Some(schema) = request
            .get_mut("content")
            .and_then(|c| c.get_mut("application/json"))
            .and_then(|m| m.get_mut("schema"))
            && schema["type"] == json!(["object", "null"])
            && schema.get("properties").is_none()
        {
            *schema = json!({"$ref": "#/components/schemas/EmptyBody"});
        }
        let empty = request
            .get("content")
            .and_then(|c| c.get("application/json"))
            .and_then(|m| m.get("schema"))
            .and_then(|s| s.get("$ref"))
            .is_some_and(|r| r == "#/components/schemas/EmptyBody");
        let optional = ["/joinToken", "/mute", ":muteAll"];
        if empty || (method == "post" && optional.iter().any(|end| template.ends_with(end))) {
            request.insert("required".to_owned(), Value::Bool(false));
        }
    }
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    for (status, name, _) in PROBLEMS {
        if applies(status) && !responses.contains_key(status) {
            responses.insert(
                status.to_owned(),
                json!({"$ref": format!("#/components/responses/{name}")}),
            );
        }
    }
}

/// The prefixes of the routes served by `ApiConfig::directory`.
const IDENTITY_ROUTES: [&str; 4] = ["/v1/accounts", "/v1/users", "/v1/apps", "/v1/marketplace/"];

/// What each scope allows, for the security scheme.
fn scope_description(scope: Scope) -> &'static str {
    match scope {
        Scope::MeetingRead => "Read meetings, participants and their events",
        Scope::MeetingWrite => "Schedule, edit, cancel and end meetings; manage participants",
        Scope::MeetingJoin => "Issue join tokens",
        Scope::RecordingRead => "Read recordings",
        Scope::RecordingWrite => "Start and stop recordings",
        Scope::WebhookRead => "Read webhook subscriptions and their deliveries",
        Scope::WebhookWrite => "Create, change and delete webhook subscriptions",
        Scope::Media => "The media seam: redeem join tokens, report leaves and recordings",
        Scope::UserRead => "Read the account's users",
        Scope::Platform => "The operator's power over every account (platform account only)",
        Scope::Admin => "Act for the whole account",
    }
}

/// A link source: the operation and answer that create a resource, the expressions of the ids
/// it hands on, and the paths of the operations that take them.
struct Source {
    operation: &'static str,
    status: &'static str,
    ids: &'static [(&'static str, &'static str)],
    prefixes: &'static [&'static str],
}

const SOURCES: [Source; 4] = [
    Source {
        operation: "meetings.schedule",
        status: "201",
        ids: &[("id", "$response.body#/id")],
        prefixes: &["/v1/meetings/{id}"],
    },
    Source {
        operation: "media.join",
        status: "201",
        ids: &[
            ("id", "$response.body#/meeting_id"),
            ("pid", "$response.body#/participant_id"),
        ],
        prefixes: &["/v1/meetings/{id}"],
    },
    Source {
        operation: "recordings.start",
        status: "202",
        ids: &[("rec_id", "$response.body#/recording_id")],
        prefixes: &["/v1/recordings/{rec_id}", "/v1/media/recordings/{rec_id}"],
    },
    Source {
        operation: "webhooks.create",
        status: "201",
        ids: &[("id", "$response.body#/id")],
        prefixes: &["/v1/webhooks/{id}"],
    },
];

/// The operations that never end (event streams) take no links: a client following one would
/// wait forever.
fn streams(op: &Value) -> bool {
    op["responses"]["200"]["content"].get("text/event-stream").is_some()
}

/// Adds links from each [`Source`] to every operation under its prefixes whose path ids it
/// provides, and from the join token to its redemption and the redemption to the leave.
fn links(paths: &mut Map<String, Value>) {
    // (operation, status, links to add to that answer)
    let mut found: Vec<(&str, &str, Value)> = Vec::new();
    for source in &SOURCES {
        let mut targets = Map::new();
        for (template, item) in paths.iter() {
            if !source.prefixes.iter().any(|p| template.starts_with(p)) {
                continue;
            }
            let params = path_params(template);
            if !params.iter().all(|p| source.ids.iter().any(|(id, _)| id == p)) {
                continue;
            }
            for op in item.as_object().into_iter().flat_map(|i| i.values()) {
                let Some(target) = op["operationId"].as_str() else {
                    continue;
                };
                if target == source.operation || streams(op) {
                    continue;
                }
                let parameters: Map<String, Value> = source
                    .ids
                    .iter()
                    .filter(|(id, _)| params.iter().any(|p| p == id))
                    .map(|(id, expr)| ((*id).to_owned(), Value::String((*expr).to_owned())))
                    .collect();
                targets.insert(
                    link_name(target),
                    json!({"operationId": target, "parameters": parameters}),
                );
            }
        }
        found.push((source.operation, source.status, Value::Object(targets)));
    }
    // The new meeting's host asks for a join token, so following the links reaches a LIVE
    // meeting, its participants and its recordings.
    if let Some((_, _, Value::Object(targets))) = found.iter_mut().find(|(op, _, _)| *op == "meetings.schedule")
        && let Some(link) = targets.get_mut("MeetingsJoinToken")
    {
        link["requestBody"] = json!({"user_id": "$response.body#/host_id"});
    }
    // Body-borne ids: the token to its redemption, the participant to its leave.
    found.push((
        "meetings.join_token",
        "200",
        json!({"MediaJoin": {"operationId": "media.join", "requestBody": {"token": "$response.body#/jwt"}}}),
    ));
    found.push((
        "media.join",
        "201",
        json!({"MediaLeave": {"operationId": "media.leave", "requestBody": {
            "meeting_id": "$response.body#/meeting_id",
            "participant_id": "$response.body#/participant_id",
        }}}),
    ));
    for (operation, status, new) in found {
        let Some(response) = find_response(paths, operation, status) else {
            continue;
        };
        let links = response.entry("links").or_insert_with(|| json!({}));
        if let (Some(links), Value::Object(new)) = (links.as_object_mut(), new) {
            links.extend(new);
        }
    }
}

fn path_params(template: &str) -> Vec<String> {
    template
        .split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
        .collect()
}

/// `participants.admit` → `ParticipantsAdmit`.
fn link_name(operation: &str) -> String {
    operation
        .split(['.', '_'])
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn find_response<'a>(
    paths: &'a mut Map<String, Value>,
    operation: &str,
    status: &str,
) -> Option<&'a mut Map<String, Value>> {
    paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .find(|op| op["operationId"] == operation)?
        .get_mut("responses")?
        .get_mut(status)?
        .as_object_mut()
}

/// The RFC 6749 error body of the `/oauth/*` endpoints.
fn oauth_error() -> Value {
    json!({
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "string", "enum": ["invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type", "invalid_scope", "temporarily_unavailable"]},
            "error_description": {"type": "string"},
        },
    })
}

/// A form-encoded, client-authenticated `/oauth/*` operation: its request properties (client
/// authentication added), its 200 answer, and the errors every such endpoint shares.
fn oauth_operation(operation: &str, summary: &str, required: &[&str], properties: Value, ok: Value) -> Value {
    let error = oauth_error();
    let mut properties = properties;
    properties["client_id"] =
        json!({"type": "string", "description": "Unless sent with HTTP Basic; alone for a public client"});
    properties["client_secret"] = json!({"type": "string", "description": "Unless sent with HTTP Basic"});
    json!({"post": {
        "operationId": operation,
        "tags": ["oauth"],
        "summary": summary,
        "requestBody": {"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {
            "type": "object",
            "required": required,
            "properties": properties,
        }}}},
        "responses": {
            "200": ok,
            "400": {"description": "A malformed request, an unsupported grant, an invalid grant or scope", "content": {"application/json": {"schema": error.clone()}}},
            "401": {"description": "Unknown client or wrong secret", "content": {"application/json": {"schema": error.clone()}}},
            "413": {"$ref": "#/components/responses/PayloadTooLarge"},
            "414": {"$ref": "#/components/responses/UriTooLong"},
            "415": {"$ref": "#/components/responses/UnsupportedMediaType"},
            "429": {"description": "Too many failed client authentications", "content": {"application/json": {"schema": error.clone()}}},
            "431": {"$ref": "#/components/responses/HeadersTooLarge"},
            "503": {"description": "The store is unavailable; retry", "content": {"application/json": {"schema": error}}},
        },
    }})
}

/// `POST /oauth/token`, as zoom-server serves it (RFC 6749: client credentials, authorization
/// code with PKCE, refresh).
fn token_endpoint() -> Value {
    oauth_operation(
        "oauth.token",
        "Grants an access token (OAuth 2, RFC 6749; docs/auth.md); served by zoom-server",
        &["grant_type"],
        json!({
            "grant_type": {"type": "string", "enum": ["client_credentials", "account_credentials", "authorization_code", "refresh_token"]},
            "scope": {"type": "string", "description": "Space-separated scopes; default: all the client holds (or the grant's)"},
            "account_id": {"type": "string", "description": "account_credentials: the client's own account"},
            "code": {"type": "string", "description": "authorization_code: the code"},
            "redirect_uri": {"type": "string", "description": "authorization_code: as in the authorization request"},
            "code_verifier": {"type": "string", "description": "authorization_code: the PKCE verifier"},
            "refresh_token": {"type": "string", "description": "refresh_token: the current refresh token"},
        }),
        json!({"description": "A bearer token", "content": {"application/json": {"schema": {
            "type": "object",
            "required": ["access_token", "token_type", "expires_in", "scope"],
            "properties": {
                "access_token": {"type": "string"},
                "token_type": {"type": "string", "enum": ["bearer"]},
                "expires_in": {"type": "integer", "minimum": 1},
                "scope": {"type": "string"},
                "refresh_token": {"type": "string", "description": "User tokens: the next refresh token"},
            },
        }}}}),
    )
}

/// `POST /oauth/revoke` (RFC 7009) and `POST /oauth/introspect` (RFC 7662), as zoom-server
/// serves them.
fn revoke_and_introspect() -> (Value, Value) {
    let token = json!({
        "token": {"type": "string"},
        "token_type_hint": {"type": "string", "enum": ["access_token", "refresh_token"]},
    });
    let revoke = oauth_operation(
        "oauth.revoke",
        "Revokes a token (RFC 7009; docs/auth.md); served by zoom-server",
        &["token"],
        token.clone(),
        json!({"description": "Done, whatever the token was"}),
    );
    let introspect = oauth_operation(
        "oauth.introspect",
        "Whether a token is active (RFC 7662; docs/auth.md); served by zoom-server",
        &["token"],
        token,
        json!({"description": "The token's state", "content": {"application/json": {"schema": {
            "type": "object",
            "required": ["active"],
            "properties": {
                "active": {"type": "boolean"},
                "scope": {"type": "string"},
                "client_id": {"type": "string"},
                "sub": {"type": "string"},
                "exp": {"type": "integer"},
                "iat": {"type": "integer"},
                "token_type": {"type": "string"},
                "acct": {"type": "string"},
                "iss": {"type": "string"},
                "aud": {"type": "string"},
            },
        }}}}),
    );
    (revoke, introspect)
}

/// The 3.1 `webhooks` section: one entry per catalogue name (and `webhook.ping`, sent by
/// `:ping`), the body it is sent with, and the endpoint-validation challenge.
fn webhooks() -> Value {
    let mut out = Map::new();
    for name in CATALOGUE.into_iter().chain(["webhook.ping"]) {
        out.insert(
            name.to_owned(),
            json!({"post": {
                "operationId": format!("webhook.{name}"),
                "summary": format!("`{name}`, signed as docs/webhooks.md describes"),
                "parameters": [
                    {"name": "webhook-id", "in": "header", "required": true, "schema": {"type": "string"}, "description": "The event id, the same on every attempt"},
                    {"name": "webhook-timestamp", "in": "header", "required": true, "schema": {"type": "string"}, "description": "Unix seconds of this attempt"},
                    {"name": "webhook-signature", "in": "header", "required": true, "schema": {"type": "string"}, "description": "`v1,<base64 HMAC-SHA256>` per secret"},
                    {"name": "X-Zoom-Timestamp", "in": "header", "required": true, "schema": {"type": "string"}},
                    {"name": "X-Zoom-Signature", "in": "header", "required": true, "schema": {"type": "string"}, "description": "`v0=<hex HMAC-SHA256>`"},
                ],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {
                    "type": "object",
                    "required": ["event", "event_id", "ts", "data"],
                    "properties": {
                        "event": {"type": "string", "const": name},
                        "event_id": {"type": "string", "pattern": "^evt_[A-Za-z0-9_]{1,64}$"},
                        "ts": {"type": "string", "format": "date-time"},
                        "data": {"type": "object", "description": "The event's payload, as docs/events.md lists it"},
                    },
                }}}},
                "responses": {"2XX": {"description": "Received; anything else is retried (410 disables the subscription)"}},
            }}),
        );
    }
    out.insert(
        "endpoint.url_validation".to_owned(),
        json!({"post": {
            "operationId": "webhook.endpoint.url_validation",
            "summary": "The validation challenge sent by `:validate`, signed like a delivery",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {
                "type": "object",
                "required": ["event", "payload"],
                "properties": {
                    "event": {"type": "string", "const": "endpoint.url_validation"},
                    "payload": {"type": "object", "required": ["plainToken"], "properties": {"plainToken": {"type": "string"}}},
                },
            }}}},
            "responses": {"200": {
                "description": "The token and its HMAC under the newest secret, within 3 seconds",
                "content": {"application/json": {"schema": {
                    "type": "object",
                    "required": ["plainToken", "encryptedToken"],
                    "properties": {
                        "plainToken": {"type": "string", "description": "The token sent"},
                        "encryptedToken": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$", "description": "hex(HMAC-SHA256(key = the newest secret as UTF-8, message = plainToken))"},
                    },
                }}},
            }},
        }}),
    );
    Value::Object(out)
}
