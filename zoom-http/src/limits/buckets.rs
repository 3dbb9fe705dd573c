//! Token buckets keyed by a string, sharded, with bounded memory.
//!
//! Each key holds `N` buckets (one per slot, e.g. one per rate-limit category), each with its own
//! rate and burst. A bucket starts full, refills continuously at its rate up to its burst, and a
//! request takes one token. A bucket that has refilled to its burst is the same as a missing one,
//! so idle keys are dropped without changing any answer: memory holds only the keys that were
//! busy in the last `burst / rate` seconds, and at most `capacity` of them.
//!
//! The map is split into shards, each behind its own mutex, held for a few arithmetic operations:
//! concurrent requests of different accounts rarely meet on one lock.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

const SHARDS: usize = 16;

/// The rate and burst of one slot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Tokens added per second.
    pub per_second: f64,
    /// The most tokens a bucket holds (the burst).
    pub burst: f64,
}

impl Rate {
    /// `per_second` with a burst of `burst` (at least one token).
    pub fn new(per_second: f64, burst: f64) -> Self {
        Self {
            per_second: per_second.max(f64::MIN_POSITIVE),
            burst: burst.max(1.0),
        }
    }
}

/// What one take decided.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    /// Whether a token was taken.
    pub allowed: bool,
    /// Whole tokens left after this take.
    pub remaining: u32,
    /// When refused: how long until one token is back.
    pub retry_after: Duration,
}

impl Decision {
    /// `Retry-After` in whole seconds, at least 1.
    pub fn retry_after_secs(&self) -> u64 {
        self.retry_after.as_secs_f64().ceil().max(1.0) as u64
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    /// Seconds since the buckets' epoch when `tokens` was last brought up to date.
    at: f64,
}

/// One shard: each key's buckets.
type Shard<const N: usize> = HashMap<Box<str>, [Bucket; N], FastHash>;

/// A multiply-rotate hash (FxHash's) for the short keys here (account ids, addresses): a few
/// nanoseconds where SipHash costs tens, on the path of every request. Keys are account ids the
/// platform assigns and client addresses, not strings a client picks freely.
#[derive(Default, Clone, Copy)]
struct FastHash;

impl BuildHasher for FastHash {
    type Hasher = FastHasher;
    fn build_hasher(&self) -> FastHasher {
        FastHasher(0)
    }
}

struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0xf135_7aea_2e62_a9c5;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// Keyed token buckets, `N` slots per key.
pub struct Buckets<const N: usize> {
    rates: [Rate; N],
    shards: Box<[Mutex<Shard<N>>]>,
    per_shard: usize,
    epoch: Instant,
}

impl<const N: usize> std::fmt::Debug for Buckets<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Buckets")
            .field("rates", &self.rates)
            .field("per_shard", &self.per_shard)
            .finish_non_exhaustive()
    }
}

impl<const N: usize> Buckets<N> {
    /// Buckets with these slot rates, holding at most about `capacity` keys.
    pub fn new(rates: [Rate; N], capacity: usize) -> Self {
        Self {
            rates,
            shards: (0..SHARDS)
                .map(|_| Mutex::new(HashMap::with_hasher(FastHash)))
                .collect(),
            per_shard: capacity.div_ceil(SHARDS).max(1),
            epoch: Instant::now(),
        }
    }

    /// The rate of a slot.
    pub fn rate(&self, slot: usize) -> Rate {
        self.rates[slot]
    }

    fn shard<Q: Hash + ?Sized>(&self, key: &Q) -> MutexGuard<'_, Shard<N>> {
        // The high bits: the map inside the shard uses the low ones.
        let i = (FastHash.hash_one(key) >> 59) as usize % SHARDS;
        self.shards[i].lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn seconds(&self, now: Instant) -> f64 {
        now.saturating_duration_since(self.epoch).as_secs_f64()
    }

    fn refill(rate: Rate, b: &mut Bucket, t: f64) {
        if t > b.at {
            b.tokens = (b.tokens + (t - b.at) * rate.per_second).min(rate.burst);
            b.at = t;
        }
    }

