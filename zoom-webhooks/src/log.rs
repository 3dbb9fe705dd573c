//! The delivery log as a subscriber sees it: one query, with the engine's paging, that the HTTP
//! layer and redelivery share.
//!
//! The log holds one row per attempt, newest first. Each row's `status` is the state that
//! attempt left its delivery in ([`DeliveryAttempt::status`]). Filters (status, attempt time)
//! are applied while scanning the store's rows; a page scans at most [`SCAN_LIMIT`] rows, so a
//! filter that matches little gives a short page (with a cursor to go on) rather than a slow one.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use zoom_core::Engine;
use zoom_core::engine::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page, PageRequest};
use zoom_core::error::DomainError;
use zoom_core::id::WebhookId;
use zoom_core::principal::Principal;
use zoom_core::store::{DeliveryAttempt, DeliveryState};

use crate::error::WebhookError;

/// How many attempt rows one page (or one summary) reads from the store at most.
pub const SCAN_LIMIT: usize = 5000;

/// How many rows are read from the store per call while scanning.
const SCAN_BATCH: usize = 500;

/// How many of the newest attempts a [`Summary`] looks at.
pub const SUMMARY_WINDOW: usize = 20;

/// Which rows of the log to show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryFilter {
    /// Only rows with this status.
    pub status: Option<DeliveryState>,
    /// Only attempts made at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Only attempts made before this instant.
    pub to: Option<DateTime<Utc>>,
}

impl DeliveryFilter {
    /// Whether a row passes.
    pub fn matches(&self, a: &DeliveryAttempt) -> bool {
        self.status.is_none_or(|s| a.status() == s)
            && self.from.is_none_or(|f| a.attempted_at >= f)
            && self.to.is_none_or(|t| a.attempted_at < t)
    }

    /// The text a cursor is bound to, so that a cursor of one list is refused by another.
    fn binding(&self, subscription: &WebhookId) -> String {
        let t = |d: Option<DateTime<Utc>>| d.map(|d| d.timestamp_micros().to_string()).unwrap_or_default();
        format!(
            "{}|{}|{}|{}",
            subscription,
            self.status.map(DeliveryState::as_str).unwrap_or(""),
            t(self.from),
            t(self.to)
        )
    }
}

/// The newest attempts of a subscription, summed up (for `GET /v1/webhooks/{id}`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// How many attempts were looked at (at most [`SUMMARY_WINDOW`]).
    pub attempts: u32,
    /// Of those, how many succeeded.
    pub succeeded: u32,
    /// How many left their delivery waiting for a retry.
    pub pending: u32,
    /// How many left their delivery failed.
    pub failed: u32,
    /// The newest attempt, if any.
    pub last: Option<DeliveryAttempt>,
    /// When the newest successful attempt among them was made.
    pub last_success_at: Option<DateTime<Utc>>,
}

/// A page of a subscription's delivery log as `principal` may see it, newest first.
///
/// # Errors
/// `InsufficientScope` or `NotFound` (another owner's or account's subscription, or a deleted
/// one) as [`WebhookError::Engine`]; `Invalid` `page_size`, `InvalidCursor` for a cursor of
/// another list or filter; a store failure.
pub async fn delivery_log(
    engine: &Engine,
    principal: &Principal,
    subscription: &WebhookId,
    filter: &DeliveryFilter,
    page: &PageRequest,
) -> Result<Page<DeliveryAttempt>, WebhookError> {
    let size = page_size(page)?;
    let binding = filter.binding(subscription);
    let mut before = match &page.cursor {
        None => None,
        Some(c) => {
            let cursor = decode_cursor(c, &binding).ok_or_else(|| {
                WebhookError::Engine(
                    DomainError::InvalidCursor {
                        message: "is not a cursor of this delivery list".into(),
                    }
                    .into(),
                )
            })?;
            Some(cursor)
        }
    };
    // Visibility before anything is read: another owner's or account's subscription is a 404.
    engine.webhook(principal, subscription).await?;
    let store = engine.store();
    let mut items = Vec::with_capacity(size);
    let mut scanned = 0;
    loop {
        let rows = store.attempts(subscription, before, SCAN_BATCH).await?;
        let full = rows.len() == SCAN_BATCH;
        for (seq, a) in rows {
            scanned += 1;
            before = Some(seq);
            if filter.matches(&a) {
                items.push(a);
                if items.len() == size {
                    // The page is full; whether more rows follow is left to the next page
                    // (which may be empty) rather than read now.
                    return Ok(Page {
                        items,
                        next_cursor: before.map(|s| encode_cursor(s, &binding)),
                    });
                }
            }
        }
        if !full {
            return Ok(Page {
                items,
                next_cursor: None,
            });
        }
        if scanned >= SCAN_LIMIT {
            return Ok(Page {
                items,
                next_cursor: before.map(|s| encode_cursor(s, &binding)),
            });
        }
    }
}

