"""Every request the product sends to the Power Platform API, BAP, Dataverse and Graph is a documented one.

The documented shapes are read from contracts/ at test time: the Learn reference tables of the Power Platform
API, the Graph reference pages, the Dataverse table references and the set-up page.
"""

from __future__ import annotations

import re

from tests.contracts.documents import column_of, dataverse_table_columns, table_first_column
from tests.contracts.recording import Exchange, followed_links, of, query

GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
PP_LIST = "powerplatform/learn-rest_environments_list-environments-for-user.2024-10-01.md"
PP_GET = "powerplatform/learn-rest_environments_get-environment-by-id-for-user.2024-10-01.md"
PARAMETERS = "## URI Parameters"
FUNCTION = "GetComponentManagedIdentityFIC"
GRAPH_RESOURCE = "graph/resources_federatedidentitycredential.md"


def test_power_platform_api_requests_use_documented_paths_and_parameters(
    conversation: list[Exchange],
) -> None:
    documented = table_first_column(PP_LIST, "## URI Parameters") | table_first_column(
        PP_GET, "## URI Parameters"
    )
    links = followed_links(conversation)
    for exchange in of(conversation, re.compile(r"api\.powerplatform\.com")):
        assert exchange.request.method == "GET"
        assert re.fullmatch(r"/environmentmanagement/environments(/[^/]+)?", exchange.path)
        assert query(exchange)["api-version"] == ["2024-10-01"]
        if str(exchange.request.url) not in links:
            assert set(query(exchange)) <= documented - {"environmentId"}
        assert exchange.body is None


def test_bap_add_app_user_sends_only_the_service_principal_app_id(conversation: list[Exchange]) -> None:
    (add,) = of(conversation, re.compile(r"api\.bap\.microsoft\.com"))
    assert add.request.method == "POST"
    assert re.fullmatch(
        rf"/providers/Microsoft\.BusinessAppPlatform/scopes/admin/environments/{GUID}/addAppUser", add.path
    )
    assert query(add) == {"api-version": ["2020-10-01"]}
    assert set(add.body) == {"servicePrincipalAppId"}
    assert re.fullmatch(GUID, add.body["servicePrincipalAppId"])


def test_graph_requests_follow_the_federated_identity_credential_reference(
    conversation: list[Exchange],
) -> None:
    writable = table_first_column(GRAPH_RESOURCE, "## Properties") - {"id"}  # id is read-only
    fics = rf"/v1\.0/applications/{GUID}/federatedIdentityCredentials"
    seen = set()
    for exchange in of(conversation, re.compile(r"graph\.microsoft\.com")):
        method, path = exchange.request.method, exchange.path
        if method == "PATCH":
            # the upsert: (name='…') with Prefer: create-if-missing (…-upsert.md)
            assert re.fullmatch(rf"{fics}\(name='[\w-]+'\)", path)
            assert exchange.request.headers["Prefer"] == "create-if-missing"
            assert set(exchange.body) <= writable
            assert len(exchange.body["audiences"]) == 1
        elif path.endswith("federatedIdentityCredentials"):
            assert method == "GET"  # list (application-list-federatedidentitycredentials.md)
        else:  # get / delete by name as a path segment (…-get.md, …-delete.md)
            assert method in ("GET", "DELETE")
            assert re.fullmatch(rf"{fics}/[\w-]+", path)
        seen.add(method)
    assert seen == {"GET", "PATCH", "DELETE"}


def test_dataverse_requests_name_only_documented_tables_columns_and_functions(
    conversation: list[Exchange],
) -> None:
    columns = dataverse_table_columns()
    links = followed_links(conversation)
    calls = set()
    for exchange in of(conversation, re.compile(r"org[0-9a-f]+\.crm\.dynamics\.com")):
        request, path = exchange.request, exchange.path.removeprefix("/api/data/v9.2/")
        assert exchange.request.url.path.startswith("/api/data/v9.2/")
        assert (request.headers["Accept"], request.headers["OData-MaxVersion"]) == ("application/json", "4.0")
        if path == "WhoAmI":
            calls.add("WhoAmI")
            continue
        function = re.fullmatch(rf"{FUNCTION}\(ComponentId={GUID},ComponentName='(\w+)'\)", path)
        if function is not None:  # learn_webapi-reference_GetComponentManagedIdentityFIC.excerpts.md
            assert function[1] in ("pluginassembly", "pluginpackage")
            calls.add(FUNCTION)
            continue
        table = re.fullmatch(rf"(?P<set>[a-z]+)(\((?P<id>{GUID})\))?", path)
        assert table is not None, path
        assert table["set"] in columns
        selected = query(exchange).get("$select", [""])[0]
        if str(request.url) not in links:
            assert {column_of(c) for c in selected.split(",") if c} <= columns[table["set"]]
        if exchange.body is not None:
            assert request.headers["Content-Type"].startswith("application/json")
            bind = exchange.body.get("managedidentityid@odata.bind")
            if bind is not None:  # the set-up page's binding
                assert exchange.body == {"managedidentityid@odata.bind": bind}
                assert re.fullmatch(rf"/managedidentities\({GUID}\)", bind)
            else:
                assert set(exchange.body) <= columns[table["set"]]
        calls.add(f"{request.method} {table['set']}")
    assert {
        "WhoAmI",
        "GetComponentManagedIdentityFIC",
        "PATCH managedidentities",
        "PATCH pluginpackages",
    } <= calls
