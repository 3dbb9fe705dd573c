//! Decisions: all the business rules of a meeting. Pure and synchronous.

use chrono::{DateTime, Utc};

use super::command::{JoinRequest, MeetingCommand, MeetingPatch, ScheduleMeeting, validate};
use super::event::*;
use super::state::*;
use crate::clock::Entropy;
use crate::error::DomainError;
use crate::id::{MeetingId, Name, ParticipantId, RecordingId, TokenId, UserId};
use crate::principal::{Principal, Scope};

/// What a decision may consult besides the state: the time, the caller and a source of fresh ids.
pub struct Context<'a> {
    /// The current instant.
    pub now: DateTime<Utc>,
    /// Who is asking.
    pub principal: &'a Principal,
    /// Fresh ids for new recordings and guests.
    pub entropy: &'a dyn Entropy,
}

/// Decides what happens when `command` runs against the meeting `id` in `state` (`None` when the
/// stream is empty). Returns the events to append, possibly none (an idempotent no-op).
///
/// # Errors
/// A [`DomainError`] saying why the command is refused; nothing is appended.
pub fn decide(
    id: &MeetingId,
    state: Option<&Meeting>,
    command: &MeetingCommand,
    ctx: &Context<'_>,
) -> Result<Vec<MeetingEvent>, DomainError> {
    // The scope was checked once, by the runner (or the test kit), before this decision.
    let meeting = match (state, command) {
        (None, MeetingCommand::Schedule(spec)) => return schedule(id, spec, ctx),
        (Some(_), MeetingCommand::Schedule(_)) => {
            return Err(DomainError::conflict(
                "already_exists",
                format!("meeting {id} already exists"),
            ));
        }
        (None, _) => return Err(DomainError::not_found("meeting", id)),
        (Some(m), _) => m,
    };
    authorize(meeting, command, ctx.principal)?;
    let now = ctx.now;
    match command {
        MeetingCommand::Schedule(_) => unreachable_schedule(),
        MeetingCommand::Update(patch) => update(meeting, patch, now),
        MeetingCommand::Cancel => cancel(meeting, now),
        MeetingCommand::End => match meeting.state {
            MeetingState::Live => Ok(end_events(meeting, EndReason::HostEnded, now, &[])),
            MeetingState::Ended => Ok(vec![]),
            MeetingState::Scheduled => Err(DomainError::conflict("meeting_not_live", "the meeting has not started")),
            MeetingState::Cancelled => Err(DomainError::conflict("meeting_cancelled", "the meeting was cancelled")),
        },
        MeetingCommand::Admit { participant_id } => admit(meeting, participant_id, ctx),
        MeetingCommand::Remove { participant_id } => depart(meeting, participant_id, LeftReason::Removed, now),
        MeetingCommand::Leave { participant_id } => depart(meeting, participant_id, LeftReason::Left, now),
        MeetingCommand::Mute {
            participant_id,
            audio,
            video,
        } => mute(meeting, participant_id, (*audio, *video), ctx),
        MeetingCommand::MuteAll { audio, video } => mute_all(meeting, (*audio, *video), ctx),
        MeetingCommand::ChangeRole { participant_id, role } => change_role(meeting, participant_id, *role, now),
        MeetingCommand::StartRecording => {
            if meeting.state != MeetingState::Live {
                return Err(DomainError::conflict(
                    "meeting_not_live",
                    "only a live meeting can be recorded",
                ));
            }
            if meeting.active_recording().is_some() {
                return Err(DomainError::conflict(
                    "already_recording",
                    "a recording is already active",
                ));
            }
            Ok(vec![start_recording(meeting, ctx)])
        }
        MeetingCommand::StopRecording => match meeting.active_recording() {
            Some(r) => Ok(vec![MeetingEvent::RecordingStopped(RecordingStopped {
                meeting_id: meeting.id.clone(),
                recording_id: r.recording_id.clone(),
                stopped_at: now,
            })]),
            None => Err(DomainError::conflict("no_active_recording", "no recording is active")),
        },
        MeetingCommand::Redeem { claims } => redeem(meeting, claims, ctx),
        MeetingCommand::CompleteRecording {
            recording_id,
            duration_seconds,
            files,
        } => {
            processing(meeting, recording_id)?;
            validate::recording_files(*duration_seconds, files)?;
            Ok(vec![MeetingEvent::RecordingCompleted(RecordingCompleted {
                meeting_id: meeting.id.clone(),
                recording_id: recording_id.clone(),
                duration_seconds: *duration_seconds,
                files: files.clone(),
                completed_at: now,
            })])
        }
        MeetingCommand::FailRecording {
            recording_id,
            error_code,
            message,
        } => {
            processing(meeting, recording_id)?;
            if error_code.trim().is_empty() || error_code.chars().count() > 100 {
                return Err(DomainError::invalid("error_code", "must be 1 to 100 characters"));
            }
            validate::no_control("error_code", error_code)?;
            Ok(vec![MeetingEvent::RecordingFailed(RecordingFailed {
                meeting_id: meeting.id.clone(),
                recording_id: recording_id.clone(),
                error_code: error_code.clone(),
                message: message.chars().take(2000).collect(),
                failed_at: now,
            })])
        }
    }
}

