//! The store conformance suite: one call checks an implementation against the storage contract.
//!
//! ```text
//! zoom_core::testing::conformance::run_all(|| async { Arc::new(MyStore::open_temp()) as Arc<dyn Store> }).await;
//! ```
//! Each check gets a fresh store from the factory and panics (as tests do) with a message naming
//! the broken rule.

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use futures::future::join_all;

use crate::event::{NewEvent, StreamId};
use crate::id::{AccountId, EventId, Name, WebhookId};
use crate::store::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 1, 9, 0, 0).single().unwrap_or_default()
}

fn event(n: u64) -> NewEvent {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&n.to_be_bytes());
    id[8..].copy_from_slice(&(n.wrapping_mul(0x9E37_79B9_7F4A_7C15)).to_be_bytes());
    NewEvent {
        event_id: EventId::from_entropy(id),
        event_type: "meeting.cancelled".into(),
        schema_version: 1,
        payload: format!(r#"{{"meeting_id":"mtg_x","cancelled_at":"2030-01-01T09:00:00Z","n":{n}}}"#),
        metadata: "{}".into(),
        recorded_at: t0() + Duration::seconds(n as i64),
    }
}

fn stream(s: &str) -> StreamId {
    StreamId::new(s).unwrap_or_else(|e| panic!("{e}"))
}

fn account(s: &str) -> AccountId {
    Name::parse(s).unwrap_or_else(|e| panic!("{e}"))
}

fn request(s: &StreamId, expected: u64, events: Vec<NewEvent>) -> AppendRequest {
    AppendRequest {
        stream_id: s.clone(),
        expected_version: expected,
        events,
        index: None,
        snapshot: None,
        links: vec![],
        idempotency: None,
    }
}

fn index(s: &StreamId, acct: &str, owner: &str, state: &str, minutes: i64) -> IndexEntry {
    IndexEntry {
        stream_id: s.clone(),
        kind: "meeting".into(),
        account_id: account(acct),
        owner: owner.into(),
        state: state.into(),
        time: t0() + Duration::minutes(minutes),
        seq: 0,
    }
}

