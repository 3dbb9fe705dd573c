//! Webhook subscriptions, their self-service actions and their delivery log.
//!
//! The problems every route shares (400, 401, 403, 404, 413, 415, 422, …) are documented once,
//! in `crate::openapi`; each route lists only its own. The work is
//! [`zoom_webhooks::SelfService`]'s (it resolves host names, sends the validation challenge and
//! reads the delivery log) or the engine's.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use zoom_core::EngineError;
use zoom_core::engine::PageRequest;
use zoom_core::store::DeliveryState;
use zoom_core::webhook::WebhookCommand;
use zoom_webhooks::{DeliveryFilter, Redelivery, WebhookError};

use super::reply;
use crate::api::Api;
use crate::extract::{
    Caller, Empty, IdempotencyKey, Json, NoQuery, PAGE_PARAMS, Page, Params, Query, QueryParams, WebhookPath,
};
use crate::problem::{Problem, ProblemDocument};
use crate::views::{
    DeliveryList, DeliveryStatusView, DeliveryView, PingView, RedeliverInput, RedeliverView, SecretRotatedView,
    ValidatedView, WebhookCreated, WebhookInput, WebhookList, WebhookPatchInput, WebhookView,
};

impl From<WebhookError> for Problem {
    fn from(e: WebhookError) -> Self {
        match e {
            WebhookError::Engine(e) => e.into(),
            WebhookError::Store(e) => EngineError::from(e).into(),
            WebhookError::Validation(detail) => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "url_validation_failed", detail)
            }
            WebhookError::NotFound(what) => Problem::not_found(format!("{what} not found")),
            WebhookError::Client(e) => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "webhook_client_unavailable",
                format!("no HTTP client for webhooks: {e}"),
            ),
            WebhookError::Config(m) | WebhookError::Schedule(m) => {
                Problem::new(StatusCode::BAD_REQUEST, "invalid_request", m)
            }
        }
    }
}

/// Subscribes a URL to catalogue events.
#[utoipa::path(post, path = "/v1/webhooks", operation_id = "webhooks.create", tag = "webhooks",
    params(IdempotencyKey),
    request_body = WebhookInput,
    responses((status = 201, description = "Subscribed; the secret is shown this once", body = WebhookCreated)),
    security(("oauth2" = ["webhook.write"])))]
pub(crate) async fn create(
    State(api): State<Api>,
    Caller(caller): Caller,
    _: NoQuery,
    key: IdempotencyKey,
    Json(input): Json<WebhookInput>,
) -> Result<Response, Problem> {
    let out = api
        .webhooks
        .subscribe(&caller, input.url, input.events, input.url_validation, key.as_deref())
        .await?;
    let s = &out.subscription;
    let created = WebhookCreated {
        id: s.id.as_str().to_owned(),
        url: s.url.clone(),
        events: s.events.clone(),
        secret: out.secret.clone().unwrap_or_default(),
        state: s.state.into(),
        url_validation: s.url_validation,
        validated: s.validated,
        created_at: s.created_at,
    };
    Ok(reply(StatusCode::CREATED, created))
}

/// Lists the caller's subscriptions (an admin sees the account's).
#[utoipa::path(get, path = "/v1/webhooks", operation_id = "webhooks.list", tag = "webhooks",
    params(crate::openapi::PageParams),
    responses((status = 200, description = "A page", body = WebhookList)),
    security(("oauth2" = ["webhook.read"])))]
pub(crate) async fn list(
    State(api): State<Api>,
    Caller(caller): Caller,
    Params(Page(page)): Params<Page>,
) -> Result<Response, Problem> {
    let page = api.engine.webhooks(&caller, &page).await?;
    let webhooks = page.items.iter().map(WebhookView::from).collect();
    Ok(reply(
        StatusCode::OK,
        WebhookList {
            webhooks,
            next_cursor: page.next_cursor,
        },
    ))
}

/// Reads a subscription, with `state`, `active` and the summary of its newest attempts.
#[utoipa::path(get, path = "/v1/webhooks/{id}", operation_id = "webhooks.get", tag = "webhooks",
    params(WebhookPath),
    responses((status = 200, description = "The subscription", body = WebhookView)),
    security(("oauth2" = ["webhook.read"])))]
pub(crate) async fn get(
    State(api): State<Api>,
    Caller(caller): Caller,
    WebhookPath(id): WebhookPath,
    _: NoQuery,
) -> Result<Response, Problem> {
    let (sub, summary) = api.webhooks.read(&caller, &id).await?;
    Ok(reply(StatusCode::OK, WebhookView::with_summary(&sub, &summary)))
}