fn unreachable_schedule() -> Result<Vec<MeetingEvent>, DomainError> {
    // Handled before authorization; kept total without a panic.
    Err(DomainError::conflict("already_exists", "meeting already exists"))
}

/// Another account's meeting does not exist for this principal, except to the platform's media
/// credential at the media seam (one SFU serves every account); a user changes only what it hosts.
fn authorize(meeting: &Meeting, command: &MeetingCommand, principal: &Principal) -> Result<(), DomainError> {
    let media_seam = !command.needs_host_authority();
    let serves_every_account = media_seam && principal.has(Scope::Platform) && principal.has(Scope::Media);
    if meeting.account_id != principal.account_id && !serves_every_account {
        return Err(DomainError::not_found("meeting", &meeting.id));
    }
    if command.needs_host_authority() && !principal.acts_for_account() && principal.subject != meeting.host_id {
        return Err(DomainError::forbidden(
            "not_host",
            "only the meeting's host can do this",
        ));
    }
    Ok(())
}

/// Whether `principal` may see `meeting` at all.
///
/// # Errors
/// [`DomainError::NotFound`] for another account's meeting.
pub fn visible(meeting: &Meeting, principal: &Principal) -> Result<(), DomainError> {
    if meeting.account_id == principal.account_id {
        Ok(())
    } else {
        Err(DomainError::not_found("meeting", &meeting.id))
    }
}

fn schedule(id: &MeetingId, spec: &ScheduleMeeting, ctx: &Context<'_>) -> Result<Vec<MeetingEvent>, DomainError> {
    let host_id = match (&spec.host_id, ctx.principal.acts_for_account()) {
        (None, _) => ctx.principal.subject.clone(),
        (Some(h), true) => Name::parse(h).map_err(|e| DomainError::invalid("host_id", e.to_string()))?,
        (Some(h), false) if h == ctx.principal.subject.as_str() => ctx.principal.subject.clone(),
        (Some(_), false) => {
            return Err(DomainError::invalid(
                "host_id",
                "a user token always schedules as itself",
            ));
        }
    };
    let event = MeetingScheduled {
        meeting_id: id.clone(),
        account_id: ctx.principal.account_id.clone(),
        host_id,
        topic: validate::topic(&spec.topic)?,
        start_time: validate::start_time(&spec.start_time)?,
        duration_minutes: validate::duration_minutes(spec.duration_minutes)?,
        timezone: validate::timezone(spec.timezone.as_deref().unwrap_or("UTC"))?,
        passcode: spec.passcode.as_deref().map(validate::passcode).transpose()?,
        waiting_room: spec.waiting_room.unwrap_or(true),
        settings: spec.settings.clone().unwrap_or_default(),
        created_at: ctx.now,
    };
    Ok(vec![MeetingEvent::Scheduled(event)])
}

