//! Meetings: schedule, list, read, edit, cancel, end, and join tokens.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use zoom_core::engine::MeetingQuery;
use zoom_core::meeting::{MeetingCommand, MeetingState};

use super::{meeting_id, path, reply, split_action, unknown_action};
use crate::Api;
use crate::extract::{self, PAGE_PARAMS, Query};
use crate::problem::{Problem, ProblemDocument};
use crate::views::{JoinTokenInput, JoinTokenView, MeetingList, MeetingView, PatchInput, ScheduleInput};

/// Schedules a meeting.
#[utoipa::path(post, path = "/v1/meetings", operation_id = "meetings.schedule", tag = "meetings",
    request_body = ScheduleInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays return the first answer")),
    responses(
        (status = 201, description = "Scheduled", body = MeetingView),
        (status = 400, description = "Invalid body", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Missing `meeting.write`", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "Idempotency-Key reused with another body", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["meeting.write"])))]
pub(crate) async fn schedule(
    State(api): State<Api>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let principal = extract::principal(&api, &headers).await?;
    let body = extract::bytes(body)?;
    let input: ScheduleInput = extract::json(&headers, &body)?;
    let key = extract::idempotency_key(&headers)?;
    let m = api
        .engine
        .execute(&principal, None, MeetingCommand::Schedule(input.into()), key.as_deref())
        .await?;
    Ok(reply(
        StatusCode::CREATED,
        MeetingView::new(&m, &principal, api.engine.config()),
    ))
}

/// Lists the account's meetings.
#[utoipa::path(get, path = "/v1/meetings", operation_id = "meetings.list", tag = "meetings",
    params(
        ("host_id" = Option<String>, Query, description = "Only meetings this user hosts"),
        ("from" = Option<String>, Query, description = "Only meetings starting at or after (RFC 3339)"),
        ("to" = Option<String>, Query, description = "Only meetings starting before (RFC 3339)"),
        ("state" = Option<String>, Query, description = "SCHEDULED, LIVE, ENDED or CANCELLED"),
        ("page_size" = Option<i64>, Query, description = "1 to 300, default 50"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page", body = MeetingList),
        (status = 400, description = "Invalid query", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Missing `meeting.read`", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["meeting.read"])))]
pub(crate) async fn list(
    State(api): State<Api>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    let principal = extract::principal(&api, &headers).await?;
    let q = Query::parse(
        raw.as_deref(),
        &["host_id", "from", "to", "state", PAGE_PARAMS[0], PAGE_PARAMS[1]],
    )?;
    let time = |name: &str| -> Result<_, Problem> {
        q.get(name)
            .map(|raw| {
                chrono::DateTime::parse_from_rfc3339(raw)
                    .map(|t| t.with_timezone(&chrono::Utc))
                    .map_err(|_| Problem::invalid_field(name, format!("`{name}` must be an RFC 3339 date-time")))
            })
            .transpose()
    };
    let query = MeetingQuery {
        host_id: q.get("host_id").map(str::to_owned),
        from: time("from")?,
        to: time("to")?,
        state: q
            .get("state")
            .map(|s| {
                MeetingState::parse(s).ok_or_else(|| {
                    Problem::invalid_field("state", "`state` must be SCHEDULED, LIVE, ENDED or CANCELLED")
                })
            })
            .transpose()?,
    };
    let page = api.engine.meetings(&principal, &query, &q.page()?).await?;
    let config = api.engine.config();
    Ok(reply(
        StatusCode::OK,
        MeetingList {
            meetings: page
                .items
                .iter()
                .map(|m| MeetingView::new(m, &principal, config))
                .collect(),
            next_cursor: page.next_cursor,
        },
    ))
}

/// Reads a meeting (with `participant_count` while LIVE).
#[utoipa::path(get, path = "/v1/meetings/{id}", operation_id = "meetings.get", tag = "meetings",
    params(("id" = String, Path, description = "`mtg_…`")),
    responses(
        (status = 200, description = "The meeting", body = MeetingView),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Missing `meeting.read`", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting in this account", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["meeting.read"])))]
pub(crate) async fn get(
    State(api): State<Api>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, Problem> {
    let principal = extract::principal(&api, &headers).await?;
    let id = meeting_id(&path(id)?)?;
    let m = api.engine.meeting(&principal, &id).await?;
    Ok(reply(
        StatusCode::OK,
        MeetingView::new(&m, &principal, api.engine.config()),
    ))
}

/// Edits a meeting.
#[utoipa::path(patch, path = "/v1/meetings/{id}", operation_id = "meetings.patch", tag = "meetings",
    params(("id" = String, Path, description = "`mtg_…`")),
    request_body = PatchInput,
    responses(
        (status = 200, description = "The edited meeting", body = MeetingView),
        (status = 400, description = "Invalid body", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Missing `meeting.write`, or not the host", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "The meeting's state forbids the change", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["meeting.write"])))]
pub(crate) async fn patch(
    State(api): State<Api>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let principal = extract::principal(&api, &headers).await?;
    let id = meeting_id(&path(id)?)?;
    let body = extract::bytes(body)?;
    let input: PatchInput = extract::json(&headers, &body)?;
    let key = extract::idempotency_key(&headers)?;
    let m = api
        .engine
        .execute(
            &principal,
            Some(&id),
            MeetingCommand::Update(input.into()),
            key.as_deref(),
        )
        .await?;
    Ok(reply(
        StatusCode::OK,
        MeetingView::new(&m, &principal, api.engine.config()),
    ))
}

/// Cancels a scheduled meeting; it stays readable as CANCELLED.
#[utoipa::path(delete, path = "/v1/meetings/{id}", operation_id = "meetings.cancel", tag = "meetings",
    params(("id" = String, Path, description = "`mtg_…`")),
    responses(
        (status = 204, description = "Cancelled"),
        (status = 400, description = "Invalid body or header", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Missing `meeting.write`, or not the host", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "LIVE or ENDED", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["meeting.write"])))]
pub(crate) async fn cancel(
    State(api): State<Api>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, Problem> {
    let principal = extract::principal(&api, &headers).await?;
    let id = meeting_id(&path(id)?)?;
    let key = extract::idempotency_key(&headers)?;
    api.engine
        .execute(&principal, Some(&id), MeetingCommand::Cancel, key.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /v1/meetings/{id}:action`.
pub(crate) async fn action(
    State(api): State<Api>,
    headers: HeaderMap,
    segment: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let segment = path(segment)?;
    let (id, action) = split_action(&segment)?;
    match action {
        "end" => end(api, headers, id, body).await,
        other => Err(unknown_action(other)),
    }
}

/// Ends a live meeting (its active recording stops).
#[utoipa::path(post, path = "/v1/meetings/{id}:end", operation_id = "meetings.end", tag = "meetings",
    params(("id" = String, Path, description = "`mtg_…`")),
    request_body(content = Option<Object>, description = "Empty or `{}`"),
    responses(
        (status = 200, description = "The ENDED meeting", body = MeetingView),
        (status = 400, description = "Invalid body or header", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Missing `meeting.write`, or not the host", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "Not LIVE", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "A body that is not JSON", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["meeting.write"])))]
pub(crate) async fn end(
    api: Api,
    headers: HeaderMap,
    id: &str,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let principal = extract::principal(&api, &headers).await?;
    let id = meeting_id(id)?;
    extract::empty(&headers, &extract::bytes(body)?)?;
    let key = extract::idempotency_key(&headers)?;
    let m = api
        .engine
        .execute(&principal, Some(&id), MeetingCommand::End, key.as_deref())
        .await?;
    Ok(reply(
        StatusCode::OK,
        MeetingView::new(&m, &principal, api.engine.config()),
    ))
}

/// Issues a join token for the SFU.
#[utoipa::path(post, path = "/v1/meetings/{id}/joinToken", operation_id = "meetings.join_token", tag = "meetings",
    params(
        ("id" = String, Path, description = "`mtg_…`"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays return the first token"),
    ),
    request_body = JoinTokenInput,
    responses(
        (status = 200, description = "A token, valid once for 300 s", body = JoinTokenView),
        (status = 400, description = "Invalid body", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Wrong passcode, not yet joinable, removed, or missing `meeting.join`", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "The meeting ended", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 410, description = "The meeting was cancelled", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 422, description = "Idempotency-Key reused with another body", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["meeting.join"])))]
pub(crate) async fn join_token(
    State(api): State<Api>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let principal = extract::principal(&api, &headers).await?;
    let id = meeting_id(&path(id)?)?;
    let body = extract::bytes(body)?;
    // A user joining as itself has nothing to say: an empty body is a request with no fields.
    let input: JoinTokenInput = if body.iter().all(u8::is_ascii_whitespace) {
        JoinTokenInput::default()
    } else {
        extract::json(&headers, &body)?
    };
    let key = extract::idempotency_key(&headers)?;
    let token = api
        .engine
        .issue_join_token(&principal, &id, &input.into(), key.as_deref())
        .await?;
    Ok(reply(
        StatusCode::OK,
        JoinTokenView {
            jwt: token.jwt,
            sfu_url: token.sfu_url,
            expires_in: token.expires_in,
        },
    ))
}
