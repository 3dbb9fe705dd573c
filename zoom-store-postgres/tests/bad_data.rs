#![allow(clippy::unwrap_used)]
//! Rows damaged by hand are errors naming the row, never panics; the rows around them stay
//! readable.

mod common;

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use zoom_core::event::{NewEvent, StreamId};
use zoom_core::id::{EventId, Name, WebhookId};
use zoom_core::store::*;
use zoom_store_postgres::PostgresStore;

fn event(n: u8) -> NewEvent {
    NewEvent {
        event_id: EventId::from_entropy([n; 16]),
        event_type: "meeting.cancelled".into(),
        schema_version: 1,
        payload: format!("{{\"n\":{n}}}"),
        metadata: "{}".into(),
        recorded_at: Utc.with_ymd_and_hms(2030, 1, 1, 9, 0, 0).unwrap(),
    }
}

/// Three events of `mtg_a` at positions 1, 2, 3.
async fn three_events(store: &PostgresStore) -> StreamId {
    let a = StreamId::new("mtg_a").unwrap();
    store
        .append(common::request(&a, 0, vec![event(1), event(2), event(3)]))
        .await
        .unwrap();
    a
}

fn assert_names(result: Result<Vec<zoom_core::event::RecordedEvent>, StoreError>, row: &str) {
    match result {
        Err(StoreError::Corrupt { row: named, reason }) => {
            assert_eq!(named, row, "the error names the row ({reason})");
        }
        other => panic!("expected Corrupt naming {row}, got {other:?}"),
    }
}

/// A NULL payload is `Corrupt` naming `mtg_a@2 (position 2)`: a page ends just before it, a page
/// starting at it is the error, and the row after it reads.
#[tokio::test]
async fn a_null_payload_names_its_row() {
    let Some(url) = common::url("a_null_payload_names_its_row") else {
        return;
    };
    let (store, guard) = common::fresh(&url).await;
    let a = three_events(&store).await;
    common::raw(&url, &guard.schema)
        .await
        .execute("UPDATE events SET payload = NULL WHERE position = 2", &[])
        .await
        .unwrap();
    let page = store.read_all(0, 10).await.unwrap();
    assert_eq!(page.iter().map(|e| e.position).collect::<Vec<_>>(), vec![1]);
    assert_names(store.read_all(1, 10).await, "mtg_a@2 (position 2)");
    assert_eq!(store.read_all(2, 10).await.unwrap()[0].version, 3);
    assert_names(store.read_stream(&a, 2, 10).await, "mtg_a@2 (position 2)");
    assert_eq!(store.read_stream(&a, 1, 10).await.unwrap().len(), 1);
}

/// An event id or stream id that does not parse is `Corrupt` naming the row.
#[tokio::test]
async fn ids_that_do_not_parse_name_their_row() {
    let Some(url) = common::url("ids_that_do_not_parse_name_their_row") else {
        return;
    };
    let (store, guard) = common::fresh(&url).await;
    three_events(&store).await;
    let raw = common::raw(&url, &guard.schema).await;
    raw.execute("UPDATE events SET event_id = 'not an id' WHERE position = 1", &[])
        .await
        .unwrap();
    raw.execute("UPDATE events SET stream_id = 'bad stream!' WHERE position = 3", &[])
        .await
        .unwrap();
    assert_names(store.read_all(0, 10).await, "mtg_a@1 (position 1)");
    assert_eq!(store.read_all(1, 1).await.unwrap()[0].position, 2);
    assert_names(store.read_all(2, 10).await, "bad stream!@3 (position 3)");
}

/// A delivery whose subscription id or time is damaged is `Corrupt` naming `delivery N`.
#[tokio::test]
async fn a_damaged_delivery_names_its_row() {
    let Some(url) = common::url("a_damaged_delivery_names_its_row") else {
        return;
    };
    let (store, guard) = common::fresh(&url).await;
    let at = Utc.with_ymd_and_hms(2030, 1, 1, 9, 0, 0).unwrap();
    let d = NewDelivery {
        subscription_id: WebhookId::parse("whk_a").unwrap(),
        account_id: Name::parse("acme").unwrap(),
        event_id: event(1).event_id,
        event_type: "meeting.started".into(),
        position: 1,
        body: "{}".into(),
        next_attempt_at: at,
    };
    store.enqueue("w", 1, vec![d]).await.unwrap();
    let id = store.due(at, 10).await.unwrap()[0].id;
    let raw = common::raw(&url, &guard.schema).await;
    raw.execute(
        "UPDATE deliveries SET subscription_id = '' WHERE id = $1",
        &[&(id as i64)],
    )
    .await
    .unwrap();
    match store.delivery(id).await {
        Err(StoreError::Corrupt { row, .. }) => assert_eq!(row, format!("delivery {id}")),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    raw.execute(
        "UPDATE deliveries SET subscription_id = 'whk_a', created_at = 'infinity' WHERE id = $1",
        &[&(id as i64)],
    )
    .await
    .unwrap();
    assert!(matches!(store.due(at, 10).await, Err(StoreError::Corrupt { .. })));
}

/// Text PostgreSQL cannot store (a NUL character) is `Invalid`, and nothing is written.
#[tokio::test]
async fn a_nul_character_is_invalid_not_a_panic() {
    let Some(url) = common::url("a_nul_character_is_invalid_not_a_panic") else {
        return;
    };
    let (store, _guard) = common::fresh(&url).await;
    let a = StreamId::new("mtg_a").unwrap();
    let mut e = event(1);
    e.payload = "{\"x\":\"\0\"}".into();
    assert!(matches!(
        store.append(common::request(&a, 0, vec![e])).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(store.head_position().await.unwrap(), 0);
    assert_eq!(store.stream_version(&a).await.unwrap(), 0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]
    /// Any text in any text column of an event row: every read answers (an event or `Corrupt`
    /// naming position 1), never a panic.
    #[test]
    fn arbitrary_text_in_an_event_row_never_panics(
        column in prop::sample::select(vec!["stream_id", "event_id", "event_type", "payload", "metadata"]),
        value in prop::option::of("[^\0]{0,40}"),
    ) {
        let Some(url) = common::url("arbitrary_text_in_an_event_row_never_panics") else {
            return Ok(());
        };
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let (store, guard) = common::fresh(&url).await;
            let a = three_events(&store).await;
            let raw = common::raw(&url, &guard.schema).await;
            // A damaged id may collide with another row's; that the database refuses is fine.
            let _ = raw
                .execute(&format!("UPDATE events SET {column} = $1 WHERE position = 1"), &[&value])
                .await;
            match store.read_all(0, 10).await {
                Ok(rows) => assert!(!rows.is_empty()),
                Err(StoreError::Corrupt { row, .. }) => assert!(row.ends_with("(position 1)"), "{row}"),
                Err(e) => panic!("unexpected {e}"),
            }
            let _ = store.read_stream(&a, 1, 10).await;
        });
    }
}
