//! Stream tickets: `EventSource` cannot send an `Authorization` header, so a client trades its
//! bearer token for a ticket (`POST /v1/stream-tickets`), usable once within 60 s as `?ticket=`
//! on either stream. The ticket stands for the token: the stream it opens checks that token
//! again like any other and ends when it expires.
//!
//! Tickets live in this process's memory: one taken on one instance is not known to another (a
//! browser opens the stream right after taking the ticket, through the same balancer).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tokio::time::Instant;
use zoom_core::clock::Entropy;

/// How long a ticket is valid.
pub(crate) const TICKET_TTL: Duration = Duration::from_secs(60);
/// At most this many unused tickets are held; past it the oldest go first.
const CAPACITY: usize = 100_000;

/// The tickets not yet used: ticket -> (bearer token, expiry).
#[derive(Default)]
pub(crate) struct Tickets(Mutex<HashMap<String, (String, Instant)>>);

impl Tickets {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, Instant)>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A new ticket for `token`.
    pub(crate) fn issue(&self, token: &str, entropy: &dyn Entropy) -> String {
        let mut bytes = [0u8; 24];
        entropy.fill(&mut bytes);
        let ticket = format!("stk_{}", URL_SAFE_NO_PAD.encode(bytes));
        let now = Instant::now();
        let mut held = self.lock();
        held.retain(|_, (_, until)| *until > now);
        if held.len() >= CAPACITY
            && let Some(oldest) = held.iter().min_by_key(|(_, (_, until))| *until).map(|(k, _)| k.clone())
        {
            held.remove(&oldest);
        }
        held.insert(ticket.clone(), (token.to_owned(), now + TICKET_TTL));
        ticket
    }

    /// The token a ticket stands for, once: the ticket is gone after this call.
    pub(crate) fn redeem(&self, ticket: &str) -> Option<String> {
        let (token, until) = self.lock().remove(ticket)?;
        (until > Instant::now()).then_some(token)
    }
}
