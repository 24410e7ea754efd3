"""The judge itself: it finds what departs from the spec, and lets through what real replies do."""

from __future__ import annotations

import pytest

from tests.contracts.conftest import MSI_SPEC
from tests.contracts.openapi import OpenApi

IDENTITY = (
    "https://management.azure.com/subscriptions/0000/resourceGroups/rg/providers/"
    "Microsoft.ManagedIdentity/userAssignedIdentities/uami"
)
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def msi() -> OpenApi:
    return OpenApi(MSI_SPEC)


@pytest.mark.parametrize(
    ("query", "body", "problem"),
    [
        ("api-version=2023-01-31", {"location": "westeurope"}, "api-version '2023-01-31' is not the spec's"),
        (
            "api-version=2024-11-30",
            {"location": "westeurope", "colour": "red"},
            "colour: the spec declares no",
        ),
        ("api-version=2024-11-30", {"location": "x", "properties": {"clientId": "c"}}, "clientId: read-only"),
        ("api-version=2024-11-30&expand=all", {"location": "westeurope"}, "query parameter 'expand'"),
        ("", {"location": "westeurope"}, "api-version' is missing"),
    ],
)
def test_a_request_departing_from_the_spec_is_caught(
    msi: OpenApi, query: str, body: object, problem: str
) -> None:
    url = f"{IDENTITY}?{query}"
    operation = msi.operation("PUT", url)
    assert operation is not None
    problems = operation.request_problems(url, body, JSON)
    assert any(problem in found for found in problems), problems


def test_a_reply_with_an_unlisted_status_or_a_wrong_type_is_caught(msi: OpenApi) -> None:
    operation = msi.operation("DELETE", IDENTITY)
    assert operation is not None
    assert operation.response_problems(202, None) != []
    assert operation.response_problems(200, None) == []
    get = msi.operation("GET", IDENTITY)
    assert get is not None
    assert get.response_problems(200, {"location": "x", "tags": {"a": 1}}) != []


def test_a_reply_may_carry_nulls_extra_fields_and_new_enum_values(msi: OpenApi) -> None:
    operation = msi.operation("GET", IDENTITY)
    assert operation is not None
    reply = {
        "location": "westeurope",
        "tags": None,
        "somethingNew": {"x": 1},
        "properties": {"isolationScope": "Zonal", "clientId": None},
    }
    assert operation.response_problems(200, reply) == []
