#![allow(clippy::unwrap_used)]
//! The leader lock: one holder at a time among stores on one schema; released on request or
//! when its holder is dropped; independent per name and per schema.

mod common;

use zoom_store_postgres::{Options, PostgresStore};

/// Two instances compete: one holds, the other is refused until the first lets go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_holder_at_a_time() {
    let Some(url) = common::url("one_holder_at_a_time") else {
        return;
    };
    let (first, guard) = common::fresh(&url).await;
    let second = PostgresStore::connect_with(&guard.url(), Options::default().pool_size(1))
        .await
        .unwrap();
    let a = first.leader_lock("webhooks");
    let b = PostgresStore::leader_lock_for(&guard.url(), "webhooks").unwrap();
    let held = a.try_acquire().await.unwrap().expect("the first instance leads");
    assert!(held.is_held());
    assert!(b.try_acquire().await.unwrap().is_none(), "the second is refused");
    assert!(
        second.leader_lock("other").try_acquire().await.unwrap().is_some(),
        "another name is another lock"
    );
    let (elsewhere, _other_guard) = common::fresh(&url).await;
    assert!(
        elsewhere.leader_lock("webhooks").try_acquire().await.unwrap().is_some(),
        "another schema is another lock"
    );
    held.release().await;
    let mut taken = b
        .try_acquire()
        .await
        .unwrap()
        .expect("the second takes over after a release");
    assert!(a.try_acquire().await.unwrap().is_none(), "never held twice");

    // The holder's session dies (a lost connection, a killed backend): `lost` resolves, and the
    // lock is free for another instance.
    let raw = common::raw(&url, &guard.schema).await;
    let killed: bool = raw
        .query_one(
            "SELECT pg_terminate_backend(l.pid, 5000) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
             WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database()
               AND a.application_name = 'zoom-store-postgres'
               AND l.objid = (hashtext($1)::bigint & 4294967295)::oid",
            &[&format!("zoom-store-postgres leader {} webhooks", guard.schema)],
        )
        .await
        .unwrap()
        .get(0);
    assert!(killed, "the holder's backend was found and ended");
    taken.lost().await;
    assert!(!taken.is_held());
    assert!(a.try_acquire().await.unwrap().is_some(), "another instance takes over");
}
