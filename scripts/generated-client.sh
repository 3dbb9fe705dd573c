#!/usr/bin/env bash
# Generates a Python client from a real zoom-server's /openapi.json with openapi-python-client
# and runs the walk-through through it (scripts/generated-client/walkthrough.py). Used by .ci/run.
#   OPENAPI_PYTHON_CLIENT: the generator command; PYTHON: the interpreter that has its
#   runtime dependencies (httpx, attrs, python-dateutil).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/server.sh

curl -sf "$BASE/openapi.json" > "$WORK/openapi.json"
(cd "$WORK" && "${OPENAPI_PYTHON_CLIENT:-openapi-python-client}" generate --path openapi.json --meta none \
  --output-path zoom_client --config "$OLDPWD/scripts/generated-client/config.yml" > generate.log 2>&1) \
  || { cat "$WORK/generate.log"; exit 1; }
PYTHONPATH="$WORK" "${PYTHON:-python3}" scripts/generated-client/walkthrough.py
