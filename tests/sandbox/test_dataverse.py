"""Dataverse Web API: managed identity rows, component binding, server-side subjects, authorisation."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from sandbox.control import EnvironmentInfo
from sandbox.plugin_subjects import plugin_subject
from sandbox.server import Sandbox
from tests.sandbox.certificates import self_signed
from tests.sandbox.conftest import ODATA_HEADERS

API = "/api/data/v9.2"


@dataclass
class Org:
    environment: EnvironmentInfo
    client: httpx.Client


@pytest.fixture
def org(sandbox: Sandbox) -> Iterator[Org]:
    environment = sandbox.control.create_environment()
    url = environment.dataverse_url.rstrip("/")
    with sandbox.client(url, base_url=url, headers=ODATA_HEADERS) as client:
        yield Org(environment, client)


def identity_row(row_id: str | None = None) -> dict[str, object]:
    return {
        "managedidentityid": row_id or str(uuid.uuid4()),
        "applicationid": str(uuid.uuid4()),
        "tenantid": str(uuid.uuid4()),
        "credentialsource": 2,
        "subjectscope": 1,
        "version": 2,
        "name": "ppmi",
    }


def test_create_with_client_supplied_id_then_read_with_select(org: Org) -> None:
    row = identity_row()
    created = org.client.post(f"{API}/managedidentities", json=row)
    read = org.client.get(
        f"{API}/managedidentities({row['managedidentityid']})", params={"$select": "version,name"}
    )
    assert created.status_code == 204
    assert created.headers["OData-EntityId"].endswith(f"managedidentities({row['managedidentityid']})")
    body = read.json()
    assert (body["version"], body["name"], body["managedidentityid"]) == (2, "ppmi", row["managedidentityid"])
    assert "applicationid" not in body


def test_creating_the_same_id_twice_gets_412(org: Org) -> None:
    row = identity_row()
    org.client.post(f"{API}/managedidentities", json=row)
    response = org.client.post(f"{API}/managedidentities", json=row)
    assert response.status_code == 412
    assert response.json()["error"]["code"] == "0x80040237"


def test_patch_is_an_upsert(org: Org) -> None:
    row = identity_row()
    url = f"{API}/managedidentities({row['managedidentityid']})"
    assert (
        org.client.patch(url, json={k: v for k, v in row.items() if k != "managedidentityid"}).status_code
        == 204
    )
    assert org.client.get(url).json()["version"] == 2


def test_patch_with_if_match_star_does_not_create(org: Org) -> None:
    response = org.client.patch(
        f"{API}/managedidentities({uuid.uuid4()})", json={"version": 2}, headers={"If-Match": "*"}
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "0x80040217"


def test_patch_with_if_none_match_star_does_not_update(org: Org) -> None:
    row = identity_row()
    org.client.post(f"{API}/managedidentities", json=row)
    response = org.client.patch(
        f"{API}/managedidentities({row['managedidentityid']})",
        json={"version": 1},
        headers={"If-None-Match": "*"},
    )
    assert response.status_code == 412


def test_unknown_column_is_refused(org: Org) -> None:
    response = org.client.post(f"{API}/managedidentities", json={**identity_row(), "colour": "blue"})
    assert response.status_code == 400
    assert "colour" in response.json()["error"]["message"]


def test_invalid_choice_value_is_refused(org: Org) -> None:
    assert (
        org.client.post(
            f"{API}/managedidentities", json={**identity_row(), "credentialsource": 9}
        ).status_code
        == 400
    )


def test_binding_a_plugin_assembly_reads_back(org: Org, sandbox: Sandbox) -> None:
    assembly = sandbox.control.register_plugin_assembly(org.environment.id, self_signed())
    row = identity_row()
    org.client.post(f"{API}/managedidentities", json=row)
    bind = {"managedidentityid@odata.bind": f"/managedidentities({row['managedidentityid']})"}
    assert org.client.patch(f"{API}/pluginassemblies({assembly})", json=bind).status_code == 204
    read = org.client.get(
        f"{API}/pluginassemblies({assembly})", params={"$select": "_managedidentityid_value,name"}
    )
    assert read.json()["_managedidentityid_value"] == row["managedidentityid"]


def test_binding_to_a_missing_identity_row_is_refused(org: Org, sandbox: Sandbox) -> None:
    package = sandbox.control.register_plugin_package(org.environment.id, self_signed())
    bind = {"managedidentityid@odata.bind": f"/managedidentities({uuid.uuid4()})"}
    response = org.client.patch(f"{API}/pluginpackages({package})", json=bind)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "0x80040217"


def test_deleting_the_identity_row_unbinds_its_components(org: Org, sandbox: Sandbox) -> None:
    package = sandbox.control.register_plugin_package(org.environment.id, self_signed())
    row = identity_row()
    org.client.post(f"{API}/managedidentities", json=row)
    org.client.patch(
        f"{API}/pluginpackages({package})",
        json={"managedidentityid@odata.bind": f"/managedidentities({row['managedidentityid']})"},
    )
    assert org.client.delete(f"{API}/managedidentities({row['managedidentityid']})").status_code == 204
    assert org.client.get(f"{API}/pluginpackages({package})").json()["_managedidentityid_value"] is None


def test_components_are_filtered_by_bound_identity(org: Org, sandbox: Sandbox) -> None:
    first = sandbox.control.register_plugin_assembly(org.environment.id, self_signed(), name="First")
    sandbox.control.register_plugin_assembly(org.environment.id, self_signed(), name="Second")
    row = identity_row()
    org.client.post(f"{API}/managedidentities", json=row)
    org.client.patch(
        f"{API}/pluginassemblies({first})",
        json={"managedidentityid@odata.bind": f"/managedidentities({row['managedidentityid']})"},
    )
    listed = org.client.get(
        f"{API}/pluginassemblies",
        params={"$select": "name", "$filter": f"_managedidentityid_value eq {row['managedidentityid']}"},
    ).json()["value"]
    assert [item["name"] for item in listed] == ["First"]


def test_component_subject_is_computed_server_side(org: Org, sandbox: Sandbox) -> None:
    der = self_signed()
    assembly = sandbox.control.register_plugin_assembly(org.environment.id, der)
    response = org.client.get(
        f"{API}/GetComponentManagedIdentityFIC(ComponentId={assembly},ComponentName='pluginassembly')"
    )
    expected = plugin_subject(der, tenant_id=sandbox.env["PPMI_TENANT_ID"], environment_id=org.environment.id)
    assert response.json()["FICSubject"] == expected


def test_component_subject_can_use_the_organization_id(org: Org, sandbox: Sandbox) -> None:
    sandbox.configure(fic_subject_environment="organization")
    package = sandbox.control.register_plugin_package(org.environment.id, self_signed())
    response = org.client.get(
        f"{API}/GetComponentManagedIdentityFIC(ComponentId={package},ComponentName='pluginpackage')"
    )
    assert f"/e/{org.environment.organization_id}/" in response.json()["FICSubject"]


def test_application_users_are_found_by_application_id(org: Org, sandbox: Sandbox) -> None:
    app_id = sandbox.env["AZURE_CLIENT_ID"]
    listed = org.client.get(
        f"{API}/systemusers", params={"$filter": f"applicationid eq {app_id}", "$select": "systemuserid"}
    ).json()["value"]
    assert len(listed) == 1


def test_dataverse_caller_that_is_not_an_application_user_gets_403(org: Org, sandbox: Sandbox) -> None:
    stranger = sandbox.control.mint_token(org.environment.dataverse_url.rstrip("/"), app_id=str(uuid.uuid4()))
    response = org.client.get(f"{API}/managedidentities", headers={"Authorization": f"Bearer {stranger}"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "0x80072560"


def test_application_user_without_a_security_role_lacks_the_privilege(org: Org, sandbox: Sandbox) -> None:
    app_id = str(uuid.uuid4())
    sandbox.control.add_application_user(org.environment.id, app_id, privileged=False)
    token = sandbox.control.mint_token(org.environment.dataverse_url.rstrip("/"), app_id=app_id)
    response = org.client.post(
        f"{API}/managedidentities", json=identity_row(), headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "0x80040220"
    assert "prvCreatemanagedidentity" in response.json()["error"]["message"]


def test_token_for_another_organization_is_refused(org: Org, sandbox: Sandbox) -> None:
    other = sandbox.control.create_environment()
    token = sandbox.control.mint_token(other.dataverse_url.rstrip("/"))
    response = org.client.get(f"{API}/managedidentities", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_odata_version_headers_are_recommended_not_required(org: Org, sandbox: Sandbox) -> None:
    url = org.environment.dataverse_url.rstrip("/")
    with sandbox.client(url, base_url=url) as bare:
        assert bare.get(f"{API}/managedidentities").status_code == 200
        older = bare.get(f"{API}/managedidentities", headers={"OData-MaxVersion": "3.0"})
    assert older.status_code == 400


def test_table_metadata_is_served_as_entity_definitions(org: Org) -> None:
    found = org.client.get(
        f"{API}/EntityDefinitions",
        params={
            "$select": "LogicalName,EntitySetName,PrimaryIdAttribute",
            "$filter": "LogicalName eq 'managedidentity'",
        },
    ).json()["value"]
    (choices,) = [
        attribute
        for attribute in org.client.get(
            f"{API}/EntityDefinitions(LogicalName='managedidentity')/Attributes/"
            "Microsoft.Dynamics.CRM.PicklistAttributeMetadata"
        ).json()["value"]
        if attribute["LogicalName"] == "subjectscope"
    ]
    assert [(item["EntitySetName"], item["PrimaryIdAttribute"]) for item in found] == [
        ("managedidentities", "managedidentityid")
    ]
    labels = {o["Value"]: o["Label"]["LocalizedLabels"][0]["Label"] for o in choices["OptionSet"]["Options"]}
    assert labels == {0: "GlobalScope", 1: "EnviornmentScope", 2: "DevOnlyScope"}


def test_older_web_api_versions_are_served_too(org: Org) -> None:
    assert org.client.get("/api/data/v9.0/managedidentities").status_code == 200


def test_patch_can_return_the_updated_row(org: Org) -> None:
    row = identity_row()
    org.client.post(f"{API}/managedidentities", json=row)
    response = org.client.patch(
        f"{API}/managedidentities({row['managedidentityid']})",
        json={"version": 1},
        headers={"Prefer": "return=representation", "If-Match": "*"},
    )
    assert (response.status_code, response.json()["version"]) == (200, 1)


def test_collections_are_paged_when_asked_for_a_page_size(org: Org) -> None:
    for _ in range(3):
        org.client.post(f"{API}/managedidentities", json=identity_row())
    first = org.client.get(f"{API}/managedidentities", headers={"Prefer": "odata.maxpagesize=2"}).json()
    second = org.client.get(first["@odata.nextLink"], headers={"Prefer": "odata.maxpagesize=2"}).json()
    assert (len(first["value"]), len(second["value"])) == (2, 1)
    assert "@odata.nextLink" not in second


def test_component_subject_function_can_be_absent(org: Org, sandbox: Sandbox) -> None:
    sandbox.configure(component_subject_supported=False)
    assembly = sandbox.control.register_plugin_assembly(org.environment.id, self_signed())
    response = org.client.get(
        f"{API}/GetComponentManagedIdentityFIC(ComponentId={assembly},ComponentName='pluginassembly')"
    )
    assert (response.status_code, response.json()["error"]["code"]) == (404, "0x8006088a")
