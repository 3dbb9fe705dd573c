//! Time and randomness, injected.
//!
//! Decisions never read the wall clock or the operating system's random source directly: the
//! engine asks a [`Clock`] and an [`Entropy`] so tests are deterministic and replayable.

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use chrono::{DateTime, TimeZone, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to: for tests.
#[derive(Debug)]
pub struct ManualClock {
    micros: AtomicI64,
}

impl ManualClock {
    /// A clock frozen at `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        Self {
            micros: AtomicI64::new(at.timestamp_micros()),
        }
    }

    /// Moves the clock forward (or backward, with a negative duration).
    pub fn advance(&self, by: chrono::Duration) {
        let delta = by.num_microseconds().unwrap_or(i64::MAX);
        self.micros.fetch_add(delta, Ordering::SeqCst);
    }

    /// Sets the clock to `at`.
    pub fn set(&self, at: DateTime<Utc>) {
        self.micros.store(at.timestamp_micros(), Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        Utc.timestamp_micros(self.micros.load(Ordering::SeqCst))
            .single()
            .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
    }
}

/// A source of unpredictable bytes: ids, join-token ids, signing keys, webhook secrets.
pub trait Entropy: Send + Sync + 'static {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);

    /// 16 random bytes, the body of a new id.
    fn id_bytes(&self) -> [u8; 16] {
        let mut b = [0u8; 16];
        self.fill(&mut b);
        b
    }

    /// 32 random bytes, a key or a secret.
    fn key_bytes(&self) -> [u8; 32] {
        let mut b = [0u8; 32];
        self.fill(&mut b);
        b
    }
}

/// A cryptographically secure generator in user space: ChaCha20, one per thread, seeded from
/// the operating system's random source and reseeded from it after every [`RESEED_AFTER`] bytes.
/// A new id then costs a few dozen nanoseconds instead of a system call. Should the operating
/// system refuse a reseed, the generator keeps its current (still unpredictable) stream and
/// tries again at the next threshold; should it refuse the very first seed, each fill falls back
/// to `uuid`'s v4 generator (which itself panics only when no random source exists at all).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemEntropy;

/// How many bytes a [`SystemEntropy`] generator yields before it is reseeded from the OS.
pub const RESEED_AFTER: usize = 1 << 20;

struct ThreadRng {
    rng: Option<chacha20::ChaCha20Rng>,
    since_seed: usize,
}

impl ThreadRng {
    fn seeded() -> Option<chacha20::ChaCha20Rng> {
        use rand_core::SeedableRng;
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).ok()?;
        Some(chacha20::ChaCha20Rng::from_seed(seed))
    }

    fn fill(&mut self, buf: &mut [u8]) {
        use rand_core::Rng;
        if self.rng.is_none() || self.since_seed >= RESEED_AFTER {
            if let Some(fresh) = Self::seeded() {
                self.rng = Some(fresh);
            }
            self.since_seed = 0;
        }
        match &mut self.rng {
            Some(rng) => {
                rng.fill_bytes(buf);
                self.since_seed += buf.len();
            }
            None => {
                for chunk in buf.chunks_mut(16) {
                    let bytes = uuid::Uuid::new_v4().into_bytes();
                    chunk.copy_from_slice(&bytes[..chunk.len()]);
                }
            }
        }
    }
}

thread_local! {
    static THREAD_RNG: std::cell::RefCell<ThreadRng> = const {
        std::cell::RefCell::new(ThreadRng { rng: None, since_seed: 0 })
    };
}

impl Entropy for SystemEntropy {
    fn fill(&self, buf: &mut [u8]) {
        THREAD_RNG.with(|rng| rng.borrow_mut().fill(buf));
    }
}

/// A deterministic generator (SplitMix64) for tests: the same seed gives the same ids.
#[derive(Debug)]
pub struct SeededEntropy {
    state: Mutex<u64>,
    calls: AtomicU64,
}

impl SeededEntropy {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            state: Mutex::new(seed),
            calls: AtomicU64::new(0),
        }
    }

    /// How many times `fill` was called.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

impl Entropy for SeededEntropy {
    fn fill(&self, buf: &mut [u8]) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for chunk in buf.chunks_mut(8) {
            *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = *state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// System entropy gives distinct ids on each call and across threads, and keeps giving
    /// them past a reseed.
    #[test]
    fn system_entropy_is_fresh_per_call_per_thread_and_across_reseeds() {
        let e = SystemEntropy;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            assert!(seen.insert(e.id_bytes()), "an id repeated");
        }
        let other = std::thread::spawn(|| (0..1000).map(|_| SystemEntropy.id_bytes()).collect::<Vec<_>>())
            .join()
            .unwrap_or_default();
        assert_eq!(other.len(), 1000);
        for id in other {
            assert!(seen.insert(id), "two threads gave the same id");
        }
        let mut big = vec![0u8; RESEED_AFTER + 64];
        e.fill(&mut big);
        assert!(seen.insert(e.id_bytes()), "an id repeated after a reseed");
        assert!(big.iter().any(|&b| b != 0));
    }
}
