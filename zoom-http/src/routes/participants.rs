//! Participants: list, change role, admit, mute (one or every attendee), remove.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use zoom_core::engine::PageRequest;
use zoom_core::id::{MeetingId, ParticipantId};
use zoom_core::meeting::{MeetingCommand, ParticipantStatus, Role};
use zoom_core::principal::Principal;

use super::reply;
use crate::api::Api;
use crate::extract::{
    Caller, Empty, IdempotencyKey, Json, JsonOrEmpty, MeetingPath, NoQuery, PAGE_PARAMS, Params, ParticipantPath,
    Query, QueryParams,
};
use crate::problem::{Problem, ProblemDocument};
use crate::views::{MuteAllView, MuteInput, ParticipantList, ParticipantPatchInput, ParticipantView};

/// Runs `command` on the meeting and answers with the participant it touched.
async fn run(
    api: &Api,
    caller: &Principal,
    (id, pid): (&MeetingId, &ParticipantId),
    command: MeetingCommand,
    key: &IdempotencyKey,
) -> Result<Response, Problem> {
    let m = api.engine.execute(caller, Some(id), command, key.as_deref()).await?;
    let p = m
        .participant(pid)
        .ok_or_else(|| Problem::not_found(format!("participant {pid} not found")))?;
    Ok(reply(StatusCode::OK, ParticipantView::from(p)))
}

/// The filters of `GET /v1/meetings/{id}/participants`.
pub(crate) struct ParticipantFilter(Option<ParticipantStatus>, PageRequest);

impl QueryParams for ParticipantFilter {
    const NAMES: &'static [&'static str] = &["status", PAGE_PARAMS[0], PAGE_PARAMS[1]];

    fn from_query(q: &Query) -> Result<Self, Problem> {
        let status = q
            .get("status")
            .map(|s| {
                ParticipantStatus::parse(s)
                    .ok_or_else(|| Problem::invalid_field("status", "`status` must be waiting, joined or left"))
            })
            .transpose()?;
        Ok(Self(status, q.page()?))
    }
}

/// Lists a meeting's participants.
#[utoipa::path(get, path = "/v1/meetings/{id}/participants", operation_id = "participants.list", tag = "participants",
    params(
        MeetingPath,
        ("status" = Option<crate::views::ParticipantStatusView>, Query, description = "Only participants in this status"),
        crate::openapi::PageParams,
    ),
    responses((status = 200, description = "A page, in redemption order", body = ParticipantList)),
    security(("oauth2" = ["meeting.read"])))]
pub(crate) async fn list(
    State(api): State<Api>,
    Caller(caller): Caller,
    MeetingPath(id): MeetingPath,
    Params(ParticipantFilter(status, page)): Params<ParticipantFilter>,
) -> Result<Response, Problem> {
    let page = api.engine.participants(&caller, &id, status, &page).await?;
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
    params(ParticipantPath, IdempotencyKey),
    request_body = ParticipantPatchInput,
    responses(
        (status = 200, description = "The participant", body = ParticipantView),
        (status = 409, description = "The participant or meeting state forbids it", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("oauth2" = ["meeting.write"])))]
pub(crate) async fn patch(
    State(api): State<Api>,
    Caller(caller): Caller,
    ParticipantPath(id, pid): ParticipantPath,
    _: NoQuery,
    key: IdempotencyKey,
    Json(input): Json<ParticipantPatchInput>,
) -> Result<Response, Problem> {
    let command = MeetingCommand::ChangeRole {
        participant_id: pid.clone(),
        role: input.role.into(),
    };
    run(&api, &caller, (&id, &pid), command, &key).await
}

/// Removes a participant; their user gets no new join token for this meeting. The host cannot be
/// removed (409 `host_cannot_be_removed`).
#[utoipa::path(delete, path = "/v1/meetings/{id}/participants/{pid}", operation_id = "participants.remove", tag = "participants",
    params(ParticipantPath, IdempotencyKey),
    responses(
        (status = 204, description = "Removed (or had already left)"),
        (status = 409, description = "`host_cannot_be_removed`: the participant is the meeting's host", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("oauth2" = ["meeting.write"])))]
