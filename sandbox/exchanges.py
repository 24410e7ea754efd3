"""Whole requests and replies, kept when `SandboxConfig.record_exchanges` is on, for the contract tests.

A stand-in calls `record` from its `finish` hook; a test reads `state.exchanges` (`Sandbox.call_in_loop`) and
judges the product's requests and the stand-in's replies by Microsoft's specs (tests/contracts/).
"""

from __future__ import annotations

from aiohttp import web

from sandbox.routing import Call
from sandbox.runtime import Runtime
from sandbox.state import Exchange


def record(runtime: Runtime, service: str, call: Call, response: web.StreamResponse) -> None:
    if not runtime.config.record_exchanges:
        return
    body = response.body if isinstance(response, web.Response) else b""
    runtime.state.exchanges.append(
        Exchange(
            service=service,
            method=call.request.method,
            url=str(call.request.url.with_scheme("https")),
            request_headers=dict(call.request.headers),
            request_body=call.body,
            status=response.status,
            response_headers=dict(response.headers),
            response_body=body if isinstance(body, bytes) else b"",
        )
    )
