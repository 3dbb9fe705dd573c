//! The cache of folded states, each kept under its stream's lock.

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

/// A stream's async lock and, inside it, its cached state (`None`: not cached). Commands on a
/// stream queue on the lock instead of racing each other; holding it, a command *takes* the
/// state, changes it in place and puts it back, so no command copies a state and none looks the
/// stream up twice.
pub(crate) type Slot<S> = Arc<futures::lock::Mutex<Option<Folded<S>>>>;

/// The slots of the streams this process touched, bounded: past `capacity` a slot nobody holds
/// or waits for is dropped, with its state (eviction takes an arbitrary one: a miss only costs
/// a snapshot load, and streams have no useful recency order to protect). A slot in use is never
/// dropped, so two commands on one stream always share one lock.
pub(crate) struct Cache<S> {
    map: Mutex<HashMap<StreamId, Slot<S>>>,
    capacity: usize,
}

/// Slots kept for their lock alone when the cache holds no states (capacity 0).
const LOCKS_KEPT: usize = 4096;

impl<S: Clone> Cache<S> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// Whether states are kept at all.
    pub(crate) fn keeps_states(&self) -> bool {
        self.capacity > 0
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<StreamId, Slot<S>>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The slot of a stream, made (and another dropped, when the cache is full) if it has none.
    pub(crate) fn slot(&self, id: &StreamId) -> Slot<S> {
        let mut map = self.lock();
        if let Some(slot) = map.get(id) {
            return slot.clone();
        }
        let bound = if self.keeps_states() { self.capacity } else { LOCKS_KEPT };
        if map.len() >= bound {
            // Only a slot nobody else holds can go: its holders would otherwise lock a slot
            // that a newcomer no longer finds.
            let victim = map
                .iter()
                .find(|(_, slot)| Arc::strong_count(slot) == 1)
                .map(|(key, _)| key.clone());
            if let Some(victim) = victim {
                map.remove(&victim);
            }
        }
        let slot = Slot::default();
        map.insert(id.clone(), slot.clone());
        slot
    }

    /// A clone of the cached state, without waiting: `None` when it is not cached or a command
    /// holds the stream's lock now.
    pub(crate) fn get(&self, id: &StreamId) -> Option<Folded<S>> {
        let slot = self.lock().get(id)?.clone();
        let state = slot.try_lock()?;
        state.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> StreamId {
        StreamId::new(s).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Past its capacity the cache drops a slot nobody holds, never one in use: two commands on
    /// one stream always find the same lock.
    #[test]
    fn a_full_cache_drops_only_slots_nobody_holds() {
        let cache: Cache<u32> = Cache::new(1);
        let held = cache.slot(&id("a"));
        let b = cache.slot(&id("b"));
        assert_eq!(cache.lock().len(), 2, "the held slot stayed");
        assert!(Arc::ptr_eq(&held, &cache.slot(&id("a"))));
        drop(b);
        let _c = cache.slot(&id("c"));
        let map = cache.lock();
        assert_eq!(map.len(), 2);
        assert!(map.contains_key(&id("a")) && !map.contains_key(&id("b")));
    }

    /// A state is read without waiting, and not while a command holds its stream.
    #[test]
    fn get_reads_a_state_only_when_no_command_holds_it() {
        let cache: Cache<u32> = Cache::new(8);
        let slot = cache.slot(&id("a"));
        assert!(cache.get(&id("a")).is_none());
        let mut guard = slot.try_lock().unwrap_or_else(|| panic!("free"));
        *guard = Some(Folded {
            state: 7,
            version: 3,
            snapshot_version: 0,
            index: None,
        });
        assert!(cache.get(&id("a")).is_none(), "held by a command");
        drop(guard);
        assert_eq!(cache.get(&id("a")).map(|f| (f.state, f.version)), Some((7, 3)));
    }
}
