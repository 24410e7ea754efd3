"""An organisation without a table: no definition to find, and its entity set is an unknown segment."""

from __future__ import annotations

from sandbox.server import Sandbox

ODATA = {"OData-MaxVersion": "4.0", "OData-Version": "4.0", "Accept": "application/json"}


def test_a_missing_table_has_no_definition_and_no_entity_set(sandbox: Sandbox) -> None:
    sandbox.configure(dataverse_absent_tables=["managedidentity"])
    environment = sandbox.control.create_environment(display_name="Old")
    organization = f"https://{environment.host}"
    with sandbox.client(organization) as dataverse:
        api = f"{organization}/api/data/v9.2"
        found = dataverse.get(
            f"{api}/EntityDefinitions",
            params={"$filter": "LogicalName eq 'managedidentity'", "$select": "LogicalName"},
            headers=ODATA,
        )
        by_key = dataverse.get(f"{api}/EntityDefinitions(LogicalName='managedidentity')", headers=ODATA)
        rows = dataverse.get(f"{api}/managedidentities", headers=ODATA)
        others = dataverse.get(f"{api}/pluginpackages", headers=ODATA)

    assert (found.status_code, found.json()["value"]) == (200, [])
    assert by_key.status_code == 404
    assert (rows.status_code, rows.json()["error"]["code"]) == (404, "0x8006088a")
    assert others.status_code == 200
