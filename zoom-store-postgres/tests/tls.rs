#![allow(clippy::unwrap_used)]
//! TLS: `sslmode` decides whether the store's sessions (pooled and the leader lock's) are
//! encrypted, `verify-ca` / `verify-full` verify the server's certificate against `sslrootcert`
//! (or the system's CAs) and its host name, and bad TLS settings are clear errors before anything
//! is contacted.
//!
//! The tests that need a TLS server ask the server at `ZOOM_TEST_POSTGRES_URL` for `ssl` and its
//! `ssl_cert_file` (Debian's snakeoil certificate, self-signed, CN = the machine's name) and skip,
//! saying why, when it has no TLS, the certificate cannot be read, or its name does not resolve to
//! the URL's host.

mod common;

use std::io::Write;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{TimeZone, Utc};
use zoom_core::event::{NewEvent, StreamId};
use zoom_core::id::EventId;
use zoom_core::store::EventStore;
use zoom_store_postgres::{Error, Options, PostgresStore};

/// The server's certificate, as the tests need it.
struct ServerCert {
    /// The file the server presents (`ssl_cert_file`).
    path: String,
    /// Its subject's common name.
    cn: String,
}

/// The server's certificate, or `None` after saying on stderr why `test` is skipped: the
/// server has `ssl = off`, or its certificate file cannot be read here.
async fn server_cert(url: &str, test: &str) -> Option<ServerCert> {
    let raw = common::raw(url, "public").await;
    let ssl: String = raw.query_one("SHOW ssl", &[]).await.unwrap().get(0);
    if ssl != "on" {
        eprintln!("skipped {test}: the server at {} has ssl = {ssl}", common::URL_VAR);
        return None;
    }
    let path: String = raw.query_one("SHOW ssl_cert_file", &[]).await.unwrap().get(0);
    let pem = match std::fs::read(&path) {
        Ok(pem) => pem,
        Err(e) => {
            eprintln!("skipped {test}: cannot read the server's certificate {path}: {e}");
            return None;
        }
    };
    let cert = openssl::x509::X509::from_pem(&pem).unwrap();
    let cn = cert
        .subject_name()
        .entries_by_nid(openssl::nid::Nid::COMMONNAME)
        .next()
        .map(|e| String::from_utf8_lossy(e.data().as_slice()).into_owned())
        .unwrap_or_default();
    Some(ServerCert { path, cn })
}

/// `url` with `params` added to its query.
fn with(url: &str, params: &[&str]) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{}", params.join("&"))
}

/// The host of a `postgres://` URL and the URL with another host in its place.
fn host_of(url: &str) -> (&str, impl Fn(&str) -> String + '_) {
    let scheme_end = url.find("://").unwrap() + 3;
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let host_start = rest[..authority_end].rfind('@').map_or(0, |at| at + 1);
    let host_and_port = &rest[host_start..authority_end];
    let host_end = host_and_port.rfind(':').unwrap_or(host_and_port.len());
    let (start, end) = (scheme_end + host_start, scheme_end + host_start + host_end);
    (&url[start..end], move |host: &str| {
        format!("{}{host}{}", &url[..start], &url[end..])
    })
}

