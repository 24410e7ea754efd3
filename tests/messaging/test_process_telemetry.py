"""Telemetry from a worker or the Functions app authenticates with Entra: local auth is off in Azure."""

from __future__ import annotations

from typing import Any

import pytest
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

from shared.messaging import hosting
from shared.settings import Settings

CONNECTION = (
    "InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint=https://example.invalid/"
)


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    seen: list[Any] = []
    record = lambda *, credential, log_stream=None: seen.append(credential)  # noqa: E731 - a fake, in place
    monkeypatch.setattr(hosting, "configure_telemetry", record)
    return seen


def test_a_worker_without_a_platform_identity_exports_with_default_azure_credential(
    configured: list[Any],
) -> None:
    settings = Settings.from_env({"AZURE_CLIENT_ID": "5d6e7f80-1a2b-4c3d-8e9f-0a1b2c3d4e5f"})
    hosting.configure_process_telemetry(settings, {"APPLICATIONINSIGHTS_CONNECTION_STRING": CONNECTION})
    (credential,) = configured
    assert isinstance(credential, DefaultAzureCredential)


def test_the_platform_managed_identity_is_used_where_it_exists(configured: list[Any]) -> None:
    settings = Settings.from_env(
        {"IDENTITY_ENDPOINT": "http://127.0.0.1:1/msi/token", "IDENTITY_HEADER": "h"}
    )
    hosting.configure_process_telemetry(settings, {"APPLICATIONINSIGHTS_CONNECTION_STRING": CONNECTION})
    (credential,) = configured
    assert isinstance(credential, ManagedIdentityCredential)


def test_without_application_insights_no_credential_is_made(configured: list[Any]) -> None:
    hosting.configure_process_telemetry(Settings.from_env({}), {})
    assert configured == [None]