fn update(meeting: &Meeting, patch: &MeetingPatch, now: DateTime<Utc>) -> Result<Vec<MeetingEvent>, DomainError> {
    match meeting.state {
        MeetingState::Scheduled | MeetingState::Live => {}
        MeetingState::Ended | MeetingState::Cancelled => {
            return Err(DomainError::conflict(
                "meeting_not_editable",
                format!("a meeting in state {} cannot be edited", meeting.state.as_str()),
            ));
        }
    }
    if patch.host_id.is_some() {
        return Err(DomainError::invalid(
            "host_id",
            "the host of a meeting cannot be changed",
        ));
    }
    let topic = patch.topic.as_deref().map(validate::topic).transpose()?;
    let start_time = patch.start_time.as_deref().map(validate::start_time).transpose()?;
    let duration = patch.duration_minutes.map(validate::duration_minutes).transpose()?;
    let timezone = patch.timezone.as_deref().map(validate::timezone).transpose()?;
    let passcode = match &patch.passcode {
        Some(Some(p)) => Some(Some(validate::passcode(p)?)),
        Some(None) => Some(None),
        None => None,
    };
    if meeting.state == MeetingState::Live {
        if start_time.is_some_and(|t| t != meeting.start_time) {
            return Err(DomainError::conflict(
                "meeting_live",
                "a live meeting cannot change its start_time",
            ));
        }
        if duration.is_some_and(|d| d < meeting.duration_minutes) {
            return Err(DomainError::conflict(
                "meeting_live",
                "a live meeting can only extend its duration_minutes",
            ));
        }
    }
    // Only fields whose value changes go into the event, so a no-op patch appends nothing.
    fn changed<T: PartialEq>(new: Option<T>, old: &T) -> Option<T> {
        new.filter(|v| v != old)
    }
    let event = MeetingUpdated {
        meeting_id: meeting.id.clone(),
        topic: changed(topic, &meeting.topic),
        start_time: changed(start_time, &meeting.start_time),
        duration_minutes: changed(duration, &meeting.duration_minutes),
        timezone: changed(timezone, &meeting.timezone),
        passcode: changed(passcode, &meeting.passcode),
        waiting_room: changed(patch.waiting_room, &meeting.waiting_room),
        settings: changed(patch.settings.map(|s| meeting.settings.merged(&s)), &meeting.settings),
        updated_at: now,
    };
    let nothing = event.topic.is_none()
        && event.start_time.is_none()
        && event.duration_minutes.is_none()
        && event.timezone.is_none()
        && event.passcode.is_none()
        && event.waiting_room.is_none()
        && event.settings.is_none();
    Ok(if nothing {
        vec![]
    } else {
        vec![MeetingEvent::Updated(event)]
    })
}

fn cancel(meeting: &Meeting, now: DateTime<Utc>) -> Result<Vec<MeetingEvent>, DomainError> {
    match meeting.state {
        MeetingState::Scheduled => Ok(vec![MeetingEvent::Cancelled(MeetingCancelled {
            meeting_id: meeting.id.clone(),
            cancelled_at: now,
        })]),
        MeetingState::Cancelled => Ok(vec![]),
        MeetingState::Live => Err(DomainError::conflict(
            "meeting_live",
            "a live meeting cannot be cancelled; end it",
        )),
        MeetingState::Ended => Err(DomainError::conflict("meeting_ended", "the meeting has ended")),
    }
}

/// The events that end a live meeting: stop its recording, move everyone out, then end it.
/// `leaving` lists participants already leaving in the same decision.
fn end_events(
    meeting: &Meeting,
    reason: EndReason,
    now: DateTime<Utc>,
    leaving: &[&ParticipantId],
) -> Vec<MeetingEvent> {
    let mut events = Vec::new();
    if let Some(r) = meeting.active_recording() {
        events.push(MeetingEvent::RecordingStopped(RecordingStopped {
            meeting_id: meeting.id.clone(),
            recording_id: r.recording_id.clone(),
            stopped_at: now,
        }));
    }
    for p in &meeting.participants {
        if p.status != ParticipantStatus::Left && !leaving.contains(&&p.participant_id) {
            events.push(MeetingEvent::ParticipantLeft(ParticipantLeft {
                meeting_id: meeting.id.clone(),
                participant_id: p.participant_id.clone(),
                user_id: p.user_id.clone(),
                reason: LeftReason::MeetingEnded,
                left_at: now,
            }));
        }
    }
    let started = meeting.started_at.unwrap_or(now);
    events.push(MeetingEvent::Ended(MeetingEnded {
        meeting_id: meeting.id.clone(),
        ended_at: now,
        duration_seconds: u64::try_from((now - started).num_seconds()).unwrap_or(0),
        reason,
    }));
    events
}

fn participant<'m>(meeting: &'m Meeting, id: &ParticipantId) -> Result<&'m Participant, DomainError> {
    meeting
        .participant(id)
        .ok_or_else(|| DomainError::not_found("participant", id))
}

