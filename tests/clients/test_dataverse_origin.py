"""Only Dataverse URLs the policy allows are ever called: https, a plain host under an allowed suffix."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.clients.dataverse import dataverse_origin
from shared.errors import InvalidInputError
from shared.policy import Policy, parse_policy

POLICY = """\
version: 1
tenantId: 7f2c1900-9fd4-4b89-91d3-79a649996f0a
identity:
  subscriptionId: 3b1f0c2e-5d4a-4e8b-9c7d-2a1b0c9d8e7f
  resourceGroup: rg-ppmi
  location: westeurope
"""


@pytest.fixture
def policy() -> Policy:
    return parse_policy(POLICY, Path())


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://contoso.crm.dynamics.com/", "https://contoso.crm.dynamics.com"),
        ("https://Contoso.CRM4.dynamics.com", "https://contoso.crm4.dynamics.com"),
        ("https://contoso.api.crm.dynamics.com/", "https://contoso.api.crm.dynamics.com"),
        ("https://contoso.crm.dynamics.com./", "https://contoso.crm.dynamics.com"),
    ],
)
def test_an_allowed_dataverse_url_gives_its_origin(policy: Policy, url: str, origin: str) -> None:
    assert dataverse_origin(url, policy) == origin


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://contoso.crm.dynamics.com/", "is not https"),
        ("https://user:pw@contoso.crm.dynamics.com/", "user information"),
        ("https://contoso.crm.dynamics.com:8443/", "names a port"),
        ("https://127.0.0.1/", "IP address"),
        ("https://[::1]/", "IP address"),
        ("https://contoso.crm.dynamics.com.evil.example/", "allowed host suffix"),
        ("https://evilcrm.dynamics.com/", "allowed host suffix"),
        ("https://crm.dynamics.com/", "allowed host suffix"),
        ("https://a.b.crm.dynamics.com/", "allowed host suffix"),
        ("", "is not https"),
    ],
)
def test_a_dataverse_url_off_the_allow_list_is_rejected_with_the_reason(
    policy: Policy, url: str, problem: str
) -> None:
    with pytest.raises(InvalidInputError, match=problem) as caught:
        dataverse_origin(url, policy)
    assert caught.value.field == "url"


def test_credentials_in_a_refused_dataverse_url_are_not_repeated(policy: Policy) -> None:
    with pytest.raises(InvalidInputError) as caught:
        dataverse_origin("https://svc:s3cr3t-passw0rd@contoso.crm.dynamics.com/", policy)
    assert "s3cr3t" not in caught.value.reason
    assert "***@contoso.crm.dynamics.com" in caught.value.reason


def test_a_host_of_another_cloud_says_which_cloud_it_belongs_to(policy: Policy) -> None:
    with pytest.raises(InvalidInputError, match="it is a gcc Dataverse host"):
        dataverse_origin("https://contoso.crm9.dynamics.com/", policy)
