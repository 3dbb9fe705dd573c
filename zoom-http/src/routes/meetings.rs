//! Meetings: schedule, list, read, edit, cancel, end, and join tokens.
//!
//! The problems every route shares (400, 401, 403, 404, 413, 415, 422, …) are documented once,
//! in `crate::openapi`; each route lists only its own.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use zoom_core::engine::{MeetingQuery, PageRequest};
use zoom_core::meeting::{Meeting, MeetingCommand, MeetingState};
use zoom_core::principal::Principal;

use super::reply;
use crate::api::Api;
use crate::extract::{
    Caller, Empty, IdempotencyKey, Json, JsonOrEmpty, MeetingPath, NoQuery, PAGE_PARAMS, Params, Query, QueryParams,
};
use crate::problem::{Problem, ProblemDocument};
use crate::views::{JoinTokenInput, JoinTokenView, MeetingList, MeetingView, PatchInput, ScheduleInput};

/// The answer for a meeting, as `viewer` may see it.
fn meeting(api: &Api, status: StatusCode, m: &Meeting, viewer: &Principal) -> Response {
    reply(status, MeetingView::new(m, viewer, api.engine.config()))
}

/// Schedules a meeting.
#[utoipa::path(post, path = "/v1/meetings", operation_id = "meetings.schedule", tag = "meetings",
    params(IdempotencyKey),
    request_body = ScheduleInput,
    responses((status = 201, description = "Scheduled", body = MeetingView)),
    security(("oauth2" = ["meeting.write"])))]
pub(crate) async fn schedule(
    State(api): State<Api>,
    Caller(caller): Caller,
    _: NoQuery,
    key: IdempotencyKey,
    Json(input): Json<ScheduleInput>,
) -> Result<Response, Problem> {
    let command = MeetingCommand::Schedule(input.into());
    let m = api.engine.execute(&caller, None, command, key.as_deref()).await?;
    Ok(meeting(&api, StatusCode::CREATED, &m, &caller))
}

/// The filters of `GET /v1/meetings`.
pub(crate) struct MeetingFilter(MeetingQuery, PageRequest);

impl QueryParams for MeetingFilter {
    const NAMES: &'static [&'static str] = &["host_id", "from", "to", "state", PAGE_PARAMS[0], PAGE_PARAMS[1]];

    fn from_query(q: &Query) -> Result<Self, Problem> {
        let time = |name: &str| -> Result<Option<DateTime<Utc>>, Problem> {
            q.get(name)
                .map(|raw| {
                    DateTime::parse_from_rfc3339(raw)
                        .map(|t| t.with_timezone(&Utc))
                        .map_err(|_| Problem::invalid_field(name, format!("`{name}` must be an RFC 3339 date-time")))
                })
                .transpose()
        };
        let state = q
            .get("state")
            .map(|s| {
                MeetingState::parse(s).ok_or_else(|| {
                    Problem::invalid_field("state", "`state` must be SCHEDULED, LIVE, ENDED or CANCELLED")
                })
            })
            .transpose()?;
        let host_id = q
            .get("host_id")
            .map(|h| {
                zoom_core::id::Name::parse(h)
                    .map(|_| h.to_owned())
                    .map_err(|e| Problem::invalid_field("host_id", e.to_string()))
            })
            .transpose()?;
        let query = MeetingQuery {
            host_id,
            from: time("from")?,
            to: time("to")?,
            state,
        };
        Ok(Self(query, q.page()?))
    }
}

/// Lists the account's meetings.
#[utoipa::path(get, path = "/v1/meetings", operation_id = "meetings.list", tag = "meetings",
    params(
        ("host_id" = Option<String>, Query, description = "Only meetings this user hosts"),
        ("from" = Option<String>, Query, format = DateTime, description = "Only meetings starting at or after (RFC 3339)"),
        ("to" = Option<String>, Query, format = DateTime, description = "Only meetings starting before (RFC 3339)"),
        ("state" = Option<crate::views::MeetingStateView>, Query, description = "Only meetings in this state"),
        crate::openapi::PageParams,
    ),
    responses((status = 200, description = "A page", body = MeetingList)),
    security(("oauth2" = ["meeting.read"])))]
pub(crate) async fn list(
    State(api): State<Api>,
    Caller(caller): Caller,
    Params(MeetingFilter(query, page)): Params<MeetingFilter>,
) -> Result<Response, Problem> {
    let page = api.engine.meetings(&caller, &query, &page).await?;
    let config = api.engine.config();
    let meetings = page
        .items
        .iter()
        .map(|m| MeetingView::new(m, &caller, config))
        .collect();
    Ok(reply(
        StatusCode::OK,
        MeetingList {
            meetings,
            next_cursor: page.next_cursor,
        },
    ))
}

