"""httpx clients that reach the sandbox with real Azure URLs (like `curl --connect-to`), for tests and tools.

The URL, Host header and TLS SNI stay those of the Azure service; only the TCP connection goes to loopback.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpcore
import httpx


class _ConnectTo(httpcore.SyncBackend):
    def __init__(self, host: str, port: int) -> None:
        self._host, self._port = host, port

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        return super().connect_tcp(self._host, self._port, timeout, local_address, socket_options)


class _AsyncConnectTo(httpcore.AnyIOBackend):
    def __init__(self, host: str, port: int) -> None:
        self._host, self._port = host, port

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return await super().connect_tcp(self._host, self._port, timeout, local_address, socket_options)


def _address(connect_to: str) -> tuple[str, int]:
    host, _, port = connect_to.rpartition(":")
    return host, int(port)


def connect_to_client(connect_to: str, ca_path: Path | str, **kwargs: Any) -> httpx.Client:
    """A client whose every connection goes to `connect_to` ("127.0.0.1:<port>"), trusting the sandbox CA."""
    context = ssl.create_default_context(cafile=str(ca_path))
    transport = httpx.HTTPTransport(verify=context)
    transport._pool = httpcore.ConnectionPool(
        ssl_context=context, network_backend=_ConnectTo(*_address(connect_to))
    )
    return httpx.Client(transport=transport, **kwargs)


def connect_to_async_client(connect_to: str, ca_path: Path | str, **kwargs: Any) -> httpx.AsyncClient:
    context = ssl.create_default_context(cafile=str(ca_path))
    transport = httpx.AsyncHTTPTransport(verify=context)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=context, network_backend=_AsyncConnectTo(*_address(connect_to)), max_connections=200
    )
    return httpx.AsyncClient(transport=transport, **kwargs)
