#!/usr/bin/env bash
# Runs schemathesis (every check, its stateful phase following the document's links) against a
# real zoom-server process and fails on any failure. Used by .ci/run.
#   SCHEMATHESIS: the command (default `schemathesis`); EXAMPLES: examples per operation
#   (default 30); MAX_TIME: the run's time budget in seconds (default 300).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/server.sh

# The event stream never ends, so no generated call to it could finish: it is left out (its
# contract is tested through the Router and a socket in zoom-http/tests/events.rs). Redelivery is
# left out too: the stateful phase follows a link from a new subscription to `:redeliver` with a
# made-up `delivery_id`, whose 404 it takes for the subscription's, and it ignores the check's
# scoping; its contract is tested in zoom-http/tests/webhook_selfservice.rs and
# zoom-webhooks/tests/selfservice.rs. The stateful phase is off for now: it takes the 404 of a
# subscription deleted after an idempotent creation was replayed for a lost resource (ST302),
# whatever the check's scoping says; it comes back once that replay is modelled.
"${SCHEMATHESIS:-schemathesis}" --config-file scripts/schemathesis.toml run "$BASE/openapi.json" \
  --header "Authorization: Bearer $TOKEN" \
  --checks all \
  --max-examples "${EXAMPLES:-30}" \
  --max-time "${MAX_TIME:-300}" \
  --request-timeout 10 \
  --exclude-operation-id events.stream \
  --exclude-operation-id webhooks.redeliver \
  --phases examples,coverage,fuzzing \
  --seed "${SEED:-1}" \
  --generation-database none \
  --no-color \
  --report junit --report-dir "${REPORT_DIR:-$WORK/report}" \
  --suppress-health-check all
