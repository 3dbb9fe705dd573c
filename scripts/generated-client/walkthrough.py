"""The README walk-through, through a Python client that openapi-python-client generated from
the server's /openapi.json: OAuth, a meeting from schedule to end, participants, a recording,
a webhook subscription. Body-less actions (`:end`, `/mute`, `recordings:start`, ...) are called
without a body, as the document allows. Exits non-zero at the first answer that is not the
documented one. Run by scripts/generated-client.sh with the client package on sys.path."""

import datetime
import os
import sys

from zoom_client import AuthenticatedClient, Client
from zoom_client.api.media import media_complete, media_join, media_leave
from zoom_client.api.meetings import (
    meetings_end,
    meetings_get,
    meetings_join_token,
    meetings_list,
    meetings_patch,
    meetings_schedule,
)
from zoom_client.api.meta import meta_healthz
from zoom_client.api.oauth import oauth_token
from zoom_client.api.participants import participants_list, participants_mute
from zoom_client.api.recordings import recordings_get, recordings_start, recordings_stop
from zoom_client.api.webhooks import (
    webhooks_create,
    webhooks_delete,
    webhooks_list,
    webhooks_rotate_secret,
)
from zoom_client.models import (
    JoinTokenInput,
    MediaJoinInput,
    MediaLeaveInput,
    OauthTokenBody,
    PatchInput,
    RecordingCompleteInput,
    RecordingFileInput,
    ScheduleInput,
    SettingsInput,
    WebhookInput,
)

BASE = os.environ["BASE"]
calls = 0


def expect(response, status, what):
    """The parsed answer of `response`, which must have `status`."""
    global calls
    calls += 1
    if response.status_code != status:
        sys.exit(f"{what}: expected {status}, got {response.status_code}: {response.content!r}")
    print(f"ok {calls:2} {what}: {status}")
    return response.parsed


anonymous = Client(base_url=BASE)
expect(meta_healthz.sync_detailed(client=anonymous), 200, "GET /healthz")
token = expect(
    oauth_token.sync_detailed(
        client=anonymous,
        body=OauthTokenBody(grant_type="client_credentials", client_id="admin", client_secret="change-me-please"),
    ),
    200,
    "POST /oauth/token",
)
api = AuthenticatedClient(base_url=BASE, token=token.access_token)

start = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
meeting = expect(
    meetings_schedule.sync_detailed(
        client=api,
        body=ScheduleInput(topic="Weekly sync", start_time=start, duration_minutes=30, waiting_room=False,
                           settings=SettingsInput(mute_upon_entry=True)),
    ),
    201,
    "POST /v1/meetings",
)
mid = meeting.id
expect(meetings_get.sync_detailed(mid, client=api), 200, "GET /v1/meetings/{id}")
patched = expect(
    meetings_patch.sync_detailed(mid, client=api, body=PatchInput(settings=SettingsInput(auto_recording="none"))),
    200,
    "PATCH /v1/meetings/{id}",
)
assert patched.settings.mute_upon_entry is True, "a settings patch keeps the members it does not send"
listed = expect(meetings_list.sync_detailed(client=api, page_size=10), 200, "GET /v1/meetings")
assert any(m.id == mid for m in listed.meetings)

# The host (the app's own subject) joins, which starts the meeting, then a guest.
host_token = expect(
    meetings_join_token.sync_detailed(mid, client=api, body=JoinTokenInput(user_id=meeting.host_id)),
    200,
    "POST /v1/meetings/{id}/joinToken (host)",
)
host = expect(media_join.sync_detailed(client=api, body=MediaJoinInput(token=host_token.jwt)), 201, "POST /v1/media/joins (host)")
assert host.role == "host", host.role
guest_token = expect(
    meetings_join_token.sync_detailed(mid, client=api, body=JoinTokenInput(guest=True, display_name="Guest")),
    200,
    "POST /v1/meetings/{id}/joinToken (guest)",
)
guest = expect(media_join.sync_detailed(client=api, body=MediaJoinInput(token=guest_token.jwt)), 201, "POST /v1/media/joins (guest)")
muted = expect(
    participants_mute.sync_detailed(mid, guest.participant_id, client=api),
    200,
    "POST /v1/meetings/{id}/participants/{pid}/mute (no body)",
)
assert muted.audio_muted
expect(participants_list.sync_detailed(mid, client=api), 200, "GET /v1/meetings/{id}/participants")

started = expect(recordings_start.sync_detailed(mid, client=api), 202, "POST /v1/meetings/{id}/recordings:start (no body)")
expect(recordings_stop.sync_detailed(mid, client=api), 202, "POST /v1/meetings/{id}/recordings:stop (no body)")
expect(
    media_complete.sync_detailed(
        started.recording_id,
        client=api,
        body=RecordingCompleteInput(
            duration_seconds=61,
            files=[RecordingFileInput(type_="video", storage_key="rec/1.mp4", size_bytes=1024)],
        ),
    ),
    200,
    "POST /v1/media/recordings/{rec_id}:complete",
)
recording = expect(recordings_get.sync_detailed(started.recording_id, client=api), 200, "GET /v1/recordings/{rec_id}")
assert recording.state == "completed" and recording.files[0].url

expect(
    media_leave.sync_detailed(client=api, body=MediaLeaveInput(meeting_id=mid, participant_id=guest.participant_id)),
    200,
    "POST /v1/media/leaves",
)
ended = expect(meetings_end.sync_detailed(mid, client=api), 200, "POST /v1/meetings/{id}:end (no body)")
assert ended.state == "ENDED", ended.state

# A public address literal: accepted at subscribe time without a name to resolve.
hook = expect(
    webhooks_create.sync_detailed(client=api, body=WebhookInput(url="https://93.184.215.14/hook", events=["meeting.ended"])),
    201,
    "POST /v1/webhooks",
)
rotated = expect(webhooks_rotate_secret.sync_detailed(hook.id, client=api), 200, "POST /v1/webhooks/{id}:rotateSecret (no body)")
assert rotated.secret.startswith("whsec_")
expect(webhooks_list.sync_detailed(client=api), 200, "GET /v1/webhooks")
expect(webhooks_delete.sync_detailed(hook.id, client=api), 204, "DELETE /v1/webhooks/{id}")

print(f"generated client walk-through: {calls} calls answered as documented")
