//! Webhook self-service: what a subscriber does to its own subscription beyond the engine's
//! plain commands, because it needs I/O the pure core must not do.
//!
//! - Subscribing and changing the URL resolve the host name first and refuse it when any
//!   answer is non-public ([`guard::check_subscription_url`]).
//! - `:validate` sends the endpoint-validation challenge and records a right answer
//!   ([`crate::validate`]).
//! - `:redeliver` makes deliveries pending again; `:ping` asks for a `webhook.ping`.
//! - The delivery log and the summary of the newest attempts read through [`crate::log`].
//!
//! Every call checks the scope and the caller's right to see the subscription before it does
//! any I/O, as the engine does for its own commands.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use zoom_core::engine::{Idempotent, Page, PageRequest, WebhookOutcome};
use zoom_core::error::DomainError;
use zoom_core::id::WebhookId;
use zoom_core::principal::{Principal, Scope};
use zoom_core::store::DeliveryAttempt;
use zoom_core::webhook::{self, Subscription, WebhookCommand, WebhookPatch};
use zoom_core::{Engine, EngineError};

use crate::error::WebhookError;
use crate::guard::{self, GuardError, Resolver, SystemResolver};
use crate::log::{self, DeliveryFilter, Summary};
use crate::{redeliver, send, validate};

/// The most deliveries one `:redeliver` by status makes pending.
pub const MAX_REDELIVERIES: usize = 1000;

/// Settings of [`SelfService`].
#[derive(Debug, Clone)]
pub struct SelfServiceConfig {
    /// Resolves host names when a URL is subscribed or changed, and when the validation
    /// challenge connects. Default [`SystemResolver`].
    pub resolver: Arc<dyn Resolver>,
    /// How long the receiver has to answer the validation challenge. Default 3 s.
    pub validation_timeout: Duration,
    /// How much of the challenge's answer is read (and quoted when it is wrong). Default 4096.
    pub max_response_bytes: usize,
}

impl Default for SelfServiceConfig {
    fn default() -> Self {
        Self {
            resolver: Arc::new(SystemResolver),
            validation_timeout: Duration::from_secs(3),
            max_response_bytes: 4096,
        }
    }
}

/// What `:validate` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validation {
    /// The subscription.
    pub id: WebhookId,
    /// Whether its URL is validated now.
    pub validated: bool,
}

/// Which deliveries `:redeliver` sends again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Redelivery {
    /// This delivery, whatever its state.
    Delivery(u64),
    /// Every delivery that is `failed` now and whose failing attempt was made in `from..to`
    /// (either end open), at most [`MAX_REDELIVERIES`].
    Failed {
        /// Attempts at or after this instant.
        from: Option<DateTime<Utc>>,
        /// Attempts before this instant.
        to: Option<DateTime<Utc>>,
    },
}

/// Webhook self-service over an engine. Cheap to share behind an `Arc`; see the module doc.
#[derive(Debug)]
pub struct SelfService {
    engine: Arc<Engine>,
    config: SelfServiceConfig,
    /// The challenge client, built on first use (building it can fail, and most servers never
    /// validate a URL).
    client: OnceLock<reqwest::Client>,
}

impl SelfService {
    /// Self-service over `engine`, with the engine's allow-list for destinations.
    pub fn new(engine: Arc<Engine>, config: SelfServiceConfig) -> Self {
        Self {
            engine,
            config,
            client: OnceLock::new(),
        }
    }

    /// The engine it runs on.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Subscribes `url` to `events` after checking what its host name resolves to now.
    ///
    /// # Errors
    /// `Invalid` `url` (400) for a name resolving to a non-public address, and everything
    /// [`Engine::execute_webhook`] refuses.
    pub async fn subscribe(
        &self,
        principal: &Principal,
        url: String,
        events: Vec<String>,
        url_validation: bool,
        idempotency_key: Option<&str>,
    ) -> Result<WebhookOutcome, WebhookError> {
        require(principal, Scope::WebhookWrite)?;
        self.check_url(&url).await?;
        let command = WebhookCommand::Subscribe {
            url,
            events,
            url_validation,
        };
        Ok(self
            .engine
            .execute_webhook(principal, None, command, idempotency_key)
            .await?)
    }

