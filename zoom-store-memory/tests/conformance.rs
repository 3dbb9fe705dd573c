#![allow(clippy::unwrap_used)]
//! The memory store against the storage contract and the reference lifecycle model.

use std::sync::Arc;

use proptest_state_machine::prop_state_machine;
use zoom_core::store::Store;
use zoom_core::testing::model::{LifecycleTest, StoreFactory};
use zoom_store_memory::MemoryStore;

/// Every rule of the conformance suite holds for the memory store.
#[tokio::test]
async fn passes_the_conformance_suite() {
    zoom_core::testing::conformance::run_all(|| async { Arc::new(MemoryStore::new()) as Arc<dyn Store> }).await;
}

struct Memory;

impl StoreFactory for Memory {
    fn create() -> Arc<dyn Store> {
        Arc::new(MemoryStore::new())
    }
}

prop_state_machine! {
    #![proptest_config(proptest::test_runner::Config { cases: 256, ..Default::default() })]
    /// Random lifecycles through the engine match the reference model after every step.
    #[test]
    fn lifecycle_matches_the_reference_model(sequential 1..40 => LifecycleTest<Memory>);
}
