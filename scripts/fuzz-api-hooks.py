"""Schemathesis hooks for scripts/fuzz-api.sh (loaded through SCHEMATHESIS_HOOKS).

Signs every webhook delivery the way a form tool or a CRM would (Leadcycle-Signature, the scheme of
src/activities/signature.ts), so the fuzzer gets past the signature check into the webhook handlers.
The secrets, one per route, come from LEADCYCLE_FUZZ_FORMS_SECRET and LEADCYCLE_FUZZ_CRM_SECRET, set by
scripts/fuzz-api.ts for its own API.
Likewise, every other unsubscribe request gets its lead id's real token (src/activities/unsubscribe-link.ts,
secret LEADCYCLE_FUZZ_UNSUBSCRIBE_SECRET), so the fuzzer reaches the leads behind the 403 too.
Mautic's and Typeform's deliveries are dated now and signed as those vendors sign them
(LEADCYCLE_FUZZ_MAUTIC_SECRET, LEADCYCLE_FUZZ_TYPEFORM_SECRET), so the fuzzer reaches their mapping too.
"""

import base64
import hashlib
import hmac
import json
import os
import time
import zlib

import schemathesis
from schemathesis.core import NotSet

SECRETS = {
    "/v1/webhooks/forms": os.environ.get("LEADCYCLE_FUZZ_FORMS_SECRET", ""),
    "/v1/webhooks/crm": os.environ.get("LEADCYCLE_FUZZ_CRM_SECRET", ""),
}
UNSUBSCRIBE_SECRET = os.environ.get("LEADCYCLE_FUZZ_UNSUBSCRIBE_SECRET", "")
# The vendors that sign the body alone (src/api/vendors/): HubSpot signs the URL too, and stays unsigned
# here (its route is fuzzed up to its 401s).
VENDOR_SECRETS = {
    "/v1/webhooks/mautic": os.environ.get("LEADCYCLE_FUZZ_MAUTIC_SECRET", ""),
    "/v1/webhooks/typeform": os.environ.get("LEADCYCLE_FUZZ_TYPEFORM_SECRET", ""),
}


def sign_unsubscribe(case):
    lead_id = (case.path_parameters or {}).get("leadId")
    if not isinstance(lead_id, str) or not isinstance(case.query, dict):
        return
    # Every other case only, chosen by the lead id: forged tokens (403) stay in the run.
    if zlib.crc32(lead_id.encode("utf-8")) % 2:
        return
    digest = hmac.new(UNSUBSCRIBE_SECRET.encode("utf-8"), lead_id.encode("utf-8"), hashlib.sha256).digest()
    case.query["token"] = base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def sign_vendor(case, secret):
    """Dates the events now (so they are inside the window) and signs the body as Mautic and Typeform do."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    body = case.body
    if isinstance(body, dict) and case.operation.path.endswith("/typeform"):
        if isinstance(body.get("form_response"), dict):
            body["form_response"]["submitted_at"] = now
    elif isinstance(body, dict):
        for events in body.values():
            for event in events if isinstance(events, list) else []:
                if isinstance(event, dict):
                    event["timestamp"] = now
    try:
        raw = json.dumps(body).encode("utf-8")
    except (TypeError, ValueError):
        return
    case.body = raw
    digest = base64.b64encode(hmac.new(secret.encode("utf-8"), raw, hashlib.sha256).digest()).decode("ascii")
    if case.headers is None:
        case.headers = {}
    if case.operation.path.endswith("/typeform"):
        case.headers["typeform-signature"] = f"sha256={digest}"
    else:
        case.headers["webhook-signature"] = digest


@schemathesis.hook
def before_call(context, case, kwargs):
    if UNSUBSCRIBE_SECRET and case.operation.path.startswith("/v1/unsubscribe/"):
        sign_unsubscribe(case)
        return
    vendor = VENDOR_SECRETS.get(case.operation.path, "")
    if vendor and not isinstance(case.body, (NotSet, bytes)):
        sign_vendor(case, vendor)
        return
    secret = SECRETS.get(case.operation.path, "")
    if not secret:
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
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + raw, hashlib.sha256)
    if case.headers is None:
        case.headers = {}
    case.headers["leadcycle-signature"] = f"t={timestamp},v1={digest.hexdigest()}"
