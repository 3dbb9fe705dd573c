//! The cache of folded states and the per-stream locks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::event::StreamId;

/// A state folded up to a stream version, and the version of the newest snapshot taken of it.
#[derive(Debug, Clone)]
pub(crate) struct Folded<S> {
    pub(crate) state: S,
    pub(crate) version: u64,
    pub(crate) snapshot_version: u64,
    /// The list row this process last wrote for the stream, if any: an append whose row did not
    /// change does not rewrite it.
    pub(crate) index: Option<crate::store::IndexEntry>,
}

/// A bounded map of folded states. Eviction drops an arbitrary entry: a miss only costs a
/// snapshot load, and streams have no useful recency order to protect.
///
/// A command *takes* its stream's state out (under the stream's lock), changes it in place and
/// puts it back, so no command copies a state; [`Cache::get`] hands out clones, which states make
/// cheap by sharing their large parts behind an `Arc`.
pub(crate) struct Cache<S> {
    map: Mutex<HashMap<StreamId, Folded<S>>>,
    capacity: usize,
}

impl<S: Clone> Cache<S> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<StreamId, Folded<S>>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A clone of the cached state.
    pub(crate) fn get(&self, id: &StreamId) -> Option<Folded<S>> {
        self.lock().get(id).cloned()
    }

    /// The cached state, removed from the cache.
    pub(crate) fn take(&self, id: &StreamId) -> Option<Folded<S>> {
        self.lock().remove(id)
    }

    pub(crate) fn put(&self, id: StreamId, state: Folded<S>) {
        if self.capacity == 0 {
            return;
        }
        let mut map = self.lock();
        if map.len() >= self.capacity
            && !map.contains_key(&id)
            && let Some(victim) = map.keys().next().cloned()
        {
            map.remove(&victim);
        }
        map.insert(id, state);
    }
}

/// One async lock per stream: commands on a stream queue instead of racing each other.
#[derive(Default)]
pub(crate) struct Locks {
    map: Mutex<HashMap<StreamId, Arc<futures::lock::Mutex<()>>>>,
}

impl Locks {
    pub(crate) fn lock_for(&self, stream: &StreamId) -> Arc<futures::lock::Mutex<()>> {
        let mut locks = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        // Drop locks nobody holds so the map does not grow with every stream ever touched.
        if locks.len() > 4096 {
            locks.retain(|_, l| Arc::strong_count(l) > 1);
        }
        if let Some(lock) = locks.get(stream) {
            return lock.clone();
        }
        let lock = Arc::new(futures::lock::Mutex::new(()));
        locks.insert(stream.clone(), lock.clone());
        lock
    }
}
