#![allow(clippy::unwrap_used)]
//! The PostgreSQL store against the storage contract and the reference lifecycle model, each case
//! on a fresh schema. Skipped (saying so) when `ZOOM_TEST_POSTGRES_URL` is unset.

mod common;

use std::sync::{Arc, LazyLock, Mutex, OnceLock, PoisonError};

use common::SchemaGuard;
use proptest::test_runner::{Config, TestRunner};
use proptest_state_machine::{ReferenceStateMachine, StateMachineTest};
use zoom_core::store::Store;
use zoom_core::testing::model::{LifecycleTest, Model, StoreFactory};

/// Every rule of the conformance suite holds for the PostgreSQL store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passes_the_conformance_suite() {
    let Some(url) = common::url("passes_the_conformance_suite") else {
        return;
    };
    let guards = Mutex::new(Vec::new());
    zoom_core::testing::conformance::run_all(|| async {
        let (store, guard) = common::fresh(&url).await;
        guards.lock().unwrap().push(guard);
        Arc::new(store) as Arc<dyn Store>
    })
    .await;
}

/// The runtime the model's stores run on: the model drives the engine with
/// `futures::executor::block_on`, outside any runtime, which the store allows.
static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
});
static URL: OnceLock<String> = OnceLock::new();
/// The schemas of the cases run so far; each case's store is gone when the next case starts.
static GUARDS: Mutex<Vec<SchemaGuard>> = Mutex::new(Vec::new());

struct Postgres;

impl StoreFactory for Postgres {
    fn create() -> Arc<dyn Store> {
        let url = URL.get().unwrap();
        let (store, guard) = RUNTIME.block_on(common::fresh(url));
        let finished = std::mem::replace(&mut *GUARDS.lock().unwrap_or_else(PoisonError::into_inner), vec![guard]);
        drop(finished);
        Arc::new(store)
    }
}

/// Random lifecycles through the engine match the reference model after every step (64 cases:
/// each one migrates a schema of its own).
#[test]
fn lifecycle_matches_the_reference_model() {
    let Some(url) = common::url("lifecycle_matches_the_reference_model") else {
        return;
    };
    URL.set(url).unwrap();
    let config = Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config.clone());
    let result = runner.run(&Model::sequential_strategy(1..40), |(initial, transitions, seen)| {
        LifecycleTest::<Postgres>::test_sequential(config.clone(), initial, transitions, seen);
        Ok(())
    });
    drop(std::mem::take(
        &mut *GUARDS.lock().unwrap_or_else(PoisonError::into_inner),
    ));
    if let Err(e) = result {
        panic!("{e}");
    }
}
