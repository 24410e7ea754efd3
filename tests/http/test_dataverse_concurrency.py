"""Dataverse allows a user only so many concurrent requests per organisation; ppmi stays under its own cap."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web

from shared.clients.dataverse import DataverseClient
from shared.http import Call, HttpClient, Pacing, VirtualClock, build_transport
from tests.http.conftest import FixedTokens

CAP = 2
HOLD_SECONDS = (
    0.03  # how long each request stays in flight once the cap is reached, for excess ones to arrive
)


@dataclass
class InFlightServer:
    """Holds each request until `need` (default `CAP`) are in flight for its organisation, then a bit longer.

    The organisation is the first path segment when the request names one, else the Host header.
    """

    base_url: str = ""
    in_flight: Counter[str] = field(default_factory=Counter)
    peak: Counter[str] = field(default_factory=Counter)
    peak_overall: int = 0
    full: dict[str, asyncio.Event] = field(default_factory=dict)
    need: dict[str, int] = field(default_factory=dict)

    async def handle(self, request: web.Request) -> web.Response:
        organisation = request.match_info.get("organisation") or request.host
        full = self.full.setdefault(organisation, asyncio.Event())
        self.in_flight[organisation] += 1
        self.peak[organisation] = max(self.peak[organisation], self.in_flight[organisation])
        self.peak_overall = max(self.peak_overall, sum(self.in_flight.values()))
        if self.in_flight[organisation] >= self.need.get(organisation, CAP):
            full.set()
        try:
            await asyncio.wait_for(full.wait(), timeout=2.0)
            await asyncio.sleep(HOLD_SECONDS)
        finally:
            self.in_flight[organisation] -= 1
        return web.json_response({"managedidentityid": "00000000-0000-0000-0000-000000000001", "version": 2})


@pytest.fixture
async def in_flight_server() -> AsyncIterator[InFlightServer]:
    recorder = InFlightServer()
    app = web.Application()
    app.router.add_route("*", "/orgs/{organisation}/{tail:.*}", recorder.handle)
    app.router.add_route("*", "/{tail:.*}", recorder.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    recorder.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield recorder
    await runner.cleanup()


@pytest.fixture
async def capped_http(clock: VirtualClock) -> AsyncIterator[HttpClient]:
    client = HttpClient(
        transport=build_transport(None, None),
        tokens=FixedTokens(),
        pacing=Pacing(clock, dataverse_concurrency=CAP),
        clock=clock,
        timeout_seconds=5.0,
    )
    yield client
    await client.aclose()


async def test_many_reads_from_one_organisation_never_exceed_its_cap(
    in_flight_server: InFlightServer, capped_http: HttpClient
) -> None:
    dataverse = DataverseClient(capped_http, in_flight_server.base_url)
    rows = await asyncio.gather(
        *(dataverse.get_managed_identity(f"00000000-0000-0000-0000-00000000000{n}") for n in range(8))
    )

    assert all(row is not None for row in rows)
    (organisation,) = in_flight_server.peak
    assert in_flight_server.peak[organisation] == CAP


async def test_each_organisation_has_its_own_cap(
    in_flight_server: InFlightServer, capped_http: HttpClient
) -> None:
    def read(organisation: str, n: int) -> Call:
        return Call(
            service="dataverse",
            method="GET",
            url=f"{in_flight_server.base_url}/orgs/{organisation}/rows/{n}",
            template="/rows/{id}",
            organisation=f"{organisation}.crm.dynamics.com",
        )

    await asyncio.gather(
        *(capped_http.send(read(org, n)) for org in ("contoso", "fabrikam") for n in range(6))
    )

    assert in_flight_server.peak == Counter({"contoso": CAP, "fabrikam": CAP})
    assert in_flight_server.peak_overall == 2 * CAP


async def test_requests_to_other_services_are_not_held_by_the_cap(
    in_flight_server: InFlightServer, capped_http: HttpClient
) -> None:
    calls = [
        Call(service="arm", method="GET", url=f"{in_flight_server.base_url}/orgs/arm/{n}", template="/{n}")
        for n in range(2 * CAP)
    ]
    in_flight_server.need["arm"] = 2 * CAP  # answered only once all of them are in flight at once

    await asyncio.gather(*(capped_http.send(call) for call in calls))

    assert in_flight_server.peak["arm"] == 2 * CAP
