//! Recordings: start, stop, list, read.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use zoom_core::id::MeetingId;
use zoom_core::meeting::MeetingCommand;
use zoom_core::principal::Principal;

use super::reply;
use crate::api::Api;
use crate::extract::{Caller, Empty, IdempotencyKey, MeetingPath, NoQuery, Page, Params, RecordingPath};
use crate::problem::{Problem, ProblemDocument};
use crate::views::{RecordingAccepted, RecordingList, RecordingView};

/// Runs a recording command and answers with the recording it touched: recordings are kept in
/// start order and at most one is active, so after a start or a stop it is the last one.
async fn run(
    api: &Api,
    caller: &Principal,
    id: &MeetingId,
    command: MeetingCommand,
    key: &IdempotencyKey,
) -> Result<Response, Problem> {
    let m = api.engine.execute(caller, Some(id), command, key.as_deref()).await?;
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

/// Starts a cloud recording of a live meeting.
#[utoipa::path(post, path = "/v1/meetings/{id}/recordings:start", operation_id = "recordings.start", tag = "recordings",
    params(MeetingPath, IdempotencyKey),
    request_body(content = crate::openapi::EmptyBody, description = "Nothing, or `{}`"),
    responses(
        (status = 202, description = "Recording", body = RecordingAccepted),
        (status = 409, description = "Not LIVE, or already recording", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("oauth2" = ["recording.write"])))]
pub(crate) async fn start(
    State(api): State<Api>,
    Caller(caller): Caller,
    MeetingPath(id): MeetingPath,
    _: NoQuery,
    key: IdempotencyKey,
    _: Empty,
) -> Result<Response, Problem> {
    run(&api, &caller, &id, MeetingCommand::StartRecording, &key).await
}

/// Stops the active recording; it goes to `processing`.
#[utoipa::path(post, path = "/v1/meetings/{id}/recordings:stop", operation_id = "recordings.stop", tag = "recordings",
    params(MeetingPath, IdempotencyKey),
    request_body(content = crate::openapi::EmptyBody, description = "Nothing, or `{}`"),
    responses(
        (status = 202, description = "Processing", body = RecordingAccepted),
        (status = 409, description = "No active recording", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("oauth2" = ["recording.write"])))]
pub(crate) async fn stop(
    State(api): State<Api>,
    Caller(caller): Caller,
    MeetingPath(id): MeetingPath,
    _: NoQuery,
    key: IdempotencyKey,
    _: Empty,
) -> Result<Response, Problem> {
    run(&api, &caller, &id, MeetingCommand::StopRecording, &key).await
}

/// Lists a meeting's recordings.
#[utoipa::path(get, path = "/v1/meetings/{id}/recordings", operation_id = "recordings.list", tag = "recordings",
    params(MeetingPath, crate::openapi::PageParams),
    responses((status = 200, description = "A page, in start order", body = RecordingList)),
    security(("oauth2" = ["recording.read"])))]
pub(crate) async fn list(
    State(api): State<Api>,
    Caller(caller): Caller,
    MeetingPath(id): MeetingPath,
    Params(Page(page)): Params<Page>,
) -> Result<Response, Problem> {
    let page = api.engine.recordings(&caller, &id, &page).await?;
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
    params(RecordingPath),
    responses((status = 200, description = "The recording", body = RecordingView)),
    security(("oauth2" = ["recording.read"])))]
pub(crate) async fn get(
    State(api): State<Api>,
    Caller(caller): Caller,
    RecordingPath(id): RecordingPath,
    _: NoQuery,
) -> Result<Response, Problem> {
    let (m, r) = api.engine.recording(&caller, &id).await?;
    let now = api.engine.clock().now();
    Ok(reply(
        StatusCode::OK,
        RecordingView::new(m.id.as_str(), &r, api.engine.config(), now),
    ))
}
