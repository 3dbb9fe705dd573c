#![allow(clippy::unwrap_used)]
//! The SQLite store against the storage contract and the reference lifecycle model, each case on
//! a fresh real database file.

mod common;

use std::sync::Arc;

use common::TempStore;
use proptest_state_machine::prop_state_machine;
use zoom_core::store::Store;
use zoom_core::testing::model::{LifecycleTest, StoreFactory};
use zoom_store_sqlite::Options;

/// Every rule of the conformance suite holds for the SQLite store with group commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_the_conformance_suite() {
    zoom_core::testing::conformance::run_all(|| async { Arc::new(TempStore::new()) as Arc<dyn Store> }).await;
}

/// The suite holds with one transaction per write too (no grouping), and without a runtime.
#[test]
fn passes_the_conformance_suite_one_transaction_per_write_without_a_runtime() {
    futures::executor::block_on(zoom_core::testing::conformance::run_all(|| async {
        Arc::new(TempStore::with(Options::default().max_batch(1).readers(1))) as Arc<dyn Store>
    }));
}

struct Sqlite;

impl StoreFactory for Sqlite {
    fn create() -> Arc<dyn Store> {
        Arc::new(TempStore::new())
    }
}

prop_state_machine! {
    #![proptest_config(proptest::test_runner::Config { cases: 256, ..Default::default() })]
    /// Random lifecycles through the engine match the reference model after every step.
    #[test]
    fn lifecycle_matches_the_reference_model(sequential 1..40 => LifecycleTest<Sqlite>);
}
