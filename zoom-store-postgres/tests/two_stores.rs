#![allow(clippy::unwrap_used)]
//! Two stores on one schema, with pools of their own (as two server instances on two machines
//! would be), appending at once to one hot stream and to streams of their own: nothing is lost,
//! duplicated or reordered, and a reader tailing the log sees every event exactly once, in
//! position order, because positions are taken in commit order.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{TimeZone, Utc};
use zoom_core::event::{NewEvent, StreamId};
use zoom_core::id::EventId;
use zoom_core::store::*;
use zoom_store_postgres::{Options, PostgresStore};

fn event(writer: u64, n: u64) -> NewEvent {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&writer.to_be_bytes());
    id[8..].copy_from_slice(&n.to_be_bytes());
    NewEvent {
        event_id: EventId::from_entropy(id),
        event_type: "meeting.cancelled".into(),
        schema_version: 1,
        payload: format!("{{\"w\":{writer},\"n\":{n}}}"),
        metadata: "{}".into(),
        recorded_at: Utc.with_ymd_and_hms(2030, 1, 1, 9, 0, 0).unwrap(),
    }
}

const WRITERS: u64 = 8;
const PER_WRITER: u64 = 20;

/// `PER_WRITER` rounds of: one event to the hot stream (re-reading the version after each
/// conflict), then two events to a stream of its own.
async fn write(store: PostgresStore, w: u64) {
    let hot = StreamId::new("mtg_hot").unwrap();
    let own = StreamId::new(format!("mtg_own{w}")).unwrap();
    for i in 0..PER_WRITER {
        loop {
            let v = store.stream_version(&hot).await.unwrap();
            match store.append(common::request(&hot, v, vec![event(w, i)])).await {
                Ok(_) => break,
                Err(StoreError::Conflict { .. }) => tokio::task::yield_now().await,
                Err(e) => panic!("unexpected error under contention: {e}"),
            }
        }
        store
            .append(common::request(
                &own,
                2 * i,
                vec![event(w, 1000 + 2 * i), event(w, 1001 + 2 * i)],
            ))
            .await
            .unwrap();
    }
}

/// Two pools write concurrently while a third tails the log; the tail equals the final log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_never_lose_duplicate_or_reorder_positions() {
    let Some(url) = common::url("two_instances_never_lose_duplicate_or_reorder_positions") else {
        return;
    };
    let (first, guard) = common::fresh_with(&url, Options::default().pool_size(4)).await;
    let second = PostgresStore::connect_with(&guard.url(), Options::default().pool_size(4))
        .await
        .unwrap();
    let reader = PostgresStore::connect_with(&guard.url(), Options::default().pool_size(1))
        .await
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let tail = {
        let done = done.clone();
        tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut last = 0;
            loop {
                let finished = done.load(Ordering::SeqCst);
                let page = reader.read_all(last, 50).await.unwrap();
                for e in &page {
                    assert_eq!(e.position, last + 1, "the tail sees positions without holes, in order");
                    last = e.position;
                    seen.push((e.position, e.event_id.clone()));
                }
                if page.is_empty() {
                    if finished {
                        return seen;
                    }
                    tokio::task::yield_now().await;
                }
            }
        })
    };
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = if w % 2 == 0 { first.clone() } else { second.clone() };
            tokio::spawn(write(store, w))
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    done.store(true, Ordering::SeqCst);
    let seen = tail.await.unwrap();

    let all = first.read_all(0, usize::MAX).await.unwrap();
    let total = WRITERS * PER_WRITER * 3;
    assert_eq!(all.len() as u64, total, "every acknowledged event is there");
    assert!(
        all.iter().enumerate().all(|(i, e)| e.position == i as u64 + 1),
        "positions run 1..=n without holes"
    );
    let log: Vec<_> = all.iter().map(|e| (e.position, e.event_id.clone())).collect();
    assert_eq!(
        seen, log,
        "the tail saw exactly the final log: nothing appeared behind it"
    );
    let mut ids: Vec<_> = all.iter().map(|e| e.event_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len() as u64, total, "no event stored twice");
    let hot = first
        .read_stream(&StreamId::new("mtg_hot").unwrap(), 1, usize::MAX)
        .await
        .unwrap();
    assert_eq!(hot.len() as u64, WRITERS * PER_WRITER);
    assert!(
        hot.iter().enumerate().all(|(i, e)| e.version == i as u64 + 1),
        "versions are gap-free"
    );
    assert_eq!(second.head_position().await.unwrap(), total);
}