/// A participant leaves or is removed. A duplicate leave is a no-op; the last one out ends the meeting.
fn depart(
    meeting: &Meeting,
    id: &ParticipantId,
    reason: LeftReason,
    now: DateTime<Utc>,
) -> Result<Vec<MeetingEvent>, DomainError> {
    let p = participant(meeting, id)?;
    // Removed, the host could never rejoin their own meeting (a removed user gets no new token).
    if reason == LeftReason::Removed && p.role == Role::Host {
        return Err(DomainError::conflict(
            "host_cannot_be_removed",
            "the host cannot be removed from their own meeting; end the meeting instead",
        ));
    }
    if p.status == ParticipantStatus::Left {
        return Ok(vec![]);
    }
    let mut events = vec![MeetingEvent::ParticipantLeft(ParticipantLeft {
        meeting_id: meeting.id.clone(),
        participant_id: id.clone(),
        user_id: p.user_id.clone(),
        reason,
        left_at: now,
    })];
    let others_joined = meeting.participant_count() > usize::from(p.status == ParticipantStatus::Joined);
    if meeting.state == MeetingState::Live && p.status == ParticipantStatus::Joined && !others_joined {
        events.extend(end_events(meeting, EndReason::AllLeft, now, &[id]));
    }
    Ok(events)
}

fn start_recording(meeting: &Meeting, ctx: &Context<'_>) -> MeetingEvent {
    MeetingEvent::RecordingStarted(RecordingStarted {
        meeting_id: meeting.id.clone(),
        recording_id: RecordingId::from_entropy(ctx.entropy.id_bytes()),
        started_at: ctx.now,
    })
}

/// The events that take a scheduled meeting live (and start its automatic cloud recording).
fn go_live(meeting: &Meeting, ctx: &Context<'_>) -> Vec<MeetingEvent> {
    if meeting.state != MeetingState::Scheduled {
        return vec![];
    }
    let mut events = vec![MeetingEvent::Started(MeetingStarted {
        meeting_id: meeting.id.clone(),
        started_at: ctx.now,
    })];
    if meeting.settings.auto_recording == AutoRecording::Cloud {
        events.push(start_recording(meeting, ctx));
    }
    events
}

fn closed_for_joins(meeting: &Meeting) -> Result<(), DomainError> {
    match meeting.state {
        MeetingState::Cancelled => Err(DomainError::Gone {
            code: "meeting_cancelled",
            message: "the meeting was cancelled".into(),
        }),
        MeetingState::Ended => Err(DomainError::conflict("meeting_ended", "the meeting has ended")),
        MeetingState::Scheduled | MeetingState::Live => Ok(()),
    }
}

fn admit(meeting: &Meeting, id: &ParticipantId, ctx: &Context<'_>) -> Result<Vec<MeetingEvent>, DomainError> {
    closed_for_joins(meeting)?;
    let p = participant(meeting, id)?;
    match p.status {
        ParticipantStatus::Joined => return Ok(vec![]),
        ParticipantStatus::Left => {
            return Err(DomainError::conflict("participant_left", "the participant has left"));
        }
        ParticipantStatus::Waiting => {}
    }
    // The host's decision first, then the join it causes (which may take the meeting live).
    let mut events = vec![MeetingEvent::ParticipantAdmitted(ParticipantAdmitted {
        meeting_id: meeting.id.clone(),
        participant_id: id.clone(),
        user_id: p.user_id.clone(),
        display_name: p.display_name.clone(),
        by: ctx.principal.subject.clone(),
        at: ctx.now,
    })];
    events.extend(go_live(meeting, ctx));
    events.push(MeetingEvent::ParticipantJoined(ParticipantJoined {
        meeting_id: meeting.id.clone(),
        participant_id: id.clone(),
        user_id: p.user_id.clone(),
        subject: p.subject.clone(),
        display_name: p.display_name.clone(),
        role: p.role,
        audio_muted: p.audio_muted,
        video_off: p.video_off,
        jti: p.jti.clone(),
        admitted: true,
        joined_at: ctx.now,
    }));
    Ok(events)
}

/// What a mute asks for: `(audio, video)`, each true to mute that medium.
type Media = (bool, bool);

fn nothing_to_mute((audio, video): Media) -> Result<(), DomainError> {
    if audio || video {
        Ok(())
    } else {
        Err(DomainError::invalid(
            "audio",
            "nothing to mute: set audio or video to true (a host cannot unmute anyone)",
        ))
    }
}

