//! Recordings: start, stop, list, read.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use zoom_core::meeting::{Meeting, MeetingCommand};

use super::{meeting_id, path, recording_id, reply, unknown_action};
use crate::Api;
use crate::extract::{self, Query};
use crate::problem::{Problem, ProblemDocument};
use crate::views::{RecordingAccepted, RecordingList, RecordingView};

/// `POST /v1/meetings/{id}/{action}`: `recordings:start`, `recordings:stop`.
pub(crate) async fn action(
    State(api): State<Api>,
    headers: HeaderMap,
    ids: Result<Path<(String, String)>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let (id, segment) = path(ids)?;
    match segment.as_str() {
        "recordings:start" => start(api, headers, &id, body).await,
        "recordings:stop" => stop(api, headers, &id, body).await,
        other => Err(unknown_action(other)),
    }
}

/// The most recently started recording: recordings are kept in start order and at most one is
/// active, so after a start or a stop it is the one the command touched.
fn latest(m: &Meeting) -> Result<Response, Problem> {
    let r = m
        .recordings
        .last()
        .ok_or_else(|| Problem::internal(&"a recording command left no recording"))?;
    Ok(reply(
        StatusCode::ACCEPTED,
        RecordingAccepted {
            recording_id: r.recording_id.as_str().to_owned(),
            state: r.state.into(),
        },
    ))
}

async fn run(
    api: Api,
    headers: HeaderMap,
    id: &str,
    body: Result<Bytes, BytesRejection>,
    command: MeetingCommand,
) -> Result<Response, Problem> {
    let principal = extract::principal(&api, &headers).await?;
    let id = meeting_id(id)?;
    extract::empty(&headers, &extract::bytes(body)?)?;
    let key = extract::idempotency_key(&headers)?;
    let m = api
        .engine
        .execute(&principal, Some(&id), command, key.as_deref())
        .await?;
    latest(&m)
}

/// Starts a cloud recording of a live meeting.
#[utoipa::path(post, path = "/v1/meetings/{id}/recordings:start", operation_id = "recordings.start", tag = "recordings",
    params(("id" = String, Path, description = "`mtg_…`")),
    request_body(content = Option<Object>, description = "Empty or `{}`"),
    responses(
        (status = 202, description = "Recording", body = RecordingAccepted),
        (status = 400, description = "Invalid body or header", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Missing `recording.write`, or not the host", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "Not LIVE, or already recording", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "A body that is not JSON", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["recording.write"])))]
pub(crate) async fn start(
    api: Api,
    headers: HeaderMap,
    id: &str,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    run(api, headers, id, body, MeetingCommand::StartRecording).await
}

/// Stops the active recording; it goes to `processing`.
#[utoipa::path(post, path = "/v1/meetings/{id}/recordings:stop", operation_id = "recordings.stop", tag = "recordings",
    params(("id" = String, Path, description = "`mtg_…`")),
    request_body(content = Option<Object>, description = "Empty or `{}`"),
    responses(
        (status = 202, description = "Processing", body = RecordingAccepted),
        (status = 400, description = "Invalid body or header", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Missing `recording.write`, or not the host", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "No active recording", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "A body that is not JSON", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["recording.write"])))]
pub(crate) async fn stop(
    api: Api,
    headers: HeaderMap,
    id: &str,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    run(api, headers, id, body, MeetingCommand::StopRecording).await
}

/// Lists a meeting's recordings.
#[utoipa::path(get, path = "/v1/meetings/{id}/recordings", operation_id = "recordings.list", tag = "recordings",
    params(
        ("id" = String, Path, description = "`mtg_…`"),
        ("page_size" = Option<i64>, Query, description = "1 to 300, default 50"),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page, in start order", body = RecordingList),
        (status = 400, description = "Invalid query", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Missing `recording.read`", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["recording.read"])))]
pub(crate) async fn list(
    State(api): State<Api>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Problem> {
    let principal = extract::principal(&api, &headers).await?;
    let id = meeting_id(&path(id)?)?;
    let q = Query::parse(raw.as_deref(), &["page_size", "cursor"])?;
    let page = api.engine.recordings(&principal, &id, &q.page()?).await?;
    let now = api.engine.clock().now();
    let config = api.engine.config();
    let recordings = page
        .items
        .iter()
        .map(|r| RecordingView::new(id.as_str(), r, config, now))
        .collect();
    Ok(reply(
        StatusCode::OK,
        RecordingList {
            recordings,
            next_cursor: page.next_cursor,
        },
    ))
}

/// Reads a recording, with freshly signed file URLs.
#[utoipa::path(get, path = "/v1/recordings/{rec_id}", operation_id = "recordings.get", tag = "recordings",
    params(("rec_id" = String, Path, description = "`rec_…`")),
    responses(
        (status = 200, description = "The recording", body = RecordingView),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Missing `recording.read`", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such recording in this account", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["recording.read"])))]
pub(crate) async fn get(
    State(api): State<Api>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, Problem> {
    let principal = extract::principal(&api, &headers).await?;
    let id = recording_id(&path(id)?)?;
    let (m, r) = api.engine.recording(&principal, &id).await?;
    Ok(reply(
        StatusCode::OK,
        RecordingView::new(m.id.as_str(), &r, api.engine.config(), api.engine.clock().now()),
    ))
}
