"""Nothing in infra/ reads or hands out a key: storage, Service Bus and telemetry accept Entra tokens only."""

from __future__ import annotations

import re

import pytest

from tests.infra.templates import INFRA, resource_config, template

KEY_MATERIAL = re.compile(
    r"listKeys\(|listConnectionStrings\(|listAccountSas\(|listServiceSas\(|AccountKey=|SharedAccessKey"
    r"|SharedAccessSignature|primaryConnectionString|secondaryConnectionString|primaryKey|InstrumentationKey=",
    re.IGNORECASE,
)


def infra_text_files() -> list[str]:
    return sorted(
        str(path.relative_to(INFRA))
        for path in INFRA.rglob("*")
        if path.is_file() and path.suffix in {".bicep", ".json", ".kql", ".yaml", ".yml", ".md"}
    )


@pytest.mark.parametrize("relative", infra_text_files())
def test_no_key_sas_or_connection_string_appears_in_infra(relative: str) -> None:
    text = (INFRA / relative).read_text()

    assert KEY_MATERIAL.findall(text) == []


def test_storage_refuses_shared_keys_anonymous_blobs_plain_http_and_old_tls() -> None:
    storage = resource_config(template("core/storage/storage-account.bicep")["resources"]["storage"])[
        "properties"
    ]

    assert storage["allowSharedKeyAccess"] is False
    assert storage["allowBlobPublicAccess"] is False
    assert storage["supportsHttpsTrafficOnly"] is True
    assert storage["minimumTlsVersion"] == "TLS1_2"


def test_service_bus_refuses_sas_and_old_tls() -> None:
    namespace = resource_config(template("core/messaging/service-bus.bicep")["resources"]["namespace"])

    assert namespace["properties"]["disableLocalAuth"] is True
    assert namespace["properties"]["minimumTlsVersion"] == "1.2"
    assert namespace["sku"]["name"] == "Standard"


def test_application_insights_and_log_analytics_accept_entra_authenticated_ingestion_only() -> None:
    telemetry = template("core/monitor/telemetry.bicep")["resources"]

    assert resource_config(telemetry["applicationInsights"])["properties"]["DisableLocalAuth"] is True
    assert resource_config(telemetry["workspace"])["properties"]["features"]["disableLocalAuth"] is True


def test_app_settings_connect_with_the_apps_own_identity() -> None:
    site = resource_config(template("core/host/function-app-flex.bicep")["resources"]["functionApp"])
    settings = {
        setting["name"]: setting["value"] for setting in site["properties"]["siteConfig"]["appSettings"]
    }

    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["AzureWebJobsStorage__clientId"] == "identityClientId"
    assert settings["ServiceBusConnection__credential"] == "managedidentity"
    assert settings["ServiceBusConnection__clientId"] == "identityClientId"
    assert settings["ServiceBusConnection__fullyQualifiedNamespace"] == "serviceBusFullyQualifiedNamespace"
    assert settings["AZURE_CLIENT_ID"] == "identityClientId"
    assert (
        settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]
        == "Authorization=AAD;ClientId=${identityClientId}"
    )
    assert settings["PPMI_POLICY_FILE"] == "/home/site/wwwroot/${policyFileName}"
    assert settings["PPMI_GRANT_SCOPES"] == {
        "function": {"type": "string", "parameters": {"value_to_convert": "grantScopes"}}
    }
    assert "AzureWebJobsStorage" not in settings
    assert "ServiceBusConnection" not in settings


def test_the_site_takes_no_inbound_traffic_unless_the_http_intake_is_enabled() -> None:
    site = resource_config(template("core/host/function-app-flex.bicep")["resources"]["functionApp"])
    default_action = site["properties"]["siteConfig"]["ipSecurityRestrictionsDefaultAction"]["operator"]

    assert default_action["type"] == "conditional"
    assert default_action["operands"] == {
        "condition": "enableHttpIntake",
        "true_value": "Allow",
        "false_value": "Deny",
    }
    assert template("main.bicep")["parameters"]["enableHttpIntake"]["default"] is False


def test_publishing_with_user_name_and_password_is_switched_off() -> None:
    host = template("core/host/function-app-flex.bicep")["resources"]

    for symbol in ("ftpPublishing", "scmPublishing"):
        assert resource_config(host[symbol])["properties"] == {"allow": False}
