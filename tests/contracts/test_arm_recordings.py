"""Real ARM traffic (contracts/recordings/): each reply fits the spec, and the client reads it unchanged."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from shared.clients.arm import ArmClient, IdentityAddress
from tests.contracts import arm_calls
from tests.contracts.openapi import OpenApi, Operation
from tests.contracts.cassettes import RECORDINGS, Interaction, interactions
from tests.contracts.replay import Canned, ReplayServer

ARM_RECORDINGS = sorted(
    path.name for path in RECORDINGS.iterdir() if not path.name.startswith("azure-cli.role.test_app")
)


def _calls(name: str, specs: tuple[OpenApi, ...]) -> list[tuple[Interaction, Operation]]:
    """The recording's ARM calls that ppmi makes too (its resource group and subscription reads are not)."""
    found = []
    for interaction in interactions(RECORDINGS / name):
        operation = next(
            (op for spec in specs if (op := spec.operation(interaction.method, interaction.url))), None
        )
        if operation is not None:
            found.append((interaction, operation))
    return found


@pytest.mark.parametrize("recording", ARM_RECORDINGS)
async def test_every_recorded_arm_reply_fits_the_spec_and_the_client_reads_it(
    recording: str, arm_specs: tuple[OpenApi, ...], arm: ArmClient, replay: ReplayServer
) -> None:
    calls = _calls(recording, arm_specs)
    assert calls, f"{recording} records none of ppmi's ARM calls"
    for interaction, operation in calls:
        assert operation.response_problems(interaction.status, interaction.body) == [], interaction.url
        replay.replies[:] = [Canned(interaction.status, interaction.body)]
        replay.received.clear()
        path = operation.path_values(interaction.url)

        result = await arm_calls.call(arm, operation.operation_id, path, interaction.request_body)

        wanted = arm_calls.expected(operation.operation_id, interaction.status, [interaction.body])
        assert arm_calls.read(result) == wanted, f"{interaction.method} {interaction.url}"


async def test_a_reply_that_lower_cases_resourcegroups_leaves_the_identity_where_ppmi_put_it(
    arm: ArmClient, replay: ReplayServer
) -> None:
    """The .NET SDK's recording: the request says resourceGroups, the reply's id says resourcegroups."""
    put = next(
        i
        for i in interactions(
            RECORDINGS / "azure-sdk-net.UserAssignedIdentityCollectionTests.CreateOrUpdate.json"
        )
        if i.method == "PUT" and "userAssignedIdentities" in i.url
    )
    assert "/resourcegroups/" in put.body["id"]
    segments = urlsplit(put.url).path.split("/")
    address = IdentityAddress(segments[2], segments[4], segments[-1])
    replay.replies[:] = [Canned(put.status, put.body, {"Location": put.headers["location"]})]

    identity, created = await arm.create_or_update_identity(address, location="westus2", tags={})

    assert created
    assert identity.address == address
    assert identity.address.resource_group == segments[4]