    /// Changes a subscription's URL, events or enabled state (a new URL's host name is checked
    /// as at subscribe time).
    ///
    /// # Errors
    /// As [`SelfService::subscribe`], and `NotFound`.
    pub async fn update(
        &self,
        principal: &Principal,
        id: &WebhookId,
        patch: WebhookPatch,
    ) -> Result<Subscription, WebhookError> {
        require(principal, Scope::WebhookWrite)?;
        self.engine.webhook(principal, id).await?;
        if let Some(url) = &patch.url {
            self.check_url(url).await?;
        }
        Ok(self
            .engine
            .execute_webhook(principal, Some(id), WebhookCommand::Update(patch), None)
            .await?
            .subscription)
    }

    /// A subscription with the summary of its newest attempts.
    ///
    /// # Errors
    /// `InsufficientScope` (`webhook.read`), `NotFound`, a store failure.
    pub async fn read(&self, principal: &Principal, id: &WebhookId) -> Result<(Subscription, Summary), WebhookError> {
        let sub = self.engine.webhook(principal, id).await?;
        let summary = log::summary(&self.engine, id).await?;
        Ok((sub, summary))
    }

    /// A page of the delivery log (see [`log::delivery_log`]).
    ///
    /// # Errors
    /// As [`log::delivery_log`].
    pub async fn deliveries(
        &self,
        principal: &Principal,
        id: &WebhookId,
        filter: &DeliveryFilter,
        page: &PageRequest,
    ) -> Result<Page<DeliveryAttempt>, WebhookError> {
        log::delivery_log(&self.engine, principal, id, filter, page).await
    }

    /// Makes deliveries pending again, due now: they are sent with their first body and
    /// `event_id`. Returns how many. With an idempotency key, a repeat answers the first count
    /// and sends nothing again.
    ///
    /// # Errors
    /// `InsufficientScope` (`webhook.write`), `NotFound` (the subscription, or a delivery not of
    /// it), 409 `webhook_disabled` or `url_not_validated` when nothing can be sent, a store
    /// failure.
    pub async fn redeliver(
        &self,
        principal: &Principal,
        id: &WebhookId,
        which: Redelivery,
        idempotency_key: Option<&str>,
    ) -> Result<u64, WebhookError> {
        require(principal, Scope::WebhookWrite)?;
        let op = Idempotent {
            op: "redeliver",
            target: id.as_str(),
            request: &which,
            key: idempotency_key,
        };
        self.engine
            .once(principal, op, || self.redeliver_now(principal, id, which))
            .await
    }

    async fn redeliver_now(
        &self,
        principal: &Principal,
        id: &WebhookId,
        which: Redelivery,
    ) -> Result<u64, WebhookError> {
        let sub = self.engine.webhook(principal, id).await?;
        webhook::receives(&sub).map_err(EngineError::from)?;
        match which {
            Redelivery::Delivery(delivery_id) => {
                let not_found = || {
                    WebhookError::Engine(
                        DomainError::NotFound {
                            resource: "delivery",
                            id: delivery_id.to_string(),
                        }
                        .into(),
                    )
                };
                match self.engine.store().delivery(delivery_id).await? {
                    Some(d) if d.subscription_id == *id => {
                        redeliver::retry_delivery(&self.engine, delivery_id).await?;
                        Ok(1)
                    }
                    _ => Err(not_found()),
                }
            }
            Redelivery::Failed { from, to } => {
                let filter = DeliveryFilter { status: None, from, to };
                redeliver::redeliver_failed(&self.engine, id, &filter, MAX_REDELIVERIES).await
            }
        }
    }

