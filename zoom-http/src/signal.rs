//! The commit signal: "the log has grown", told to everyone who follows it in this process (the
//! stream hub, a webhook worker), each of whom reads the log itself.
//!
//! A `tokio::sync::Notify` shared by two followers does not do: `notify_one` wakes one waiter, so
//! one follower would take the other's wake-up. The signal is a counter in a `watch` channel
//! instead: every [`CommitWaiter`] sees every change, several changes before a waiter looks are
//! one wake-up (a follower reads everything new at once), and a change made while nobody waits
//! is kept for the next wait.

use std::sync::Arc;

use tokio::sync::watch;

/// Tells every [`CommitWaiter`] that something was committed. Cheap to clone: clones are the
/// same signal. Give one to [`crate::ApiConfig::commits`] and subscribe the other followers
/// (a webhook worker, a PostgreSQL listener's caller) to it.
#[derive(Clone, Debug)]
pub struct CommitSignal {
    tx: Arc<watch::Sender<u64>>,
}

impl Default for CommitSignal {
    fn default() -> Self {
        Self::new()
    }
}

impl CommitSignal {
    /// A new signal that nobody waits on yet.
    pub fn new() -> Self {
        Self {
            tx: Arc::new(watch::channel(0).0),
        }
    }

    /// Wakes every waiter (now, or at its next [`CommitWaiter::wait`]). Never blocks.
    pub fn notify(&self) {
        self.tx.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A waiter that sees every notification from now on.
    pub fn subscribe(&self) -> CommitWaiter {
        let mut rx = self.tx.subscribe();
        rx.mark_unchanged();
        CommitWaiter { rx }
    }
}

/// One follower's side of a [`CommitSignal`].
#[derive(Debug)]
pub struct CommitWaiter {
    rx: watch::Receiver<u64>,
}

impl CommitWaiter {
    /// Resolves at the first notification since the previous call returned (at once if one
    /// came meanwhile). Once every clone of the signal is dropped it never resolves: the
    /// follower then relies on its own polling. Cancel safe.
    pub async fn wait(&mut self) {
        if self.rx.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    async fn woken(w: &mut CommitWaiter) -> bool {
        tokio::time::timeout(Duration::from_millis(50), w.wait()).await.is_ok()
    }

    #[tokio::test]
    async fn every_waiter_is_woken_and_notifications_coalesce() {
        let signal = CommitSignal::new();
        let mut a = signal.subscribe();
        let mut b = signal.subscribe();
        assert!(!woken(&mut a).await, "nothing was committed yet");
        signal.notify();
        signal.notify();
        // Both see it: neither takes the other's wake-up; two notifications are one wake-up.
        assert!(woken(&mut a).await);
        assert!(woken(&mut b).await);
        assert!(!woken(&mut a).await);
        assert!(!woken(&mut b).await);
        drop(signal);
        assert!(!woken(&mut a).await, "a dropped signal never wakes");
    }
}