/// Runs every check, each on a fresh store from `factory`.
pub async fn run_all<F, Fut>(factory: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Arc<dyn Store>>,
{
    append_assigns_versions_and_positions(factory().await).await;
    stale_expected_version_is_a_conflict_and_writes_nothing(factory().await).await;
    append_is_atomic_with_its_idempotency_record(factory().await).await;
    read_stream_and_read_all_page(factory().await).await;
    index_rows_filter_and_keep_their_seq(factory().await).await;
    snapshots_links_and_idempotency(factory().await).await;
    concurrent_appenders_never_lose_or_duplicate(factory().await).await;
    outbox_enqueue_is_idempotent_and_moves_the_checkpoint(factory().await).await;
    outbox_attempts_and_requeue(factory().await).await;
}

/// Versions are 1.. per stream; positions strictly increase across streams.
pub async fn append_assigns_versions_and_positions(store: Arc<dyn Store>) {
    let a = stream("mtg_a");
    let b = stream("mtg_b");
    assert_eq!(store.head_position().await.ok(), Some(0), "an empty store has head 0");
    let r = store
        .append(request(&a, 0, vec![event(1), event(2)]))
        .await
        .expect("append a");
    assert_eq!(r.version, 2);
    let r = store.append(request(&b, 0, vec![event(3)])).await.expect("append b");
    assert_eq!(r.version, 1);
    let r = store
        .append(request(&a, 2, vec![event(4)]))
        .await
        .expect("append a again");
    assert_eq!(r.version, 3);
    assert_eq!(store.stream_version(&a).await.ok(), Some(3));
    assert_eq!(store.stream_version(&stream("mtg_none")).await.ok(), Some(0));
    let rows = store.read_stream(&a, 1, 100).await.expect("read a");
    assert_eq!(rows.iter().map(|r| r.version).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(rows[0].event_id, event(1).event_id, "event ids are kept");
    assert_eq!(rows[0].payload, event(1).payload, "payloads are kept byte for byte");
    assert_eq!(
        rows[0].recorded_at,
        event(1).recorded_at,
        "recorded_at is kept to the microsecond"
    );
    let all = store.read_all(0, 100).await.expect("read all");
    assert_eq!(all.len(), 4);
    assert!(
        all.windows(2).all(|w| w[0].position < w[1].position),
        "positions strictly increase"
    );
    assert_eq!(store.head_position().await.ok(), Some(all[3].position));
}

/// A stale expected version is a Conflict and nothing is written.
pub async fn stale_expected_version_is_a_conflict_and_writes_nothing(store: Arc<dyn Store>) {
    let a = stream("mtg_a");
    store
        .append(request(&a, 0, vec![event(1)]))
        .await
        .expect("first append");
    let head = store.head_position().await.expect("head");
    for expected in [0, 2, 7] {
        match store.append(request(&a, expected, vec![event(10), event(11)])).await {
            Err(StoreError::Conflict {
                actual, expected: e, ..
            }) => {
                assert_eq!(actual, 1);
                assert_eq!(e, expected);
            }
            other => panic!("expected a Conflict for expected_version {expected}, got {other:?}"),
        }
    }
    assert_eq!(
        store.stream_version(&a).await.ok(),
        Some(1),
        "a conflict writes nothing"
    );
    assert_eq!(
        store.head_position().await.ok(),
        Some(head),
        "a conflict moves no position"
    );
}

/// A duplicate idempotency key fails the whole append.
pub async fn append_is_atomic_with_its_idempotency_record(store: Arc<dyn Store>) {
    let a = stream("mtg_a");
    let rec = |fp: &str| IdempotencyRecord {
        key: "acct/app/key-1".into(),
        fingerprint: fp.into(),
        reply: "{\"ok\":true}".into(),
        created_at: t0(),
    };
    let mut req = request(&a, 0, vec![event(1)]);
    req.idempotency = Some(rec("f1"));
    store.append(req).await.expect("append with a record");
    let got = store.get_idempotency("acct/app/key-1").await.expect("get");
    assert_eq!(got, Some(rec("f1")));
    let mut req = request(&a, 1, vec![event(2)]);
    req.idempotency = Some(rec("f2"));
    assert_eq!(store.append(req).await, Err(StoreError::DuplicateIdempotencyKey));
    assert_eq!(
        store.stream_version(&a).await.ok(),
        Some(1),
        "a duplicate key writes no event"
    );
    assert_eq!(
        store.put_idempotency(rec("f3")).await,
        Err(StoreError::DuplicateIdempotencyKey)
    );
    let empty = request(&a, 1, vec![]);
    assert!(
        store.append(empty).await.is_err(),
        "an append with nothing to write is refused"
    );
}

/// Reads honour their bounds.
pub async fn read_stream_and_read_all_page(store: Arc<dyn Store>) {
    let a = stream("mtg_a");
    let events: Vec<NewEvent> = (1..=10).map(event).collect();
    store.append(request(&a, 0, events)).await.expect("append");
    let page = store.read_stream(&a, 4, 3).await.expect("read");
    assert_eq!(page.iter().map(|r| r.version).collect::<Vec<_>>(), vec![4, 5, 6]);
    assert!(store.read_stream(&a, 11, 10).await.expect("read past end").is_empty());
    let first = store.read_all(0, 4).await.expect("read all");
    assert_eq!(first.len(), 4);
    let rest = store.read_all(first[3].position, 100).await.expect("read rest");
    assert_eq!(rest.len(), 6);
    assert!(rest[0].position > first[3].position);
    assert!(
        store
            .read_stream(&stream("mtg_none"), 1, 10)
            .await
            .expect("missing stream")
            .is_empty()
    );
}

/// Index rows: seq fixed at first insert, filters, order, limit.
pub async fn index_rows_filter_and_keep_their_seq(store: Arc<dyn Store>) {
    let mut seqs = Vec::new();
    for (i, (acct, owner, state)) in [
        ("acme", "alice", "SCHEDULED"),
        ("acme", "bob", "LIVE"),
        ("other", "alice", "SCHEDULED"),
    ]
    .into_iter()
    .enumerate()
    {
        let s = stream(&format!("mtg_{i}"));
        let mut req = request(&s, 0, vec![event(i as u64)]);
        req.index = Some(index(&s, acct, owner, state, i as i64 * 60));
        store.append(req).await.expect("append with index");
        seqs.push(s);
    }
    let q = |f: &dyn Fn(&mut IndexQuery)| {
        let mut q = IndexQuery {
            kind: "meeting".into(),
            account_id: Some(account("acme")),
            limit: 10,
            ..IndexQuery::default()
        };
        f(&mut q);
        q
    };
    let rows = store.query_index(&q(&|_| {})).await.expect("query");
    assert_eq!(rows.len(), 2, "account isolation in the index");
    assert!(rows[0].seq > 0 && rows[0].seq < rows[1].seq, "rows come in seq order");
    let first_seq = rows[0].seq;
    // Rewriting a row keeps its seq, so pages stay stable while meetings change.
    let mut req = request(&seqs[0], 1, vec![event(50)]);
    req.index = Some(index(&seqs[0], "acme", "alice", "LIVE", 0));
    store.append(req).await.expect("rewrite index");
    let rows = store
        .query_index(&q(&|q| q.state = Some("LIVE".into())))
        .await
        .expect("query live");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].seq, first_seq, "seq survives a rewrite");
    let rows = store
        .query_index(&q(&|q| q.owner = Some("bob".into())))
        .await
        .expect("by owner");
    assert_eq!(rows.len(), 1);
    let rows = store
        .query_index(&q(&|q| {
            q.from = Some(t0() + Duration::minutes(30));
            q.to = Some(t0() + Duration::minutes(61));
        }))
        .await
        .expect("time window");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].owner, "bob");
    let rows = store
        .query_index(&q(&|q| q.after_seq = first_seq))
        .await
        .expect("after cursor");
    assert_eq!(rows.len(), 1);
    let rows = store.query_index(&q(&|q| q.limit = 1)).await.expect("limit");
    assert_eq!(rows.len(), 1);
    let rows = store
        .query_index(&q(&|q| q.kind = "webhook".into()))
        .await
        .expect("kind");
    assert!(rows.is_empty());
}

