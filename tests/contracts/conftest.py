"""Contract checks reuse the engine's sandbox fixtures and record the product's exchanges."""

import pytest

from sandbox.server import Sandbox
from tests.contracts.flows import provision_an_environment, provision_on_an_app_registration
from tests.contracts.recording import Exchange, exchanges
from tests.engine.conftest import PolicyWriter, policy, runtime, signers, write_policy
from tests.http.conftest import clock, http, server

__all__ = ["clock", "exchanges", "http", "policy", "runtime", "server", "signers", "write_policy"]


@pytest.fixture
async def conversation(
    sandbox: Sandbox, write_policy: PolicyWriter, signers: list[bytes], exchanges: list[Exchange]
) -> list[Exchange]:
    """Every exchange of the product's two end-to-end conversations (see `flows`)."""
    await provision_an_environment(sandbox, write_policy, signers)
    await provision_on_an_app_registration(sandbox, write_policy, signers)
    return exchanges
