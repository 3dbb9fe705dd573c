#![allow(clippy::unwrap_used)]
//! The Python and Node verification snippets of `docs/webhooks.md`, run against a real delivery
//! made during a secret rotation, and against tampered, stale and foreign variants of it.

mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::Arc;

use common::*;
use zoom_core::signature::{WebhookSecret, sign_request};
use zoom_core::webhook::WebhookCommand;
use zoom_webhooks::Worker;

const GUIDE: &str = include_str!("../../docs/webhooks.md");

/// The first fenced block of `lang` in the guide.
fn snippet(lang: &str) -> String {
    let fence = format!("```{lang}\n");
    let start = GUIDE.find(&fence).unwrap_or_else(|| panic!("no {lang} block")) + fence.len();
    let len = GUIDE[start..].find("```").unwrap();
    GUIDE[start..start + len].to_owned()
}

const PYTHON_DRIVER: &str = r#"
import json, os
_h = json.loads(os.environ["WH_HEADERS"])
_b = os.environ["WH_BODY"].encode()
_s = os.environ["WH_SECRET"]
print(json.dumps([verify_zoom(_s, _h, _b), verify_standard(_s, _h, _b)]))
"#;

const NODE_DRIVER: &str = r#"
const _h = JSON.parse(process.env.WH_HEADERS);
const _b = Buffer.from(process.env.WH_BODY, "utf8");
const _s = process.env.WH_SECRET;
console.log(JSON.stringify([verifyZoom(_s, _h, _b), verifyStandard(_s, _h, _b)]));
"#;

struct Case {
    name: &'static str,
    secret: String,
    headers: BTreeMap<String, String>,
    body: String,
    expected: [bool; 2],
}

/// Runs `program script` for each case; `None` when the program is not installed.
fn run(program: &str, ext: &str, script: &str, cases: &[Case]) -> Option<usize> {
    if Command::new(program).arg("--version").output().is_err() {
        println!("{program} is not installed: its snippet is not run here");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("verify.{ext}"));
    std::fs::write(&path, script).unwrap();
    for case in cases {
        let out = Command::new(program)
            .arg(&path)
            .env("WH_HEADERS", serde_json::to_string(&case.headers).unwrap())
            .env("WH_BODY", &case.body)
            .env("WH_SECRET", &case.secret)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{program} failed on {}: {}",
            case.name,
            String::from_utf8_lossy(&out.stderr)
        );
        let got: [bool; 2] = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(got, case.expected, "{program}, case {} ([zoom, standard])", case.name);
    }
    Some(cases.len())
}

/// The documented snippets accept what the worker sends and refuse what they must.
#[tokio::test]
async fn the_python_and_node_snippets_verify_real_deliveries() {
    let engine = engine().await;
    let receiver = Receiver::ok().await;
    let (sub, old) = subscribe(&engine, &receiver.url("/hook"), &["meeting.created"]).await;
    let new = engine
        .execute_webhook(&admin(), Some(&sub), WebhookCommand::RotateSecret, None)
        .await
        .unwrap()
        .secret
        .unwrap();
    let worker = Worker::spawn(Arc::clone(&engine), config("1s")).unwrap();
    schedule(&engine, "Doc check ✓ (non-ASCII too)").await;
    worker.notify();
    let real = receiver.wait_for(1).await.remove(0);
    worker.shutdown().await;

    let headers: BTreeMap<String, String> = real
        .headers
        .iter()
        .filter(|(k, _)| k.starts_with("x-zoom-") || k.starts_with("webhook-"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let stale = {
        let ts = chrono::Utc::now().timestamp() - 301;
        let secret = WebhookSecret::parse(&new).unwrap();
        let signed = sign_request(&[secret], real.header("webhook-id"), ts, real.body.as_bytes());
        signed
            .pairs()
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let case = |name, secret: &str, headers: &BTreeMap<String, String>, body: &str, expected| Case {
        name,
        secret: secret.to_owned(),
        headers: headers.clone(),
        body: body.to_owned(),
        expected,
    };
    let cases = [
        case("new secret", &new, &headers, &real.body, [true, true]),
        case(
            "old secret during the rotation",
            &old,
            &headers,
            &real.body,
            [true, true],
        ),
        case(
            "another secret",
            WebhookSecret::from_bytes([9; 32]).as_str(),
            &headers,
            &real.body,
            [false, false],
        ),
        case(
            "tampered body",
            &new,
            &headers,
            &real.body.replace("Doc check", "Doc chuck"),
            [false, false],
        ),
        case("stale timestamp", &new, &stale, &real.body, [false, false]),
    ];
    let python = format!("{}{PYTHON_DRIVER}", snippet("python"));
    let node = format!("{}{NODE_DRIVER}", snippet("js"));
    let ran = [run("python3", "py", &python, &cases), run("node", "js", &node, &cases)];
    println!("snippet runs: python {:?}, node {:?}", ran[0], ran[1]);
}
