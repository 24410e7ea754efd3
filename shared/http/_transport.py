"""How bytes leave the process: TLS with the system CAs plus an extra CA, and the connect-to redirect."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx

from shared.settings import ConnectTo


def tls_context(ca_bundle: Path | None) -> ssl.SSLContext:
    """The system trust store, plus `PPMI_CA_BUNDLE` when set (the sandbox's CA)."""
    context = ssl.create_default_context()
    if ca_bundle is not None:
        context.load_verify_locations(cafile=str(ca_bundle))
    return context


class ConnectToTransport(httpx.AsyncBaseTransport):
    """Send every HTTPS request to one loopback address, keeping its URL, `Host` header and TLS SNI.

    Like `curl --connect-to`: certificates are still verified against the original host name. Each original
    host gets its own connection pool so a connection opened for one name is never reused for another.
    """

    def __init__(self, target: ConnectTo, context: ssl.SSLContext) -> None:
        self._target = target
        self._context = context
        self._pools: dict[tuple[str, int], httpx.AsyncHTTPTransport] = {}
        self._plain = httpx.AsyncHTTPTransport(verify=context)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme != "https":
            return await self._plain.handle_async_request(request)
        origin = (url.host, url.port or 443)
        pool = self._pools.get(origin)
        if pool is None:
            pool = self._pools[origin] = httpx.AsyncHTTPTransport(verify=self._context)
        redirected = httpx.Request(
            request.method,
            url.copy_with(host=self._target.host, port=self._target.port),
            headers=request.headers,  # carries the original Host header
            stream=request.stream,
            extensions={**request.extensions, "sni_hostname": url.host},
        )
        return await pool.handle_async_request(redirected)

    async def aclose(self) -> None:
        await self._plain.aclose()
        for pool in self._pools.values():
            await pool.aclose()


def build_transport(connect_to: ConnectTo | None, ca_bundle: Path | None) -> httpx.AsyncBaseTransport:
    context = tls_context(ca_bundle)
    if connect_to is None:
        return httpx.AsyncHTTPTransport(verify=context)
    return ConnectToTransport(connect_to, context)
