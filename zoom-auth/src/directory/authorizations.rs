//! The authorizations of a [`Directory`] as resources: `GET /v1/authorizations`,
//! `DELETE /v1/authorizations/{id}`, the sweeps that revoke a deactivated user's or a
//! disabled app's grants, and what access an event of the log takes away.

use zoom_core::DomainError;
use zoom_core::aggregate::Aggregate;
use zoom_core::engine::{EngineError, Page, PageRequest, index_page};
use zoom_core::event::RecordedEvent;
use zoom_core::id::{AccountId, Name, UserId};
use zoom_core::principal::{Principal, PrincipalKind, Scope};
use zoom_core::store::IndexQuery;

use super::{Directory, not_found, require_any};
use crate::account::{AccountEvent, Accounts};
use crate::app::{AppEvent, Apps};
use crate::grant::aggregate::ACTIVE_KIND;
use crate::grant::{Grant, GrantCommand, GrantEvent, Grants, RevokeReason};

/// A change of access that an event of the log makes, for what follows from it on webhooks
/// (DESIGN 11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessChange {
    /// An app's access to an account ended: a grant of the account was revoked, or the app (of
    /// that account) was disabled. The subscriptions the app made there are deactivated.
    Revoked {
        /// The account.
        account_id: AccountId,
        /// The app's client id.
        client_id: Name,
        /// Why, in words (`authorization grt_… was revoked`, `the app was disabled`).
        reason: String,
    },
    /// The account was disabled: its webhooks pause.
    AccountDisabled(AccountId),
    /// The account was enabled again: its paused webhooks resume.
    AccountEnabled(AccountId),
}

/// How many grants a revocation sweep (a user deactivated, an app disabled) reads at once.
const SWEEP_BATCH: usize = 200;

impl Directory {
    /// The active grants of the caller's account, in creation order (`GET /v1/authorizations`,
    /// `user_id` and `client_id` filters): `admin` sees the account's; a user principal sees
    /// only its own (another user's filter gives an empty list).
    ///
    /// # Errors
    /// `InsufficientScope` (an app without `admin`), `Invalid` page, `InvalidCursor`, a store
    /// failure.
    pub async fn authorizations(
        &self,
        principal: &Principal,
        user_id: Option<&UserId>,
        client_id: Option<&Name>,
        page: &PageRequest,
    ) -> Result<Page<Grant>, EngineError> {
        let user = match principal.kind {
            PrincipalKind::User => {
                if user_id.is_some_and(|u| u != &principal.subject) {
                    return Ok(Page {
                        items: vec![],
                        next_cursor: None,
                    });
                }
                Some(&principal.subject)
            }
            PrincipalKind::App => {
                require_any(principal, &[Scope::Admin])?;
                user_id
            }
        };
        let query = IndexQuery {
            kind: ACTIVE_KIND.into(),
            account_id: Some(principal.account_id.clone()),
            owner: user.map(|u| u.as_str().to_owned()),
            state: client_id.map(|c| c.as_str().to_owned()),
            ..IndexQuery::default()
        };
        let filters = [user.map(Name::as_str), client_id.map(Name::as_str)];
        let rows = index_page(
            self.store.as_ref(),
            "authorizations",
            principal.account_id.as_str(),
            &filters,
            query,
            page,
        )
        .await?;
        let mut items = Vec::with_capacity(rows.items.len());
        for row in rows.items {
            if let Some(s) = self.grants.read_stream(&row.stream_id).await? {
                items.push(s.grant);
            }
        }
        Ok(Page {
            items,
            next_cursor: rows.next_cursor,
        })
    }

    /// Revokes a grant (`DELETE /v1/authorizations/{id}`): `admin`, or the user it belongs to.
    /// Another account's (or, for a user, another user's) is `NotFound`. Revoking a revoked
    /// grant changes nothing.
    ///
    /// # Errors
    /// `NotFound`, `InsufficientScope` (an app without `admin`), a store failure.
    pub async fn revoke_authorization(&self, principal: &Principal, id: &Name) -> Result<Grant, EngineError> {
        let command = GrantCommand::Revoke { reason: None };
        let done = match self.grants.execute(Some(id), Some(principal), &command, None).await {
            Err(EngineError::Domain(DomainError::Invalid { .. })) => {
                return Err(not_found("authorization", id.as_str()));
            }
            other => other?,
        };
        done.state
            .map(|s| s.grant)
            .ok_or_else(|| not_found("authorization", id.as_str()))
    }

    /// Revokes every active grant the index query names (a user's, an app's), for `reason`.
    /// Each revocation is its own append; a failure stops the sweep (the token checks refuse a
    /// deactivated user or a disabled app anyway).
    pub(super) async fn revoke_grants(&self, mut query: IndexQuery, reason: RevokeReason) -> Result<(), EngineError> {
        query.kind = ACTIVE_KIND.into();
        query.limit = SWEEP_BATCH;
        let command = GrantCommand::Revoke { reason: Some(reason) };
        loop {
            let rows = self.store.query_index(&query).await?;
            for row in &rows {
                let Some(id) = row
                    .stream_id
                    .as_str()
                    .strip_prefix("sys_grant_")
                    .and_then(|id| Name::parse(id).ok())
                else {
                    continue;
                };
                self.grants.execute(Some(&id), None, &command, None).await?;
            }
            match rows.last() {
                Some(last) if rows.len() == SWEEP_BATCH => query.after_seq = last.seq,
                _ => return Ok(()),
            }
        }
    }

    /// The change of access `row` makes: a `grant.revoked`, `app.disabled`, `account.disabled`
    /// or `account.enabled` event; `None` for any other row (and for one whose grant or app is
    /// not found).
    ///
    /// # Errors
    /// A row of those types that does not decode, a store failure.
    pub async fn access_change(&self, row: &RecordedEvent) -> Result<Option<AccessChange>, EngineError> {
        Ok(match row.event_type.as_str() {
            "grant.revoked" => match Grants::decode(row)? {
                Some(GrantEvent::Revoked(e)) => self.find_grant(&e.grant_id).await?.map(|g| AccessChange::Revoked {
                    reason: format!("authorization {} was revoked", g.id),
                    account_id: g.account_id,
                    client_id: g.client_id,
                }),
                _ => None,
            },
            "app.disabled" => match Apps::decode(row)? {
                Some(AppEvent::Disabled(e)) => self.find_app(&e.client_id).await?.map(|s| AccessChange::Revoked {
                    account_id: s.app.account_id,
                    client_id: s.app.client_id,
                    reason: "the app was disabled".to_owned(),
                }),
                _ => None,
            },
            "account.disabled" | "account.enabled" => match Accounts::decode(row)? {
                Some(AccountEvent::Disabled(e)) => Some(AccessChange::AccountDisabled(e.account_id)),
                Some(AccountEvent::Enabled(e)) => Some(AccessChange::AccountEnabled(e.account_id)),
                _ => None,
            },
            _ => None,
        })
    }
}
