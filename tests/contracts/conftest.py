"""Contract checks reuse the engine's sandbox fixtures and record the product's exchanges; ARM's are judged by
Microsoft's OpenAPI specs, through a replaying server and the ARM client pointed at it."""

from collections.abc import AsyncIterator

import pytest

from sandbox.server import Sandbox
from shared.clients.arm import ArmClient
from shared.http import HttpClient
from tests.contracts.flows import provision_an_environment, provision_on_an_app_registration
from tests.contracts.openapi import OpenApi
from tests.contracts.recording import Exchange, exchanges
from tests.contracts.replay import ReplayServer, replaying
from tests.engine.conftest import PolicyWriter, policy, runtime, signers, write_policy
from tests.http.conftest import clock, http, server

__all__ = ["clock", "exchanges", "http", "policy", "runtime", "server", "signers", "write_policy"]

MSI_SPEC = "arm-msi/ManagedIdentity-2024-11-30.trimmed.json"
ROLES_SPEC = "arm-authorization/authorization-RoleAssignmentsCalls-2022-04-01.trimmed.json"
PERMISSIONS_SPEC = "arm-authorization/authorization-Permissions-2022-04-01.trimmed.json"
ARM_SPECS = (MSI_SPEC, ROLES_SPEC, PERMISSIONS_SPEC)


@pytest.fixture
async def conversation(
    sandbox: Sandbox, write_policy: PolicyWriter, signers: list[bytes], exchanges: list[Exchange]
) -> list[Exchange]:
    """Every exchange of the product's two end-to-end conversations (see `flows`)."""
    await provision_an_environment(sandbox, write_policy, signers)
    await provision_on_an_app_registration(sandbox, write_policy, signers)
    return exchanges


@pytest.fixture(scope="session")
def arm_specs() -> tuple[OpenApi, ...]:
    return tuple(OpenApi(spec) for spec in ARM_SPECS)


@pytest.fixture
async def replay() -> AsyncIterator[ReplayServer]:
    async with replaying() as server:
        yield server


@pytest.fixture
def arm(http: HttpClient, replay: ReplayServer) -> ArmClient:
    return ArmClient(http, replay.base_url)
