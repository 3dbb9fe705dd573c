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

/// The RFC 3339 text of an instant exactly as chrono's `Serialize` writes it (`AutoSi` seconds:
/// no fraction, or 3, 6 or 9 digits; `Z`), written into a fixed buffer without the formatting
/// machinery: events carry a timestamp or two and are encoded on every command. `None` for a
/// year outside 0 to 9999, which chrono writes with a sign.
pub(crate) fn rfc3339(t: &DateTime<Utc>) -> Option<([u8; 30], usize)> {
    use chrono::{Datelike, Timelike};
    /// Writes `value` as `width` decimal digits at `out[at..]`.
    fn digits(out: &mut [u8; 30], at: usize, width: usize, mut value: u32) {
        for slot in out[at..at + width].iter_mut().rev() {
            *slot = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
    let year = u32::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
    let (mut sec, mut nano) = (t.second(), t.nanosecond());
    // A leap second is kept in the nanoseconds: chrono writes it as second 60.
    if nano >= 1_000_000_000 {
        sec += 1;
        nano -= 1_000_000_000;
    }
    let mut out = *b"0000-00-00T00:00:00.000000000Z";
    digits(&mut out, 0, 4, year);
    digits(&mut out, 5, 2, t.month());
    digits(&mut out, 8, 2, t.day());
    digits(&mut out, 11, 2, t.hour());
    digits(&mut out, 14, 2, t.minute());
    digits(&mut out, 17, 2, sec);
    let (value, width) = if nano == 0 {
        (0, 0)
    } else if nano % 1_000_000 == 0 {
        (nano / 1_000_000, 3)
    } else if nano % 1_000 == 0 {
        (nano / 1_000, 6)
    } else {
        (nano, 9)
    };
    let mut len = 19;
    if width > 0 {
        digits(&mut out, 20, width, value);
        len = 20 + width;
    }
    out[len] = b'Z';
    Some((out, len + 1))
}

/// Serialises an instant as chrono does (see [`rfc3339`]), faster: for `serialize_with`.
pub(crate) fn serialize_utc<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    match rfc3339(t) {
        Some((buf, len)) => s.serialize_str(std::str::from_utf8(&buf[..len]).unwrap_or_default()),
        None => serde::Serialize::serialize(t, s),
    }
}

/// [`serialize_utc`] of an optional instant.
pub(crate) fn serialize_utc_opt<S: serde::Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => serialize_utc(t, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An instant written by [`serialize_utc`], for comparing with chrono's own form.
    struct Fast(DateTime<Utc>);

    impl serde::Serialize for Fast {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            serialize_utc(&self.0, s)
        }
    }

    fn both(t: DateTime<Utc>) -> (String, String) {
        let chrono = serde_json::to_string(&t).unwrap_or_default();
        let fast = serde_json::to_string(&Fast(t)).unwrap_or_default();
        (chrono, fast)
    }

    /// The fast form is chrono's: whole seconds, each fraction width, leap seconds, the edges
    /// of the four-digit years and beyond them.
    #[test]
    fn rfc3339_writes_what_chrono_writes_at_the_edges() {
        use chrono::NaiveDate;
        let days = [
            (0, 1, 1),
            (1970, 1, 1),
            (2030, 12, 31),
            (9999, 12, 31),
            (-1, 6, 1),
            (10_000, 1, 1),
        ];
        let nanos = [
            0,
            1,
            999,
            1_000,
            120_000,
            1_000_000,
            500_000_000,
            999_999_999,
            1_000_000_000,
            1_999_999_999,
        ];
        for (y, m, d) in days {
            for nano in nanos {
                let Some(t) = NaiveDate::from_ymd_opt(y, m, d).and_then(|d| d.and_hms_nano_opt(23, 59, 59, nano))
                else {
                    continue;
                };
                let (chrono, fast) = both(t.and_utc());
                assert_eq!(chrono, fast, "{y}-{m}-{d} {nano}");
            }
        }
        let (chrono, fast) = both(Utc::now());
        assert_eq!(chrono, fast);
    }

    proptest::proptest! {
        /// Any instant chrono can hold, leap seconds included, is written as chrono writes it.
        #[test]
        fn rfc3339_writes_what_chrono_writes(secs in -62_000_000_000i64..250_000_000_000, nano in 0u32..2_000_000_000, round in 0usize..4) {
            let nano = match round { 0 => nano, 1 => nano / 1000 * 1000, 2 => nano / 1_000_000 * 1_000_000, _ => 0 };
            // A leap second only exists in the last second of a minute.
            let secs = if nano >= 1_000_000_000 { secs - secs.rem_euclid(60) + 59 } else { secs };
            if let Some(t) = DateTime::from_timestamp(secs, nano) {
                let (chrono, fast) = both(t);
                proptest::prop_assert_eq!(chrono, fast);
            }
        }
    }

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