    /// Asks for a `webhook.ping` delivery to this subscription alone; a replay with the same
    /// idempotency key asks for none.
    ///
    /// # Errors
    /// `InsufficientScope`, `NotFound`, 409 `webhook_disabled` or `url_not_validated`.
    pub async fn ping(
        &self,
        principal: &Principal,
        id: &WebhookId,
        idempotency_key: Option<&str>,
    ) -> Result<Subscription, WebhookError> {
        Ok(self
            .engine
            .execute_webhook(principal, Some(id), WebhookCommand::Ping, idempotency_key)
            .await?
            .subscription)
    }

    /// Sends the endpoint-validation challenge to the subscription's URL and, when the answer is
    /// right, records the URL as validated. With an idempotency key, a repeat answers the first
    /// success and sends no new challenge.
    ///
    /// # Errors
    /// [`WebhookError::Validation`] saying what came back (HTTP 422), `InsufficientScope`,
    /// `NotFound`, [`WebhookError::Client`] when no HTTP client can be built.
    pub async fn validate(
        &self,
        principal: &Principal,
        id: &WebhookId,
        idempotency_key: Option<&str>,
    ) -> Result<Validation, WebhookError> {
        require(principal, Scope::WebhookWrite)?;
        let op = Idempotent {
            op: "validate",
            target: id.as_str(),
            request: &(),
            key: idempotency_key,
        };
        self.engine
            .once(principal, op, || self.validate_now(principal, id))
            .await
    }

    async fn validate_now(&self, principal: &Principal, id: &WebhookId) -> Result<Validation, WebhookError> {
        let sub = self.engine.webhook(principal, id).await?;
        let client = self.client()?;
        let answer = validate::challenge(&self.engine, client, &sub, self.config.max_response_bytes).await?;
        let command = WebhookCommand::RecordValidation {
            url: sub.url.clone(),
            plain_token: answer.plain_token,
            encrypted_token: answer.encrypted_token,
        };
        match self.engine.execute_webhook(principal, Some(id), command, None).await {
            Ok(out) => Ok(Validation {
                id: out.subscription.id,
                validated: out.subscription.validated,
            }),
            Err(EngineError::Domain(DomainError::Conflict {
                code: "url_validation_failed" | "url_changed",
                message,
            })) => Err(WebhookError::Validation(message)),
            Err(e) => Err(e.into()),
        }
    }

    fn client(&self) -> Result<&reqwest::Client, WebhookError> {
        if let Some(c) = self.client.get() {
            return Ok(c);
        }
        let built = send::build_client(
            &self.engine.config().webhook_allow,
            Arc::clone(&self.config.resolver),
            self.config.validation_timeout,
            1,
        )?;
        Ok(self.client.get_or_init(|| built))
    }

    /// Refuses a URL whose host name resolves to a non-public address now. A URL that does not
    /// parse is left to the engine, whose error names the precise fault.
    async fn check_url(&self, raw: &str) -> Result<(), WebhookError> {
        let Ok(url) = url::Url::parse(raw) else {
            return Ok(());
        };
        // Literal addresses (and `localhost`) are the engine's to refuse, with its own words.
        if !matches!(url.host(), Some(url::Host::Domain(_))) {
            return Ok(());
        }
        let allow = &self.engine.config().webhook_allow;
        match guard::check_subscription_url(&url, allow, self.config.resolver.as_ref()).await {
            Ok(()) | Err(GuardError::BadUrl(_) | GuardError::Resolve(_)) => Ok(()),
            Err(GuardError::Forbidden { host, .. }) => Err(WebhookError::Engine(
                DomainError::Invalid {
                    field: "url".into(),
                    message: format!("{host} resolves to a loopback, private or otherwise non-public address"),
                }
                .into(),
            )),
        }
    }
}

fn require(principal: &Principal, scope: Scope) -> Result<(), WebhookError> {
    if principal.has(scope) {
        Ok(())
    } else {
        Err(WebhookError::Engine(DomainError::InsufficientScope(scope).into()))
    }
}
