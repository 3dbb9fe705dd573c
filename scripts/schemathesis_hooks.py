"""schemathesis hooks for scripts/schemathesis.sh (loaded through SCHEMATHESIS_HOOKS).

A replay of an `Idempotency-Key` answers the first request again (docs/api.md), so generated
requests that happen to share a key would test the replay rather than the request they are; a
replayed creation may even name a resource a later step deleted. Every valid key a generated
request carries is made unique here; invalid ones (empty, too long, not visible ASCII) are sent
as generated, to be refused. Replays have their own tests in the Rust suites.
"""

import uuid

import schemathesis


def _valid(key):
    return isinstance(key, str) and 1 <= len(key) <= 255 and all("!" <= c <= "~" for c in key)


@schemathesis.hook
def map_headers(context, headers):
    if headers and _valid(headers.get("Idempotency-Key")):
        headers["Idempotency-Key"] = f"st-{uuid.uuid4().hex}"
    return headers
