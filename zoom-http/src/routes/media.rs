//! The media seam (DESIGN section 7): the SFU and the recording pipeline report here.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use zoom_core::meeting::MeetingCommand;

use super::{meeting_id, participant_id, path, recording_id, reply, split_action, unknown_action};
use crate::Api;
use crate::extract;
use crate::problem::{Problem, ProblemDocument};
use crate::views::{
    MediaJoinInput, MediaJoinView, MediaLeaveInput, ParticipantView, RecordingCompleteInput, RecordingFailInput,
    RecordingView,
};

/// Redeems a join token: the participant joins, or waits behind the waiting room.
#[utoipa::path(post, path = "/v1/media/joins", operation_id = "media.join", tag = "media",
    request_body = MediaJoinInput,
    responses(
        (status = 201, description = "The new participant", body = MediaJoinView),
        (status = 400, description = "Invalid body", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token, or a bad, expired or reused join token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Missing `media`, or the join rules refuse", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "The meeting ended", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 410, description = "The meeting was cancelled", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["media"])))]
pub(crate) async fn join(
    State(api): State<Api>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let principal = extract::principal(&api, &headers).await?;
    let body = extract::bytes(body)?;
    let input: MediaJoinInput = extract::json(&headers, &body)?;
    let (m, pid) = api.engine.redeem(&principal, &input.token).await?;
    let p = m
        .participant(&pid)
        .ok_or_else(|| Problem::internal(&format!("redeemed participant {pid} is missing")))?;
    Ok(reply(
        StatusCode::CREATED,
        MediaJoinView {
            participant_id: pid.as_str().to_owned(),
            meeting_id: m.id.as_str().to_owned(),
            role: p.role.into(),
            status: p.status.into(),
            audio_muted: p.audio_muted,
        },
    ))
}

/// Reports that a participant left. A duplicate leave is a no-op.
#[utoipa::path(post, path = "/v1/media/leaves", operation_id = "media.leave", tag = "media",
    request_body = MediaLeaveInput,
    responses(
        (status = 200, description = "The participant, left", body = ParticipantView),
        (status = 400, description = "Invalid body", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Missing `media`", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such meeting or participant", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["media"])))]
pub(crate) async fn leave(
    State(api): State<Api>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let principal = extract::principal(&api, &headers).await?;
    let body = extract::bytes(body)?;
    let input: MediaLeaveInput = extract::json(&headers, &body)?;
    let id = meeting_id(&input.meeting_id)?;
    let pid = participant_id(&input.participant_id)?;
    if let Some(reason) = &input.reason {
        // The SFU's words are for the operator's log; the event records `left` either way.
        tracing::debug!(meeting = %id, participant = %pid, reason = %reason.chars().take(200).collect::<String>(), "leave");
    }
    let m = api
        .engine
        .execute(
            &principal,
            Some(&id),
            MeetingCommand::Leave {
                participant_id: pid.clone(),
            },
            None,
        )
        .await?;
    let p = m
        .participant(&pid)
        .ok_or_else(|| Problem::not_found(format!("participant {pid} not found")))?;
    Ok(reply(StatusCode::OK, ParticipantView::from(p)))
}

/// `POST /v1/media/recordings/{rec_id}:action`.
pub(crate) async fn recording_action(
    State(api): State<Api>,
    headers: HeaderMap,
    segment: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let segment = path(segment)?;
    let (id, action) = split_action(&segment)?;
    match action {
        "complete" => complete(api, headers, id, body).await,
        "fail" => fail(api, headers, id, body).await,
        other => Err(unknown_action(other)),
    }
}

async fn finish(
    api: Api,
    headers: HeaderMap,
    id: &str,
    body: Result<Bytes, BytesRejection>,
    command: impl FnOnce(zoom_core::id::RecordingId, &Bytes) -> Result<MeetingCommand, Problem>,
) -> Result<Response, Problem> {
    let principal = extract::principal(&api, &headers).await?;
    let rid = recording_id(id)?;
    let body = extract::bytes(body)?;
    let command = command(rid.clone(), &body)?;
    let m = api.engine.execute_on_recording(&principal, &rid, command).await?;
    let r = m
        .recording(&rid)
        .ok_or_else(|| Problem::not_found(format!("recording {rid} not found")))?;
    Ok(reply(
        StatusCode::OK,
        RecordingView::new(m.id.as_str(), r, api.engine.config(), api.engine.clock().now()),
    ))
}

/// Reports a recording's files; it becomes `completed`.
#[utoipa::path(post, path = "/v1/media/recordings/{rec_id}:complete", operation_id = "media.complete", tag = "media",
    params(("rec_id" = String, Path, description = "`rec_…`")),
    request_body = RecordingCompleteInput,
    responses(
        (status = 200, description = "The completed recording", body = RecordingView),
        (status = 400, description = "Invalid body", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Missing `media`", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such recording", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "Not `processing`", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["media"])))]
pub(crate) async fn complete(
    api: Api,
    headers: HeaderMap,
    id: &str,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let h = headers.clone();
    finish(api, headers, id, body, move |recording_id, body| {
        let input: RecordingCompleteInput = extract::json(&h, body)?;
        Ok(MeetingCommand::CompleteRecording {
            recording_id,
            duration_seconds: input.duration_seconds,
            files: input
                .files
                .into_iter()
                .map(|f| zoom_core::meeting::RecordingFile {
                    file_type: f.file_type.into(),
                    storage_key: f.storage_key,
                    size_bytes: f.size_bytes,
                })
                .collect(),
        })
    })
    .await
}

/// Reports that the pipeline failed; the recording becomes `failed`.
#[utoipa::path(post, path = "/v1/media/recordings/{rec_id}:fail", operation_id = "media.fail", tag = "media",
    params(("rec_id" = String, Path, description = "`rec_…`")),
    request_body = RecordingFailInput,
    responses(
        (status = 200, description = "The failed recording", body = RecordingView),
        (status = 400, description = "Invalid body", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Missing `media`", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 404, description = "No such recording", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "Not `processing`", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["media"])))]
pub(crate) async fn fail(
    api: Api,
    headers: HeaderMap,
    id: &str,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    let h = headers.clone();
    finish(api, headers, id, body, move |recording_id, body| {
        let input: RecordingFailInput = extract::json(&h, body)?;
        Ok(MeetingCommand::FailRecording {
            recording_id,
            error_code: input.error_code,
            message: input.message,
        })
    })
    .await
}
