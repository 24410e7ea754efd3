"""ARM managed identities and federated credentials, over real HTTPS with Azure host names."""

from __future__ import annotations

import concurrent.futures

import httpx

from sandbox.server import Sandbox
from tests.sandbox.conftest import ARM, MSI_VERSION, fic_body


def create_identity(arm: httpx.Client, identities_url: str, name: str = "uami-one") -> httpx.Response:
    return arm.put(
        f"{identities_url}/{name}", params=MSI_VERSION, json={"location": "westeurope", "tags": {"a": "b"}}
    )


def test_identity_put_creates_then_updates_and_keeps_tags(arm: httpx.Client, identities_url: str) -> None:
    created = create_identity(arm, identities_url)
    updated = create_identity(arm, identities_url)
    assert (created.status_code, updated.status_code) == (201, 200)
    properties = created.json()["properties"]
    assert properties["clientId"] != properties["principalId"]
    assert updated.json()["properties"] == properties
    assert updated.json()["tags"] == {"a": "b"}


def test_identity_delete_answers_200_then_204(arm: httpx.Client, identities_url: str) -> None:
    create_identity(arm, identities_url)
    first = arm.delete(f"{identities_url}/uami-one", params=MSI_VERSION)
    second = arm.delete(f"{identities_url}/uami-one", params=MSI_VERSION)
    assert (first.status_code, second.status_code) == (200, 204)
    assert (
        arm.get(f"{identities_url}/uami-one", params=MSI_VERSION).json()["error"]["code"]
        == "ResourceNotFound"
    )


def test_identity_list_is_paged_with_next_link(arm: httpx.Client, identities_url: str) -> None:
    for index in range(5):
        create_identity(arm, identities_url, f"uami-{index}")
    body = arm.get(identities_url, params=MSI_VERSION).json()
    names, pages = [item["name"] for item in body["value"]], 1
    while "nextLink" in body:
        body = arm.get(body["nextLink"]).json()
        names, pages = names + [item["name"] for item in body["value"]], pages + 1
    assert sorted(names) == [f"uami-{i}" for i in range(5)]
    assert pages == 3


def test_invalid_identity_name_is_refused(arm: httpx.Client, identities_url: str) -> None:
    response = create_identity(arm, identities_url, "-bad")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidResourceName"


def test_missing_api_version_is_refused(arm: httpx.Client, identities_url: str) -> None:
    response = arm.get(f"{identities_url}/uami-one")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "MissingApiVersionParameter"


def test_an_older_published_api_version_is_served(arm: httpx.Client, identities_url: str) -> None:
    create_identity(arm, identities_url)
    response = arm.get(f"{identities_url}/uami-one", params={"api-version": "2018-11-30"})
    assert response.status_code == 200


def test_an_api_version_the_provider_never_registered_answers_no_registered_provider_found(
    arm: httpx.Client, identities_url: str
) -> None:
    response = arm.get(f"{identities_url}/uami-one", params={"api-version": "2019-01-01"})
    error = response.json()["error"]
    assert (response.status_code, error["code"]) == (400, "NoRegisteredProviderFound")
    assert error["message"].startswith(
        "No registered resource provider found for location 'westeurope' and API version '2019-01-01' "
        "for type 'userAssignedIdentities'. The supported api-versions are '2015-08-31-preview, "
    )


def test_fic_put_get_list_delete(arm: httpx.Client, identities_url: str) -> None:
    create_identity(arm, identities_url)
    fic_url = f"{identities_url}/uami-one/federatedIdentityCredentials/signer-one"
    created = arm.put(fic_url, params=MSI_VERSION, json=fic_body("/eid1/one"))
    again = arm.put(fic_url, params=MSI_VERSION, json=fic_body("/eid1/one-changed"))
    listed = arm.get(f"{identities_url}/uami-one/federatedIdentityCredentials", params=MSI_VERSION).json()
    assert (created.status_code, again.status_code) == (201, 200)
    assert [item["properties"]["subject"] for item in listed["value"]] == ["/eid1/one-changed"]
    assert arm.delete(fic_url, params=MSI_VERSION).status_code == 200
    assert arm.delete(fic_url, params=MSI_VERSION).status_code == 204
    assert arm.get(fic_url, params=MSI_VERSION).status_code == 404