/// The event that mutes `p` as asked, or `None` when it already is.
fn muted(meeting: &Meeting, p: &Participant, (audio, video): Media, ctx: &Context<'_>) -> Option<MeetingEvent> {
    let audio_muted = p.audio_muted || audio;
    let video_off = p.video_off || video;
    if audio_muted == p.audio_muted && video_off == p.video_off {
        return None;
    }
    Some(MeetingEvent::ParticipantMuted(ParticipantMuted {
        meeting_id: meeting.id.clone(),
        participant_id: p.participant_id.clone(),
        audio_muted,
        video_off,
        by: Some(ctx.principal.subject.clone()),
        at: ctx.now,
    }))
}

fn mute(
    meeting: &Meeting,
    id: &ParticipantId,
    media: Media,
    ctx: &Context<'_>,
) -> Result<Vec<MeetingEvent>, DomainError> {
    nothing_to_mute(media)?;
    let p = participant(meeting, id)?;
    if p.status == ParticipantStatus::Left {
        return Err(DomainError::conflict("participant_left", "the participant has left"));
    }
    Ok(muted(meeting, p, media, ctx).into_iter().collect())
}

/// Mutes every attendee who has not left; the host and co-hosts keep their microphones.
fn mute_all(meeting: &Meeting, media: Media, ctx: &Context<'_>) -> Result<Vec<MeetingEvent>, DomainError> {
    nothing_to_mute(media)?;
    Ok(meeting
        .participants
        .iter()
        .filter(|p| p.role == Role::Attendee && p.status != ParticipantStatus::Left)
        .filter_map(|p| muted(meeting, p, media, ctx))
        .collect())
}

fn change_role(
    meeting: &Meeting,
    id: &ParticipantId,
    role: Role,
    now: DateTime<Utc>,
) -> Result<Vec<MeetingEvent>, DomainError> {
    if role == Role::Host {
        return Err(DomainError::invalid(
            "role",
            "must be co_host or attendee; the host is fixed",
        ));
    }
    let p = participant(meeting, id)?;
    if p.status == ParticipantStatus::Left {
        return Err(DomainError::conflict("participant_left", "the participant has left"));
    }
    if p.role == Role::Host {
        return Err(DomainError::conflict(
            "participant_is_host",
            "the host's role cannot change",
        ));
    }
    if p.role == role {
        return Ok(vec![]);
    }
    Ok(vec![MeetingEvent::ParticipantRoleChanged(ParticipantRoleChanged {
        meeting_id: meeting.id.clone(),
        participant_id: id.clone(),
        role,
        at: now,
    })])
}

fn processing<'m>(meeting: &'m Meeting, id: &RecordingId) -> Result<&'m Recording, DomainError> {
    let r = meeting
        .recording(id)
        .ok_or_else(|| DomainError::not_found("recording", id))?;
    if r.state != RecordingState::Processing {
        return Err(DomainError::conflict(
            "recording_not_processing",
            "only a processing recording can complete or fail",
        ));
    }
    Ok(r)
}

/// Who a join token is for, decided by [`authorize_join`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinGrant {
    /// The token's `sub`: the user id, or `guest_…`.
    pub subject: String,
    /// The role the token carries.
    pub role: Role,
    /// The display name.
    pub display_name: String,
}

