//! The test harness: a router on a memory store, a real token-table authenticator, a request
//! helper, and a checker that validates every answer against the OpenAPI document.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use zoom_core::Engine;
use zoom_core::clock::{ManualClock, SeededEntropy};
use zoom_core::id::Name;
use zoom_core::principal::{Principal, Scope};
use zoom_core::testing::kit;
use zoom_http::{ApiConfig, AuthError, Authenticator};

pub mod identity;

/// Bearer tokens mapped to principals: a real authenticator over a fixed table.
pub struct TokenTable(pub HashMap<String, Principal>);

#[async_trait::async_trait]
impl Authenticator for TokenTable {
    async fn authenticate(&self, token: &str) -> Result<Principal, AuthError> {
        self.0
            .get(token)
            .cloned()
            .ok_or_else(|| AuthError::invalid_token("unknown or expired access token"))
    }
}

fn name(s: &str) -> Name {
    Name::parse(s).unwrap()
}

/// The fixed tokens: `admin` (acme app, every scope), `alice` (acme user, the host of what she
/// schedules), `bob` (acme user), `foreign` (globex admin app), `media` (acme app, `media`),
/// `reader` (acme app, `meeting.read` only), `hooks` (acme app, webhook scopes), `none` (acme app,
/// no scope).
pub fn tokens() -> TokenTable {
    let mut t = HashMap::new();
    t.insert("admin".to_owned(), kit::admin_app());
    t.insert("alice".to_owned(), kit::host_user());
    t.insert("bob".to_owned(), kit::other_user());
    t.insert("foreign".to_owned(), kit::foreign_app());
    t.insert(
        "media".to_owned(),
        Principal::app(name("acme"), name("sfu"), [Scope::Media]),
    );
    t.insert(
        "reader".to_owned(),
        Principal::app(name("acme"), name("reader"), [Scope::MeetingRead]),
    );
    t.insert(
        "hooks".to_owned(),
        Principal::app(name("acme"), name("hooks"), [Scope::WebhookRead, Scope::WebhookWrite]),
    );
    t.insert("none".to_owned(), Principal::app(name("acme"), name("nobody"), []));
    TokenTable(t)
}

/// A router, its engine and its clock.
pub struct TestApp {
    pub router: Router,
    pub engine: Arc<Engine>,
    pub clock: Arc<ManualClock>,
}

pub async fn app_with(config: ApiConfig) -> TestApp {
    let clock = Arc::new(ManualClock::new(kit::t0()));
    let engine = Engine::open(
        Arc::new(zoom_store_memory::MemoryStore::new()),
        clock.clone(),
        Arc::new(SeededEntropy::new(42)),
        zoom_core::testing::kit::engine_config(),
    )
    .await
    .unwrap();
    let engine = Arc::new(engine);
    let router = zoom_http::router(engine.clone(), Arc::new(tokens()), config);
    TestApp { router, engine, clock }
}

pub async fn app() -> TestApp {
    app_with(ApiConfig::default()).await
}

/// A response: status, headers, JSON body (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub raw: Vec<u8>,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
    pub fn field(&self) -> &str {
        self.body["field"].as_str().unwrap_or("")
    }
    pub fn id(&self) -> String {
        self.body["id"].as_str().unwrap().to_owned()
    }
}

/// One request built by hand.
pub struct Call {
    pub method: Method,
    pub path: String,
    pub token: Option<String>,
    pub body: Option<Vec<u8>>,
    pub content_type: Option<String>,
    pub headers: Vec<(String, String)>,
}

impl Call {
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            token: None,
            body: None,
            content_type: None,
            headers: vec![],
        }
    }
    pub fn token(mut self, t: &str) -> Self {
        self.token = Some(t.to_owned());
        self
    }
    pub fn json(mut self, v: Value) -> Self {
        self.body = Some(serde_json::to_vec(&v).unwrap());
        self.content_type = Some("application/json".to_owned());
        self
    }
    pub fn raw(mut self, body: &[u8], content_type: Option<&str>) -> Self {
        self.body = Some(body.to_vec());
        self.content_type = content_type.map(str::to_owned);
        self
    }
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.to_owned(), v.to_owned()));
        self
    }

    pub fn request(&self) -> Request<Body> {
        let mut b = Request::builder().method(self.method.clone()).uri(&self.path);
        if let Some(t) = &self.token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        if let Some(ct) = &self.content_type {
            b = b.header("content-type", ct);
        }
        for (k, v) in &self.headers {
            b = b.header(k, v);
        }
        b.body(Body::from(self.body.clone().unwrap_or_default())).unwrap()
    }

    /// Sends it through the router and checks the answer against the OpenAPI document.
    pub async fn send(self, app: &TestApp) -> Answer {
        let response = app.router.clone().oneshot(self.request()).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let raw = response.into_body().collect().await.unwrap().to_bytes().to_vec();
        let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        let answer = Answer {
            status,
            headers,
            body,
            raw,
        };
        conforms(&self.method, &self.path, &answer);
        answer
    }
}

