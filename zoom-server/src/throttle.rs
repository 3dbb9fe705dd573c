//! Throttling of failed client authentications at `POST /oauth/token`.
//!
//! Failures are counted in two token buckets, one per client id and one per client address
//! (each failure takes a token; tokens come back at a steady rate). Successes take nothing. An
//! attempt is refused with 429 before its secret is checked when
//! - its address has used up its failures, or
//! - its client id has used up its failures and this address has itself failed recently.
//!
//! So a client that authenticates correctly from an address that has not failed is never
//! slowed, however many failures others send for its id from elsewhere; a guesser is slowed to
//! [`PER_ADDRESS`]'s rate. Memory is bounded (idle buckets are dropped).

use std::net::IpAddr;
use std::time::{Duration, Instant};

use zoom_http::limits::{Buckets, Rate};

/// Failures an address may make at once, and how fast they come back (one every 2 s).
pub const PER_ADDRESS: Rate = Rate {
    per_second: 0.5,
    burst: 20.0,
};

/// Failures one client id may collect at once from failing addresses, and how fast they come
/// back (one every 2 s).
pub const PER_CLIENT: Rate = Rate {
    per_second: 0.5,
    burst: 10.0,
};

/// Client ids and addresses tracked at most, each.
pub const TRACKED: usize = 100_000;

/// The failure counters of the token endpoint.
#[derive(Debug)]
pub struct FailureThrottle {
    clients: Buckets<1>,
    addresses: Buckets<1>,
}

impl Default for FailureThrottle {
    fn default() -> Self {
        Self::new(PER_CLIENT, PER_ADDRESS)
    }
}

fn address_key(address: Option<IpAddr>) -> String {
    address.map_or_else(|| "unknown".to_owned(), |a| a.to_string())
}

impl FailureThrottle {
    /// Counters with these rates.
    pub fn new(per_client: Rate, per_address: Rate) -> Self {
        Self {
            clients: Buckets::new([per_client], TRACKED),
            addresses: Buckets::new([per_address], TRACKED),
        }
    }

    /// `Some(wait)` when an attempt for `client_id` from `address` is refused at `now`.
    pub fn refuses(&self, client_id: &str, address: Option<IpAddr>, now: Instant) -> Option<Duration> {
        let address = address_key(address);
        let by_address = self.addresses.peek(&address, 0, now);
        if !by_address.allowed {
            return Some(Duration::from_secs(by_address.retry_after_secs()));
        }
        let by_client = self.clients.peek(client_id, 0, now);
        if !by_client.allowed && self.addresses.is_drawn(&address, 0, now) {
            return Some(Duration::from_secs(by_client.retry_after_secs()));
        }
        None
    }

    /// Counts a failed attempt.
    pub fn failed(&self, client_id: &str, address: Option<IpAddr>, now: Instant) {
        self.addresses.take(&address_key(address), 0, now);
        self.clients.take(client_id, 0, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    /// An address is refused after its burst of failures and allowed again as they come back.
    #[test]
    fn an_address_runs_out_of_failures() {
        let t = FailureThrottle::default();
        let now = Instant::now();
        for i in 0..20 {
            assert_eq!(t.refuses(&format!("app_{i}"), ip("10.0.0.1"), now), None);
            t.failed(&format!("app_{i}"), ip("10.0.0.1"), now);
        }
        assert_eq!(t.refuses("app_new", ip("10.0.0.1"), now), Some(Duration::from_secs(2)));
        assert_eq!(t.refuses("app_new", ip("10.0.0.2"), now), None);
        assert_eq!(
            t.refuses("app_new", ip("10.0.0.1"), now + Duration::from_millis(2_100)),
            None
        );
    }

    /// Failures for one client id from many addresses slow the failing addresses only.
    #[test]
    fn a_client_under_attack_still_authenticates_from_a_clean_address() {
        let t = FailureThrottle::default();
        let now = Instant::now();
        for i in 0..30 {
            let from = ip(&format!("10.0.1.{i}"));
            t.failed("app_victim", from, now);
        }
        // A failing address is refused for the victim's id (its own burst is not spent)...
        assert!(t.refuses("app_victim", ip("10.0.1.3"), now).is_some());
        assert_eq!(t.refuses("app_other", ip("10.0.1.3"), now), None);
        // ...and the victim itself, from an address that has not failed, is not.
        assert_eq!(t.refuses("app_victim", ip("192.0.2.7"), now), None);
    }
}
