"""Secrets never survive `redact`, whatever shape they arrive in; ordinary text is left alone."""

from __future__ import annotations

import pytest

from shared.telemetry import redact
from shared.telemetry._redaction import redact_field

JWT = (
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9"
    ".eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQuYXp1cmUuY29tIiwic3ViIjoiMTIzIn0"
    ".c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU"
)
PRIVATE_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
    "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n-----END RSA PRIVATE KEY-----"
)

ENTRA_SECRET = "Zx9yWv8uTs7rQp6oNm5lKj4iHg3fEd2cBa1"
KEY_BODY = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun"
OPAQUE = "opaque-token-value"

SECRET_SAMPLES = [
    pytest.param("Authorization: Bearer abc.DEF-ghi_123", "abc.DEF-ghi_123", id="bearer header"),
    pytest.param("sent bearer Zm9vYmFyYmF6cXV4 to graph", "Zm9vYmFyYmF6cXV4", id="bearer alone"),
    pytest.param(f"token was {JWT} today", JWT, id="jwt"),
    pytest.param(
        "grant_type=client_credentials&client_secret=s3cr3t-V&scope=x", "s3cr3t-V", id="secret form"
    ),
    pytest.param('{"client_secret": "s3cr3t-Value"}', "s3cr3t-Value", id="client secret json"),
    pytest.param(f"value abc8Q~{ENTRA_SECRET} leaked", ENTRA_SECRET, id="entra secret shape"),
    pytest.param(
        "https://acct.blob.core.windows.net/c/b?sv=2022-11-02&se=2030-01-01&sig=AbCdEf%2BgHiJk%3D&sp=r",
        "AbCdEf%2BgHiJk%3D",
        id="sas signature",
    ),
    pytest.param(
        "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=K3yK3yK3y+/=;",
        "K3yK3yK3y+/=",
        id="service bus key",
    ),
    pytest.param(
        "DefaultEndpointsProtocol=https;AccountName=st;AccountKey=QWNjb3VudEtleQ==;EndpointSuffix=core.windows.net",
        "QWNjb3VudEtleQ==",
        id="storage key",
    ),
    pytest.param(f"cert material {PRIVATE_KEY} end", KEY_BODY, id="private key"),
    pytest.param(
        f'{{"access_token": "{OPAQUE}", "expires_on": "1700000000"}}', OPAQUE, id="access token json"
    ),
    pytest.param(f"callback?access_token={OPAQUE}&state=1", OPAQUE, id="access token query"),
    pytest.param(f'{{"clientSecret": "{OPAQUE}"}}', OPAQUE, id="camel-case client secret"),
    pytest.param(f"id=xkT98Q~{ENTRA_SECRET}", ENTRA_SECRET, id="entra secret glued to text"),
]


@pytest.mark.parametrize(("text", "secret"), SECRET_SAMPLES)
def test_secret_is_removed_from_text(text: str, secret: str) -> None:
    assert secret not in redact(text)


def test_private_key_without_end_marker_is_still_removed() -> None:
    truncated = PRIVATE_KEY.split("-----END", maxsplit=1)[0]
    assert KEY_BODY not in redact(truncated)


def test_ordinary_text_is_unchanged() -> None:
    text = (
        "PUT /subscriptions/0000/resourceGroups/rg/providers/Microsoft.ManagedIdentity/"
        "userAssignedIdentities/ppmi-7efcc31a/federatedIdentityCredentials/signer-1 409 "
        "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity"
    )
    assert redact(text) == text


def test_redaction_keeps_what_says_where_the_secret_was() -> None:
    assert redact("SharedAccessKey=abc;EntityPath=q") == "SharedAccessKey=[REDACTED];EntityPath=q"


@pytest.mark.parametrize(
    "key", ["Authorization", "x-identity-header", "access_token", "client_secret", "password"]
)
def test_fields_named_for_secrets_are_hidden_whatever_their_value(key: str) -> None:
    assert redact_field(key, "looks-harmless") == "[REDACTED]"


def test_nested_fields_are_redacted() -> None:
    headers = {"headers": {"Authorization": "Basic dXNlcjpwYXNz", "Accept": "application/json"}}
    assert redact_field("request", headers) == {
        "headers": {"Authorization": "[REDACTED]", "Accept": "application/json"}
    }


def test_numbers_and_flags_pass_through() -> None:
    assert redact_field("attempt", 3) == 3
    assert redact_field("retryable", True) is True
