"""Resource groups: ARM refuses anything inside a group nobody created; tests and the demo create them."""

from __future__ import annotations

import httpx

from sandbox.server import Sandbox
from tests.sandbox.conftest import MSI_VERSION

RESOURCES_VERSION = {"api-version": "2021-04-01"}


def _group(sandbox: Sandbox, name: str) -> str:
    return f"/subscriptions/{sandbox.env['PPMI_SUBSCRIPTION_ID']}/resourceGroups/{name}"


def _identity(sandbox: Sandbox, group: str) -> str:
    return f"{_group(sandbox, group)}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/uami"


def test_an_identity_in_a_group_nobody_created_gets_resource_group_not_found(
    arm: httpx.Client, sandbox: Sandbox
) -> None:
    response = arm.put(_identity(sandbox, "rg-new"), params=MSI_VERSION, json={"location": "westeurope"})
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "ResourceGroupNotFound",
        "message": "Resource group 'rg-new' could not be found.",
        "details": [],
    }


def test_once_the_control_plane_creates_the_group_the_identity_can_be_made(
    arm: httpx.Client, sandbox: Sandbox
) -> None:
    sandbox.control.create_resource_group("rg-new")
    response = arm.put(_identity(sandbox, "rg-new"), params=MSI_VERSION, json={"location": "westeurope"})
    assert response.status_code == 201


def test_resource_groups_are_created_read_and_checked_through_arm(
    arm: httpx.Client, sandbox: Sandbox
) -> None:
    url = _group(sandbox, "rg-new")
    before = arm.head(url, params=RESOURCES_VERSION)
    created = arm.put(url, params=RESOURCES_VERSION, json={"location": "westeurope"})
    again = arm.put(url, params=RESOURCES_VERSION, json={"location": "westeurope", "tags": {"a": "b"}})
    after = arm.head(url, params=RESOURCES_VERSION)
    read = arm.get(url, params=RESOURCES_VERSION).json()
    assert [r.status_code for r in (before, created, again, after)] == [404, 201, 200, 204]
    assert (read["name"], read["tags"], read["properties"]) == (
        "rg-new",
        {"a": "b"},
        {"provisioningState": "Succeeded"},
    )


def test_a_resource_group_api_version_arm_does_not_serve_is_invalid(
    arm: httpx.Client, sandbox: Sandbox
) -> None:
    response = arm.get(_group(sandbox, "rg-ppmi"), params={"api-version": "2024-11-30"})
    error = response.json()["error"]
    assert (response.status_code, error["code"]) == (400, "InvalidApiVersionParameter")
    assert error["message"].startswith(
        "The api-version '2024-11-30' is invalid. The supported versions are '2024-08-01,"
    )
