"""Application Insights ingestion stand-in (`POST /v2.1/track`): records envelopes for tests to inspect."""

from __future__ import annotations

import gzip
import json
from typing import Any

from aiohttp import web

from sandbox.errors import error_response, unauthorized
from sandbox.routing import Call, StandIn
from sandbox.runtime import Runtime
from sandbox.state import TelemetryEnvelope
from sandbox.tokens import TokenRejected

MONITOR_AUDIENCE = "https://monitor.azure.com"
GZIP_MAGIC = b"\x1f\x8b"


def parse_envelopes(raw: bytes) -> list[Any]:
    """A JSON array, a single envelope, or newline-delimited JSON, as the exporters send them."""
    text = raw.decode("utf-8").strip()
    if not text:
        return []
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return parsed if isinstance(parsed, list) else [parsed]


class Ingestion(StandIn):
    name = "ingestion"

    def __init__(self, runtime: Runtime) -> None:
        super().__init__()
        self.runtime = runtime
        self.router.add("POST", r"/+v2(?:\.1)?/track", self.track)

    async def track(self, call: Call) -> web.StreamResponse:
        state = self.runtime.state
        authorization = call.request.headers.get("Authorization")
        authenticated = authorization is not None
        if authenticated:
            try:
                call.caller = self.runtime.authority.verify(authorization, {MONITOR_AUDIENCE})
            except TokenRejected as rejected:
                return unauthorized(self.name, rejected.reason, rejected.message, state.tenant_id)
        raw = await call.request.read()
        try:
            if raw[:2] == GZIP_MAGIC:  # aiohttp usually inflates Content-Encoding: gzip itself
                raw = gzip.decompress(raw)
            envelopes = parse_envelopes(raw)
        except (OSError, ValueError) as exc:
            return error_response(self.name, 400, "InvalidPayload", f"The payload could not be parsed: {exc}")
        errors = []
        for index, envelope in enumerate(envelopes):
            key = str(envelope.get("iKey", "")) if isinstance(envelope, dict) else ""
            if key.lower() != state.instrumentation_key:
                errors.append({"index": index, "statusCode": 400, "message": "Invalid instrumentation key"})
                continue
            state.telemetry.append(TelemetryEnvelope(envelope, authenticated, key))
        accepted = len(envelopes) - len(errors)
        status = 200 if not errors else (206 if accepted else 400)
        return web.json_response(
            {"itemsReceived": len(envelopes), "itemsAccepted": accepted, "errors": errors}, status=status
        )
