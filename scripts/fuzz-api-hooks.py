"""Schemathesis hooks for scripts/fuzz-api.sh (loaded through SCHEMATHESIS_HOOKS).

Signs every webhook delivery the way a form tool or a CRM would (Leadcycle-Signature, the scheme of
src/activities/signature.ts), so the fuzzer gets past the signature check into the webhook handlers.
The secret comes from LEADCYCLE_FUZZ_WEBHOOK_SECRET, set by scripts/fuzz-api.ts for its own API.
"""

import hashlib
import hmac
import json
import os
import time

import schemathesis
from schemathesis.core import NotSet

SECRET = os.environ.get("LEADCYCLE_FUZZ_WEBHOOK_SECRET", "")


@schemathesis.hook
def before_call(context, case, kwargs):
    if not SECRET or not case.operation.path.startswith("/v1/webhooks/"):
        return
    if isinstance(case.body, NotSet):
        raw = b""
    elif isinstance(case.body, bytes):
        raw = case.body
    else:
        try:
            raw = json.dumps(case.body).encode("utf-8")
        except (TypeError, ValueError):
            return  # not JSON: leave it unsigned, the API answers 401
        # Send exactly the bytes that were signed.
        case.body = raw
    timestamp = int(time.time())
    digest = hmac.new(SECRET.encode("utf-8"), f"{timestamp}.".encode("ascii") + raw, hashlib.sha256)
    if case.headers is None:
        case.headers = {}
    case.headers["leadcycle-signature"] = f"t={timestamp},v1={digest.hexdigest()}"