/// Changes the URL, the events or whether the subscription is enabled; `active: true`
/// re-enables a disabled one.
#[utoipa::path(patch, path = "/v1/webhooks/{id}", operation_id = "webhooks.patch", tag = "webhooks",
    params(WebhookPath),
    request_body = WebhookPatchInput,
    responses((status = 200, description = "The changed subscription", body = WebhookView)),
    security(("oauth2" = ["webhook.write"])))]
pub(crate) async fn patch(
    State(api): State<Api>,
    Caller(caller): Caller,
    WebhookPath(id): WebhookPath,
    _: NoQuery,
    Json(input): Json<WebhookPatchInput>,
) -> Result<Response, Problem> {
    let sub = api.webhooks.update(&caller, &id, input.into()).await?;
    Ok(reply(StatusCode::OK, WebhookView::from(&sub)))
}

/// Deletes a subscription.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", operation_id = "webhooks.delete", tag = "webhooks",
    params(WebhookPath, IdempotencyKey),
    responses((status = 204, description = "Deleted")),
    security(("oauth2" = ["webhook.write"])))]
pub(crate) async fn delete(
    State(api): State<Api>,
    Caller(caller): Caller,
    WebhookPath(id): WebhookPath,
    _: NoQuery,
    key: IdempotencyKey,
) -> Result<Response, Problem> {
    api.engine
        .execute_webhook(&caller, Some(&id), WebhookCommand::Unsubscribe, key.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Replaces the signing secret; every previous one keeps signing for 24 hours from its own
/// rotation.
#[utoipa::path(post, path = "/v1/webhooks/{id}:rotateSecret", operation_id = "webhooks.rotate_secret", tag = "webhooks",
    params(WebhookPath, IdempotencyKey),
    request_body(content = crate::openapi::EmptyBody, description = "Nothing, or `{}`"),
    responses((status = 200, description = "The new secret, shown this once", body = SecretRotatedView)),
    security(("oauth2" = ["webhook.write"])))]
pub(crate) async fn rotate_secret(
    State(api): State<Api>,
    Caller(caller): Caller,
    WebhookPath(id): WebhookPath,
    _: NoQuery,
    key: IdempotencyKey,
    _: Empty,
) -> Result<Response, Problem> {
    let out = api
        .engine
        .execute_webhook(&caller, Some(&id), WebhookCommand::RotateSecret, key.as_deref())
        .await?;
    let rotated = SecretRotatedView {
        id: out.subscription.id.as_str().to_owned(),
        secret: out.secret.unwrap_or_default(),
    };
    Ok(reply(StatusCode::OK, rotated))
}

/// Sends deliveries again with their first `event_id`: one by `delivery_id`, or every failed
/// one (of a range of attempt times).
#[utoipa::path(post, path = "/v1/webhooks/{id}:redeliver", operation_id = "webhooks.redeliver", tag = "webhooks",
    params(WebhookPath, IdempotencyKey),
    request_body = RedeliverInput,
    responses(
        (status = 202, description = "How many deliveries will be sent again", body = RedeliverView),
        (status = 409, description = "Disabled, or its URL is not validated", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("oauth2" = ["webhook.write"])))]
pub(crate) async fn redeliver(
    State(api): State<Api>,
    Caller(caller): Caller,
    WebhookPath(id): WebhookPath,
    _: NoQuery,
    key: IdempotencyKey,
    Json(input): Json<RedeliverInput>,
) -> Result<Response, Problem> {
    let count = api
        .webhooks
        .redeliver(&caller, &id, which(&input)?, key.as_deref())
        .await?;
    Ok(reply(StatusCode::ACCEPTED, RedeliverView { count }))
}

/// What a redelivery request names: exactly one of `delivery_id` and `status: "failed"`, a
/// range only with the status.
fn which(input: &RedeliverInput) -> Result<Redelivery, Problem> {
    match (input.delivery_id, input.status) {
        (Some(id), None) if input.from.is_none() && input.to.is_none() => Ok(Redelivery::Delivery(id)),
        (Some(_), None) => Err(Problem::invalid_field(
            "from",
            "`from` and `to` go with `status`, not with `delivery_id`",
        )),
        (None, Some(DeliveryStatusView::Failed)) => {
            if let (Some(from), Some(to)) = (input.from, input.to)
                && from >= to
            {
                return Err(Problem::invalid_field("to", "`to` must be after `from`"));
            }
            Ok(Redelivery::Failed {
                from: input.from,
                to: input.to,
            })
        }
        (None, Some(_)) => Err(Problem::invalid_field(
            "status",
            "only failed deliveries are redelivered by status (`\"status\": \"failed\"`)",
        )),
        (Some(_), Some(_)) => Err(Problem::invalid_field(
            "status",
            "send either `delivery_id` or `status`, not both",
        )),
        (None, None) => Err(Problem::invalid_field(
            "delivery_id",
            "send `delivery_id`, or `status: \"failed\"` with an optional `from` and `to`",
        )),
    }
}

