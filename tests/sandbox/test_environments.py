"""Power Platform API and BAP admin API: environments, paging, lifecycle, addAppUser."""

from __future__ import annotations

from typing import Any

from sandbox.server import Sandbox

PP = "https://api.powerplatform.com"
BAP = "https://api.bap.microsoft.com"
BAP_TOKEN_RESOURCE = "https://service.powerapps.com"  # BAP accepts Power Apps service tokens
BAP_ENVIRONMENTS = "/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments"


def all_pages(sandbox: Sandbox, first_url: str, link: str) -> list[dict[str, Any]]:
    resource = PP if first_url.startswith(PP) else BAP_TOKEN_RESOURCE
    items: list[dict[str, Any]] = []
    url: str | None = first_url
    with sandbox.client(resource) as client:
        while url:
            body = client.get(url).json()
            items += body["value"]
            url = body.get(link)
    return items


def test_default_environment_exists_with_dataverse(sandbox: Sandbox) -> None:
    items = all_pages(
        sandbox, f"{PP}/environmentmanagement/environments?api-version=2024-10-01", "@odata.nextLink"
    )
    default = next(item for item in items if item["id"] == f"Default-{sandbox.env['PPMI_TENANT_ID']}")
    assert default["type"] == "Default"
    assert default["url"].endswith(".crm.dynamics.com/")


def test_environments_are_paged_with_odata_next_link(sandbox: Sandbox) -> None:
    created = {sandbox.control.create_environment().id for _ in range(4)}
    items = all_pages(
        sandbox, f"{PP}/environmentmanagement/environments?api-version=2024-10-01", "@odata.nextLink"
    )
    assert created <= {item["id"] for item in items}
    assert len(items) == 5
    assert {"id", "displayName", "url", "dataverseId", "state", "type", "tenantId", "createdDateTime"} <= set(
        items[0]
    )


def test_environment_without_dataverse_has_an_empty_url(sandbox: Sandbox) -> None:
    environment = sandbox.control.create_environment(dataverse=False)
    with sandbox.client(PP, base_url=PP) as client:
        body = client.get(
            f"/environmentmanagement/environments/{environment.id}?api-version=2024-10-01"
        ).json()
    assert (body["url"], body["dataverseId"]) == ("", None)


def test_environment_is_provisioning_until_its_delay_has_passed(sandbox: Sandbox) -> None:
    environment = sandbox.control.create_environment(provisioning_seconds=60)
    with sandbox.client(PP, base_url=PP) as client:
        body = client.get(
            f"/environmentmanagement/environments/{environment.id}?api-version=2024-10-01"
        ).json()
    assert (body["state"], body["url"]) == ("Provisioning", "")


def test_deleted_environment_is_not_found(sandbox: Sandbox) -> None:
    environment = sandbox.control.create_environment()
    sandbox.control.delete_environment(environment.id)
    with sandbox.client(PP, base_url=PP) as client:
        response = client.get(f"/environmentmanagement/environments/{environment.id}?api-version=2024-10-01")
    assert response.status_code == 404


def test_bap_lists_environments_with_instance_url(sandbox: Sandbox) -> None:
    environment = sandbox.control.create_environment(region="europe")
    items = all_pages(sandbox, f"{BAP}{BAP_ENVIRONMENTS}?api-version=2020-10-01", "nextLink")
    mine = next(item for item in items if item["name"] == environment.id)
    metadata = mine["properties"]["linkedEnvironmentMetadata"]
    assert metadata["instanceUrl"] == environment.dataverse_url
    assert ".crm4.dynamics.com" in metadata["instanceUrl"]
    assert metadata["instanceState"] == "Ready"


def test_bap_add_app_user_lets_that_application_into_dataverse(sandbox: Sandbox) -> None:
    environment = sandbox.control.create_environment(app_users=())
    newcomer = "11111111-2222-3333-4444-555555555555"
    with sandbox.client(BAP_TOKEN_RESOURCE, base_url=BAP) as client:
        added = client.post(
            f"{BAP_ENVIRONMENTS}/{environment.id}/addAppUser",
            params={"api-version": "2020-10-01"},
            json={"servicePrincipalAppId": newcomer},
        )
    assert added.status_code == 200
    assert [row["applicationid"] for row in sandbox.control.rows(environment.id, "systemusers")] == [newcomer]


def test_environments_api_needs_its_api_version(sandbox: Sandbox) -> None:
    with sandbox.client(PP, base_url=PP) as client:
        response = client.get("/environmentmanagement/environments?api-version=2022-03-01-preview")
    assert response.json()["error"]["code"] == "InvalidApiVersionParameter"


def test_dataverse_of_a_provisioning_environment_does_not_answer_yet(sandbox: Sandbox) -> None:
    environment = sandbox.control.create_environment(provisioning_seconds=60)
    url = f"https://{environment.host}"
    with sandbox.client(
        url, base_url=url, headers={"OData-MaxVersion": "4.0", "OData-Version": "4.0"}
    ) as client:
        assert client.get("/api/data/v9.2/WhoAmI").status_code == 404


def test_bap_gets_one_environment_by_id(sandbox: Sandbox) -> None:
    environment = sandbox.control.create_environment(display_name="Contoso UK", region="unitedkingdom")
    with sandbox.client(BAP_TOKEN_RESOURCE, base_url=BAP) as client:
        body = client.get(f"{BAP_ENVIRONMENTS}/{environment.id}", params={"api-version": "2020-10-01"}).json()
    assert body["properties"]["displayName"] == "Contoso UK"
    assert body["properties"]["linkedEnvironmentMetadata"]["instanceUrl"].endswith(".crm11.dynamics.com/")