/// Snapshots, links and idempotency records round-trip.
pub async fn snapshots_links_and_idempotency(store: Arc<dyn Store>) {
    let a = stream("mtg_a");
    assert_eq!(store.load_snapshot(&a).await.ok(), Some(None));
    let mut req = request(&a, 0, vec![event(1), event(2)]);
    req.snapshot = Some(Snapshot {
        stream_id: a.clone(),
        version: 2,
        state: "{\"v\":2}".into(),
        format: 1,
    });
    req.links = vec!["rec_1".into()];
    store.append(req).await.expect("append");
    let snap = store.load_snapshot(&a).await.expect("load").expect("a snapshot");
    assert_eq!(snap.version, 2);
    assert_eq!(snap.state, "{\"v\":2}");
    assert_eq!(store.resolve_link("rec_1").await.ok(), Some(Some(a.clone())));
    assert_eq!(store.resolve_link("rec_2").await.ok(), Some(None));
    let b = stream("mtg_b");
    let mut req = request(&b, 0, vec![event(3)]);
    req.links = vec!["rec_1".into()];
    store.append(req).await.expect("append b");
    assert_eq!(
        store.resolve_link("rec_1").await.ok(),
        Some(Some(a)),
        "an existing link is kept"
    );
    let rec = IdempotencyRecord {
        key: "k".into(),
        fingerprint: "f".into(),
        reply: "{}".into(),
        created_at: t0(),
    };
    store.put_idempotency(rec.clone()).await.expect("put");
    assert_eq!(store.get_idempotency("k").await.ok(), Some(Some(rec)));
    assert_eq!(store.get_idempotency("missing").await.ok(), Some(None));
}

