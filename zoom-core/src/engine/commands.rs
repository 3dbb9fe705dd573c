//! The engine's commands: meetings, the media seam, join tokens and webhook subscriptions. Each
//! is a thin shape over the one runner.

use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::idempotency::{Found, Reply, Request};
use super::{Engine, EngineError, JoinToken, WebhookOutcome, require};
use crate::error::DomainError;
use crate::id::{MeetingId, ParticipantId, RecordingId, TokenId, WebhookId};
use crate::meeting::{self, JoinRequest, Meeting, MeetingCommand};
use crate::principal::{Principal, Scope};
use crate::store::StoreError;
use crate::token::{self, JoinClaims};
use crate::webhook::{Subscription, WebhookCommand};

/// What makes a request idempotent for [`Engine::once`]: its kind, its target, its body and the
/// client's `Idempotency-Key` (none: the request simply runs).
#[derive(Debug, Clone, Copy)]
pub struct Idempotent<'a, B> {
    /// The kind of request (`join`, `redeliver`, ...): the same key on another kind is a mismatch.
    pub op: &'a str,
    /// The resource it acts on.
    pub target: &'a str,
    /// The request's body.
    pub request: &'a B,
    /// The client's key.
    pub key: Option<&'a str>,
}

impl Engine {
    /// Runs a meeting command. `meeting_id` is `None` only for `Schedule` (the engine picks the id).
    /// With an idempotency key, a repeat returns the first result and a different request with the
    /// same key is [`EngineError::IdempotencyMismatch`]. The meeting returned is shared with the
    /// engine's cache, not copied: drop it before the next command on the same meeting, or that
    /// command copies it.
    ///
    /// # Errors
    /// [`EngineError`]: a refused rule, a mismatched key, contention, or a store failure.
    pub async fn execute(
        &self,
        principal: &Principal,
        meeting_id: Option<&MeetingId>,
        command: MeetingCommand,
        idempotency_key: Option<&str>,
    ) -> Result<Arc<Meeting>, EngineError> {
        let done = self
            .meetings
            .execute(meeting_id, Some(principal), &command, idempotency_key)
            .await?;
        done.state.ok_or_else(|| {
            let id = meeting_id.map_or_else(String::new, ToString::to_string);
            DomainError::not_found("meeting", id).into()
        })
    }

    /// Redeems a join token presented at the media seam: verifies it, then joins or waits.
    /// Returns the meeting after the join and the new participant's id.
    ///
    /// # Errors
    /// `Unauthorized` for a bad, expired or reused token; the join rules otherwise.
    pub async fn redeem(&self, principal: &Principal, jwt: &str) -> Result<(Arc<Meeting>, ParticipantId), EngineError> {
        require(principal, Scope::Media)?;
        let claims = {
            let ring = self.join_keys.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            token::verify_join_token(
                &ring,
                jwt,
                &self.config.issuer,
                &self.config.audience,
                self.clock.now().timestamp(),
            )
        }
        .map_err(|e| DomainError::Unauthorized {
            code: "invalid_token",
            message: format!("the join token is not valid: {e}"),
        })?;
        self.redeem_claims(principal, claims).await
    }

    /// Redeems the claims of a join token the caller has already verified (an SFU that checks
    /// tokens against the JWKS itself). The claims' `jti` is still redeemed only once.
    ///
    /// # Errors
    /// `Unauthorized` for claims that name no meeting or participant, or a reused `jti`; the
    /// join rules otherwise.
    pub async fn redeem_claims(
        &self,
        principal: &Principal,
        claims: JoinClaims,
    ) -> Result<(Arc<Meeting>, ParticipantId), EngineError> {
        let id = MeetingId::parse(&claims.mid).map_err(|_| DomainError::Unauthorized {
            code: "invalid_token",
            message: "the join token names no meeting".into(),
        })?;
        let pid = ParticipantId::parse(&claims.pid).map_err(|_| DomainError::Unauthorized {
            code: "invalid_token",
            message: "the join token names no participant".into(),
        })?;
        let m = self
            .execute(principal, Some(&id), MeetingCommand::Redeem { claims }, None)
            .await?;
        Ok((m, pid))
    }

    /// Runs a recording command that arrives with only a recording id (the media seam).
    ///
    /// # Errors
    /// As [`Engine::execute`]; `NotFound` for an unknown recording.
    pub async fn execute_on_recording(
        &self,
        principal: &Principal,
        recording_id: &RecordingId,
        command: MeetingCommand,
    ) -> Result<Arc<Meeting>, EngineError> {
        require(principal, command.required_scope())?;
        let stream = self
            .store
            .resolve_link(recording_id.as_str())
            .await?
            .ok_or_else(|| DomainError::not_found("recording", recording_id))?;
        let id = MeetingId::parse(stream.as_str()).map_err(|_| DomainError::not_found("recording", recording_id))?;
        // The caller named a recording: another account's is not found as that recording, so
        // the answer names nothing of the other account (its meeting id included).
        self.execute(principal, Some(&id), command, None)
            .await
            .map_err(|e| match e {
                EngineError::Domain(DomainError::NotFound { .. }) => {
                    DomainError::not_found("recording", recording_id).into()
                }
                other => other,
            })
    }

