#!/usr/bin/env bash
# Runs the README's walk-through against a real zoom-server process: every ```sh block of the
# "Walk-through" section, in order, then the Python sample. Exits non-zero when a step fails or
# when the webhook deliveries it shows did not succeed. Used by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --locked -q -p zoom-server -p webhook-receiver
# Wherever cargo puts its binaries (CARGO_TARGET_DIR, a workspace setting, ...), cargo says.
bin="$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)/debug"
work=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
port=$(free_port)
rport=$(free_port)
export BASE="http://127.0.0.1:$port"

ZOOM_BOOTSTRAP_CLIENT_ID=admin ZOOM_BOOTSTRAP_CLIENT_SECRET=change-me-please \
  "$bin/zoom-server" --listen "127.0.0.1:$port" --store "sqlite://$work/zoom.db" \
  --webhook-allow-cidr 127.0.0.1/32 --webhook-retry-schedule "1s,1s,2s,5s,10s,10s,30s" > "$work/server.log" 2>&1 &
server=$!
walk=""
cleanup() {
  kill "$server" 2>/dev/null || true
  # The walk-through runs in its own process group, so this also stops the receiver it started.
  [ -n "$walk" ] && kill -- "-$walk" 2>/dev/null || true
  rm -f receiver.log stream.log
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 100); do
  curl -sf "$BASE/healthz" > /dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log"; echo "the server exited" >&2; exit 1; }
  sleep 0.2
done
curl -sf "$BASE/healthz" > /dev/null || { cat "$work/server.log"; echo "the server did not start" >&2; exit 1; }

# The sh blocks of the Walk-through section, with the receiver on a free port.
awk '/^## Walk-through/{on=1; next} /^## /{on=0} on && /^```sh$/{inb=1; next} inb && /^```$/{inb=0; next} inb' README.md \
  | sed "s/127.0.0.1:9090/127.0.0.1:$rport/g" > "$work/walkthrough.sh"
test -s "$work/walkthrough.sh"
printf '\n# checks of the walk-through itself\n' >> "$work/walkthrough.sh"
cat >> "$work/walkthrough.sh" <<'CHECKS'
# A loaded machine (CI builds beside it) can start the receiver late: retries come every few
# seconds here, and the wait is two minutes.
for _ in $(seq 1 600); do
  ok=$(curl -s "$BASE/v1/webhooks/$WEBHOOK_ID/deliveries" -H "$AUTH" | jq '[.deliveries[] | select(.status_code == 200) | .event] | unique | length')
  [ "$ok" -ge 5 ] && break
  sleep 0.2
done
echo "events delivered with 200: $ok"
[ "$ok" -ge 5 ] || { curl -s "$BASE/v1/webhooks/$WEBHOOK_ID/deliveries" -H "$AUTH" | jq -c '.deliveries[]'; cat receiver.log; }
[ "$ok" -ge 5 ]
grep -q 'participant.joined' receiver.log
for _ in $(seq 1 50); do grep -q '^event: meeting.ended' stream.log && break; sleep 0.2; done
grep -q '^event: meeting.ended' stream.log
CHECKS
echo "--- running the README walk-through"
setsid bash -euo pipefail "$work/walkthrough.sh" &
walk=$!
wait "$walk"

echo "--- running the README Python sample"
awk '/^```python$/{inb=1; next} inb && /^```$/{exit} inb' README.md \
  | sed "s#BASE = \"http://127.0.0.1:8080\"#BASE = \"$BASE\"#" > "$work/sample.py"
grep -q "$BASE" "$work/sample.py"
python3 "$work/sample.py"
echo "--- README walk-through passed"
