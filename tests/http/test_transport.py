"""Connect-to: requests keep their URL, Host header and TLS SNI while going to a loopback address."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trustme
from aiohttp import web

from shared.http import Call, HttpClient, Pacing, VirtualClock, build_transport
from shared.settings import ConnectTo


@pytest.fixture
async def tls_server(tmp_path: Path) -> AsyncIterator[tuple[int, Path, list[tuple[str, str]]]]:
    """An HTTPS server with a certificate for management.azure.com only; records (SNI, Host) per request."""
    authority = trustme.CA()
    certificate = authority.issue_cert("management.azure.com")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    server_names: list[str] = []
    context.sni_callback = lambda _socket, name, _context: server_names.append(name or "")
    seen: list[tuple[str, str]] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append((server_names[-1], request.headers["Host"]))
        return web.json_response({"path": request.path_qs})

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    yield runner.addresses[0][1], bundle, seen
    await runner.cleanup()


async def test_connect_to_keeps_url_host_header_and_sni(
    tls_server: tuple[int, Path, list[tuple[str, str]]],
) -> None:
    port, bundle, seen = tls_server
    clock = VirtualClock()
    transport = build_transport(ConnectTo(host="127.0.0.1", port=port), bundle)
    http = HttpClient(transport=transport, tokens=None, pacing=Pacing(clock), clock=clock)
    url = "https://management.azure.com/subscriptions/s?api-version=2024-11-30"
    try:
        response = await http.send(
            Call(service="arm", method="GET", url=url, template="/subscriptions/{sub}")
        )
    finally:
        await http.aclose()
    assert response.json() == {"path": "/subscriptions/s?api-version=2024-11-30"}
    assert str(response.request.url) == url
    assert seen == [("management.azure.com", "management.azure.com")]


async def test_a_certificate_from_an_untrusted_authority_is_refused(
    tls_server: tuple[int, Path, list[tuple[str, str]]],
) -> None:
    port, _bundle, seen = tls_server
    clock = VirtualClock()
    transport = build_transport(ConnectTo(host="127.0.0.1", port=port), None)
    http = HttpClient(
        transport=transport, tokens=None, pacing=Pacing(clock), clock=clock, retry_budget_seconds=1
    )
    try:
        with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED"):
            await http.send(
                Call(service="arm", method="GET", url="https://management.azure.com/", template="/")
            )
    finally:
        await http.aclose()
    assert seen == []