/// Sends a `webhook.ping` event to this subscription alone.
#[utoipa::path(post, path = "/v1/webhooks/{id}:ping", operation_id = "webhooks.ping", tag = "webhooks",
    params(WebhookPath, IdempotencyKey),
    request_body(content = crate::openapi::EmptyBody, description = "Nothing, or `{}`"),
    responses(
        (status = 202, description = "The ping will be delivered", body = PingView),
        (status = 409, description = "Disabled, or its URL is not validated", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("oauth2" = ["webhook.write"])))]
pub(crate) async fn ping(
    State(api): State<Api>,
    Caller(caller): Caller,
    WebhookPath(id): WebhookPath,
    _: NoQuery,
    key: IdempotencyKey,
    _: Empty,
) -> Result<Response, Problem> {
    let sub = api.webhooks.ping(&caller, &id, key.as_deref()).await?;
    let view = PingView {
        id: sub.id.as_str().to_owned(),
        event: "webhook.ping".to_owned(),
    };
    Ok(reply(StatusCode::ACCEPTED, view))
}

/// Validates the URL as Zoom does: the server POSTs an `endpoint.url_validation` challenge and
/// expects the HMAC of its `plainToken` under the newest secret within 3 seconds.
#[utoipa::path(post, path = "/v1/webhooks/{id}:validate", operation_id = "webhooks.validate", tag = "webhooks",
    params(WebhookPath, IdempotencyKey),
    request_body(content = crate::openapi::EmptyBody, description = "Nothing, or `{}`"),
    responses(
        (status = 200, description = "The URL is validated", body = ValidatedView),
        (status = 422, description = "`url_validation_failed`: the detail says what came back", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("oauth2" = ["webhook.write"])))]
pub(crate) async fn validate(
    State(api): State<Api>,
    Caller(caller): Caller,
    WebhookPath(id): WebhookPath,
    _: NoQuery,
    key: IdempotencyKey,
    _: Empty,
) -> Result<Response, Problem> {
    let done = api.webhooks.validate(&caller, &id, key.as_deref()).await?;
    let view = ValidatedView {
        id: done.id.as_str().to_owned(),
        validated: done.validated,
    };
    Ok(reply(StatusCode::OK, view))
}

/// The filters of `GET /v1/webhooks/{id}/deliveries`.
pub(crate) struct DeliveryParams(DeliveryFilter, PageRequest);

impl QueryParams for DeliveryParams {
    const NAMES: &'static [&'static str] = &["status", PAGE_PARAMS[0], PAGE_PARAMS[1]];

    fn from_query(q: &Query) -> Result<Self, Problem> {
        let status = q
            .get("status")
            .map(|s| {
                DeliveryState::parse(s)
                    .ok_or_else(|| Problem::invalid_field("status", "`status` must be pending, succeeded or failed"))
            })
            .transpose()?;
        let filter = DeliveryFilter {
            status,
            ..DeliveryFilter::default()
        };
        Ok(Self(filter, q.page()?))
    }
}

/// Lists a subscription's delivery attempts, newest first.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", operation_id = "webhooks.deliveries", tag = "webhooks",
    params(
        WebhookPath,
        ("status" = Option<DeliveryStatusView>, Query, description = "Only attempts that left their delivery in this state"),
        crate::openapi::PageParams,
    ),
    responses((status = 200, description = "A page of attempts", body = DeliveryList)),
    security(("oauth2" = ["webhook.read"])))]
pub(crate) async fn deliveries(
    State(api): State<Api>,
    Caller(caller): Caller,
    WebhookPath(id): WebhookPath,
    Params(DeliveryParams(filter, page)): Params<DeliveryParams>,
) -> Result<Response, Problem> {
    let page = api.webhooks.deliveries(&caller, &id, &filter, &page).await?;
    let deliveries = page.items.iter().map(DeliveryView::from).collect();
    Ok(reply(
        StatusCode::OK,
        DeliveryList {
            deliveries,
            next_cursor: page.next_cursor,
        },
    ))
}