    /// Issues a join token for a meeting (docs/api.md, join tokens).
    ///
    /// # Errors
    /// The join rules ([`meeting::authorize_join`]), a mismatched idempotency key, a store failure.
    pub async fn issue_join_token(
        &self,
        principal: &Principal,
        meeting_id: &MeetingId,
        request: &JoinRequest,
        idempotency_key: Option<&str>,
    ) -> Result<JoinToken, EngineError> {
        require(principal, Scope::MeetingJoin)?;
        let op = Idempotent {
            op: "join",
            target: meeting_id.as_str(),
            request,
            key: idempotency_key,
        };
        self.once(principal, op, || self.mint_join_token(principal, meeting_id, request))
            .await
    }

    async fn mint_join_token(
        &self,
        principal: &Principal,
        meeting_id: &MeetingId,
        request: &JoinRequest,
    ) -> Result<JoinToken, EngineError> {
        let meeting = self.meeting_visible(principal, meeting_id).await?;
        let now = self.clock.now();
        let ctx = meeting::Context {
            now,
            principal,
            entropy: self.entropy.as_ref(),
        };
        let grant = meeting::authorize_join(&meeting, request, &ctx)?;
        let iat = now.timestamp();
        let claims = JoinClaims {
            iss: self.config.issuer.clone(),
            aud: self.config.audience.clone(),
            sub: grant.subject,
            iat,
            nbf: iat,
            exp: iat + token::JOIN_TOKEN_TTL_SECS,
            jti: TokenId::from_entropy(self.entropy.id_bytes()).as_str().to_owned(),
            mid: meeting_id.as_str().to_owned(),
            pid: ParticipantId::from_entropy(self.entropy.id_bytes()).as_str().to_owned(),
            role: grant.role.as_str().to_owned(),
            name: grant.display_name,
        };
        let jwt = {
            let ring = self.join_keys.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            token::mint_join_token(&ring, &claims)
        }
        .map_err(|e| EngineError::internal("signing a join token", e))?;
        Ok(JoinToken {
            jwt,
            sfu_url: self.config.sfu_url.clone(),
            expires_in: token::JOIN_TOKEN_TTL_SECS as u64,
            claims,
        })
    }

    /// Runs `work` once per idempotency key, for a request that is not a command on a stream
    /// (a join token, a redelivery, an endpoint validation): with `op.key`, a repeat of the same
    /// request answers `work`'s first success again without running it, and another request with
    /// the same key is [`EngineError::IdempotencyMismatch`]. A failure is not remembered, so the
    /// same key may be tried again. Two first uses racing may both run `work`; both answer the
    /// first recorded success.
    ///
    /// # Errors
    /// `work`'s error; a mismatched key or a store failure, converted into `E`.
    pub async fn once<T, E, F, Fut>(
        &self,
        principal: &Principal,
        op: Idempotent<'_, impl Serialize>,
        work: F,
    ) -> Result<T, E>
    where
        T: Serialize + DeserializeOwned,
        E: From<EngineError>,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let Some(key) = op.key else {
            return work().await;
        };
        let idempotency = self.meetings.idempotency();
        let request = Request::new(Some(principal), op.op, Some(op.target), op.request, key)?;
        if let Some(found) = idempotency.lookup(&request).await? {
            return Ok(replayed(found)?);
        }
        let answer = work().await?;
        let value = serde_json::to_value(&answer).map_err(|e| EngineError::internal("encoding a reply", e))?;
        let record = idempotency.record(&request, Reply::Value { value })?;
        match idempotency.put(record).await {
            Ok(()) => Ok(answer),
            // A concurrent request with the same key was first: answer with its reply.
            Err(StoreError::DuplicateIdempotencyKey) => {
                let found = idempotency.lookup(&request).await?.ok_or_else(|| {
                    EngineError::Store(StoreError::Corrupt {
                        row: format!("idempotency {}", request.key),
                        reason: "the record a duplicate key named vanished".into(),
                    })
                })?;
                Ok(replayed(found)?)
            }
            Err(e) => Err(EngineError::from(e).into()),
        }
    }

    /// Runs a webhook-subscription command. `id` is `None` only for `Subscribe`.
    ///
    /// # Errors
    /// As [`Engine::execute`].
    pub async fn execute_webhook(
        &self,
        principal: &Principal,
        id: Option<&WebhookId>,
        command: WebhookCommand,
        idempotency_key: Option<&str>,
    ) -> Result<WebhookOutcome, EngineError> {
        let done = self
            .webhooks
            .execute(id, Some(principal), &command, idempotency_key)
            .await?;
        match done.state {
            Some(s) => Ok(outcome(s, &command)),
            None => Err(DomainError::not_found("webhook", id.map_or_else(String::new, ToString::to_string)).into()),
        }
    }
}

fn replayed<T: DeserializeOwned>(found: Found) -> Result<T, EngineError> {
    let corrupt = |reason: String| {
        EngineError::Store(StoreError::Corrupt {
            row: "idempotency (reply)".into(),
            reason,
        })
    };
    match found {
        Found::Reply(Reply::Value { value }) => serde_json::from_value(value).map_err(|e| corrupt(e.to_string())),
        Found::Legacy(text) => serde_json::from_str(&text).map_err(|e| corrupt(e.to_string())),
        // The key was used for a command on a stream.
        Found::Reply(Reply::Stream { .. }) => Err(EngineError::IdempotencyMismatch),
    }
}

fn outcome(subscription: Subscription, command: &WebhookCommand) -> WebhookOutcome {
    let secret = matches!(command, WebhookCommand::Subscribe { .. } | WebhookCommand::RotateSecret)
        .then(|| subscription.secret.clone());
    WebhookOutcome { subscription, secret }
}