    /// Takes one token from `key`'s bucket of `slot` at `now`, or says how long to wait.
    pub fn take(&self, key: &str, slot: usize, now: Instant) -> Decision {
        let t = self.seconds(now);
        let rate = self.rates[slot];
        let mut shard = self.shard(key);
        if !shard.contains_key(key) {
            if shard.len() >= self.per_shard {
                self.evict(&mut shard, t);
            }
            let full = std::array::from_fn(|i| Bucket {
                tokens: self.rates[i].burst,
                at: t,
            });
            shard.insert(Box::from(key), full);
        }
        let Some(buckets) = shard.get_mut(key) else {
            // Just inserted under the same lock; unreachable, but answer rather than panic.
            return Decision {
                allowed: true,
                remaining: 0,
                retry_after: Duration::ZERO,
            };
        };
        let b = &mut buckets[slot];
        Self::refill(rate, b, t);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Decision {
                allowed: true,
                remaining: b.tokens as u32,
                retry_after: Duration::ZERO,
            }
        } else {
            Decision {
                allowed: false,
                remaining: 0,
                retry_after: Duration::from_secs_f64((1.0 - b.tokens) / rate.per_second),
            }
        }
    }

    /// What a take would decide, without taking.
    pub fn peek(&self, key: &str, slot: usize, now: Instant) -> Decision {
        let t = self.seconds(now);
        let rate = self.rates[slot];
        let shard = self.shard(key);
        let Some(mut b) = shard.get(key).map(|b| b[slot]) else {
            return Decision {
                allowed: true,
                remaining: rate.burst as u32,
                retry_after: Duration::ZERO,
            };
        };
        Self::refill(rate, &mut b, t);
        Decision {
            allowed: b.tokens >= 1.0,
            remaining: b.tokens as u32,
            retry_after: if b.tokens >= 1.0 {
                Duration::ZERO
            } else {
                Duration::from_secs_f64((1.0 - b.tokens) / rate.per_second)
            },
        }
    }

    /// Whether `key`'s bucket of `slot` is below its burst at `now` (it took a token recently).
    pub fn is_drawn(&self, key: &str, slot: usize, now: Instant) -> bool {
        let rate = self.rates[slot];
        let t = self.seconds(now);
        self.shard(key).get(key).is_some_and(|b| {
            let mut b = b[slot];
            Self::refill(rate, &mut b, t);
            b.tokens < rate.burst
        })
    }

    /// How many keys are held (for tests and metrics).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every key whose buckets have all refilled (losslessly); if the shard is still full,
    /// drops the key touched longest ago.
    fn evict(&self, shard: &mut Shard<N>, t: f64) {
        let rates = self.rates;
        shard.retain(|_, buckets| {
            buckets
                .iter()
                .zip(rates)
                .any(|(b, r)| b.tokens + (t - b.at).max(0.0) * r.per_second < r.burst)
        });
        if shard.len() >= self.per_shard {
            let oldest = shard
                .iter()
                .min_by(|a, b| {
                    let last = |v: &[Bucket; N]| v.iter().map(|b| b.at).fold(f64::MIN, f64::max);
                    last(a.1).total_cmp(&last(b.1))
                })
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                shard.remove::<str>(k.borrow());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(base: Instant, ms: u64) -> Instant {
        base + Duration::from_millis(ms)
    }

    /// A bucket gives its burst at once, then refuses with the wait for one token, then refills.
    #[test]
    fn burst_then_refusal_then_refill() {
        let b = Buckets::new([Rate::new(10.0, 20.0)], 100);
        let t0 = Instant::now();
        for i in 0..20 {
            let d = b.take("acc", 0, t0);
            assert!(d.allowed, "take {i}");
            assert_eq!(d.remaining, 19 - i);
        }
        let refused = b.take("acc", 0, t0);
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
        assert!((refused.retry_after.as_secs_f64() - 0.1).abs() < 1e-6);
        assert_eq!(refused.retry_after_secs(), 1);
        // 100 ms later one token is back, and only one.
        assert!(b.take("acc", 0, at(t0, 101)).allowed);
        assert!(!b.take("acc", 0, at(t0, 101)).allowed);
        // Another key is untouched.
        assert!(b.take("other", 0, t0).allowed);
    }

    /// Slots of one key are independent.
    #[test]
    fn slots_are_independent() {
        let b = Buckets::new([Rate::new(1.0, 1.0), Rate::new(1.0, 1.0)], 100);
        let t0 = Instant::now();
        assert!(b.take("a", 0, t0).allowed);
        assert!(!b.take("a", 0, t0).allowed);
        assert!(b.take("a", 1, t0).allowed);
    }

    /// Peeking takes nothing; `is_drawn` tells a touched bucket from a full one.
    #[test]
    fn peek_and_drawn() {
        let b = Buckets::new([Rate::new(1.0, 2.0)], 100);
        let t0 = Instant::now();
        assert!(!b.is_drawn("a", 0, t0));
        assert!(b.peek("a", 0, t0).allowed);
        assert!(b.is_empty());
        b.take("a", 0, t0);
        assert!(b.is_drawn("a", 0, t0));
        assert!(b.peek("a", 0, t0).allowed);
        b.take("a", 0, t0);
        assert!(!b.peek("a", 0, t0).allowed);
        assert!(!b.is_drawn("a", 0, at(t0, 2_100)));
    }

    /// Memory is bounded: idle keys go first, and the capacity holds even when none is idle.
    #[test]
    fn memory_is_bounded() {
        let b = Buckets::new([Rate::new(1.0, 2.0)], 32);
        let t0 = Instant::now();
        for i in 0..1_000 {
            b.take(&format!("k{i}"), 0, t0);
        }
        assert!(b.len() <= 32 + SHARDS, "{} keys held", b.len());
        // Much later every bucket has refilled: new keys replace them all.
        let later = at(t0, 10_000);
        for i in 0..1_000 {
            b.take(&format!("n{i}"), 0, later);
        }
        assert!(b.len() <= 32 + SHARDS);
    }
}
