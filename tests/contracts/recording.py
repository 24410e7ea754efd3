"""Every HTTP exchange the product has with the services, recorded at its transport for contract checks."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from shared.engine import _runtime
from shared.http import build_transport

_DECODED = {"content-encoding", "content-length", "transfer-encoding"}  # the copy carries decoded content


@dataclass(frozen=True)
class Exchange:
    request: httpx.Request
    body: Any  # the request's JSON body, None without one
    status: int
    reply: Any  # the reply's JSON body, None without one

    @property
    def host(self) -> str:
        return self.request.url.host

    @property
    def path(self) -> str:
        return self.request.url.path


def _json(content: bytes) -> Any:
    try:
        return json.loads(content) if content else None
    except ValueError:
        return None


class RecordingTransport(httpx.AsyncBaseTransport):
    """Passes every request on unchanged and keeps a copy of it and of the reply."""

    def __init__(self, inner: httpx.AsyncBaseTransport, into: list[Exchange]) -> None:
        self._inner = inner
        self._into = into

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        content = await response.aread()
        self._into.append(Exchange(request, _json(request.content), response.status_code, _json(content)))
        headers = [(k, v) for k, v in response.headers.items() if k.lower() not in _DECODED]
        return httpx.Response(response.status_code, headers=headers, content=content, request=request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.fixture
def exchanges(monkeypatch: pytest.MonkeyPatch) -> list[Exchange]:
    """The exchanges of every runtime opened in the test."""
    recorded: list[Exchange] = []
    build = build_transport
    monkeypatch.setattr(_runtime, "build_transport", lambda *args: RecordingTransport(build(*args), recorded))
    return recorded


def of(conversation: list[Exchange], host: re.Pattern[str]) -> list[Exchange]:
    found = [exchange for exchange in conversation if host.fullmatch(exchange.host)]
    assert found, f"the product never called {host.pattern}"
    return found


def query(exchange: Exchange) -> dict[str, list[str]]:
    return parse_qs(exchange.request.url.query.decode(), keep_blank_values=True)


def followed_links(conversation: list[Exchange]) -> set[str]:
    """Page links the services handed out: opaque, so their query is the service's business."""
    return {
        str(exchange.reply[key])
        for exchange in conversation
        if isinstance(exchange.reply, dict)
        for key in ("@odata.nextlink", "@odata.nextLink")
        if key in exchange.reply
    }
