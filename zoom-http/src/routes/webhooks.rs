//! Webhook subscriptions and their delivery log.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use zoom_core::engine::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use zoom_core::webhook::WebhookCommand;

use super::{path, reply, split_action, unknown_action, webhook_id};
use crate::Api;
use crate::extract::{self, Query};
use crate::problem::{Problem, ProblemDocument};
use crate::views::{
    DeliveryList, DeliveryView, SecretRotatedView, WebhookCreated, WebhookInput, WebhookList, WebhookView,
};

/// Subscribes a URL to catalogue events.
#[utoipa::path(post, path = "/v1/webhooks", operation_id = "webhooks.create", tag = "webhooks",
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays return the first answer")),
    request_body = WebhookInput,
    responses(
        (status = 201, description = "Subscribed; the secret is shown this once", body = WebhookCreated),
        (status = 400, description = "Invalid URL or event names", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Missing `webhook.write`", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "Idempotency-Key reused with another body", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["webhook.write"])))]
pub(crate) async fn create(
    State(api): State<Api>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let principal = extract::principal(&api, &headers).await?;
    let body = extract::bytes(body)?;
    let input: WebhookInput = extract::json(&headers, &body)?;
    let key = extract::idempotency_key(&headers)?;
    let command = WebhookCommand::Subscribe {
        url: input.url,
        events: input.events,
        url_validation: false,
    };
    let out = api
        .engine
        .execute_webhook(&principal, None, command, key.as_deref())
        .await?;
    let s = &out.subscription;
    Ok(reply(
        StatusCode::CREATED,
        WebhookCreated {
            id: s.id.as_str().to_owned(),
            url: s.url.clone(),
            events: s.events.clone(),
            secret: out.secret.clone().unwrap_or_default(),
            state: s.state.into(),
            created_at: s.created_at,
        },
    ))
}

/// Lists the caller's subscriptions (an admin sees the account's).
#[utoipa::path(get, path = "/v1/webhooks", operation_id = "webhooks.list", tag = "webhooks",
    params(
        ("page_size" = Option<i64>, Query, description = "1 to 300, default 50"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page", body = WebhookList),
        (status = 400, description = "Invalid query", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Missing `webhook.read`", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["webhook.read"])))]
pub(crate) async fn list(
    State(api): State<Api>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    let principal = extract::principal(&api, &headers).await?;
    let q = Query::parse(raw.as_deref(), &["page_size", "cursor"])?;
    let page = api.engine.webhooks(&principal, &q.page()?).await?;
    Ok(reply(
        StatusCode::OK,
        WebhookList {
            webhooks: page.items.iter().map(WebhookView::from).collect(),
            next_cursor: page.next_cursor,
        },
    ))
}

/// Deletes a subscription.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", operation_id = "webhooks.delete", tag = "webhooks",
    params(("id" = String, Path, description = "`whk_…`")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Invalid body or header", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Missing `webhook.write`", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription of the caller's", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["webhook.write"])))]
pub(crate) async fn delete(
    State(api): State<Api>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, Problem> {
    let principal = extract::principal(&api, &headers).await?;
    let id = webhook_id(&path(id)?)?;
    let key = extract::idempotency_key(&headers)?;
    api.engine
        .execute_webhook(&principal, Some(&id), WebhookCommand::Unsubscribe, key.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /v1/webhooks/{id}:action`.
pub(crate) async fn action(
    State(api): State<Api>,
    headers: HeaderMap,
    segment: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let segment = path(segment)?;
    let (id, action) = split_action(&segment)?;
    match action {
        "rotateSecret" => rotate_secret(api, headers, id, body).await,
        other => Err(unknown_action(other)),
    }
}

/// Replaces the signing secret; the previous one keeps signing for 24 hours.
#[utoipa::path(post, path = "/v1/webhooks/{id}:rotateSecret", operation_id = "webhooks.rotate_secret", tag = "webhooks",
    params(("id" = String, Path, description = "`whk_…`")),
    request_body(content = Option<Object>, description = "Empty or `{}`"),
    responses(
        (status = 200, description = "The new secret, shown this once", body = SecretRotatedView),
        (status = 400, description = "Invalid body or header", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Missing `webhook.write`", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription of the caller's", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "A body that is not JSON", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["webhook.write"])))]
pub(crate) async fn rotate_secret(
    api: Api,
    headers: HeaderMap,
    id: &str,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let principal = extract::principal(&api, &headers).await?;
    let id = webhook_id(id)?;
    extract::empty(&headers, &extract::bytes(body)?)?;
    let key = extract::idempotency_key(&headers)?;
    let out = api
        .engine
        .execute_webhook(&principal, Some(&id), WebhookCommand::RotateSecret, key.as_deref())
        .await?;
    Ok(reply(
        StatusCode::OK,
        SecretRotatedView {
            id: out.subscription.id.as_str().to_owned(),
            secret: out.secret.unwrap_or_default(),
        },
    ))
}

/// The cursor of the delivery log: the store's sequence number of the last row shown.
fn encode_cursor(seq: u64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("d1:{seq}"))
}

fn decode_cursor(cursor: &str) -> Option<u64> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cursor).ok()?;
    std::str::from_utf8(&raw).ok()?.strip_prefix("d1:")?.parse().ok()
}

/// Lists a subscription's delivery attempts, newest first.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", operation_id = "webhooks.deliveries", tag = "webhooks",
    params(
        ("id" = String, Path, description = "`whk_…`"),
        ("page_size" = Option<i64>, Query, description = "1 to 300, default 50"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of attempts", body = DeliveryList),
        (status = 400, description = "Invalid query", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Missing `webhook.read`", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such subscription of the caller's", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["webhook.read"])))]
pub(crate) async fn deliveries(
    State(api): State<Api>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    let principal = extract::principal(&api, &headers).await?;
    let id = webhook_id(&path(id)?)?;
    let q = Query::parse(raw.as_deref(), &["page_size", "cursor"])?;
    let page = q.page()?;
    let size = match page.page_size {
        None => DEFAULT_PAGE_SIZE,
        Some(n) if n >= 1 && n <= MAX_PAGE_SIZE as i64 => n as usize,
        Some(_) => return Err(Problem::invalid_field("page_size", "must be between 1 and 300")),
    };
    let before = page
        .cursor
        .as_deref()
        .map(|c| decode_cursor(c).ok_or_else(|| Problem::invalid_field("cursor", "is not a cursor this API issued")))
        .transpose()?;
    // Visibility first: another owner's or account's subscription is a 404.
    api.engine.webhook(&principal, &id).await?;
    let mut rows = api
        .engine
        .store()
        .attempts(&id, before, size + 1)
        .await
        .map_err(zoom_core::EngineError::from)?;
    let next_cursor = (rows.len() > size).then(|| encode_cursor(rows[size - 1].0));
    rows.truncate(size);
    Ok(reply(
        StatusCode::OK,
        DeliveryList {
            deliveries: rows.iter().map(|(_, a)| DeliveryView::from(a)).collect(),
            next_cursor,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_cursors_round_trip_and_refuse_others() {
        assert_eq!(decode_cursor(&encode_cursor(42)), Some(42));
        assert_eq!(decode_cursor("not a cursor"), None);
        assert_eq!(
            decode_cursor(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("c1:5")),
            None
        );
    }
}