/// A name unique to this process and call, for `application_name`: the store's sessions are
/// then found in `pg_stat_activity` by it.
fn app_name(test: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "zt_tls_{test}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// How many sessions are named `app`, and whether every one of them is encrypted
/// (`pg_stat_ssl.ssl`).
async fn sessions(url: &str, app: &str) -> (i64, bool) {
    let raw = common::raw(url, "public").await;
    let row = raw
        .query_one(
            "SELECT count(*), coalesce(bool_and(s.ssl), false) FROM pg_stat_activity a
             JOIN pg_stat_ssl s USING (pid) WHERE a.application_name = $1",
            &[&app],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

fn event(n: u64) -> NewEvent {
    NewEvent {
        event_id: EventId::from_entropy([n as u8; 16]),
        event_type: "meeting.cancelled".into(),
        schema_version: 1,
        payload: format!("{{\"n\":{n}}}"),
        metadata: "{}".into(),
        recorded_at: Utc.with_ymd_and_hms(2030, 1, 1, 9, 0, 0).unwrap(),
    }
}

/// Appends two events and reads them back: the store works over this connection.
async fn append_and_read(store: &PostgresStore) {
    let stream = StreamId::new("mtg_tls").unwrap();
    store
        .append(common::request(&stream, 0, vec![event(1), event(2)]))
        .await
        .unwrap();
    let read = store.read_stream(&stream, 0, 10).await.unwrap();
    assert_eq!(read.iter().map(|e| e.version).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(store.head_position().await.unwrap(), 2);
}

/// A store connected with `session_url` (the test URL with TLS parameters) on a fresh schema,
/// and the guard that drops the schema over a plain connection to `url`.
async fn fresh(url: &str, session_url: &str) -> (PostgresStore, common::SchemaGuard) {
    let guard = common::SchemaGuard::new(url);
    let store_url = with(session_url, &[&format!("schema={}", guard.schema)]);
    let store = PostgresStore::connect_with(&store_url, Options::default().pool_size(4))
        .await
        .unwrap();
    (store, guard)
}

/// `sslmode=require`: every session of the store, pooled and the leader lock's, is encrypted,
/// and appends and reads work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_encrypts_the_pool_and_the_leader_lock() {
    let Some(url) = common::url("require_encrypts_the_pool_and_the_leader_lock") else {
        return;
    };
    if server_cert(&url, "require_encrypts_the_pool_and_the_leader_lock")
        .await
        .is_none()
    {
        return;
    }
    let app = app_name("require");
    let tls_url = with(&url, &["sslmode=require", &format!("application_name={app}")]);
    let (store, _guard) = fresh(&url, &tls_url).await;
    append_and_read(&store).await;
    let (pooled, encrypted) = sessions(&url, &app).await;
    assert!(
        pooled >= 1 && encrypted,
        "{pooled} pooled sessions, all encrypted: {encrypted}"
    );

    let leader = store.leader_lock("webhooks").try_acquire().await.unwrap();
    assert!(leader.is_some(), "the lock is taken over TLS");
    let (with_leader, encrypted) = sessions(&url, &app).await;
    assert_eq!(with_leader, pooled + 1, "the lock has a session of its own");
    assert!(encrypted, "the leader lock's session is encrypted too");
}

/// `sslmode=disable`: plain sessions, even though the server offers TLS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disable_connects_in_plain() {
    let Some(url) = common::url("disable_connects_in_plain") else {
        return;
    };
    let app = app_name("disable");
    let plain_url = with(&url, &["sslmode=disable", &format!("application_name={app}")]);
    let (store, _guard) = fresh(&url, &plain_url).await;
    append_and_read(&store).await;
    let _leader = store.leader_lock("webhooks").try_acquire().await.unwrap();
    let (count, encrypted) = sessions(&url, &app).await;
    assert!(count >= 2, "the pool's and the lock's sessions are there");
    assert!(!encrypted, "no session is encrypted");
}

/// `verify-full` refuses a certificate that does not name the host (the snakeoil certificate
/// names the machine, not 127.0.0.1) or that no trusted CA signed, and accepts it when
/// `sslrootcert` names it and the URL's host is its name; `verify-ca` accepts it whatever the
/// host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_checks_the_ca_and_the_host_name() {
    let test = "verify_full_checks_the_ca_and_the_host_name";
    let Some(url) = common::url(test) else {
        return;
    };
    let Some(cert) = server_cert(&url, test).await else {
        return;
    };
    let rootcert = format!("sslrootcert={}", cert.path);
    let (host, with_host) = host_of(&url);
    let schema = common::SchemaGuard::new(&url);

    // The host in the URL is not the certificate's name: refused, with the reason.
    let mismatch = with(&schema.url(), &["sslmode=verify-full", &rootcert]);
    let e = PostgresStore::connect(&mismatch).await.unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, Error::Postgres(_)), "{text}");
    assert!(
        text.contains("TLS handshake") && text.contains("mismatch"),
        "the error says the certificate does not name {host}: {text}"
    );

    eprintln!("refused as expected: {text}");

    // A CA that did not sign the server's certificate: not trusted, whatever the host.
    let other_ca = other_ca();
    let other_path = other_ca.path().to_str().unwrap();
    let untrusted = with(
        &schema.url(),
        &["sslmode=verify-ca", &format!("sslrootcert={other_path}")],
    );
    let e = PostgresStore::connect(&untrusted).await.unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("TLS handshake") && text.contains("certificate verify failed"),
        "the error says the certificate is not trusted: {text}"
    );

    eprintln!("refused as expected: {text}");

    // verify-ca checks the chain only: the snakeoil certificate signed itself.
    let ca_only = with(&schema.url(), &["sslmode=verify-ca", &rootcert]);
    let store = PostgresStore::connect(&ca_only).await.unwrap();
    append_and_read(&store).await;
    drop(store);

    // The certificate's own name, when it leads to the same server.
    let Ok(ip) = host.parse::<IpAddr>() else {
        eprintln!("skipped the rest of {test}: the URL's host {host} is not an IP address");
        return;
    };
    let resolves = tokio::net::lookup_host((cert.cn.as_str(), 5432))
        .await
        .is_ok_and(|mut addrs| addrs.any(|a| a.ip() == ip));
    if !resolves {
        eprintln!(
            "skipped the rest of {test}: the certificate's name {:?} does not resolve to {ip}",
            cert.cn
        );
        return;
    }
    let app = app_name("verify_full");
    let named = with(
        &with_host(&cert.cn),
        &[
            &format!("schema={}", schema.schema),
            "sslmode=verify-full",
            &rootcert,
            &format!("application_name={app}"),
        ],
    );
    let store = PostgresStore::connect(&named).await.unwrap();
    assert_eq!(
        store.head_position().await.unwrap(),
        2,
        "it reads what was written over verify-ca"
    );
    let leader = store.leader_lock("webhooks").try_acquire().await.unwrap();
    assert!(leader.is_some(), "the lock is taken over verified TLS");
    let (count, encrypted) = sessions(&url, &app).await;
    assert!(count >= 2 && encrypted, "{count} sessions, all encrypted: {encrypted}");
}

