"""Every reply the Power Platform API, BAP, Dataverse and Graph stand-ins give has a documented shape."""

from __future__ import annotations

import re
from typing import Any

from sandbox.server import Sandbox
from tests.contracts.documents import column_of, dataverse_table_columns, load_json, table_first_column
from tests.contracts.recording import Exchange, of

PP_LIST = "powerplatform/learn-rest_environments_list-environments-for-user.2024-10-01.md"
CAPTURE = "powerplatform/capture_list-environments.2024-10-01.response.json"
GRAPH_RESOURCE = "graph/resources_federatedidentitycredential.md"
BAP_FIXTURE = "powerplatform/tf-fixture_bap_admin-environment_get.json"
DATAVERSE = re.compile(r"org[0-9a-f]+\.crm\.dynamics\.com")
SERVICES = re.compile(
    r"api\.powerplatform\.com|api\.bap\.microsoft\.com|graph\.microsoft\.com|" + DATAVERSE.pattern
)


def test_environments_carry_only_documented_fields_with_the_real_captures_types(
    conversation: list[Exchange],
) -> None:
    documented = table_first_column(PP_LIST, "### EnvironmentResponse")
    real = load_json(CAPTURE)["value"][0]
    environments = []
    for exchange in of(conversation, re.compile(r"api\.powerplatform\.com")):
        reply = exchange.reply
        if "value" in reply:
            assert set(reply) <= {"value", "@odata.nextlink"}  # EnvironmentList
            environments += reply["value"]
        else:
            environments.append(reply)
    for environment in environments:
        assert set(environment) <= documented
        assert {key: type(real[key]) for key in environment} == {
            key: type(v) for key, v in environment.items()
        }
    live = [environment for environment in environments if "url" in environment]
    assert live
    assert all(set(real) - {"createdFor"} <= set(environment) for environment in live)


def test_graph_credentials_carry_only_the_resources_properties(conversation: list[Exchange]) -> None:
    properties = table_first_column(GRAPH_RESOURCE, "## Properties") | {"@odata.context", "@odata.id"}
    for exchange in of(conversation, re.compile(r"graph\.microsoft\.com")):
        method, reply = exchange.request.method, exchange.reply
        if method == "DELETE":
            assert (exchange.status, reply) in ((204, None), (404, reply))
        elif method == "PATCH":  # the upsert: 201 with the credential, or 204 (…-upsert.md)
            assert exchange.status in (201, 204)
            assert reply is None or set(reply) <= properties
        elif isinstance(reply, dict) and "value" in reply:
            assert set(reply) <= {"@odata.context", "value"}
            assert all(set(item) <= properties for item in reply["value"])
        elif exchange.status == 200:
            assert set(reply) <= properties


def test_dataverse_rows_carry_only_documented_columns(conversation: list[Exchange]) -> None:
    columns = dataverse_table_columns()
    for exchange in of(conversation, DATAVERSE):
        table = re.fullmatch(r"/api/data/v9\.2/(?P<set>[a-z]+)(\(.*\))?", exchange.path)
        if exchange.status != 200 or table is None or table["set"] not in columns:
            continue
        rows: list[dict[str, Any]] = exchange.reply.get("value", [exchange.reply])
        for row in rows:
            shown = {column_of(key) for key in row if not key.startswith("@odata.")}
            assert shown <= columns[table["set"]], shown - columns[table["set"]]


def test_dataverse_computes_subjects_in_the_documented_response(conversation: list[Exchange]) -> None:
    answers = [e for e in of(conversation, DATAVERSE) if "GetComponentManagedIdentityFIC" in e.path]
    assert answers
    for answer in answers:  # GetComponentManagedIdentityFICResponse { FICSubject }
        assert set(answer.reply) <= {"@odata.context", "FICSubject"}


def test_every_refusal_has_the_error_envelope(conversation: list[Exchange]) -> None:
    refusals = [e for e in conversation if SERVICES.fullmatch(e.host) and e.status >= 400]
    assert refusals  # WhoAmI before the application user exists, reads of rows not there yet
    for refusal in refusals:
        assert set(refusal.reply) == {"error"}
        assert isinstance(refusal.reply["error"]["code"], str)
        assert isinstance(refusal.reply["error"]["message"], str)


def test_bap_environments_have_the_fields_of_the_bap_fixture(sandbox: Sandbox) -> None:
    fixture = load_json(BAP_FIXTURE)
    environment = sandbox.control.create_environment(display_name="Sales")
    with sandbox.client("https://service.powerapps.com", base_url="https://api.bap.microsoft.com") as bap:
        reply = bap.get(
            f"/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments/{environment.id}",
            params={"api-version": "2020-10-01"},
        ).json()
    assert set(reply) <= set(fixture)
    assert set(reply["properties"]) <= set(fixture["properties"])
    linked = reply["properties"]["linkedEnvironmentMetadata"]
    assert set(linked) <= set(fixture["properties"]["linkedEnvironmentMetadata"])
