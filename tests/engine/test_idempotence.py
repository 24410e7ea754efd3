"""Every event type can be delivered twice: the second delivery finds nothing to write."""

from __future__ import annotations

import pytest

from sandbox.server import Sandbox
from shared.engine import Report, Runtime, open_runtime, process
from shared.settings import Settings
from tests.domain.certificates import ca_issued_der
from tests.engine.conftest import (
    FAST_BACKOFF,
    PolicyWriter,
    certificate_reference,
    event,
    succeed,
    writes,
)

QUIET = {"unchanged", "skipped"}


def outcomes(report: Report) -> set[str]:
    return {step.outcome for step in report.steps}


async def test_a_second_assembly_registration_changes_nothing(
    sandbox: Sandbox, runtime: Runtime, signers: list[bytes]
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    assembly = sandbox.control.register_plugin_assembly(environment.id, signers[0])
    registered = event(
        "pluginassembly.registered",
        environment.id,
        pluginAssemblyId=assembly,
        certificate=certificate_reference(signers[0]),
    )
    first = await succeed(runtime, registered)
    assert "created" in outcomes(first) or "updated" in outcomes(first)

    before = len(sandbox.requests)
    second = await succeed(runtime, registered)

    assert writes(sandbox, before) == []
    assert outcomes(second) <= QUIET
    (row,) = sandbox.control.rows(environment.id, "managedidentities")
    (bound,) = sandbox.control.rows(environment.id, "pluginassemblies")
    assert bound["_managedidentityid_value"] == row["managedidentityid"]


async def test_a_second_environment_deletion_writes_nothing(sandbox: Sandbox, runtime: Runtime) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    await succeed(runtime, event("environment.created", environment.id))
    deleted = event("environment.deleted", environment.id)
    await succeed(runtime, deleted)

    before = len(sandbox.requests)
    second = await succeed(runtime, deleted)

    assert writes(sandbox, before) == []
    assert "removed" not in outcomes(second)
    assert sandbox.control.dump()["identities"] == []
    assert sandbox.control.rows(environment.id, "managedidentities") == []


@pytest.fixture
def mixed_signers(signers: list[bytes]) -> list[bytes]:
    """A self-signed signer (one FIC in every format) and a CA-issued one (a different FIC per format)."""
    return [signers[0], ca_issued_der().leaf_der]


async def provision_on_format_1(sandbox: Sandbox, write_policy: PolicyWriter, trusted: list[bytes]) -> str:
    environment = sandbox.control.create_environment(display_name="Format 1")
    async with open_runtime(
        Settings.from_env(), write_policy(extra="formatVersion: 1", trusted=trusted), backoff=FAST_BACKOFF
    ) as runtime:
        await succeed(runtime, event("environment.created", environment.id))
    return environment.id


def row_version(sandbox: Sandbox, environment_id: str) -> int:
    (row,) = sandbox.control.rows(environment_id, "managedidentities")
    return int(row["version"])


def fics(sandbox: Sandbox) -> list[dict[str, object]]:
    (identity,) = sandbox.control.dump()["identities"]
    credentials: list[dict[str, object]] = identity["federatedIdentityCredentials"]
    return credentials


async def test_a_second_upgrade_changes_nothing(
    sandbox: Sandbox, write_policy: PolicyWriter, mixed_signers: list[bytes]
) -> None:
    environment_id = await provision_on_format_1(sandbox, write_policy, mixed_signers)
    on_format_1 = fics(sandbox)
    upgrade = event("identity.upgrade", environment_id, targetVersion=2)
    policy = write_policy(trusted=mixed_signers)
    async with open_runtime(Settings.from_env(), policy, backoff=FAST_BACKOFF) as runtime:
        await succeed(runtime, upgrade)
        assert row_version(sandbox, environment_id) == 2
        upgraded = fics(sandbox)
        assert upgraded != on_format_1

        before = len(sandbox.requests)
        again = await succeed(runtime, upgrade)

    assert writes(sandbox, before) == []
    assert outcomes(again) <= QUIET
    assert row_version(sandbox, environment_id) == 2
    assert fics(sandbox) == upgraded


async def test_a_second_revert_succeeds_and_writes_nothing(
    sandbox: Sandbox, write_policy: PolicyWriter, mixed_signers: list[bytes]
) -> None:
    environment_id = await provision_on_format_1(sandbox, write_policy, mixed_signers)
    on_format_1 = {fic["name"] for fic in fics(sandbox)}
    policy = write_policy(trusted=mixed_signers)
    async with open_runtime(Settings.from_env(), policy, backoff=FAST_BACKOFF) as runtime:
        await succeed(runtime, event("identity.upgrade", environment_id, targetVersion=2))
        revert = event("identity.upgrade", environment_id, targetVersion=2, revert=True)
        await succeed(runtime, revert)
        assert row_version(sandbox, environment_id) == 1
        reverted = fics(sandbox)
        assert {fic["name"] for fic in reverted} == on_format_1

        before = len(sandbox.requests)
        again = await process(revert, runtime)

    assert again.outcome == "succeeded", again.reason
    assert writes(sandbox, before) == []
    assert row_version(sandbox, environment_id) == 1
    assert fics(sandbox) == reverted
