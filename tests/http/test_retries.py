"""Retries: what is retried, how long the layer waits, and what the caller is told when it gives up."""

from __future__ import annotations

import email.utils
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import pytest

from shared.errors import (
    ConfigurationError,
    PermanentServiceError,
    ResourceExistsError,
    ResourceNotFoundError,
    TransientError,
    TransientServiceError,
)
from shared.http import Call, HttpClient, Pacing, VirtualClock, build_transport, retry_after_seconds
from tests.http.conftest import Reply, ScriptedServer


@asynccontextmanager
async def _budgeted(clock: VirtualClock, *, seconds: float) -> AsyncIterator[HttpClient]:
    """A client without tokens whose retry budget is `seconds`."""
    http = HttpClient(
        transport=build_transport(None, None),
        tokens=None,
        pacing=Pacing(clock),
        clock=clock,
        retry_budget_seconds=seconds,
    )
    try:
        yield http
    finally:
        await http.aclose()


def _call(server: ScriptedServer, method: str = "GET") -> Call:
    return Call(service="arm", method=method, url=f"{server.base_url}/things/1", template="/things/{id}")


async def test_429_with_retry_after_is_not_retried_before_the_wait_ends(
    http: HttpClient, server: ScriptedServer
) -> None:
    server.script = [
        Reply(429, {"error": {"code": "TooManyRequests", "message": "slow down"}}, {"Retry-After": "7"})
    ]
    server.script.append(Reply(200, {"ok": True}))
    response = await http.send(_call(server))
    assert response.json() == {"ok": True}
    assert len(server.arrivals) == 2
    assert server.arrivals[1] - server.arrivals[0] >= 7


async def test_a_retry_after_seen_by_one_call_holds_back_the_next_call_to_that_host(
    server: ScriptedServer, clock: VirtualClock
) -> None:
    server.script = [Reply(429, {}, {"Retry-After": "30"}), Reply(200, {})]
    async with _budgeted(clock, seconds=1) as http:
        with pytest.raises(TransientServiceError):
            await http.send(_call(server))
        await http.send(_call(server))
    assert server.arrivals[1] - server.arrivals[0] >= 30


async def test_server_errors_are_retried_until_they_pass(http: HttpClient, server: ScriptedServer) -> None:
    server.script = [Reply(503), Reply(500), Reply(502), Reply(200, {"done": 1})]
    response = await http.send(_call(server, "PUT"))
    assert response.json() == {"done": 1}
    assert len(server.arrivals) == 4


async def test_403_is_not_retried_and_carries_the_service_message(
    http: HttpClient, server: ScriptedServer
) -> None:
    server.script = [
        Reply(403, {"error": {"code": "AuthorizationFailed", "message": "no write on scope /x"}})
    ]
    with pytest.raises(PermanentServiceError) as caught:
        await http.send(_call(server, "PUT"))
    assert len(server.arrivals) == 1
    error = caught.value
    assert (error.service, error.status, error.code) == ("arm", 403, "AuthorizationFailed")
    assert error.call == "PUT /things/{id}"
    assert "no write on scope /x" in str(error)


async def test_principal_not_found_is_retried_slowly_until_replication_catches_up(
    http: HttpClient, server: ScriptedServer, clock: VirtualClock
) -> None:
    missing = Reply(400, {"error": {"code": "PrincipalNotFound", "message": "Principal abc does not exist"}})
    server.script = [missing, missing, missing, Reply(201, {})]
    await http.send(_call(server, "PUT"))
    assert len(server.arrivals) == 4
    assert all(wait >= 2.0 for wait in clock.slept)


async def test_role_assignment_exists_is_reported_as_already_existing(
    http: HttpClient, server: ScriptedServer
) -> None:
    server.script = [Reply(409, {"error": {"code": "RoleAssignmentExists", "message": "exists"}})]
    with pytest.raises(ResourceExistsError):
        await http.send(_call(server, "PUT"))
    assert len(server.arrivals) == 1


async def test_404_is_reported_as_not_found_without_retry(http: HttpClient, server: ScriptedServer) -> None:
    server.script = [Reply(404, {"error": {"code": "ResourceNotFound", "message": "gone"}})]
    with pytest.raises(ResourceNotFoundError):
        await http.send(_call(server))
    assert len(server.arrivals) == 1


