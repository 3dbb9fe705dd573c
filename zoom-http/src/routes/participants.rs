//! Participants: list, change role, admit, mute, remove.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use zoom_core::id::ParticipantId;
use zoom_core::meeting::{Meeting, MeetingCommand, ParticipantStatus};

use super::{meeting_id, participant_id, path, reply, split_action, unknown_action};
use crate::Api;
use crate::extract::{self, Query};
use crate::problem::{Problem, ProblemDocument};
use crate::views::{ParticipantList, ParticipantPatchInput, ParticipantView};

/// The participant after a command, as the answer.
fn participant_reply(m: &Meeting, pid: &ParticipantId) -> Result<Response, Problem> {
    let p = m
        .participant(pid)
        .ok_or_else(|| Problem::not_found(format!("participant {pid} not found")))?;
    Ok(reply(StatusCode::OK, ParticipantView::from(p)))
}

/// Lists a meeting's participants.
#[utoipa::path(get, path = "/v1/meetings/{id}/participants", operation_id = "participants.list", tag = "participants",
    params(
        ("id" = String, Path, description = "`mtg_…`"),
        ("status" = Option<String>, Query, description = "waiting, joined or left"),
        ("page_size" = Option<i64>, Query, description = "1 to 300, default 50"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page, in redemption order", body = ParticipantList),
        (status = 400, description = "Invalid query", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Missing `meeting.read`", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["meeting.read"])))]
pub(crate) async fn list(
    State(api): State<Api>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    let principal = extract::principal(&api, &headers).await?;
    let id = meeting_id(&path(id)?)?;
    let q = Query::parse(raw.as_deref(), &["status", "page_size", "cursor"])?;
    let status = q
        .get("status")
        .map(|s| {
            ParticipantStatus::parse(s)
                .ok_or_else(|| Problem::invalid_field("status", "`status` must be waiting, joined or left"))
        })
        .transpose()?;
    let page = api.engine.participants(&principal, &id, status, &q.page()?).await?;
    Ok(reply(
        StatusCode::OK,
        ParticipantList {
            participants: page.items.iter().map(ParticipantView::from).collect(),
            next_cursor: page.next_cursor,
        },
    ))
}

/// Changes a participant's role.
#[utoipa::path(patch, path = "/v1/meetings/{id}/participants/{pid}", operation_id = "participants.patch", tag = "participants",
    params(("id" = String, Path, description = "`mtg_…`"), ("pid" = String, Path, description = "`par_…`")),
    request_body = ParticipantPatchInput,
    responses(
        (status = 200, description = "The participant", body = ParticipantView),
        (status = 400, description = "Invalid body", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Missing `meeting.write`, or not the host", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting or participant", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "The participant or meeting state forbids it", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["meeting.write"])))]
pub(crate) async fn patch(
    State(api): State<Api>,
    headers: HeaderMap,
    ids: Result<Path<(String, String)>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let principal = extract::principal(&api, &headers).await?;
    let (id, pid) = path(ids)?;
    let (id, pid) = (meeting_id(&id)?, participant_id(&pid)?);
    let body = extract::bytes(body)?;
    let input: ParticipantPatchInput = extract::json(&headers, &body)?;
    let key = extract::idempotency_key(&headers)?;
    let command = MeetingCommand::ChangeRole {
        participant_id: pid.clone(),
        role: input.role.into(),
    };
    let m = api
        .engine
        .execute(&principal, Some(&id), command, key.as_deref())
        .await?;
    participant_reply(&m, &pid)
}

/// Removes a participant; their user gets no new join token for this meeting.
#[utoipa::path(delete, path = "/v1/meetings/{id}/participants/{pid}", operation_id = "participants.remove", tag = "participants",
    params(("id" = String, Path, description = "`mtg_…`"), ("pid" = String, Path, description = "`par_…`")),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, description = "Invalid body or header", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Missing `meeting.write`, or not the host", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting or participant", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "The participant or meeting state forbids it", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["meeting.write"])))]
pub(crate) async fn remove(
    State(api): State<Api>,
    headers: HeaderMap,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, Problem> {
    let principal = extract::principal(&api, &headers).await?;
    let (id, pid) = path(ids)?;
    let (id, pid) = (meeting_id(&id)?, participant_id(&pid)?);
    let key = extract::idempotency_key(&headers)?;
    api.engine
        .execute(
            &principal,
            Some(&id),
            MeetingCommand::Remove { participant_id: pid },
            key.as_deref(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /v1/meetings/{id}/participants/{pid}:action`.
pub(crate) async fn action(
    State(api): State<Api>,
    headers: HeaderMap,
    ids: Result<Path<(String, String)>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let (id, segment) = path(ids)?;
    let (pid, action) = split_action(&segment)?;
    match action {
        "admit" => admit(api, headers, &id, pid, body).await,
        other => Err(unknown_action(other)),
    }
}

/// Admits a participant from the waiting room.
#[utoipa::path(post, path = "/v1/meetings/{id}/participants/{pid}:admit", operation_id = "participants.admit", tag = "participants",
    params(("id" = String, Path, description = "`mtg_…`"), ("pid" = String, Path, description = "`par_…`")),
    request_body(content = Option<Object>, description = "Empty or `{}`"),
    responses(
        (status = 200, description = "The participant, now joined", body = ParticipantView),
        (status = 400, description = "Invalid body or header", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Missing `meeting.write`, or not the host", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting or participant", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "Not waiting", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "A body that is not JSON", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["meeting.write"])))]
pub(crate) async fn admit(
    api: Api,
    headers: HeaderMap,
    id: &str,
    pid: &str,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let principal = extract::principal(&api, &headers).await?;
    let (id, pid) = (meeting_id(id)?, participant_id(pid)?);
    extract::empty(&headers, &extract::bytes(body)?)?;
    let key = extract::idempotency_key(&headers)?;
    let command = MeetingCommand::Admit {
        participant_id: pid.clone(),
    };
    let m = api
        .engine
        .execute(&principal, Some(&id), command, key.as_deref())
        .await?;
    participant_reply(&m, &pid)
}

/// Mutes a participant's audio (authoritative; the SFU learns it from the event stream).
#[utoipa::path(post, path = "/v1/meetings/{id}/participants/{pid}/mute", operation_id = "participants.mute", tag = "participants",
    params(("id" = String, Path, description = "`mtg_…`"), ("pid" = String, Path, description = "`par_…`")),
    request_body(content = Option<Object>, description = "Empty or `{}`"),
    responses(
        (status = 200, description = "The participant, muted", body = ParticipantView),
        (status = 400, description = "Invalid body or header", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Missing `meeting.write`, or not the host", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting or participant", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "Not in the meeting", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "A body that is not JSON", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["meeting.write"])))]
pub(crate) async fn mute(
    State(api): State<Api>,
    headers: HeaderMap,
    ids: Result<Path<(String, String)>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let principal = extract::principal(&api, &headers).await?;
    let (id, pid) = path(ids)?;
    let (id, pid) = (meeting_id(&id)?, participant_id(&pid)?);
    extract::empty(&headers, &extract::bytes(body)?)?;
    let key = extract::idempotency_key(&headers)?;
    let command = MeetingCommand::Mute {
        participant_id: pid.clone(),
    };
    let m = api
        .engine
        .execute(&principal, Some(&id), command, key.as_deref())
        .await?;
    participant_reply(&m, &pid)
}
