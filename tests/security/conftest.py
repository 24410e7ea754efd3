"""The engine runtime on the sandbox, a canary, and a record of every request the product tries to send."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from sandbox.server import Sandbox
from sandbox.state import Organization
from shared.http import ConnectToTransport
from tests.reliability.conftest import Signers, policy, policy_file, runtime, signers
from tests.security.canary import Canary

# The reliability suite's signers, policy and engine runtime, shared rather than copied.
__all__ = ["Signers", "policy", "policy_file", "runtime", "signers"]


@pytest.fixture(scope="session")
def canary_session() -> Iterator[Canary]:
    with Canary() as listening:
        yield listening


@pytest.fixture
def canary(canary_session: Canary) -> Canary:
    """The session's canary, with nothing heard yet."""
    canary_session.hits.clear()
    return canary_session


@pytest.fixture
def outbound(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every URL the product's HTTP layer tries to reach, recorded before any connection is made."""
    attempted: list[str] = []
    original = ConnectToTransport.handle_async_request

    async def recording(self: ConnectToTransport, request: httpx.Request) -> httpx.Response:
        attempted.append(str(request.url))
        return await original(self, request)

    monkeypatch.setattr(ConnectToTransport, "handle_async_request", recording)
    return attempted


@dataclass
class _ReportedOrganization(Organization):
    """An organisation the environments API reports under another URL than its real host."""

    reported_url: str = ""

    @property
    def url(self) -> str:
        return self.reported_url.removesuffix("/")


def report_dataverse_url(sandbox: Sandbox, environment_id: str, url: str) -> None:
    """Make the environments API (and BAP) report `url` as the environment's Dataverse URL."""

    def change() -> None:
        environment = sandbox.runtime.state.environments[environment_id]
        organization = environment.organization
        assert organization is not None
        values = {f.name: getattr(organization, f.name) for f in dataclasses.fields(organization)}
        environment.organization = _ReportedOrganization(**values, reported_url=url)

    sandbox.call_in_loop(change)