/// An `sslmode` libpq does not have is refused before anything is contacted, naming the value.
#[tokio::test]
async fn an_unknown_sslmode_is_a_clear_error() {
    let e = PostgresStore::connect("postgres://postgres@127.0.0.1:1/test?sslmode=verify_full")
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidUrl(m) if m.contains("\"verify_full\"")),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("disable, prefer, require, verify-ca, verify-full"),
        "{e}"
    );
}

/// A missing `sslrootcert` file is refused before anything is contacted, naming the path, by
/// the store and by the leader lock alike.
#[tokio::test]
async fn a_missing_sslrootcert_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.pem");
    let path = path.to_str().unwrap();
    let url = format!("postgres://postgres@127.0.0.1:1/test?sslmode=verify-full&sslrootcert={path}");
    let e = PostgresStore::connect(&url).await.unwrap_err();
    assert!(matches!(&e, Error::Tls(m) if m.contains(path)), "{e}");
    let e = PostgresStore::leader_lock_for(&url, "webhooks").unwrap_err();
    assert!(matches!(&e, Error::Tls(m) if m.contains(path)), "{e}");
    // A plain session never reads it, as with libpq.
    let plain = url.replace("verify-full", "disable");
    assert!(PostgresStore::leader_lock_for(&plain, "webhooks").is_ok());
}

/// A file that is not a PEM certificate is refused, naming the path.
#[tokio::test]
async fn an_sslrootcert_without_certificates_is_a_clear_error() {
    let file = temp_file(b"not a certificate\n");
    let path = file.path().to_str().unwrap();
    let url = format!("postgres://postgres@127.0.0.1:1/test?sslmode=require&sslrootcert={path}");
    let e = PostgresStore::connect(&url).await.unwrap_err();
    assert!(matches!(&e, Error::Tls(m) if m.contains(path)), "{e}");
}

/// A file holding `contents`, removed when dropped.
fn temp_file(contents: &[u8]) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(".pem").tempfile().unwrap();
    file.write_all(contents).unwrap();
    file
}

/// A PEM file of a self-signed CA made for the test, which signed nothing the server has.
fn other_ca() -> tempfile::NamedTempFile {
    use openssl::{asn1::Asn1Time, bn::BigNum, ec, hash::MessageDigest, nid::Nid, pkey::PKey, x509};
    let group = ec::EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let key = PKey::from_ec_key(ec::EcKey::generate(&group).unwrap()).unwrap();
    let mut name = x509::X509NameBuilder::new().unwrap();
    name.append_entry_by_nid(Nid::COMMONNAME, "zoom test CA").unwrap();
    let name = name.build();
    let mut cert = x509::X509Builder::new().unwrap();
    cert.set_version(2).unwrap();
    cert.set_serial_number(&BigNum::from_u32(1).unwrap().to_asn1_integer().unwrap())
        .unwrap();
    cert.set_subject_name(&name).unwrap();
    cert.set_issuer_name(&name).unwrap();
    cert.set_pubkey(&key).unwrap();
    cert.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
    cert.set_not_after(&Asn1Time::days_from_now(1).unwrap()).unwrap();
    cert.append_extension(
        x509::extension::BasicConstraints::new()
            .critical()
            .ca()
            .build()
            .unwrap(),
    )
    .unwrap();
    cert.sign(&key, MessageDigest::sha256()).unwrap();
    temp_file(&cert.build().to_pem().unwrap())
}
