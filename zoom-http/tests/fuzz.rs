//! Random requests never make the router answer 5xx or panic: bad input is always a 4xx.
#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{Method, Request};
use common::*;
use http_body_util::BodyExt;
use proptest::prelude::*;
use serde_json::json;
use tower::ServiceExt;

/// Real ids made before the run, so random paths also reach existing resources.
struct Fixture {
    app: TestApp,
    ids: Vec<String>,
}

fn fixture(rt: &tokio::runtime::Runtime) -> Fixture {
    rt.block_on(async {
        let app = app().await;
        let (meeting, host) = live(&app).await;
        let rec = post(format!("/v1/meetings/{meeting}/recordings:start"))
            .token("alice")
            .send(&app)
            .await
            .body["recording_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let hook = post("/v1/webhooks")
            .token("admin")
            .json(json!({"url": "https://hooks.example.com/x", "events": ["meeting.ended"]}))
            .send(&app)
            .await
            .id();
        Fixture {
            app,
            ids: vec![meeting, host, rec, hook],
        }
    })
}

fn segment(ids: Vec<String>) -> impl Strategy<Value = String> {
    let actions = prop::sample::select(vec![
        "",
        ":end",
        ":admit",
        ":complete",
        ":fail",
        ":rotateSecret",
        ":",
        "::",
        ":end:end",
    ]);
    prop_oneof![
        (prop::sample::select(ids), actions.clone()).prop_map(|(id, a)| format!("{id}{a}")),
        prop::sample::select(vec![
            "recordings:start".to_owned(),
            "recordings:stop".to_owned(),
            "joinToken".to_owned(),
            "participants".to_owned(),
            "events".to_owned(),
            "mute".to_owned(),
            "deliveries".to_owned(),
            "%FF".to_owned(),
            "%00".to_owned(),
            "mtg_".to_owned(),
            "..".to_owned(),
        ]),
        "[a-zA-Z0-9_:%.~-]{0,24}",
    ]
}

/// Every route of the API with the fixture's real ids: random bodies and headers reach the
/// handlers' deepest paths, not only the router's refusals.
fn real_route(ids: &[String]) -> impl Strategy<Value = (Method, String)> + use<> {
    let (m, p, r, w) = (&ids[0], &ids[1], &ids[2], &ids[3]);
    let (get, post, patch, delete) = (Method::GET, Method::POST, Method::PATCH, Method::DELETE);
    prop::sample::select(vec![
        (post.clone(), "/v1/meetings".to_owned()),
        (get.clone(), "/v1/meetings".to_owned()),
        (get.clone(), format!("/v1/meetings/{m}")),
        (patch.clone(), format!("/v1/meetings/{m}")),
        (delete.clone(), format!("/v1/meetings/{m}")),
        (post.clone(), format!("/v1/meetings/{m}:end")),
        (post.clone(), format!("/v1/meetings/{m}/joinToken")),
        (get.clone(), format!("/v1/meetings/{m}/participants")),
        (patch.clone(), format!("/v1/meetings/{m}/participants/{p}")),
        (delete.clone(), format!("/v1/meetings/{m}/participants/{p}")),
        (post.clone(), format!("/v1/meetings/{m}/participants/{p}:admit")),
        (post.clone(), format!("/v1/meetings/{m}/participants/{p}/mute")),
        (get.clone(), format!("/v1/meetings/{m}/recordings")),
        (post.clone(), format!("/v1/meetings/{m}/recordings:start")),
        (post.clone(), format!("/v1/meetings/{m}/recordings:stop")),
        (get.clone(), format!("/v1/meetings/{m}/events")),
        (get.clone(), format!("/v1/recordings/{r}")),
        (post.clone(), "/v1/webhooks".to_owned()),
        (get.clone(), "/v1/webhooks".to_owned()),
        (delete.clone(), format!("/v1/webhooks/{w}")),
        (post.clone(), format!("/v1/webhooks/{w}:rotateSecret")),
        (get.clone(), format!("/v1/webhooks/{w}/deliveries")),
        (post.clone(), "/v1/media/joins".to_owned()),
        (post.clone(), "/v1/media/leaves".to_owned()),
        (post.clone(), format!("/v1/media/recordings/{r}:complete")),
        (post, format!("/v1/media/recordings/{r}:fail")),
        (get.clone(), "/healthz".to_owned()),
        (get.clone(), "/openapi.json".to_owned()),
        (get, "/.well-known/jwks.json".to_owned()),
    ])
}

fn any_method() -> impl Strategy<Value = Method> {
    prop::sample::select(vec![
        Method::GET,
        Method::POST,
        Method::PATCH,
        Method::DELETE,
        Method::PUT,
    ])
}

/// A real route with its own method (most cases), or any method on any path.
fn target(ids: Vec<String>) -> impl Strategy<Value = (Method, String)> {
    prop_oneof![2 => real_route(&ids), 1 => (any_method(), random_path(ids))]
}

fn random_path(ids: Vec<String>) -> impl Strategy<Value = String> {
    let prefix = prop::sample::select(vec![
        "/v1/meetings",
        "/v1/webhooks",
        "/v1/recordings",
        "/v1/media/recordings",
        "/v1/media",
        "/v1",
        "",
    ]);
    (prefix, prop::collection::vec(segment(ids), 0..4)).prop_map(|(p, segs)| {
        let mut s = p.to_owned();
        for seg in segs {
            s.push('/');
            s.push_str(&seg);
        }
        if s.is_empty() { "/".to_owned() } else { s }
    })
}

fn query() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "page_size",
        "cursor",
        "state",
        "from",
        "to",
        "host_id",
        "status",
        "x",
    ]);
    let value = prop_oneof![
        Just("301".to_owned()),
        Just("-1".to_owned()),
        Just("99999999999999999999999".to_owned()),
        Just("LIVE".to_owned()),
        Just("2030-01-01T00:00:00Z".to_owned()),
        Just("%FF".to_owned()),
        "[a-zA-Z0-9=&%+]{0,12}",
    ];
    let pairs = prop::collection::vec((key, value), 1..4).prop_map(|kv| {
        kv.into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    });
    // Most requests carry no query, so the routes that take none get past it.
    prop_oneof![2 => Just(String::new()), 1 => pairs]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    let json_values = prop_oneof![
        Just(json!({})),
        Just(json!([])),
        Just(json!(null)),
        Just(json!({"topic": "t", "start_time": "2030-01-01T00:00:00Z", "duration_minutes": 5})),
        Just(json!({"topic": 5, "start_time": [], "duration_minutes": -1})),
        Just(json!({"settings": {"auto_recording": "cloud", "x": 1}})),
        Just(json!({"role": "host"})),
        Just(json!({"token": "a.b.c"})),
        Just(json!({"meeting_id": "mtg_x", "participant_id": "par_x"})),
        Just(json!({"duration_seconds": 18446744073709551615u64, "files": [{"type": "video", "storage_key": "", "size_bytes": 0}]})),
        Just(json!({"url": "http://[::1]/", "events": ["meeting.started"]})),
        Just(json!({"passcode": null, "duration_minutes": 1e300})),
    ]
    .prop_map(|v| serde_json::to_vec(&v).unwrap());
    prop_oneof![json_values, prop::collection::vec(any::<u8>(), 0..64), Just(Vec::new())]
}