/// Many appenders racing on one stream and on many streams: every acknowledged append is there
/// once, versions have no gaps, positions are unique and increasing.
pub async fn concurrent_appenders_never_lose_or_duplicate(store: Arc<dyn Store>) {
    let hot = stream("mtg_hot");
    let writers = 16u64;
    let per_writer = 8u64;
    let tasks = (0..writers).map(|w| {
        let store = store.clone();
        let hot = hot.clone();
        async move {
            let mut acked = 0u64;
            let mut tries = 0;
            while acked < per_writer && tries < 10_000 {
                tries += 1;
                let v = store.stream_version(&hot).await.expect("version");
                match store
                    .append(request(&hot, v, vec![event(1000 + w * 100 + acked)]))
                    .await
                {
                    Ok(_) => acked += 1,
                    Err(StoreError::Conflict { .. }) => futures::future::ready(()).await,
                    Err(e) => panic!("unexpected error under contention: {e}"),
                }
            }
            acked
        }
    });
    let own = (0..writers).map(|w| {
        let store = store.clone();
        async move {
            let s = stream(&format!("mtg_own{w}"));
            for i in 0..per_writer {
                store
                    .append(request(&s, i, vec![event(5000 + w * 100 + i)]))
                    .await
                    .expect("an uncontended append succeeds");
            }
        }
    });
    let (acked, _) = futures::join!(join_all(tasks), join_all(own));
    let total: u64 = acked.iter().sum();
    assert_eq!(total, writers * per_writer, "every writer eventually appended");
    let rows = store.read_stream(&hot, 1, usize::MAX).await.expect("read hot");
    assert_eq!(rows.len() as u64, total, "every acknowledged append is present once");
    assert!(
        rows.iter().enumerate().all(|(i, r)| r.version == i as u64 + 1),
        "versions are gap-free"
    );
    let all = store.read_all(0, usize::MAX).await.expect("read all");
    assert_eq!(all.len() as u64, total + writers * per_writer);
    assert!(
        all.windows(2).all(|w| w[0].position < w[1].position),
        "positions strictly increase"
    );
    let mut ids: Vec<_> = all.iter().map(|r| r.event_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), all.len(), "no event stored twice");
}

fn delivery(sub: &WebhookId, n: u64, at: DateTime<Utc>) -> NewDelivery {
    NewDelivery {
        subscription_id: sub.clone(),
        account_id: account("acme"),
        event_id: event(n).event_id,
        event_type: "meeting.started".into(),
        position: n,
        body: format!("{{\"n\":{n}}}"),
        next_attempt_at: at,
    }
}

fn whk(s: &str) -> WebhookId {
    WebhookId::parse(s).unwrap_or_else(|e| panic!("{e}"))
}

/// Enqueue skips duplicates and moves the checkpoint forward only.
pub async fn outbox_enqueue_is_idempotent_and_moves_the_checkpoint(store: Arc<dyn Store>) {
    let sub = whk("whk_a");
    assert_eq!(store.checkpoint("webhooks").await.ok(), Some(0));
    store
        .enqueue(
            "webhooks",
            5,
            vec![delivery(&sub, 1, t0()), delivery(&sub, 2, t0() + Duration::seconds(1))],
        )
        .await
        .expect("enqueue");
    assert_eq!(store.checkpoint("webhooks").await.ok(), Some(5));
    store
        .enqueue("webhooks", 3, vec![delivery(&sub, 1, t0())])
        .await
        .expect("re-enqueue");
    assert_eq!(
        store.checkpoint("webhooks").await.ok(),
        Some(5),
        "the checkpoint never goes back"
    );
    assert_eq!(
        store.checkpoint("other").await.ok(),
        Some(0),
        "checkpoints are per consumer"
    );
    let due = store.due(t0() + Duration::seconds(10), 10).await.expect("due");
    assert_eq!(due.len(), 2, "a duplicate (subscription, event) is not enqueued twice");
    assert_eq!(due[0].position, 1, "earliest due first");
    assert_eq!(due[0].state, DeliveryState::Pending);
    assert_eq!(due[0].body, "{\"n\":1}");
    assert_eq!(store.due(t0(), 10).await.expect("due now").len(), 1, "only what is due");
    assert_eq!(store.next_due().await.ok(), Some(Some(t0())));
    assert_eq!(
        store.delivery(due[0].id).await.ok().flatten().map(|d| d.position),
        Some(1)
    );
}

