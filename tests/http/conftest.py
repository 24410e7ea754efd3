"""A tiny loopback HTTP server that answers from a script, so the HTTP layer is tested over real sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from shared.http import HttpClient, Pacing, VirtualClock, build_transport


@dataclass
class Reply:
    status: int = 200
    body: object = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class ScriptedServer:
    """Answers each request with the next scripted reply (the last one repeats) and notes when it arrived."""

    clock: VirtualClock
    base_url: str = ""
    script: list[Reply] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)
    headers_seen: list[dict[str, str]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.arrivals.append(self.clock.now())
        self.headers_seen.append(dict(request.headers))
        reply = self.script[min(len(self.arrivals), len(self.script)) - 1] if self.script else Reply()
        return web.json_response(reply.body, status=reply.status, headers=reply.headers)


class FixedTokens:
    """A token source that counts how often it was asked."""

    def __init__(self) -> None:
        self.calls = 0

    async def token(self, scope: str) -> str:
        self.calls += 1
        return f"token-for-{scope}"


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
async def server(clock: VirtualClock) -> AsyncIterator[ScriptedServer]:
    scripted = ScriptedServer(clock=clock)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", scripted.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    scripted.base_url = f"http://127.0.0.1:{port}"
    yield scripted
    await runner.cleanup()


@pytest.fixture
async def http(clock: VirtualClock) -> AsyncIterator[HttpClient]:
    client = HttpClient(
        transport=build_transport(None, None),
        tokens=FixedTokens(),
        pacing=Pacing(clock),
        clock=clock,
        timeout_seconds=5.0,
        retry_budget_seconds=120.0,
    )
    yield client
    await client.aclose()