pub(crate) async fn remove(
    State(api): State<Api>,
    Caller(caller): Caller,
    ParticipantPath(id, pid): ParticipantPath,
    _: NoQuery,
    key: IdempotencyKey,
) -> Result<Response, Problem> {
    let command = MeetingCommand::Remove { participant_id: pid };
    api.engine.execute(&caller, Some(&id), command, key.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Admits a participant from the waiting room.
#[utoipa::path(post, path = "/v1/meetings/{id}/participants/{pid}:admit", operation_id = "participants.admit", tag = "participants",
    params(ParticipantPath, IdempotencyKey),
    request_body(content = crate::openapi::EmptyBody, description = "Nothing, or `{}`"),
    responses(
        (status = 200, description = "The participant, now joined", body = ParticipantView),
        (status = 409, description = "Not waiting", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("oauth2" = ["meeting.write"])))]
pub(crate) async fn admit(
    State(api): State<Api>,
    Caller(caller): Caller,
    ParticipantPath(id, pid): ParticipantPath,
    _: NoQuery,
    key: IdempotencyKey,
    _: Empty,
) -> Result<Response, Problem> {
    let command = MeetingCommand::Admit {
        participant_id: pid.clone(),
    };
    run(&api, &caller, (&id, &pid), command, &key).await
}

/// Mutes a participant's audio, video or both (authoritative; the SFU learns it from the event
/// stream as `participant.muted`). No body, or `{}`, mutes audio.
#[utoipa::path(post, path = "/v1/meetings/{id}/participants/{pid}/mute", operation_id = "participants.mute", tag = "participants",
    params(ParticipantPath, IdempotencyKey),
    request_body(content = MuteInput, description = "`{audio?, video?}`; nothing, or `{}`, mutes audio"),
    responses(
        (status = 200, description = "The participant, muted", body = ParticipantView),
        (status = 400, description = "`invalid_field` (`audio`): the body mutes nothing", body = ProblemDocument, content_type = "application/problem+json"),
        (status = 409, description = "Not in the meeting", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("oauth2" = ["meeting.write"])))]
pub(crate) async fn mute(
    State(api): State<Api>,
    Caller(caller): Caller,
    ParticipantPath(id, pid): ParticipantPath,
    _: NoQuery,
    key: IdempotencyKey,
    JsonOrEmpty(input): JsonOrEmpty<MuteInput>,
) -> Result<Response, Problem> {
    let (audio, video) = input.media();
    let command = MeetingCommand::Mute {
        participant_id: pid.clone(),
        audio,
        video,
    };
    run(&api, &caller, (&id, &pid), command, &key).await
}

/// Mutes every attendee who has not left (joined or waiting), not the host, not co-hosts: one
/// `participant.muted` for each attendee not yet muted as asked.
#[utoipa::path(post, path = "/v1/meetings/{id}/participants:muteAll", operation_id = "participants.mute_all", tag = "participants",
    params(MeetingPath, IdempotencyKey),
    request_body(content = MuteInput, description = "`{audio?, video?}`; nothing, or `{}`, mutes audio"),
    responses(
        (status = 200, description = "How many attendees are now muted", body = MuteAllView),
        (status = 400, description = "`invalid_field` (`audio`): the body mutes nothing", body = ProblemDocument, content_type = "application/problem+json"),
    ),
    security(("oauth2" = ["meeting.write"])))]
pub(crate) async fn mute_all(
    State(api): State<Api>,
    Caller(caller): Caller,
    MeetingPath(id): MeetingPath,
    _: NoQuery,
    key: IdempotencyKey,
    JsonOrEmpty(input): JsonOrEmpty<MuteInput>,
) -> Result<Response, Problem> {
    let (audio, video) = input.media();
    let command = MeetingCommand::MuteAll { audio, video };
    let m = api.engine.execute(&caller, Some(&id), command, key.as_deref()).await?;
    let muted = m
        .participants
        .iter()
        .filter(|p| p.role == Role::Attendee && p.status != ParticipantStatus::Left)
        .count();
    Ok(reply(
        StatusCode::OK,
        MuteAllView {
            muted: u64::try_from(muted).unwrap_or(u64::MAX),
        },
    ))
}
