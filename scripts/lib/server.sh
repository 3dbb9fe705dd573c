# Sourced by scripts that test a real zoom-server process: builds it, starts it on a free port
# with a memory store and the bootstrap admin app, waits until it serves, and stops it on exit.
# Sets BASE (its URL), TOKEN (an access token holding every scope) and WORK (a scratch directory).
cargo build --locked -q -p zoom-server
bin="$(cargo metadata --format-version 1 --no-deps | jq -r .target_directory)/debug"
WORK=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
export BASE="http://127.0.0.1:$port"
ZOOM_BOOTSTRAP_CLIENT_ID=admin ZOOM_BOOTSTRAP_CLIENT_SECRET=change-me-please \
  "$bin/zoom-server" --listen "127.0.0.1:$port" --store memory > "$WORK/server.log" 2>&1 &
server_pid=$!
stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  rm -rf "$WORK"
}
trap stop_server EXIT
for _ in $(seq 1 100); do
  curl -sf "$BASE/healthz" > /dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$WORK/server.log"; echo "the server exited" >&2; exit 1; }
  sleep 0.2
done
curl -sf "$BASE/healthz" > /dev/null || { cat "$WORK/server.log"; echo "the server did not start" >&2; exit 1; }
TOKEN=$(curl -s --fail-with-body -u admin:change-me-please -d grant_type=client_credentials "$BASE/oauth/token" | jq -r .access_token)
export TOKEN
