#![allow(clippy::unwrap_used)]
//! Secrets at rest (docs/operations.md): with a secret key the SQLite store holds no private
//! signing key in plaintext, a wrong or missing key refuses to start, the right one restarts with
//! every token still valid; without one the server warns once.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use clap::Parser;
use serde_json::Value;
use tower::ServiceExt;
use zoom_core::clock::{SystemClock, SystemEntropy};
use zoom_core::engine::{Runner, RunnerConfig, SigningKeys};
use zoom_core::event::StreamId;
use zoom_core::seal::{SecretBox, is_sealed};
use zoom_core::store::Store;
use zoom_core::system::{ACCESS_KEYS_STREAM, FILE_KEYS_STREAM, JOIN_KEYS_STREAM};
use zoom_server::config::{Args, Bootstrap};
use zoom_server::{PLAINTEXT_KEYS_WARNING, Server, StartError};

const KEY_HEX: &str = "8f1c2e3d4a5b6c7d8e9f00112233445566778899aabbccddeeff0011223344ff";
const OTHER_HEX: &str = "0000000000000000000000000000000000000000000000000000000000000001";

fn bootstrap() -> Bootstrap {
    Bootstrap::from_values(Some("admin".into()), Some("pw-123".into()), Some("acme".into())).unwrap()
}

async fn start(db: &Path, key_file: Option<&Path>, secret_key: Option<&str>) -> Result<Server, StartError> {
    let store = format!("sqlite://{}", db.display());
    let mut argv = vec!["zoom-server".to_owned(), "--store".into(), store];
    if let Some(file) = key_file {
        argv.push("--secret-key-file".into());
        argv.push(file.display().to_string());
    }
    let mut args = Args::try_parse_from(argv).unwrap();
    args.secret_key = secret_key.map(str::to_owned);
    Server::start(&args, &bootstrap()).await
}

fn key_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

