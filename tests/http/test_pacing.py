"""Pacing: requests wait for their token buckets, and a 429 slows the bucket down."""

from __future__ import annotations

from shared.http import Call, HttpClient, PaceKey, Pacing, Rate, VirtualClock, build_transport
from tests.http.conftest import Reply, ScriptedServer


async def test_writes_to_one_identity_are_spaced_by_its_rate(
    server: ScriptedServer, clock: VirtualClock
) -> None:
    pacing = Pacing(clock, rates={"identity-writes": Rate(per_second=0.25, burst=1)})
    http = HttpClient(transport=build_transport(None, None), tokens=None, pacing=pacing, clock=clock)
    pace = (PaceKey("identity-writes", "uami-1"),)
    call = Call(service="arm", method="PUT", url=f"{server.base_url}/f", template="/f", pace=pace)
    try:
        for _ in range(3):
            await http.send(call)
    finally:
        await http.aclose()
    gaps = [later - earlier for earlier, later in zip(server.arrivals, server.arrivals[1:], strict=False)]
    assert all(gap >= 4 for gap in gaps)


async def test_a_429_halves_the_rate_and_successes_win_it_back_slowly(
    server: ScriptedServer, clock: VirtualClock
) -> None:
    pacing = Pacing(clock, rates={"writes": Rate(per_second=8, burst=8)})
    http = HttpClient(transport=build_transport(None, None), tokens=None, pacing=pacing, clock=clock)
    pace = (PaceKey("writes", "sub"),)
    call = Call(service="arm", method="PUT", url=f"{server.base_url}/f", template="/f", pace=pace)
    server.script = [Reply(429, {}, {"Retry-After": "1"}), Reply(200)]
    try:
        await http.send(call)
        assert pacing.bucket(pace[0]).per_second < 8
        for _ in range(30):
            await http.send(call)
    finally:
        await http.aclose()
    assert pacing.bucket(pace[0]).per_second == 8
