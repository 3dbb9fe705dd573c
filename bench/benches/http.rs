//! `GET /v1/meetings/{id}` through the `zoom-http` router against a minimal axum handler that
//! returns the same bytes, in the same run, both through `tower::ServiceExt::oneshot` (no socket):
//! the ratio is what the API layer (auth, id parsing, engine read, view, JSON, request id,
//! tracing span) costs over axum's own floor.
//!
//! Run: `cargo bench -p zoom-bench --bench http` (set `HTTP_BENCH_REQUESTS` to change the
//! requests per round; default 20000, 5 rounds, interleaved, median reported).

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use http_body_util::BodyExt;
use tower::ServiceExt;
use zoom_core::id::Name;
use zoom_core::principal::{Principal, Scope};
use zoom_http::{ApiConfig, AuthError, Authenticator};

struct OneKey(Principal);

#[async_trait::async_trait]
impl Authenticator for OneKey {
    async fn authenticate(&self, token: &str) -> Result<Principal, AuthError> {
        if token == "bench" {
            Ok(self.0.clone())
        } else {
            Err(AuthError::invalid_token("unknown"))
        }
    }
}

async fn call(app: &Router, uri: &str) -> Bytes {
    let req = Request::get(uri)
        .header(header::AUTHORIZATION, "Bearer bench")
        .body(Body::empty())
        .unwrap_or_default();
    let response = match app.clone().oneshot(req).await {
        Ok(r) => r,
        Err(e) => match e {},
    };
    assert_eq!(response.status(), StatusCode::OK);
    response
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default()
}

async fn rate(app: &Router, uri: &str, n: usize) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(call(app, uri).await);
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let n: usize = std::env::var("HTTP_BENCH_REQUESTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    };
    rt.block_on(async {
        let engine = zoom_core::Engine::open(
            Arc::new(zoom_store_memory::MemoryStore::new()),
            Arc::new(zoom_core::clock::SystemClock),
            Arc::new(zoom_core::clock::SystemEntropy),
            zoom_core::EngineConfig::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("engine: {e}"));
        let principal = Principal::app(
            Name::parse("acme").unwrap_or_else(|e| panic!("{e}")),
            Name::parse("bench").unwrap_or_else(|e| panic!("{e}")),
            Scope::ALL,
        );
        let command = zoom_core::meeting::MeetingCommand::Schedule(zoom_core::meeting::ScheduleMeeting {
            topic: "Bench".into(),
            start_time: "2030-01-01T09:00:00Z".into(),
            duration_minutes: 30,
            timezone: None,
            passcode: None,
            waiting_room: None,
            settings: None,
            host_id: Some("alice".into()),
        });
        let m = engine
            .execute(&principal, None, command, None)
            .await
            .unwrap_or_else(|e| panic!("schedule: {e}"));
        let api = zoom_http::router(Arc::new(engine), Arc::new(OneKey(principal)), ApiConfig::default());
        let uri = format!("/v1/meetings/{}", m.id);
        let bytes = call(&api, &uri).await;
        let same = bytes.clone();
        let floor = Router::new().route(
            "/v1/meetings/{id}",
            get(move || {
                let body = same.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], body) }
            }),
        );
        assert_eq!(call(&floor, &uri).await, bytes);

        // Warm both up, then interleave rounds so drift affects both alike.
        rate(&api, &uri, n / 10).await;
        rate(&floor, &uri, n / 10).await;
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            ours.push(rate(&api, &uri, n).await);
            theirs.push(rate(&floor, &uri, n).await);
        }
        let (ours, theirs) = (median(ours), median(theirs));
        println!(
            "GET /v1/meetings/{{id}} ({} bytes), oneshot, {n} requests x 5 rounds, median:",
            bytes.len()
        );
        println!("  zoom-http router      {ours:>12.0} req/s");
        println!("  minimal axum handler  {theirs:>12.0} req/s");
        println!("  ratio                 {:>12.2}", ours / theirs);
    });
}
