#!/usr/bin/env bash
# Drives the OAuth 2 authorization server of a real zoom-server with authlib, a standard OAuth
# client library (scripts/oauth/authlib_flows.py): metadata discovery, client credentials,
# account_credentials, authorization code with PKCE (confidential and public clients), refresh
# with rotation and reuse detection, revocation and introspection. Used by .ci/run.
#   PYTHON: the interpreter that has authlib and requests.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/server.sh
"${PYTHON:-python3}" scripts/oauth/authlib_flows.py
