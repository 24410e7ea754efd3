"""Rows on subject format 1 upgrade to 2 and revert, for self-signed and CA-issued signers alike."""

from __future__ import annotations

from sandbox.server import Sandbox
from shared.engine import open_runtime, process
from shared.settings import Settings
from tests.domain.certificates import ca_issued_der
from tests.engine.conftest import FAST_BACKOFF, PolicyWriter, event, succeed, writes


def _row_version(sandbox: Sandbox, environment_id: str) -> int:
    (row,) = sandbox.control.rows(environment_id, "managedidentities")
    return int(row["version"])


def _subjects(sandbox: Sandbox) -> list[str]:
    (identity,) = sandbox.control.dump()["identities"]
    return [fic["properties"]["subject"] for fic in identity["federatedIdentityCredentials"]]


async def _provision_v1(sandbox: Sandbox, write_policy: PolicyWriter, signer: bytes) -> str:
    environment = sandbox.control.create_environment(display_name="Format 1")
    policy_v1 = write_policy(trusted=[signer], extra="formatVersion: 1")
    async with open_runtime(Settings.from_env(), policy_v1, backoff=FAST_BACKOFF) as runtime:
        await succeed(runtime, event("environment.created", environment.id))
    assert _row_version(sandbox, environment.id) == 1
    return environment.id


async def test_a_self_signed_v1_row_upgrades_and_reverts_keeping_its_one_fic(
    sandbox: Sandbox, write_policy: PolicyWriter, signers: list[bytes]
) -> None:
    """For a self-signed signer v1 and v2 present the same h/ subject: Entra refuses a second FIC for it."""
    environment_id = await _provision_v1(sandbox, write_policy, signers[0])
    before = _subjects(sandbox)

    async with open_runtime(
        Settings.from_env(), write_policy(trusted=[signers[0]]), backoff=FAST_BACKOFF
    ) as rt:
        upgraded = await process(event("identity.upgrade", environment_id, targetVersion=2), rt)
        assert upgraded.outcome == "succeeded", upgraded.reason
        assert _row_version(sandbox, environment_id) == 2
        assert _subjects(sandbox) == before

        reverted = await process(event("identity.upgrade", environment_id, targetVersion=2, revert=True), rt)
        assert reverted.outcome == "succeeded", reverted.reason
    assert _row_version(sandbox, environment_id) == 1
    assert _subjects(sandbox) == before


async def test_a_ca_issued_v1_row_upgrades_to_hashed_names_and_reverts_to_plain_ones(
    sandbox: Sandbox, write_policy: PolicyWriter
) -> None:
    leaf = ca_issued_der().leaf_der
    environment_id = await _provision_v1(sandbox, write_policy, leaf)
    (v1_subject,) = _subjects(sandbox)
    assert "/s/" in v1_subject

    async with open_runtime(
        Settings.from_env(), write_policy(trusted=[leaf]), backoff=FAST_BACKOFF
    ) as runtime:
        upgraded = await process(event("identity.upgrade", environment_id, targetVersion=2), runtime)
        assert upgraded.outcome == "succeeded", upgraded.reason
        (v2_subject,) = _subjects(sandbox)
        assert v2_subject != v1_subject
        assert _row_version(sandbox, environment_id) == 2

        mark = len(sandbox.requests)
        again = await process(event("identity.upgrade", environment_id, targetVersion=2), runtime)
        assert again.outcome == "succeeded"
        assert writes(sandbox, since=mark) == []

        reverted = await process(
            event("identity.upgrade", environment_id, targetVersion=2, revert=True), runtime
        )
        assert reverted.outcome == "succeeded", reverted.reason
    assert _subjects(sandbox) == [v1_subject]
    assert _row_version(sandbox, environment_id) == 1