pub fn get(path: impl Into<String>) -> Call {
    Call::new(Method::GET, path)
}
pub fn post(path: impl Into<String>) -> Call {
    Call::new(Method::POST, path)
}
pub fn patch(path: impl Into<String>) -> Call {
    Call::new(Method::PATCH, path)
}
pub fn delete(path: impl Into<String>) -> Call {
    Call::new(Method::DELETE, path)
}

/// The OpenAPI document, once.
pub fn doc() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(zoom_http::openapi)
}

/// Whether a concrete path matches a template (`/v1/meetings/{id}:end`).
pub fn matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter().zip(&p).all(|(t, p)| match t.split_once('}') {
            // `{id}` or `{id}:action`: the parameter takes everything up to the literal suffix.
            Some((param, suffix)) if param.starts_with('{') => {
                p.ends_with(suffix) && p.len() > suffix.len() && !p[..p.len() - suffix.len()].contains(':')
            }
            _ => t == p,
        })
}

/// The documented template of a concrete path. Static segments win over parameters, as in the
/// router.
pub fn template_of(path: &str) -> Option<String> {
    let path = path.split('?').next().unwrap_or(path);
    let paths = doc()["paths"].as_object().unwrap();
    let mut found: Vec<&String> = paths.keys().filter(|t| matches(t, path)).collect();
    found.sort_by_key(|t| t.matches('{').count());
    found.first().map(|t| (*t).clone())
}

/// Asserts that a routed answer is documented and its body validates against its schema.
pub fn conforms(method: &Method, path: &str, answer: &Answer) {
    let Some(template) = template_of(path) else { return };
    let op = &doc()["paths"][&template][method.as_str().to_ascii_lowercase()];
    if op.is_null() {
        return;
    }
    // 405, 413 and 503 are answered by the framework for every route alike and documented once.
    if [405, 413, 503].contains(&answer.status.as_u16()) {
        return;
    }
    let mut response = &op["responses"][answer.status.as_str()];
    // Shared problem answers are references into `components.responses`.
    if let Some(name) = response["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/responses/"))
    {
        response = &doc()["components"]["responses"][name];
    }
    assert!(
        !response.is_null(),
        "{method} {template} answered {} which the document does not list: {}",
        answer.status,
        answer.body
    );
    let Some(content) = response["content"].as_object() else {
        assert!(
            answer.raw.is_empty(),
            "{method} {template} {}: documented without a body",
            answer.status
        );
        return;
    };
    let (ct, media) = content.iter().next().unwrap();
    if ct == "text/event-stream" {
        return;
    }
    let got_ct = answer.headers.get("content-type").unwrap().to_str().unwrap();
    assert_eq!(got_ct, ct, "{method} {template} {}", answer.status);
    validate(
        &media["schema"],
        &answer.body,
        &format!("{method} {template} {}", answer.status),
    );
}

/// Validates `value` against `schema`, resolving `$ref`s in the document's components.
pub fn validate(schema: &Value, value: &Value, what: &str) {
    let root = json!({ "components": doc()["components"], "allOf": [schema] });
    let validator = jsonschema::validator_for(&root).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: {value} does not match its schema: {errors:?}"
    );
}

// ---------------------------------------------------------------- scenario helpers

pub fn schedule_body() -> Value {
    json!({"topic": "Standup", "start_time": "2030-01-01T10:00:00Z", "duration_minutes": 30})
}

/// Schedules a meeting as `token` with extra fields; returns its id.
pub async fn schedule(app: &TestApp, token: &str, extra: Value) -> String {
    let mut body = schedule_body();
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let a = post("/v1/meetings").token(token).json(body).send(app).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    a.id()
}

/// Issues a join token as `token` and redeems it at the seam; returns the participant id.
pub async fn join(app: &TestApp, meeting: &str, token: &str, body: Value) -> String {
    let a = post(format!("/v1/meetings/{meeting}/joinToken"))
        .token(token)
        .json(body)
        .send(app)
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let jwt = a.body["jwt"].as_str().unwrap().to_owned();
    let a = post("/v1/media/joins")
        .token("media")
        .json(json!({"token": jwt}))
        .send(app)
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    a.body["participant_id"].as_str().unwrap().to_owned()
}

/// A LIVE meeting hosted by alice (no waiting room); returns (meeting, host participant).
pub async fn live(app: &TestApp) -> (String, String) {
    let id = schedule(app, "alice", json!({"waiting_room": false})).await;
    let host = join(app, &id, "alice", json!({})).await;
    (id, host)
}
