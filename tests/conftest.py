"""Shared fixtures: one running sandbox per test session, reset before every test that asks for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.config import SandboxConfig
from sandbox.server import Sandbox

# The identity resource groups the suites' policies name, as a deployment would have created them.
DEPLOYED_RESOURCE_GROUPS = {"rg-ppmi": "westeurope", "rg-ppmi-identities": "westeurope"}


@pytest.fixture(scope="session")
def sandbox_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """The sandbox for the whole session (start-up costs one CA and two listeners, once)."""
    config = SandboxConfig(resource_groups=DEPLOYED_RESOURCE_GROUPS)
    with Sandbox(config, state_dir=tmp_path_factory.mktemp("sandbox")) as running:
        yield running


@pytest.fixture
def sandbox(sandbox_session: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """The session sandbox with fresh state and no faults, and its environment variables set for this test."""
    sandbox_session.reset()
    for name, value in sandbox_session.env.items():
        monkeypatch.setenv(name, value)
    return sandbox_session
