"""`--record DIR`: every exchange preflight had, redacted, as VCR cassettes like contracts/recordings/ holds
(azure-cli's YAML: `interactions` of `request` / `response`, `version: 1`), with a provenance file in the
format of contracts/MANIFEST.md, so a real tenant's replies can join the evidence.

Exchanges are taken at the transport, below every client: what is recorded is exactly what went over the
wire (bodies decoded). Token requests never pass here (azure-identity makes them), and the `Authorization`
header is dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import yaml

from shared.preflight._redaction import Redactor

DROPPED_HEADERS = frozenset({"authorization", "cookie", "set-cookie", "x-identity-header"})
MANIFEST = "MANIFEST.md"


@dataclass(frozen=True)
class Exchange:
    method: str
    url: str
    request_headers: tuple[tuple[str, str], ...]
    request_body: str
    status: int
    response_headers: tuple[tuple[str, str], ...]
    response_body: str


class RecordingTransport(httpx.AsyncBaseTransport):
    """Passes every request on and keeps a copy of it and of its reply."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner
        self.exchanges: list[Exchange] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        sent = (await request.aread()).decode("utf-8", errors="replace")
        response = await self._inner.handle_async_request(request)
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
        await response.aclose()
        decoded = httpx.Response(response.status_code, headers=response.headers, stream=httpx.ByteStream(raw))
        decoded.read()
        self.exchanges.append(
            Exchange(
                method=request.method,
                url=str(request.url),
                request_headers=tuple(request.headers.items()),
                request_body=sent,
                status=response.status_code,
                response_headers=tuple(response.headers.items()),
                response_body=decoded.text,
            )
        )
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=httpx.ByteStream(raw),
            extensions=response.extensions,
            request=request,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass(frozen=True)
class Provenance:
    """Where a recording comes from, for its MANIFEST."""

    cloud: str
    services: Mapping[str, str]  # host -> service name (arm, environments, bap, graph); others are Dataverse


def write_recording(
    directory: Path, exchanges: Iterable[Exchange], provenance: Provenance, sensitive: Iterable[str]
) -> list[Path]:
    """One cassette per service and a MANIFEST.md; the files written."""
    recorded = list(exchanges)
    redactor = Redactor(sensitive)
    for exchange in recorded:
        redactor.learn(exchange.url, url=True)
        host = urlsplit(exchange.url).hostname or ""
        if host not in provenance.services:  # a Dataverse organisation: its host's first label names it
            redactor.name(host.split(".", 1)[0])
        for text in (exchange.request_body, exchange.response_body):
            redactor.learn(text, _json(text))
        for _, value in (*exchange.request_headers, *exchange.response_headers):
            redactor.learn(value)
    by_service: dict[str, list[dict[str, Any]]] = {}
    for exchange in recorded:
        service = provenance.services.get(urlsplit(exchange.url).hostname or "", "dataverse")
        by_service.setdefault(service, []).append(_interaction(exchange, redactor))
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for service, interactions in sorted(by_service.items()):
        path = directory / f"preflight.{service}.yaml"
        document = {"interactions": interactions, "version": 1}
        path.write_text(
            yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120), encoding="utf-8"
        )
        written.append(path)
    manifest = directory / MANIFEST
    manifest.write_text(_manifest(by_service, provenance), encoding="utf-8")
    return [*written, manifest]


def _json(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _headers(headers: Iterable[tuple[str, str]], redactor: Redactor) -> dict[str, list[str]]:
    kept: dict[str, list[str]] = {}
    for name, value in headers:
        if name.lower() not in DROPPED_HEADERS:
            kept.setdefault(name, []).append(redactor.text(value))
    return kept


def _interaction(exchange: Exchange, redactor: Redactor) -> dict[str, Any]:
    try:
        reason = HTTPStatus(exchange.status).phrase
    except ValueError:
        reason = ""
    return {
        "request": {
            "body": redactor.text(exchange.request_body) if exchange.request_body else None,
            "headers": _headers(exchange.request_headers, redactor),
            "method": exchange.method,
            "uri": redactor.text(exchange.url),
        },
        "response": {
            "body": {"string": redactor.text(exchange.response_body)},
            "headers": _headers(exchange.response_headers, redactor),
            "status": {"code": exchange.status, "message": reason},
        },
    }


def _ppmi_version() -> str:
    try:
        return version("ppmi")
    except PackageNotFoundError:
        return "unknown"


def _manifest(by_service: Mapping[str, list[dict[str, Any]]], provenance: Provenance) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d")
    rows = []
    for service, interactions in sorted(by_service.items()):
        calls = sorted(
            {f"{i['request']['method']} {urlsplit(i['request']['uri']).path}" for i in interactions}
        )
        shown = "; ".join(calls[:12]) + (f"; and {len(calls) - 12} more" if len(calls) > 12 else "")
        statuses = ", ".join(sorted({str(i["response"]["status"]["code"]) for i in interactions}))
        rows.append(
            f"| `preflight.{service}.yaml` | real capture (redacted) | `ppmi preflight --record` (ppmi "
            f"{_ppmi_version()}), {provenance.cloud} cloud, recorded {when} | the tenant owner's | "
            f"{len(interactions)} interactions, statuses {statuses}: {shown} |"
        )
    return "\n".join(
        [
            "# Recorded by `ppmi preflight --record`",
            "",
            "Real replies of the services ppmi calls, from one tenant, redacted: bearer tokens and the "
            "`Authorization` header removed; every GUID (also in its upper-case, hyphenless and FIC-subject "
            "spellings) replaced by `00000000-0000-0000-0000-<n>`; hex strings of 16 characters or more "
            "replaced by a number of the same length; resource group, resource, identity, environment, "
            "organisation and user names, tag values and e-mail addresses replaced by `name-<n>`. The same "
            "value has the same placeholder throughout. Read each file before sharing it.",
            "",
            "To add them to the evidence, copy the cassettes into `contracts/recordings/` and these rows "
            "into `contracts/MANIFEST.md` (Source: say which tenant type and region, never its name).",
            "",
            "| File | Kind | Source (repo / path@commit or URL) | Licence | What it is / notes |",
            "|---|---|---|---|---|",
            *rows,
            "",
        ]
    )
