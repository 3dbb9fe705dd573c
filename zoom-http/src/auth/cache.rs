//! A memo in front of an [`Authenticator`] whose verification is expensive.
//!
//! Verifying a signed access token (an Ed25519 JWT) costs tens of microseconds, more than the
//! whole rest of a read through the router; a client sends the same token on every call for its
//! lifetime. [`CachingAuthenticator`] remembers each accepted token's principal for a short time,
//! so a token is verified once per `ttl` instead of once per request.
//!
//! The price is stated plainly: a token revoked or expiring inside the cache is still accepted
//! for up to `ttl`. Refusals are never cached, so a bad token costs a verification every time and
//! cannot fill the memo.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use zoom_core::id::{AccountId, Name};
use zoom_core::principal::Principal;

use super::{AuthError, Authenticator};

/// Remembers accepted tokens for `ttl`, holding at most `capacity` of them.
pub struct CachingAuthenticator<A> {
    inner: A,
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<String, (Principal, Instant)>>,
}

impl<A> std::fmt::Debug for CachingAuthenticator<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachingAuthenticator")
            .field("ttl", &self.ttl)
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl<A: Authenticator> CachingAuthenticator<A> {
    /// Wraps `inner`. A `ttl` of zero caches nothing; `capacity` bounds memory (when full,
    /// expired entries go first, then everything).
    pub fn new(inner: A, ttl: Duration, capacity: usize) -> Self {
        Self {
            inner,
            ttl,
            capacity: capacity.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Principal, Instant)>> {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait::async_trait]
impl<A: Authenticator> Authenticator for CachingAuthenticator<A> {
    async fn authenticate(&self, bearer_token: &str) -> Result<Principal, AuthError> {
        let now = Instant::now();
        if let Some((principal, at)) = self.lock().get(bearer_token)
            && now.duration_since(*at) < self.ttl
        {
            return Ok(principal.clone());
        }
        let principal = self.inner.authenticate(bearer_token).await?;
        if !self.ttl.is_zero() {
            let mut entries = self.lock();
            if entries.len() >= self.capacity && !entries.contains_key(bearer_token) {
                entries.retain(|_, (_, at)| now.duration_since(*at) < self.ttl);
                if entries.len() >= self.capacity {
                    // Dropping everything is crude but bounded, and costs one verification each.
                    entries.clear();
                }
            }
            entries.insert(bearer_token.to_owned(), (principal.clone(), now));
        }
        Ok(principal)
    }

    fn forget(&self, account: &AccountId, subject: Option<&Name>) {
        self.lock()
            .retain(|_, (p, _)| &p.account_id != account || subject.is_some_and(|s| s != &p.subject));
        self.inner.forget(account, subject);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use zoom_core::id::Name;
    use zoom_core::principal::Scope;

    use super::*;

    /// Accepts tokens starting with `ok`, counting every verification.
    struct Counting(AtomicUsize);

    #[async_trait::async_trait]
    impl Authenticator for Counting {
        async fn authenticate(&self, token: &str) -> Result<Principal, AuthError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            if token.starts_with("ok") {
                let name = Name::parse(token).map_err(|e| AuthError::invalid_token(e.to_string()))?;
                Ok(Principal::app(name.clone(), name, [Scope::MeetingRead]))
            } else {
                Err(AuthError::invalid_token("no"))
            }
        }
    }

    fn calls(c: &CachingAuthenticator<Counting>) -> usize {
        c.inner.0.load(Ordering::SeqCst)
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn accepted_tokens_are_verified_once_per_ttl() {
        let c = CachingAuthenticator::new(Counting(AtomicUsize::new(0)), Duration::from_secs(60), 10);
        rt().block_on(async {
            let a = c.authenticate("ok1").await.unwrap_or_else(|e| panic!("{e}"));
            let b = c.authenticate("ok1").await.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(a, b);
            assert_eq!(calls(&c), 1);
            c.authenticate("ok2").await.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(calls(&c), 2);
        });
    }

    #[test]
    fn refusals_are_never_cached() {
        let c = CachingAuthenticator::new(Counting(AtomicUsize::new(0)), Duration::from_secs(60), 10);
        rt().block_on(async {
            assert!(c.authenticate("bad").await.is_err());
            assert!(c.authenticate("bad").await.is_err());
        });
        assert_eq!(calls(&c), 2);
        assert!(c.lock().is_empty());
    }

    #[test]
    fn zero_ttl_caches_nothing_and_capacity_bounds_memory() {
        let none = CachingAuthenticator::new(Counting(AtomicUsize::new(0)), Duration::ZERO, 10);
        let small = CachingAuthenticator::new(Counting(AtomicUsize::new(0)), Duration::from_secs(60), 2);
        rt().block_on(async {
            for _ in 0..3 {
                none.authenticate("ok1").await.unwrap_or_else(|e| panic!("{e}"));
            }
            for t in ["ok1", "ok2", "ok3", "ok4"] {
                small.authenticate(t).await.unwrap_or_else(|e| panic!("{e}"));
            }
        });
        assert_eq!(calls(&none), 3);
        assert!(small.lock().len() <= 2);
    }

    #[test]
    fn forgetting_drops_the_tokens_of_an_account_or_a_subject() {
        let c = CachingAuthenticator::new(Counting(AtomicUsize::new(0)), Duration::from_secs(60), 10);
        let ok = |n: &str| Name::parse(n).unwrap_or_else(|e| panic!("{e}"));
        rt().block_on(async {
            for t in ["ok1", "ok2", "ok3"] {
                c.authenticate(t).await.unwrap_or_else(|e| panic!("{e}"));
            }
            // The tokens of `Counting` name their own account and subject.
            c.forget(&ok("ok1"), Some(&ok("other")));
            c.authenticate("ok1").await.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(calls(&c), 3, "another subject's forgetting keeps ok1");
            c.forget(&ok("ok1"), Some(&ok("ok1")));
            c.forget(&ok("ok2"), None);
            for t in ["ok1", "ok2", "ok3"] {
                c.authenticate(t).await.unwrap_or_else(|e| panic!("{e}"));
            }
        });
        assert_eq!(calls(&c), 5, "ok1 and ok2 were verified again, ok3 was not");
    }
}
