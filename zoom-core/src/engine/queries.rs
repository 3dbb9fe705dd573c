//! The engine's reads and lists. Reads return states shared with the cache, never copies.

use std::sync::Arc;

use super::paging::{ListKey, Page, PageRequest, paginate};
use super::{Engine, EngineError, MeetingQuery, require};
use crate::error::DomainError;
use crate::event::{RecordedEvent, StreamId};
use crate::id::{MeetingId, RecordingId, WebhookId};
use crate::meeting::{self, Meeting, ParticipantStatus, Recording};
use crate::principal::{Principal, Scope};
use crate::store::{IndexQuery, StoreError};
use crate::webhook::{self, Subscription};

impl Engine {
    pub(crate) async fn meeting_visible(
        &self,
        principal: &Principal,
        id: &MeetingId,
    ) -> Result<Arc<Meeting>, EngineError> {
        let m = self
            .meetings
            .read(id)
            .await?
            .ok_or_else(|| DomainError::not_found("meeting", id))?;
        meeting::visible(&m, principal)?;
        Ok(m)
    }

    /// Reads a meeting.
    ///
    /// # Errors
    /// `NotFound` (also for another account's), `InsufficientScope`, a store failure.
    pub async fn meeting(&self, principal: &Principal, id: &MeetingId) -> Result<Arc<Meeting>, EngineError> {
        require(principal, Scope::MeetingRead)?;
        self.meeting_visible(principal, id).await
    }

    /// Lists the account's meetings, oldest scheduled first, with filters.
    ///
    /// # Errors
    /// `Invalid` page parameters, `InvalidCursor`, `InsufficientScope`, a store failure.
    pub async fn meetings(
        &self,
        principal: &Principal,
        query: &MeetingQuery,
        page: &PageRequest,
    ) -> Result<Page<Arc<Meeting>>, EngineError> {
        require(principal, Scope::MeetingRead)?;
        let size = page.size()?;
        let (from, to) = (query.from.map(|t| t.to_rfc3339()), query.to.map(|t| t.to_rfc3339()));
        let list = ListKey::new(
            "meetings",
            principal.account_id.as_str(),
            &[
                query.host_id.as_deref(),
                from.as_deref(),
                to.as_deref(),
                query.state.map(|s| s.as_str()),
            ],
        );
        let rows = self
            .store
            .query_index(&IndexQuery {
                kind: "meeting".into(),
                account_id: Some(principal.account_id.clone()),
                owner: query.host_id.clone(),
                state: query.state.map(|s| s.as_str().to_owned()),
                from: query.from,
                to: query.to,
                after_seq: page.offset(&list)?,
                limit: size + 1,
            })
            .await?;
        let next_cursor = (rows.len() > size).then(|| list.encode(rows[size - 1].seq));
        let mut items = Vec::with_capacity(size);
        for row in rows.into_iter().take(size) {
            if let Some(m) = self.meetings.read_stream(&row.stream_id).await? {
                items.push(m);
            }
        }
        Ok(Page { items, next_cursor })
    }

    /// Lists a meeting's participants in redemption order, optionally by status.
    ///
    /// # Errors
    /// `NotFound`, `Invalid` page parameters, `InvalidCursor`, `InsufficientScope`, a store failure.
    pub async fn participants(
        &self,
        principal: &Principal,
        id: &MeetingId,
        status: Option<ParticipantStatus>,
        page: &PageRequest,
    ) -> Result<Page<meeting::Participant>, EngineError> {
        require(principal, Scope::MeetingRead)?;
        let m = self.meeting_visible(principal, id).await?;
        let status_name = status.map(|s| format!("{s:?}"));
        let list = ListKey::new(
            "participants",
            principal.account_id.as_str(),
            &[Some(id.as_str()), status_name.as_deref()],
        );
        Ok(paginate(m.participants.as_slice(), page, &list, |p| {
            status.is_none_or(|s| p.status == s)
        })?)
    }

