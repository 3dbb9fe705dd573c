//! The authorizations of a [`Directory`] as resources: `GET /v1/authorizations`,
//! `DELETE /v1/authorizations/{id}`, and the sweeps that revoke a deactivated user's or a
//! disabled app's grants.

use zoom_core::DomainError;
use zoom_core::engine::{EngineError, Page, PageRequest, index_page};
use zoom_core::id::{Name, UserId};
use zoom_core::principal::{Principal, PrincipalKind, Scope};
use zoom_core::store::IndexQuery;

use super::{Directory, not_found, require_any};
use crate::grant::aggregate::ACTIVE_KIND;
use crate::grant::{Grant, GrantCommand, RevokeReason};

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
}
