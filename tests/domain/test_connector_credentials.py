"""What a connector's FIC must be before ppmi writes it: the tenant's issuer, the subject's opening and
tenant, Entra's limits, a redirect URL on an allowed host; and the name and note ppmi gives the FIC."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.connector_credentials import (
    ConnectorCredentialError,
    ConnectorNote,
    check_issuer,
    check_redirect_url,
    check_subject,
    connector_credential,
    connector_credential_name,
    subject_prefix,
)
from shared.fic import encode_guid
from shared.policy import Policy, parse_policy

TENANT = "7f2c1900-9fd4-4b89-91d3-79a649996f0a"
OTHER = "11111111-2222-4333-8444-555555555555"


def policy(cloud: str = "public", connectors: str = "") -> Policy:
    text = f"""\
version: 1
tenantId: {TENANT}
cloud: {cloud}
identity: {{subscriptionId: {TENANT}, resourceGroup: rg, location: westeurope}}
{connectors}"""
    return parse_policy(text, Path())


def subject(tenant: str = TENANT, cloud_code: str = "pub", tail: str = "weu-001_weather-4f2a9c") -> str:
    return f"/eid1/c/{cloud_code}/t/{encode_guid(tenant)}/a/Hkwtej-bak6NXC8eC5qMfQ/{tail}"


def test_a_public_connector_passes_and_gets_the_public_audience() -> None:
    credential = connector_credential(policy(), f"https://login.microsoftonline.com/{TENANT}/v2.0", subject())

    assert credential.audience == "api://AzureADTokenExchange"
    assert credential.subject == subject()


def test_the_prefix_follows_the_cloud_and_the_policy() -> None:
    assert subject_prefix(policy("china")) == f"/eid1/c/chn/t/{encode_guid(TENANT)}/a/"
    custom = policy(connectors="connectors:\n  subjectPrefix: /eid2/{cloudPrefix}/t/{encodedTenantId}/\n")
    assert subject_prefix(custom) == f"/eid2//eid1/c/pub/t/{encode_guid(TENANT)}/"


@pytest.mark.parametrize(
    ("issuer", "words"),
    [
        (f"https://login.microsoftonline.com/{TENANT}/v2.0/", "only its spelling differs"),
        (f"https://LOGIN.microsoftonline.com/{TENANT}/v2.0", "only its spelling differs"),
        (f"https://login.microsoftonline.com/{OTHER}/v2.0", "another tenant's"),
        (f"https://sts.windows.net/{TENANT}/", f"must be https://login.microsoftonline.com/{TENANT}/v2.0"),
        (f"https://login.microsoftonline.us/{TENANT}/v2.0", "public cloud"),
    ],
)
def test_any_issuer_but_the_tenants_own_is_refused_saying_why(issuer: str, words: str) -> None:
    with pytest.raises(ConnectorCredentialError) as refused:
        check_issuer(policy(), issuer)

    assert words in refused.value.reason
    assert refused.value.field == "data.issuer"


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (subject(tenant=OTHER), f"belongs to tenant {OTHER}"),
        (subject(tail="weu-*"), "wildcard"),
        (subject(tail="weu-?"), "wildcard"),
        (subject(tail="a" * 600), "at most 600"),
        (subject(cloud_code="usg"), "must start with"),
        (subject(tail="weu 001"), "visible ASCII"),
        (f"/eid1/c/pub/t/{encode_guid(TENANT)}/a/", "names no connector"),
    ],
)
def test_hostile_subjects_are_refused_saying_why(value: str, words: str) -> None:
    with pytest.raises(ConnectorCredentialError) as refused:
        check_subject(policy(), value)

    assert words in refused.value.reason


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("https://evil.example/redirect/x", "not one of connectors.redirectHosts"),
        ("http://global.consent.azure-apim.net/redirect/x", "plain https URL"),
        ("https://global.consent.azure-apim.net:8443/redirect/x", "plain https URL"),
        ("https://user@global.consent.azure-apim.net/redirect/x", "plain https URL"),
        ("https://global.consent.azure-apim.net/redirect/(x)", "Entra refuses"),
        ("https://global.consent.azure-apim.net/" + "a" * 256, "at most 256"),
    ],
)
def test_redirect_urls_off_the_allowed_hosts_or_entras_rules_are_refused(url: str, words: str) -> None:
    with pytest.raises(ConnectorCredentialError) as refused:
        check_redirect_url(policy(), url)

    assert words in refused.value.reason


def test_the_name_is_one_per_connector_and_environment_and_entra_compatible() -> None:
    first = connector_credential_name("7efcc31a-c410-e20e-9b95-dd448cedf653", "shared_weather")
    again = connector_credential_name("7efcc31a-c410-e20e-9b95-dd448cedf653", "SHARED_WEATHER")
    elsewhere = connector_credential_name("Default-" + TENANT, "shared_weather")

    assert first == again != elsewhere
    assert first.startswith("ppmi-connector-")
    assert len(first) == len("ppmi-connector-") + 16


def test_the_note_reads_back_what_was_written_and_nothing_else() -> None:
    note = ConnectorNote(
        "7efcc31a-c410-e20e-9b95-dd448cedf653", "shared_weather", "https://h.example/r", True
    )

    assert ConnectorNote.read(note.render()) == note
    assert ConnectorNote.read(ConnectorNote("e", "c").render()) == ConnectorNote("e", "c")
    assert ConnectorNote.read("owned by the integration team") is None
    assert ConnectorNote.read(None) is None
    assert len(note.render()) <= 600