async def test_when_the_budget_is_spent_the_caller_is_told_how_long_to_wait(
    server: ScriptedServer, clock: VirtualClock
) -> None:
    server.script = [Reply(429, {}, {"Retry-After": "4"})]
    async with _budgeted(clock, seconds=10) as http:
        with pytest.raises(TransientServiceError) as caught:
            await http.send(_call(server))
    assert caught.value.retry_after >= 4
    assert caught.value.status == 429
    assert 2 <= len(server.arrivals) <= 3


async def test_a_bearer_token_is_sent_for_the_scope_of_the_call(
    http: HttpClient, server: ScriptedServer
) -> None:
    call = Call(
        service="arm", method="GET", url=f"{server.base_url}/a", template="/a", scope="https://x/.default"
    )
    await http.send(call)
    assert server.headers_seen[0]["Authorization"] == "Bearer token-for-https://x/.default"


async def test_plain_http_to_a_remote_host_is_refused(http: HttpClient) -> None:
    call = Call(service="arm", method="GET", url="http://management.azure.com/x", template="/x")
    with pytest.raises(ConfigurationError, match="http://"):
        await http.send(call)


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert retry_after_seconds("12") == 12
    later = email.utils.formatdate(time.time() + 60, usegmt=True)
    waited = retry_after_seconds(later)
    assert waited is not None
    assert 55 <= waited <= 61
    assert retry_after_seconds("soon") is None


async def test_a_failing_token_endpoint_is_retried_before_the_call_is_sent(
    server: ScriptedServer, clock: VirtualClock
) -> None:
    class FlakyTokens:
        def __init__(self) -> None:
            self.calls = 0

        async def token(self, scope: str) -> str:
            self.calls += 1
            if self.calls == 1:
                raise TransientError("token endpoint busy", retry_after=1)
            return "token"

    tokens = FlakyTokens()
    http = HttpClient(transport=build_transport(None, None), tokens=tokens, pacing=Pacing(clock), clock=clock)
    call = Call(
        service="arm", method="GET", url=f"{server.base_url}/a", template="/a", scope="https://x/.default"
    )
    try:
        await http.send(call)
    finally:
        await http.aclose()
    assert tokens.calls == 2
    assert len(server.arrivals) == 1


async def test_a_token_echoed_in_a_service_error_message_is_redacted(
    http: HttpClient, server: ScriptedServer
) -> None:
    echoed = "Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJhcm0ifQ.c2lnbmF0dXJl"
    server.script = [Reply(400, {"error": {"code": "BadRequest", "message": f"rejected header {echoed}"}})]
    with pytest.raises(PermanentServiceError) as caught:
        await http.send(_call(server, "PUT"))
    assert "c2lnbmF0dXJl" not in str(caught.value)
    assert "c2lnbmF0dXJl" not in caught.value.service_message
    assert "rejected header" in str(caught.value)


async def test_a_post_that_failed_with_a_server_error_is_not_sent_again(
    http: HttpClient, server: ScriptedServer
) -> None:
    server.script = [Reply(503), Reply(201, {"id": "second"})]
    with pytest.raises(TransientServiceError):
        await http.send(_call(server, "POST"))
    assert len(server.arrivals) == 1


async def test_a_throttled_post_or_one_declared_idempotent_is_sent_again(
    http: HttpClient, server: ScriptedServer
) -> None:
    server.script = [Reply(429, {}, {"Retry-After": "1"}), Reply(503), Reply(200, {"done": 1})]
    with pytest.raises(TransientServiceError):
        await http.send(_call(server, "POST"))
    idempotent = replace(_call(server, "POST"), idempotent=True)
    assert (await http.send(idempotent)).json() == {"done": 1}
    assert len(server.arrivals) == 3


async def test_a_service_message_of_pages_is_cut_short(http: HttpClient, server: ScriptedServer) -> None:
    server.script = [Reply(400, {"error": {"code": "0x80040203", "message": "trace line\n" * 5000}})]
    with pytest.raises(PermanentServiceError) as caught:
        await http.send(_call(server, "PUT"))
    assert len(caught.value.service_message) < 1100