fn request(ids: Vec<String>) -> impl Strategy<Value = Request<Body>> {
    let token = prop::sample::select(vec![
        None,
        Some("alice"),
        Some("admin"),
        Some("media"),
        Some("reader"),
        Some("bogus"),
    ]);
    let content_type = prop::sample::select(vec![
        None,
        Some("application/json"),
        Some("text/plain"),
        Some("application/x+json; charset=utf-8"),
    ]);
    let extra = prop::sample::select(vec![
        None,
        Some(("idempotency-key", "k1")),
        Some(("idempotency-key", "")),
        Some(("last-event-id", "zz")),
        Some(("last-event-id", "18446744073709551615")),
        Some(("last-event-id", "0")),
        Some(("authorization", "Bearer")),
        Some(("authorization", "Digest x")),
    ]);
    (target(ids), query(), token, content_type, extra, body()).prop_map(|((m, p), q, t, ct, extra, body)| {
        let uri = if q.is_empty() { p } else { format!("{p}?{q}") };
        let mut b = Request::builder().method(m).uri(uri);
        if let Some(t) = t {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        if let Some(ct) = ct {
            b = b.header("content-type", ct);
        }
        if let Some((k, v)) = extra {
            b = b.header(k, v);
        }
        b.body(Body::from(body)).unwrap_or_else(|_| Request::new(Body::empty()))
    })
}

/// Whatever the method, path, query, headers and body: an answer below 500, with a
/// problem+json body for every 4xx.
#[test]
fn random_requests_never_answer_5xx() {
    use proptest::test_runner::{Config, TestRunner};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let f = fixture(&rt);
    let mut runner = TestRunner::new(Config {
        cases: 512,
        ..Config::default()
    });
    runner
        .run(&request(f.ids.clone()), |req| {
            let what = format!("{} {}", req.method(), req.uri());
            let response = rt.block_on(f.app.router.clone().oneshot(req)).unwrap();
            let status = response.status();
            prop_assert!(status.as_u16() < 500, "{} answered {}", what, status);
            if response
                .headers()
                .get("content-type")
                .is_some_and(|v| v == "text/event-stream")
            {
                // The stream's first poll reads the log after Last-Event-ID: drive it briefly.
                let mut body = response.into_body();
                let _ = rt
                    .block_on(async { tokio::time::timeout(std::time::Duration::from_millis(30), body.frame()).await });
                return Ok(());
            }
            if status.is_client_error() {
                prop_assert_eq!(
                    response.headers()["content-type"].to_str().unwrap(),
                    "application/problem+json",
                    "{}",
                    what
                );
            }
            Ok(())
        })
        .unwrap();
}