/// Decides whether `principal` may get a join token for `meeting`, and for whom.
///
/// # Errors
/// `Gone` for a cancelled meeting, `Conflict` for an ended one, `Forbidden` for a wrong passcode,
/// a removed user or a meeting not yet joinable, `Invalid` for a malformed request.
pub fn authorize_join(meeting: &Meeting, request: &JoinRequest, ctx: &Context<'_>) -> Result<JoinGrant, DomainError> {
    let principal = ctx.principal;
    if !principal.has(Scope::MeetingJoin) {
        return Err(DomainError::InsufficientScope(Scope::MeetingJoin));
    }
    visible(meeting, principal)?;
    closed_for_joins(meeting)?;
    let guest = request.guest.unwrap_or(false);
    let user: Option<UserId> = match principal.acts_for_account() {
        false => {
            if guest {
                return Err(DomainError::invalid("guest", "a user token always joins as itself"));
            }
            match &request.user_id {
                Some(u) if u != principal.subject.as_str() => {
                    return Err(DomainError::invalid("user_id", "a user token always joins as itself"));
                }
                _ => Some(principal.subject.clone()),
            }
        }
        true => match (&request.user_id, guest) {
            (Some(_), true) => return Err(DomainError::invalid("guest", "give either user_id or guest, not both")),
            (Some(u), false) => Some(Name::parse(u).map_err(|e| DomainError::invalid("user_id", e.to_string()))?),
            (None, true) => None,
            (None, false) => {
                return Err(DomainError::invalid("user_id", "required unless guest is true"));
            }
        },
    };
    let display_name = match (&request.display_name, &user) {
        (Some(n), _) => validate::display_name(n)?,
        (None, Some(u)) => u.as_str().to_owned(),
        (None, None) => return Err(DomainError::invalid("display_name", "a guest needs a display_name")),
    };
    // The host is never locked out, even of a meeting recorded before hosts could not be removed.
    if let Some(u) = &user
        && *u != meeting.host_id
        && meeting.removed_users.contains(u.as_str())
    {
        return Err(DomainError::forbidden(
            "participant_removed",
            "this user was removed from the meeting",
        ));
    }
    let is_host = user.as_ref() == Some(&meeting.host_id);
    if !is_host {
        if let Some(code) = &meeting.passcode
            && request.passcode.as_deref() != Some(code.as_str())
        {
            return Err(DomainError::forbidden(
                "invalid_passcode",
                "the passcode is missing or wrong",
            ));
        }
        if meeting.state == MeetingState::Scheduled && !meeting.settings.allow_join_before_host {
            return Err(DomainError::forbidden(
                "meeting_not_started",
                "the meeting is not joinable until the host starts it",
            ));
        }
    }
    let subject = match &user {
        Some(u) => u.as_str().to_owned(),
        None => format!("guest_{}", &TokenId::from_entropy(ctx.entropy.id_bytes()).as_str()[4..]),
    };
    Ok(JoinGrant {
        subject,
        role: if is_host { Role::Host } else { Role::Attendee },
        display_name,
    })
}

fn redeem(
    meeting: &Meeting,
    claims: &crate::token::JoinClaims,
    ctx: &Context<'_>,
) -> Result<Vec<MeetingEvent>, DomainError> {
    let invalid = |m: &str| DomainError::Unauthorized {
        code: "invalid_token",
        message: m.to_owned(),
    };
    let pid = ParticipantId::parse(&claims.pid).map_err(|_| invalid("the token's pid is malformed"))?;
    let jti = TokenId::parse(&claims.jti).map_err(|_| invalid("the token's jti is malformed"))?;
    if claims.mid != meeting.id.as_str() {
        return Err(invalid("the token is for another meeting"));
    }
    if meeting.redeemed(&jti) || meeting.participant(&pid).is_some() {
        return Err(DomainError::Unauthorized {
            code: "token_reused",
            message: "this join token was already redeemed".into(),
        });
    }
    closed_for_joins(meeting)?;
    if claims.sub != meeting.host_id.as_str() && meeting.removed_users.contains(&claims.sub) {
        return Err(DomainError::forbidden(
            "participant_removed",
            "this user was removed from the meeting",
        ));
    }
    // A host claim is honoured only for the meeting's host: a token minted before a change of
    // host, or by a key that signs for anyone, makes nobody else the host.
    let role = match claims.role.as_str() {
        "host" if claims.sub == meeting.host_id.as_str() => Role::Host,
        "host" => Role::Attendee,
        "co_host" => Role::CoHost,
        _ => Role::Attendee,
    };
    let user_id = if claims.sub.starts_with("guest_") {
        None
    } else {
        Name::parse(&claims.sub).ok()
    };
    if role != Role::Host && meeting.state == MeetingState::Scheduled && !meeting.settings.allow_join_before_host {
        return Err(DomainError::forbidden(
            "meeting_not_started",
            "the meeting is not joinable until the host starts it",
        ));
    }
    if role != Role::Host && meeting.waiting_room {
        return Ok(vec![MeetingEvent::ParticipantWaiting(ParticipantWaiting {
            meeting_id: meeting.id.clone(),
            participant_id: pid,
            user_id,
            subject: claims.sub.clone(),
            display_name: claims.name.clone(),
            role,
            jti,
            at: ctx.now,
        })]);
    }
    let mut events = go_live(meeting, ctx);
    events.push(MeetingEvent::ParticipantJoined(ParticipantJoined {
        meeting_id: meeting.id.clone(),
        participant_id: pid,
        user_id,
        subject: claims.sub.clone(),
        display_name: claims.name.clone(),
        role,
        audio_muted: meeting.settings.mute_upon_entry && role == Role::Attendee,
        video_off: false,
        jti,
        admitted: false,
        joined_at: ctx.now,
    }));
    Ok(events)
}
