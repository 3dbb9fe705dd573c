#![allow(clippy::unwrap_used)]
//! The commit listener: an append by another store (another instance) on the same schema is
//! told to it with the append's last position, in commit order, once committed; appends to
//! another schema and rolled-back appends are not; after its connection is killed it
//! reconnects, says so with `None`, and goes on relaying.

mod common;

use std::time::Duration;

use chrono::{TimeZone, Utc};
use tokio::sync::mpsc;
use zoom_core::event::{NewEvent, StreamId};
use zoom_core::id::EventId;
use zoom_core::store::*;
use zoom_store_postgres::PostgresStore;

fn event(n: u64) -> NewEvent {
    let mut id = [0u8; 16];
    id[8..].copy_from_slice(&n.to_be_bytes());
    NewEvent {
        event_id: EventId::from_entropy(id),
        event_type: "meeting.cancelled".into(),
        schema_version: 1,
        payload: format!("{{\"n\":{n}}}"),
        metadata: "{}".into(),
        recorded_at: Utc.with_ymd_and_hms(2030, 1, 1, 9, 0, 0).unwrap(),
    }
}

/// What the listener told, until `want` positions or the deadline (a bound, never a measure).
async fn positions(rx: &mut mpsc::UnboundedReceiver<Option<u64>>, want: usize) -> Vec<u64> {
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while got.len() < want {
            match rx.recv().await {
                Some(Some(p)) => got.push(p),
                Some(None) => {}
                None => return,
            }
        }
    })
    .await;
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_instances_commits_are_told_in_commit_order() {
    let Some(url) = common::url("another_instances_commits_are_told_in_commit_order") else {
        return;
    };
    let (listening_store, guard) = common::fresh(&url).await;
    let writer = PostgresStore::connect(&guard.url()).await.unwrap();
    let (other, _other_guard) = common::fresh(&url).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let listener = listening_store.commit_listener(move |p| {
        let _ = tx.send(p);
    });
    listener.listening().await;
    assert!(listener.is_listening());
    // The first call after connecting is the "look now" without a position.
    assert_eq!(rx.recv().await, Some(None));

    let stream = StreamId::new("mtg_listen").unwrap();
    let mut expected = Vec::new();
    for i in 0..5u64 {
        let appended = writer
            .append(common::request(&stream, 2 * i, vec![event(2 * i), event(2 * i + 1)]))
            .await
            .unwrap();
        expected.push(appended.last_position);
        // Another schema's commits are not ours.
        let theirs = StreamId::new(format!("mtg_other{i}")).unwrap();
        other
            .append(common::request(&theirs, 0, vec![event(100 + i)]))
            .await
            .unwrap();
    }
    // A stale version rolls back: nothing is told.
    assert!(matches!(
        writer.append(common::request(&stream, 1, vec![event(99)])).await,
        Err(StoreError::Conflict { .. })
    ));
    let last = writer
        .append(common::request(&stream, 10, vec![event(10)]))
        .await
        .unwrap();
    expected.push(last.last_position);
    assert_eq!(positions(&mut rx, expected.len()).await, expected);

    // Kill the listener's session: it reconnects, says so, and relays again.
    let admin = common::raw(&url, &guard.schema).await;
    let killed = admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            &[&zoom_store_postgres::listen::APPLICATION_NAME],
        )
        .await
        .unwrap();
    assert!(!killed.is_empty(), "the listener's session was found");
    let reconnected = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if rx.recv().await == Some(None) {
                return;
            }
        }
    })
    .await;
    assert!(reconnected.is_ok(), "no reconnection: {:?}", listener.last_failure());
    assert!(listener.last_failure().is_some());
    let after = writer
        .append(common::request(&stream, 11, vec![event(11)]))
        .await
        .unwrap();
    assert_eq!(positions(&mut rx, 1).await, vec![after.last_position]);
    drop(listener);
}