    /// Lists a meeting's recordings in start order.
    ///
    /// # Errors
    /// `NotFound`, `Invalid` page parameters, `InvalidCursor`, `InsufficientScope`, a store failure.
    pub async fn recordings(
        &self,
        principal: &Principal,
        id: &MeetingId,
        page: &PageRequest,
    ) -> Result<Page<Recording>, EngineError> {
        require(principal, Scope::RecordingRead)?;
        let m = self.meeting_visible(principal, id).await?;
        let list = ListKey::new("recordings", principal.account_id.as_str(), &[Some(id.as_str())]);
        Ok(paginate(&m.recordings, page, &list, |_| true)?)
    }

    /// Reads a recording and the meeting it belongs to.
    ///
    /// # Errors
    /// `NotFound` (also for another account's), `InsufficientScope`, a store failure.
    pub async fn recording(
        &self,
        principal: &Principal,
        id: &RecordingId,
    ) -> Result<(Arc<Meeting>, Recording), EngineError> {
        require(principal, Scope::RecordingRead)?;
        let not_found = || EngineError::from(DomainError::not_found("recording", id));
        let stream = self.store.resolve_link(id.as_str()).await?.ok_or_else(not_found)?;
        let m = self.meetings.read_stream(&stream).await?.ok_or_else(not_found)?;
        if meeting::visible(&m, principal).is_err() {
            return Err(not_found());
        }
        let r = m.recording(id).cloned().ok_or_else(not_found)?;
        Ok((m, r))
    }

    /// A meeting's stored events with `version > after_version` (for Server-Sent Events).
    ///
    /// # Errors
    /// `NotFound`, `InsufficientScope`, a store failure.
    pub async fn meeting_events(
        &self,
        principal: &Principal,
        id: &MeetingId,
        after_version: u64,
        limit: usize,
    ) -> Result<Vec<RecordedEvent>, EngineError> {
        require(principal, Scope::MeetingRead)?;
        self.meeting_visible(principal, id).await?;
        Ok(self
            .store
            .read_stream(&StreamId::from(id), after_version + 1, limit)
            .await?)
    }

    /// A subscription, with no visibility check: for the delivery worker.
    ///
    /// # Errors
    /// A store or decode failure.
    pub async fn subscription(&self, id: &WebhookId) -> Result<Option<Subscription>, EngineError> {
        self.webhooks.read(id).await
    }

    /// A subscription visible to `principal` (its own, or any of the account's for an admin).
    ///
    /// # Errors
    /// `NotFound`, `InsufficientScope`, a store failure.
    pub async fn webhook(&self, principal: &Principal, id: &WebhookId) -> Result<Subscription, EngineError> {
        require(principal, Scope::WebhookRead)?;
        match self.subscription(id).await? {
            Some(s) if s.active && webhook::visible(&s, principal) => Ok(s),
            _ => Err(DomainError::not_found("webhook", id).into()),
        }
    }

    /// Lists the subscriptions of the caller's app (an admin sees the account's).
    ///
    /// # Errors
    /// `Invalid` page parameters, `InvalidCursor`, `InsufficientScope`, a store failure.
    pub async fn webhooks(&self, principal: &Principal, page: &PageRequest) -> Result<Page<Subscription>, EngineError> {
        require(principal, Scope::WebhookRead)?;
        let size = page.size()?;
        let owner = (!principal.has(Scope::Admin)).then(|| principal.acting_app().as_str().to_owned());
        let list = ListKey::new("webhooks", principal.account_id.as_str(), &[owner.as_deref()]);
        let rows = self
            .store
            .query_index(&IndexQuery {
                kind: "webhook".into(),
                account_id: Some(principal.account_id.clone()),
                owner,
                after_seq: page.offset(&list)?,
                limit: size + 1,
                ..IndexQuery::default()
            })
            .await?;
        let next_cursor = (rows.len() > size).then(|| list.encode(rows[size - 1].seq));
        let mut items = Vec::with_capacity(size);
        for row in rows.into_iter().take(size) {
            if row.state == "deleted" {
                continue;
            }
            let id = WebhookId::parse(row.stream_id.as_str()).map_err(|e| StoreError::Corrupt {
                row: format!("index {}", row.stream_id),
                reason: e.to_string(),
            })?;
            if let Some(s) = self.subscription(&id).await? {
                items.push(s);
            }
        }
        Ok(Page { items, next_cursor })
    }
}
