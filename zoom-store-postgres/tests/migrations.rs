#![allow(clippy::unwrap_used)]
//! The embedded migrations are exactly the numbered files in `migrations/`; a new schema records
//! each with its checksum; reconnecting changes nothing; a newer, edited or foreign schema is
//! refused untouched; instances that start together migrate once.

mod common;

use common::SchemaGuard;
use zoom_core::store::EventStore;
use zoom_store_postgres::migrate::{MIGRATIONS, latest_version};
use zoom_store_postgres::{Error, Options, PostgresStore};

/// Every `NNNN_name.sql` file is embedded under its number, with the same text, and the numbers
/// run 1, 2, 3… without gaps, so a file cannot be added and forgotten.
#[test]
fn every_migration_file_is_embedded_in_order() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .map(|p| {
            (
                p.file_stem().unwrap().to_str().unwrap().to_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    assert_eq!(
        files.len(),
        MIGRATIONS.len(),
        "files and embedded migrations differ in number"
    );
    for (i, ((name, sql), m)) in files.iter().zip(MIGRATIONS).enumerate() {
        assert_eq!(m.version as usize, i + 1, "migration numbers run without gaps");
        assert_eq!(name, m.name);
        assert!(
            name.starts_with(&format!("{:04}_", m.version)),
            "{name} starts with its number"
        );
        assert_eq!(sql, m.sql, "{name} is embedded as it is on disk");
    }
    assert_eq!(latest_version() as usize, files.len());
}

async fn recorded(url: &str, schema: &str) -> Vec<(i64, String, String)> {
    common::raw(url, schema)
        .await
        .query(
            "SELECT version, name, checksum FROM schema_migrations ORDER BY version",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

/// A fresh schema records every migration with its checksum; reconnecting keeps the data and
/// applies nothing again.
#[tokio::test]
async fn a_fresh_schema_records_its_migrations_and_reopens() {
    let Some(url) = common::url("a_fresh_schema_records_its_migrations_and_reopens") else {
        return;
    };
    let (store, guard) = common::fresh(&url).await;
    let expected: Vec<(i64, String, String)> = MIGRATIONS
        .iter()
        .map(|m| (i64::from(m.version), m.name.to_owned(), m.checksum()))
        .collect();
    assert_eq!(recorded(&url, &guard.schema).await, expected);
    let stream = zoom_core::event::StreamId::new("mtg_a").unwrap();
    let mut req = common::request(&stream, 0, vec![]);
    req.idempotency = Some(zoom_core::store::IdempotencyRecord {
        key: "k".into(),
        fingerprint: "f".into(),
        reply: "{}".into(),
        created_at: chrono::Utc::now(),
    });
    store.append(req).await.unwrap();
    drop(store);
    let again = PostgresStore::connect(&guard.url()).await.unwrap();
    assert!(
        again.get_idempotency("k").await.unwrap().is_some(),
        "data survives a reconnect"
    );
    assert_eq!(recorded(&url, &guard.schema).await, expected, "nothing applied twice");
    assert_eq!(again.schema(), guard.schema);
}

/// A fresh schema, damaged by `sql` once its store is closed.
async fn damaged(url: &str, sql: &str) -> SchemaGuard {
    let (store, guard) = common::fresh(url).await;
    drop(store);
    common::raw(url, &guard.schema).await.execute(sql, &[]).await.unwrap();
    guard
}

/// A schema that records a migration this build does not ship is refused and left as it was.
#[tokio::test]
async fn a_newer_schema_is_refused() {
    let Some(url) = common::url("a_newer_schema_is_refused") else {
        return;
    };
    let guard = damaged(
        &url,
        "INSERT INTO schema_migrations (version, name, checksum) VALUES (999, '0999_future', 'x')",
    )
    .await;
    match PostgresStore::connect(&guard.url()).await {
        Err(Error::NewerSchema {
            found,
            supported,
            schema,
        }) => {
            assert_eq!((found, supported), (999, latest_version()));
            assert_eq!(schema, guard.schema);
        }
        other => panic!("expected NewerSchema, got {other:?}"),
    }
    assert_eq!(
        recorded(&url, &guard.schema).await.len(),
        MIGRATIONS.len() + 1,
        "untouched"
    );
}

/// A schema whose recorded checksum differs from this build's file (an edited migration) is
/// refused.
#[tokio::test]
async fn an_edited_migration_is_refused() {
    let Some(url) = common::url("an_edited_migration_is_refused") else {
        return;
    };
    let (store, guard) = common::fresh(&url).await;
    drop(store);
    common::raw(&url, &guard.schema)
        .await
        .execute(
            "UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1",
            &[],
        )
        .await
        .unwrap();
    match PostgresStore::connect(&guard.url()).await {
        Err(Error::MigrationChecksum {
            version,
            recorded,
            expected,
            ..
        }) => {
            assert_eq!((version, recorded.as_str()), (1, "edited"));
            assert_eq!(expected, MIGRATIONS[0].checksum());
        }
        other => panic!("expected MigrationChecksum, got {other:?}"),
    }
}

/// A schema with tables but no record of our migrations belongs to someone else: refused, and
/// nothing is created in it.
#[tokio::test]
async fn a_foreign_schema_is_refused() {
    let Some(url) = common::url("a_foreign_schema_is_refused") else {
        return;
    };
    let guard = SchemaGuard::new(&url);
    let raw = common::raw(&url, "public").await;
    raw.batch_execute(&format!(
        "CREATE SCHEMA {s}; CREATE TABLE {s}.customers (id int)",
        s = guard.schema
    ))
    .await
    .unwrap();
    assert!(matches!(
        PostgresStore::connect(&guard.url()).await,
        Err(Error::ForeignSchema { .. })
    ));
    let tables: i64 = raw
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1",
            &[&guard.schema],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(tables, 1, "nothing was created");
}

/// Several instances connecting to a new schema at once migrate it once; all of them work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_starting_together_migrate_once() {
    let Some(url) = common::url("instances_starting_together_migrate_once") else {
        return;
    };
    let guard = SchemaGuard::new(&url);
    let schema_url = guard.url();
    let stores = futures::future::join_all(
        (0..4).map(|_| PostgresStore::connect_with(&schema_url, Options::default().pool_size(1))),
    )
    .await;
    for store in stores {
        assert_eq!(store.unwrap().head_position().await.unwrap(), 0);
    }
    assert_eq!(recorded(&url, &guard.schema).await.len(), MIGRATIONS.len());
}

/// Bad options and URLs are refused before anything is contacted.
#[tokio::test]
async fn bad_options_are_refused() {
    let unreachable = "postgres://nobody@127.0.0.1:1/none";
    assert!(matches!(
        PostgresStore::connect_with(unreachable, Options::default().pool_size(0)).await,
        Err(Error::InvalidOptions(_))
    ));
    assert!(matches!(
        PostgresStore::connect_with(unreachable, Options::default().schema("Bad-Name")).await,
        Err(Error::InvalidOptions(_))
    ));
    assert!(matches!(
        PostgresStore::connect_with(&format!("{unreachable}?schema=a"), Options::default().schema("b")).await,
        Err(Error::InvalidOptions(_))
    ));
    assert!(matches!(
        PostgresStore::connect(&format!("{unreachable}?schema=a&nonsense=1")).await,
        Err(Error::InvalidUrl(_))
    ));
    assert!(matches!(
        PostgresStore::connect(unreachable).await,
        Err(Error::Postgres(_))
    ));
}