/// Attempts are recorded with the delivery's new state, listed newest first, requeued, pruned.
pub async fn outbox_attempts_and_requeue(store: Arc<dyn Store>) {
    let sub = whk("whk_a");
    let other = whk("whk_b");
    store
        .enqueue("w", 9, vec![delivery(&sub, 1, t0()), delivery(&other, 2, t0())])
        .await
        .expect("enqueue");
    let due = store.due(t0(), 10).await.expect("due");
    let d = due
        .iter()
        .find(|d| d.subscription_id == sub)
        .expect("a delivery for sub")
        .clone();
    let attempt = |n: u32, at: DateTime<Utc>, code: Option<u16>| DeliveryAttempt {
        delivery_id: d.id,
        subscription_id: sub.clone(),
        event_id: d.event_id.clone(),
        event_type: d.event_type.clone(),
        attempt: n,
        attempted_at: at,
        status_code: code,
        latency_ms: 12,
        error: code.is_none().then(|| "connection refused".into()),
        next_attempt_at: None,
    };
    let retry_at = t0() + Duration::seconds(5);
    store
        .record_attempt(attempt(1, t0(), None), DeliveryState::Pending, Some(retry_at))
        .await
        .expect("record 1");
    let again = store.delivery(d.id).await.expect("get").expect("exists");
    assert_eq!(again.attempts, 1);
    assert_eq!(again.next_attempt_at, Some(retry_at));
    assert!(
        store.due(t0(), 10).await.expect("due").iter().all(|x| x.id != d.id),
        "not due before retry"
    );
    store
        .record_attempt(attempt(2, retry_at, Some(200)), DeliveryState::Succeeded, None)
        .await
        .expect("record 2");
    assert_eq!(
        store.delivery(d.id).await.ok().flatten().map(|x| x.state),
        Some(DeliveryState::Succeeded)
    );
    let rows = store.attempts(&sub, None, 10).await.expect("attempts");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].1.attempt, 2, "newest first");
    assert_eq!(rows[0].1.status_code, Some(200));
    assert_eq!(rows[1].1.error.as_deref(), Some("connection refused"));
    let older = store.attempts(&sub, Some(rows[0].0), 10).await.expect("before cursor");
    assert_eq!(older.len(), 1);
    assert!(
        store.attempts(&other, None, 10).await.expect("other").is_empty(),
        "attempts are per subscription"
    );
    let bogus = DeliveryAttempt {
        delivery_id: 999_999,
        ..attempt(1, t0(), None)
    };
    assert!(store.record_attempt(bogus, DeliveryState::Failed, None).await.is_err());
    let n = store
        .requeue(&sub, 0, 100, t0() + Duration::hours(1))
        .await
        .expect("requeue");
    assert_eq!(n, 1);
    let back = store.delivery(d.id).await.expect("get").expect("exists");
    assert_eq!(back.state, DeliveryState::Pending);
    assert_eq!(back.next_attempt_at, Some(t0() + Duration::hours(1)));
    let pruned = store.prune_attempts(retry_at).await.expect("prune");
    assert_eq!(pruned, 1);
    assert_eq!(store.attempts(&sub, None, 10).await.expect("after prune").len(), 1);
}
