"""Preflight's ARM traffic judged by Microsoft's specs: each permissions request it sends and each reply of
the stand-in (contracts/arm-authorization/authorization-Permissions-2022-04-01.trimmed.json), and the
reading of an entry as azure-docs describes it."""

from __future__ import annotations

import json
import re

from sandbox.server import Sandbox
from shared.clients.arm import permission_from
from tests.contracts.documents import CONTRACTS
from tests.contracts.openapi import OpenApi
from tests.contracts.test_arm_traffic import _arm_exchanges, _problems
from tests.preflight.conftest import Tenant

DOCUMENTED = (
    CONTRACTS / "arm-authorization" / "azure-docs_resource-manager-api-authentication.permissions-sections.md"
)


def test_every_permissions_request_and_reply_fits_the_spec(
    tenant: Tenant, arm_specs: tuple[OpenApi, ...]
) -> None:
    sandbox: Sandbox = tenant.sandbox
    sandbox.configure(record_exchanges=True)

    tenant.run(tenant.environment_id)

    exchanges = _arm_exchanges(sandbox)
    asked = [e for e in exchanges if e.url.split("?")[0].endswith("/Microsoft.Authorization/permissions")]
    assert len(asked) >= 3
    assert _problems(exchanges, arm_specs) == []


def test_the_documented_reply_reads_as_azure_docs_says() -> None:
    """ "If an action is present in the allowed actions of any permission and not present in the disallowed
    actions of that permission, the user is allowed to perform that action"."""
    reply = json.loads(re.findall(r"^    (\{\"value\".*)$", DOCUMENTED.read_text(encoding="utf-8"), re.M)[0])
    contributor, reader = (permission_from(entry) for entry in reply["value"])

    assert contributor.allows("Microsoft.ManagedIdentity/userAssignedIdentities/write")
    assert not contributor.allows("Microsoft.Authorization/roleAssignments/write")
    assert not contributor.allows("microsoft.authorization/roleassignments/delete")
    assert reader.allows("Microsoft.Authorization/roleAssignments/read")
    assert not reader.allows("Microsoft.Authorization/roleAssignments/write")