async fn token(server: &Server) -> String {
    let b = STANDARD.encode("admin:pw-123");
    let req = Request::post("/oauth/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, format!("Basic {b}"))
        .body(Body::from("grant_type=client_credentials"))
        .unwrap();
    let resp = server.router().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

/// The stored form of every key of the three rings, read back through a fresh store.
async fn stored_keys(db: &Path) -> Vec<zoom_core::token::StoredKey> {
    let store: Arc<dyn Store> = Arc::new(zoom_store_sqlite::SqliteStore::open(db).unwrap());
    let config = RunnerConfig {
        cache_capacity: 0,
        ..RunnerConfig::default()
    };
    let runner = Runner::new(
        SigningKeys,
        store,
        Arc::new(SystemClock),
        Arc::new(SystemEntropy),
        config,
    );
    let mut keys = Vec::new();
    for stream in [ACCESS_KEYS_STREAM, JOIN_KEYS_STREAM, FILE_KEYS_STREAM] {
        let list = runner.read_stream(&StreamId::new(stream).unwrap()).await.unwrap();
        assert!(!list.keys.is_empty(), "{stream} is empty");
        keys.extend(list.keys);
    }
    keys
}

/// Every byte of the database and its -wal/-shm.
fn file_bytes(db: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        if let Ok(bytes) = std::fs::read(PathBuf::from(p)) {
            all.extend(bytes);
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn a_sealed_store_holds_no_private_key_in_plaintext_and_needs_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("zoom.db");
    let key = key_file(dir.path(), "secret.key", &format!("{KEY_HEX}\n"));

    let server = start(&db, Some(&key), None).await.unwrap();
    assert!(server.warnings.is_empty(), "{:?}", server.warnings);
    let before = token(&server).await;
    server.engine.rotate_join_key().await.unwrap();
    let on_disk_while_open = file_bytes(&db);
    drop(server);

    // Open every stored key with the secret key, then look for its material in the files.
    let secret = SecretBox::parse(KEY_HEX).unwrap();
    let keys = stored_keys(&db).await;
    assert_eq!(keys.len(), 4, "access, two join keys, file URLs");
    let on_disk = [on_disk_while_open, file_bytes(&db)].concat();
    for stored in &keys {
        assert!(is_sealed(&stored.material_b64), "{} is not sealed", stored.kid);
        let aad = format!("zoom signing key\0{}", stored.kid);
        let material_b64 = String::from_utf8(secret.open(aad.as_bytes(), &stored.material_b64).unwrap()).unwrap();
        let raw = STANDARD.decode(&material_b64).unwrap();
        assert_eq!(raw.len(), 32);
        for form in [
            raw.clone(),
            material_b64.clone().into_bytes(),
            hex::encode(&raw).into_bytes(),
            hex::encode_upper(&raw).into_bytes(),
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(&raw)
                .into_bytes(),
        ] {
            assert!(
                !contains(&on_disk, &form),
                "key {} found in the store files",
                stored.kid
            );
        }
        assert!(
            contains(&on_disk, stored.kid.as_bytes()),
            "the rows were read from these files"
        );
    }

    // A wrong key refuses to start, naming the flag; so does no key at all.
    let wrong = key_file(dir.path(), "wrong.key", OTHER_HEX);
    let err = start(&db, Some(&wrong), None).await.unwrap_err();
    assert!(matches!(err, StartError::SecretKey(_)), "{err}");
    assert!(err.to_string().contains("--secret-key-file"), "{err}");
    assert!(err.to_string().contains("another secret key"), "{err}");
    let err = start(&db, None, None).await.unwrap_err();
    assert!(matches!(err, StartError::SecretKey(_)), "{err}");

    // The right key, as a file or in base64 from ZOOM_SECRET_KEY, restarts; tokens still verify.
    let server = start(&db, Some(&key), None).await.unwrap();
    assert!(server.tokens.verify(&before).is_ok());
    drop(server);
    let b64 = STANDARD.encode(hex::decode(KEY_HEX).unwrap());
    let server = start(&db, None, Some(&b64)).await.unwrap();
    assert!(server.tokens.verify(&before).is_ok());
    assert!(server.tokens.verify(&token(&server).await).is_ok());
}

#[tokio::test]
async fn without_a_key_the_server_warns_once_and_plaintext_keys_are_reported_later() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("zoom.db");
    let server = start(&db, None, None).await.unwrap();
    assert_eq!(server.warnings, vec![PLAINTEXT_KEYS_WARNING.to_owned()]);
    let before = token(&server).await;
    drop(server);

    // A store written without a key still loads with one; its plaintext keys are reported.
    let key = key_file(dir.path(), "secret.key", KEY_HEX);
    let server = start(&db, Some(&key), None).await.unwrap();
    assert_eq!(server.warnings.len(), 1, "{:?}", server.warnings);
    assert!(server.warnings[0].contains("3 signing key(s)"), "{:?}", server.warnings);
    assert!(server.tokens.verify(&before).is_ok());
    server.engine.rotate_join_key().await.unwrap();
    drop(server);
    let keys = stored_keys(&db).await;
    assert_eq!(
        keys.iter().filter(|k| is_sealed(&k.material_b64)).count(),
        1,
        "the new key is sealed"
    );
}

#[tokio::test]
async fn a_malformed_key_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("zoom.db");
    for (name, text) in [
        ("short.key", "00112233"),
        ("b64short.key", &STANDARD.encode([7u8; 16])[..]),
        ("junk.key", "this is not a key at all, not hex and not base64!"),
        ("empty.key", ""),
    ] {
        let path = key_file(dir.path(), name, text);
        let err = start(&db, Some(&path), None).await.unwrap_err();
        let StartError::Config(config) = &err else {
            panic!("{name}: {err}")
        };
        assert_eq!(config.flag, "--secret-key-file (ZOOM_SECRET_KEY_FILE)");
        assert!(config.message.contains("64 hex digits"), "{name}: {err}");
    }
    let err = start(&db, Some(&dir.path().join("missing.key")), None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cannot read"), "{err}");
    let err = start(&db, None, Some("abc")).await.unwrap_err();
    assert!(err.to_string().contains("ZOOM_SECRET_KEY"), "{err}");
    let path = key_file(dir.path(), "good.key", KEY_HEX);
    let err = start(&db, Some(&path), Some(KEY_HEX)).await.unwrap_err();
    assert!(err.to_string().contains("not both"), "{err}");
    assert!(!db.exists() || stored_nothing(&db).await);
}

/// A refused start wrote no key.
async fn stored_nothing(db: &Path) -> bool {
    let store = zoom_store_sqlite::SqliteStore::open(db).unwrap();
    zoom_core::store::EventStore::head_position(&store).await.unwrap() == 0
}