def test_fic_under_missing_identity_gets_parent_resource_not_found(
    arm: httpx.Client, identities_url: str
) -> None:
    url = f"{identities_url}/ghost/federatedIdentityCredentials/signer-one"
    response = arm.put(url, params=MSI_VERSION, json=fic_body("/eid1/one"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "ParentResourceNotFound"


def test_twenty_first_fic_is_refused(arm: httpx.Client, identities_url: str, sandbox: Sandbox) -> None:
    sandbox.configure(fic_write_hold_seconds=0.0)
    create_identity(arm, identities_url)
    base = f"{identities_url}/uami-one/federatedIdentityCredentials"
    statuses = [
        arm.put(f"{base}/signer-{n:02d}", params=MSI_VERSION, json=fic_body(f"/eid1/{n}")).status_code
        for n in range(21)
    ]
    assert statuses == [201] * 20 + [400]
    refused = arm.put(f"{base}/signer-20", params=MSI_VERSION, json=fic_body("/eid1/20"))
    assert "20" in refused.json()["error"]["message"]


def test_duplicate_issuer_and_subject_under_one_identity_is_refused(
    arm: httpx.Client, identities_url: str
) -> None:
    create_identity(arm, identities_url)
    base = f"{identities_url}/uami-one/federatedIdentityCredentials"
    arm.put(f"{base}/signer-one", params=MSI_VERSION, json=fic_body("/eid1/same"))
    response = arm.put(f"{base}/signer-two", params=MSI_VERSION, json=fic_body("/eid1/same"))
    assert response.status_code == 400
    assert "Issuer and subject combination already exists" in response.json()["error"]["message"]


def test_fic_needs_exactly_one_audience(arm: httpx.Client, identities_url: str) -> None:
    create_identity(arm, identities_url)
    body = fic_body("/eid1/x")
    body["properties"]["audiences"] = ["api://AzureADTokenExchange", "api://other"]  # type: ignore[index]
    response = arm.put(
        f"{identities_url}/uami-one/federatedIdentityCredentials/signer", params=MSI_VERSION, json=body
    )
    assert response.status_code == 400


def test_fic_values_longer_than_600_characters_are_refused(arm: httpx.Client, identities_url: str) -> None:
    create_identity(arm, identities_url)
    url = f"{identities_url}/uami-one/federatedIdentityCredentials/signer"
    assert arm.put(url, params=MSI_VERSION, json=fic_body("/" + "s" * 599)).status_code == 201
    assert arm.put(url, params=MSI_VERSION, json=fic_body("/" + "s" * 600)).status_code == 400


def test_fic_name_must_match_the_pattern(arm: httpx.Client, identities_url: str) -> None:
    create_identity(arm, identities_url)
    url = f"{identities_url}/uami-one/federatedIdentityCredentials/ab"
    assert arm.put(url, params=MSI_VERSION, json=fic_body("/eid1/x")).status_code == 400


def test_overlapping_fic_writes_under_one_identity_get_409(
    arm: httpx.Client, identities_url: str, sandbox: Sandbox
) -> None:
    sandbox.configure(fic_write_hold_seconds=0.3)
    create_identity(arm, identities_url)
    base = f"{identities_url}/uami-one/federatedIdentityCredentials"

    def write(n: int) -> httpx.Response:
        with sandbox.client(ARM, base_url=ARM) as client:
            return client.put(f"{base}/signer-{n}", params=MSI_VERSION, json=fic_body(f"/eid1/{n}"))

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(write, range(4)))
    codes = sorted(r.json().get("error", {}).get("code", str(r.status_code)) for r in responses)
    assert codes.count("201") == 1
    assert codes.count("ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity") == 3
    assert {r.status_code for r in responses} == {201, 409}


def test_fic_writes_under_different_identities_may_overlap(
    arm: httpx.Client, identities_url: str, sandbox: Sandbox
) -> None:
    sandbox.configure(fic_write_hold_seconds=0.3)
    for n in range(3):
        create_identity(arm, identities_url, f"uami-{n}")

    def write(n: int) -> int:
        with sandbox.client(ARM, base_url=ARM) as client:
            url = f"{identities_url}/uami-{n}/federatedIdentityCredentials/signer"
            return client.put(url, params=MSI_VERSION, json=fic_body("/eid1/x")).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        assert list(pool.map(write, range(3))) == [201, 201, 201]


def test_every_arm_reply_reports_remaining_subscription_requests(
    arm: httpx.Client, identities_url: str
) -> None:
    first = create_identity(arm, identities_url)
    second = create_identity(arm, identities_url)
    read = arm.get(f"{identities_url}/uami-one", params=MSI_VERSION)
    writes = [int(r.headers["x-ms-ratelimit-remaining-subscription-writes"]) for r in (first, second)]
    assert writes[0] - writes[1] == 1
    assert int(read.headers["x-ms-ratelimit-remaining-subscription-reads"]) == 249


def test_fic_on_an_identity_in_an_unsupported_region_is_refused(
    arm: httpx.Client, identities_url: str
) -> None:
    arm.put(f"{identities_url}/uami-nz", params=MSI_VERSION, json={"location": "New Zealand North"})
    url = f"{identities_url}/uami-nz/federatedIdentityCredentials/signer"
    response = arm.put(url, params=MSI_VERSION, json=fic_body("/eid1/x"))
    assert response.status_code == 405
    assert response.json()["error"]["message"] == (
        "The request format was unexpected: Support for federated identity credentials not enabled."
    )
