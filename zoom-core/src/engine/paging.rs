//! Pages and cursors.
//!
//! A cursor is opaque: a position in its list and a hash of what the list is (its kind, its
//! filters and the caller's account). A cursor handed to another list, with other filters, or by
//! another account is refused as [`DomainError::InvalidCursor`] instead of silently paging
//! something else.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::DomainError;

/// A page of results and the cursor of the next one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Opaque cursor of the next page, `None` at the end.
    pub next_cursor: Option<String>,
}

/// Paging parameters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PageRequest {
    /// 1 to 300; default 50.
    pub page_size: Option<i64>,
    /// A cursor from a previous page.
    pub cursor: Option<String>,
}

/// The largest page.
pub const MAX_PAGE_SIZE: usize = 300;
/// The page size when none is asked for.
pub const DEFAULT_PAGE_SIZE: usize = 50;

impl PageRequest {
    pub(crate) fn size(&self) -> Result<usize, DomainError> {
        match self.page_size {
            None => Ok(DEFAULT_PAGE_SIZE),
            Some(n) if (1..=MAX_PAGE_SIZE as i64).contains(&n) => Ok(n as usize),
            Some(_) => Err(DomainError::invalid("page_size", "must be between 1 and 300")),
        }
    }

    /// The position after which this page starts, checked against the list it is for.
    pub(crate) fn offset(&self, list: &ListKey) -> Result<u64, DomainError> {
        match &self.cursor {
            None => Ok(0),
            Some(c) => list.decode(c).ok_or_else(|| DomainError::InvalidCursor {
                message: "is not a cursor this API issued for this list".into(),
            }),
        }
    }
}

/// What a list is: its kind, its filters and the account it is read in. Cursors carry its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListKey([u8; 12]);

impl ListKey {
    /// The key of list `kind` read by `account` with these filter values, in a fixed order.
    pub(crate) fn new(kind: &str, account: &str, filters: &[Option<&str>]) -> Self {
        let mut hash = Sha256::new();
        hash.update(b"zoom-cursor-v2\0");
        hash.update(kind.as_bytes());
        hash.update([0]);
        hash.update(account.as_bytes());
        for f in filters {
            match f {
                // A present filter and an absent one never hash alike, whatever the value.
                Some(v) => {
                    hash.update([1]);
                    hash.update((v.len() as u64).to_le_bytes());
                    hash.update(v.as_bytes());
                }
                None => hash.update([0]),
            }
        }
        let digest = hash.finalize();
        let mut key = [0u8; 12];
        key.copy_from_slice(&digest[..12]);
        Self(key)
    }

    pub(crate) fn encode(&self, position: u64) -> String {
        let mut raw = Vec::with_capacity(1 + 8 + 12);
        raw.push(2u8);
        raw.extend_from_slice(&position.to_be_bytes());
        raw.extend_from_slice(&self.0);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    }

    fn decode(&self, cursor: &str) -> Option<u64> {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).ok()?;
        if raw.len() != 21 || raw[0] != 2 || raw[9..] != self.0 {
            return None;
        }
        let mut position = [0u8; 8];
        position.copy_from_slice(&raw[1..9]);
        Some(u64::from_be_bytes(position))
    }
}

/// A page of an in-memory list (a meeting's participants or recordings) whose items keep their
/// position: later additions never shift a page.
pub(crate) fn paginate<T: Clone>(
    items: &[T],
    page: &PageRequest,
    list: &ListKey,
    keep: impl Fn(&T) -> bool,
) -> Result<Page<T>, DomainError> {
    let size = page.size()?;
    let offset = usize::try_from(page.offset(list)?).unwrap_or(usize::MAX);
    let mut out = Vec::with_capacity(size.min(items.len()));
    let mut next_cursor = None;
    for (i, item) in items.iter().enumerate().skip(offset) {
        if !keep(item) {
            continue;
        }
        if out.len() == size {
            next_cursor = Some(list.encode(i as u64));
            break;
        }
        out.push(item.clone());
    }
    Ok(Page {
        items: out,
        next_cursor,
    })
}

/// One page of a list kept in the store's index, for aggregates defined outside zoom-core: the
/// rows of `query` (its `after_seq` and `limit` are set here) and the cursor of the next page.
/// The cursor is bound to the list `name`, the reading `account` and the `filters`, as every
/// cursor of the engine is.
///
/// # Errors
/// `Invalid` page parameters, `InvalidCursor`, a store failure.
pub async fn index_page(
    store: &dyn crate::store::EventStore,
    name: &str,
    account: &str,
    filters: &[Option<&str>],
    mut query: crate::store::IndexQuery,
    page: &PageRequest,
) -> Result<Page<crate::store::IndexEntry>, super::EngineError> {
    let size = page.size()?;
    let list = ListKey::new(name, account, filters);
    query.after_seq = page.offset(&list)?;
    query.limit = size + 1;
    let mut rows = store.query_index(&query).await?;
    let next_cursor = (rows.len() > size).then(|| list.encode(rows[size - 1].seq));
    rows.truncate(size);
    Ok(Page {
        items: rows,
        next_cursor,
    })
}

/// A page of an in-memory list kept by an aggregate defined outside zoom-core (the users of an
/// account): items keep their position, so later additions never shift a page. The cursor is
/// bound to the list `name`, the reading `account` and the `filters`.
///
/// # Errors
/// `Invalid` page parameters, `InvalidCursor`.
pub fn page_of<T: Clone>(
    items: &[T],
    page: &PageRequest,
    name: &str,
    account: &str,
    filters: &[Option<&str>],
    keep: impl Fn(&T) -> bool,
) -> Result<Page<T>, DomainError> {
    paginate(items, page, &ListKey::new(name, account, filters), keep)
}
