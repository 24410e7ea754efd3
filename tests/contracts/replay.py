"""A loopback server that answers with recorded or published replies and keeps every request whole."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Canned:
    """A reply as Microsoft published or recorded it: status, headers, body (None: no body at all)."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Received:
    method: str
    url: str
    headers: dict[str, str]
    body: Any  # the parsed JSON body, or None


@dataclass
class ReplayServer:
    """Answers the n-th request with the n-th canned reply; `base_url` replaces a recording's host."""

    base_url: str = ""
    replies: list[Canned] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        url = f"{self.base_url}{request.path_qs}"
        body = json.loads(raw) if raw else None
        self.received.append(Received(request.method, url, dict(request.headers), body))
        reply = self.replies[len(self.received) - 1]
        payload = None if reply.body is None else json.dumps(reply.body).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"} if payload else {}
        return web.Response(status=reply.status, body=payload, headers=headers | reply.headers)


@asynccontextmanager
async def replaying() -> AsyncIterator[ReplayServer]:
    server = ReplayServer()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server._handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    server.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield server
    finally:
        await runner.cleanup()