/// The newest [`SUMMARY_WINDOW`] attempts of a subscription, summed up. The caller has checked
/// that the subscription is visible.
///
/// # Errors
/// A store failure.
pub async fn summary(engine: &Engine, subscription: &WebhookId) -> Result<Summary, WebhookError> {
    let rows = engine.store().attempts(subscription, None, SUMMARY_WINDOW).await?;
    let mut out = Summary::default();
    for (_, a) in rows {
        out.attempts += 1;
        match a.status() {
            DeliveryState::Succeeded => {
                out.succeeded += 1;
                out.last_success_at = out.last_success_at.or(Some(a.attempted_at));
            }
            DeliveryState::Pending => out.pending += 1,
            DeliveryState::Failed => out.failed += 1,
        }
        if out.last.is_none() {
            out.last = Some(a);
        }
    }
    Ok(out)
}

/// Scans a subscription's log for the ids of deliveries with a row that passes `filter`,
/// newest first, each once, reading at most `max_rows` rows. The caller has checked visibility.
///
/// # Errors
/// A store failure.
pub(crate) async fn delivery_ids(
    engine: &Engine,
    subscription: &WebhookId,
    filter: &DeliveryFilter,
    max_rows: usize,
) -> Result<Vec<u64>, WebhookError> {
    let store = engine.store();
    let mut ids = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut before = None;
    let mut scanned = 0;
    while scanned < max_rows {
        let rows = store.attempts(subscription, before, SCAN_BATCH).await?;
        let full = rows.len() == SCAN_BATCH;
        for (seq, a) in rows {
            scanned += 1;
            before = Some(seq);
            if filter.matches(&a) && seen.insert(a.delivery_id) {
                ids.push(a.delivery_id);
            }
        }
        if !full {
            break;
        }
    }
    Ok(ids)
}

fn page_size(page: &PageRequest) -> Result<usize, WebhookError> {
    match page.page_size {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(n) if n >= 1 && n <= MAX_PAGE_SIZE as i64 => Ok(n as usize),
        Some(_) => Err(invalid("page_size", "must be between 1 and 300")),
    }
}

fn invalid(field: &str, message: &str) -> WebhookError {
    WebhookError::Engine(
        DomainError::Invalid {
            field: field.to_owned(),
            message: message.to_owned(),
        }
        .into(),
    )
}

/// A cursor: the store's sequence number of the last row scanned, bound to the list (the
/// subscription and the filter) by a short hash, so another list's cursor is refused.
fn encode_cursor(seq: u64, binding: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("d2:{seq}:{:016x}", fnv(binding)))
}

fn decode_cursor(cursor: &str, binding: &str) -> Option<u64> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = std::str::from_utf8(&raw).ok()?.strip_prefix("d2:")?;
    let (seq, bound) = text.split_once(':')?;
    (bound == format!("{:016x}", fnv(binding))).then_some(())?;
    seq.parse().ok()
}

/// FNV-1a: a stable 64-bit hash (the standard library's is randomised per process, and cursors
/// outlive processes). It guards against mix-ups, not forgery: a forged cursor only pages the
/// caller's own list.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_are_bound_to_their_list() {
        let a = WebhookId::from_entropy([1; 16]);
        let b = WebhookId::from_entropy([2; 16]);
        let all = DeliveryFilter::default().binding(&a);
        let failed = DeliveryFilter {
            status: Some(DeliveryState::Failed),
            ..DeliveryFilter::default()
        }
        .binding(&a);
        let c = encode_cursor(42, &all);
        assert_eq!(decode_cursor(&c, &all), Some(42));
        assert_eq!(decode_cursor(&c, &failed), None);
        assert_eq!(decode_cursor(&c, &DeliveryFilter::default().binding(&b)), None);
        assert_eq!(decode_cursor("not a cursor", &all), None);
        assert_eq!(
            decode_cursor(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("c1:5"), &all),
            None
        );
    }
}
