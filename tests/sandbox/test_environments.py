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
        sandbox, f"{PP}/environmentmanagement/environments?api-version=2024-10-01", "@odata.nextlink"
    )
    default = next(item for item in items if item["id"] == f"Default-{sandbox.env['PPMI_TENANT_ID']}")
    assert default["type"] == "Default"
    assert default["url"].endswith(".crm.dynamics.com")


def test_environments_are_paged_with_the_references_lower_case_next_link(sandbox: Sandbox) -> None:
    created = {sandbox.control.create_environment().id for _ in range(4)}
    items = all_pages(
        sandbox, f"{PP}/environmentmanagement/environments?api-version=2024-10-01", "@odata.nextlink"
    )
    assert created <= {item["id"] for item in items}
    assert len(items) == 5


def test_the_next_link_spelling_can_be_switched_to_odata_usage(sandbox: Sandbox) -> None:
    sandbox.configure(environment_next_link_key="@odata.nextLink")
    for _ in range(3):
        sandbox.control.create_environment()
    items = all_pages(
        sandbox, f"{PP}/environmentmanagement/environments?api-version=2024-10-01", "@odata.nextLink"
    )
    assert len(items) == 4


def test_a_live_environment_reports_what_the_real_api_reports(sandbox: Sandbox) -> None:
    environment = sandbox.control.create_environment(region="europe")
    body = get_environment(sandbox, environment.id)
    assert (body["state"], body["deletedDateTime"]) == ("Enabled", "1970-01-01T00:00:00Z")
    assert body["tenantId"] == sandbox.env["PPMI_TENANT_ID"]
    assert body["url"] == environment.dataverse_url.rstrip("/")
    assert (body["geo"], body["azureRegion"]) == ("europe", "westeurope")


def test_environment_without_dataverse_is_enabled_with_no_dataverse_fields(sandbox: Sandbox) -> None:
    environment = sandbox.control.create_environment(dataverse=False)
    body = get_environment(sandbox, environment.id)
    assert body["state"] == "Enabled"
    assert {"url", "dataverseId", "domainName"}.isdisjoint(body)


def test_environment_is_provisioning_until_its_delay_has_passed(sandbox: Sandbox) -> None:
    environment = sandbox.control.create_environment(provisioning_seconds=60)
    body = get_environment(sandbox, environment.id)
    assert body["state"] == "Provisioning"
    assert "url" not in body


def test_the_unknown_field_values_can_be_varied(sandbox: Sandbox) -> None:
    sandbox.configure(environment_live_state="Ready", environment_deleted_sentinel=None)
    environment = sandbox.control.create_environment()
    body = get_environment(sandbox, environment.id)
    assert body["state"] == "Ready"
    assert "deletedDateTime" not in body


def get_environment(sandbox: Sandbox, environment_id: str) -> dict[str, Any]:
    with sandbox.client(PP, base_url=PP) as client:
        body: dict[str, Any] = client.get(
            f"/environmentmanagement/environments/{environment_id}?api-version=2024-10-01"
        ).json()
    return body


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


def test_bap_reads_take_the_api_version_terraforms_recorded_list_uses(sandbox: Sandbox) -> None:
    environment = sandbox.control.create_environment()
    items = all_pages(sandbox, f"{BAP}{BAP_ENVIRONMENTS}?api-version=2023-06-01", "nextLink")
    assert environment.id in {item["name"] for item in items}
