//! The media seam (docs/api.md, "The media seam"): the SFU and the recording pipeline report
//! here.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use zoom_core::id::RecordingId;
use zoom_core::meeting::MeetingCommand;
use zoom_core::principal::Principal;

use super::reply;
use crate::api::Api;
use crate::extract::{Caller, Json, NoQuery, RecordingPath, meeting_id, participant_id};
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
        (status = 401, description = "No valid access token, or a bad, expired or reused join token", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 403, description = "Missing `media`, or the join rules refuse", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "The meeting ended", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 410, description = "The meeting was cancelled", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("oauth2" = ["media"])))]
pub(crate) async fn join(
    State(api): State<Api>,
    Caller(caller): Caller,
    _: NoQuery,
    Json(input): Json<MediaJoinInput>,
) -> Result<Response, Problem> {
    let (m, pid) = api.engine.redeem(&caller, &input.token).await?;
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
        (status = 404, description = "No such meeting or participant", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("oauth2" = ["media"])))]
pub(crate) async fn leave(
    State(api): State<Api>,
    Caller(caller): Caller,
    _: NoQuery,
    Json(input): Json<MediaLeaveInput>,
) -> Result<Response, Problem> {
    // Ids in a body name a resource like ids in a path: a malformed one is a 404.
    let id = meeting_id(&input.meeting_id)?;
    let pid = participant_id(&input.participant_id)?;
    if let Some(reason) = &input.reason {
        // The SFU's words are for the operator's log; the event records `left` either way.
        tracing::debug!(meeting = %id, participant = %pid, reason = %reason.chars().take(200).collect::<String>(), "leave");
    }
    let command = MeetingCommand::Leave {
        participant_id: pid.clone(),
    };
    let m = api.engine.execute(&caller, Some(&id), command, None).await?;
    let p = m
        .participant(&pid)
        .ok_or_else(|| Problem::not_found(format!("participant {pid} not found")))?;
    Ok(reply(StatusCode::OK, ParticipantView::from(p)))
}

/// Runs a pipeline report on the recording and answers with it.
async fn finish(api: &Api, caller: &Principal, rid: RecordingId, command: MeetingCommand) -> Result<Response, Problem> {
    let m = api.engine.execute_on_recording(caller, &rid, command).await?;
    let r = m
        .recording(&rid)
        .ok_or_else(|| Problem::not_found(format!("recording {rid} not found")))?;
    let now = api.engine.clock().now();
    Ok(reply(
        StatusCode::OK,
        RecordingView::new(m.id.as_str(), r, api.engine.config(), now),
    ))
}

/// Reports a recording's files; it becomes `completed`.
#[utoipa::path(post, path = "/v1/media/recordings/{rec_id}:complete", operation_id = "media.complete", tag = "media",
    params(RecordingPath),
    request_body = RecordingCompleteInput,
    responses(
        (status = 200, description = "The completed recording", body = RecordingView),
        (status = 409, description = "Not `processing`", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("oauth2" = ["media"])))]
pub(crate) async fn complete(
    State(api): State<Api>,
    Caller(caller): Caller,
    RecordingPath(rid): RecordingPath,
    _: NoQuery,
    Json(input): Json<RecordingCompleteInput>,
) -> Result<Response, Problem> {
    let command = MeetingCommand::CompleteRecording {
        recording_id: rid.clone(),
        duration_seconds: input.duration_seconds,
        files: input.files.into_iter().map(Into::into).collect(),
    };
    finish(&api, &caller, rid, command).await
}

/// Reports that the pipeline failed; the recording becomes `failed`.
#[utoipa::path(post, path = "/v1/media/recordings/{rec_id}:fail", operation_id = "media.fail", tag = "media",
    params(RecordingPath),
    request_body = RecordingFailInput,
    responses(
        (status = 200, description = "The failed recording", body = RecordingView),
        (status = 409, description = "Not `processing`", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("oauth2" = ["media"])))]
pub(crate) async fn fail(
    State(api): State<Api>,
    Caller(caller): Caller,
    RecordingPath(rid): RecordingPath,
    _: NoQuery,
    Json(input): Json<RecordingFailInput>,
) -> Result<Response, Problem> {
    let command = MeetingCommand::FailRecording {
        recording_id: rid.clone(),
        error_code: input.error_code,
        message: input.message,
    };
    finish(&api, &caller, rid, command).await
}