/// Reads a meeting (with `participant_count` while LIVE).
#[utoipa::path(get, path = "/v1/meetings/{id}", operation_id = "meetings.get", tag = "meetings",
    params(MeetingPath),
    responses((status = 200, description = "The meeting", body = MeetingView)),
    security(("oauth2" = ["meeting.read"])))]
pub(crate) async fn get(
    State(api): State<Api>,
    Caller(caller): Caller,
    MeetingPath(id): MeetingPath,
    _: NoQuery,
) -> Result<Response, Problem> {
    let m = api.engine.meeting(&caller, &id).await?;
    Ok(meeting(&api, StatusCode::OK, &m, &caller))
}

/// Edits a meeting: the fields sent change, the others stay (`settings` member by member).
#[utoipa::path(patch, path = "/v1/meetings/{id}", operation_id = "meetings.patch", tag = "meetings",
    params(MeetingPath, IdempotencyKey),
    request_body = PatchInput,
    responses(
        (status = 200, description = "The edited meeting", body = MeetingView),
        (status = 409, description = "The meeting's state forbids the change", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("oauth2" = ["meeting.write"])))]
pub(crate) async fn patch(
    State(api): State<Api>,
    Caller(caller): Caller,
    MeetingPath(id): MeetingPath,
    _: NoQuery,
    key: IdempotencyKey,
    Json(input): Json<PatchInput>,
) -> Result<Response, Problem> {
    let command = MeetingCommand::Update(input.into());
    let m = api.engine.execute(&caller, Some(&id), command, key.as_deref()).await?;
    Ok(meeting(&api, StatusCode::OK, &m, &caller))
}

/// Cancels a scheduled meeting; it stays readable as CANCELLED.
#[utoipa::path(delete, path = "/v1/meetings/{id}", operation_id = "meetings.cancel", tag = "meetings",
    params(MeetingPath, IdempotencyKey),
    responses(
        (status = 204, description = "Cancelled"),
        (status = 409, description = "LIVE or ENDED", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("oauth2" = ["meeting.write"])))]
pub(crate) async fn cancel(
    State(api): State<Api>,
    Caller(caller): Caller,
    MeetingPath(id): MeetingPath,
    _: NoQuery,
    key: IdempotencyKey,
) -> Result<Response, Problem> {
    api.engine
        .execute(&caller, Some(&id), MeetingCommand::Cancel, key.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Ends a live meeting (its active recording stops).
#[utoipa::path(post, path = "/v1/meetings/{id}:end", operation_id = "meetings.end", tag = "meetings",
    params(MeetingPath, IdempotencyKey),
    request_body(content = crate::openapi::EmptyBody, description = "Nothing, or `{}`"),
    responses(
        (status = 200, description = "The ENDED meeting", body = MeetingView),
        (status = 409, description = "Not LIVE", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("oauth2" = ["meeting.write"])))]
pub(crate) async fn end(
    State(api): State<Api>,
    Caller(caller): Caller,
    MeetingPath(id): MeetingPath,
    _: NoQuery,
    key: IdempotencyKey,
    _: Empty,
) -> Result<Response, Problem> {
    let m = api
        .engine
        .execute(&caller, Some(&id), MeetingCommand::End, key.as_deref())
        .await?;
    Ok(meeting(&api, StatusCode::OK, &m, &caller))
}

/// Issues a join token for the SFU. A user joining as itself may send no body.
#[utoipa::path(post, path = "/v1/meetings/{id}/joinToken", operation_id = "meetings.join_token", tag = "meetings",
    params(MeetingPath, IdempotencyKey),
    request_body(content = JoinTokenInput, description = "Who joins; nothing for a user joining as itself"),
    responses(
        (status = 200, description = "A token, valid once for 300 s", body = JoinTokenView),
        (status = 403, description = "Wrong passcode, not yet joinable, removed, or missing `meeting.join`", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "The meeting ended", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 410, description = "The meeting was cancelled", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("oauth2" = ["meeting.join"])))]
pub(crate) async fn join_token(
    State(api): State<Api>,
    Caller(caller): Caller,
    MeetingPath(id): MeetingPath,
    _: NoQuery,
    key: IdempotencyKey,
    JsonOrEmpty(input): JsonOrEmpty<JoinTokenInput>,
) -> Result<Response, Problem> {
    let token = api
        .engine
        .issue_join_token(&caller, &id, &input.into(), key.as_deref())
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
