"""Settings name the variable to fix; tokens are reused and fetched once for concurrent callers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError

from shared.auth import CachedTokens, scope_for
from shared.errors import ConfigurationError, TransientError
from shared.settings import Settings


def test_connect_to_a_remote_address_is_refused_naming_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="PPMI_CONNECT_TO"):
        Settings.from_env({"PPMI_CONNECT_TO": "10.0.0.5:443"})


def test_connect_to_a_loopback_address_is_accepted() -> None:
    settings = Settings.from_env({"PPMI_CONNECT_TO": "127.0.0.1:8443"})
    assert settings.connect_to is not None
    assert (settings.connect_to.host, settings.connect_to.port) == ("127.0.0.1", 8443)


def test_plain_amqp_to_a_remote_service_bus_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="PPMI_SERVICEBUS_TLS"):
        Settings.from_env(
            {
                "ServiceBusConnection__fullyQualifiedNamespace": "ns.servicebus.windows.net",
                "PPMI_SERVICEBUS_TLS": "0",
            }
        )


def test_a_missing_ca_bundle_file_names_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="PPMI_CA_BUNDLE"):
        Settings.from_env({"PPMI_CA_BUNDLE": "/nonexistent/ca.pem"})


GROUP = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-data"


def test_grant_scopes_are_read_as_infra_passes_them_and_unset_stays_unknown() -> None:
    assert Settings.from_env({}).grant_scopes is None
    assert Settings.from_env({"PPMI_GRANT_SCOPES": "[]"}).grant_scopes == ()
    lower_cased = GROUP.replace("resourceGroups", "resourcegroups")
    passed = Settings.from_env({"PPMI_GRANT_SCOPES": f'["{lower_cased}"]'})
    assert passed.grant_scopes == (GROUP,)  # the keyword as ARM writes it


@pytest.mark.parametrize(
    "value",
    ["rg-data", '{"scope": "x"}', "[1]", f'["{GROUP}/../.."]', f'["{GROUP}/"]', '["/subscriptions/x"]'],
)
def test_grant_scopes_that_are_not_a_list_of_canonical_scopes_are_refused_naming_the_variable(
    value: str,
) -> None:
    with pytest.raises(ConfigurationError, match="PPMI_GRANT_SCOPES"):
        Settings.from_env({"PPMI_GRANT_SCOPES": value})


def test_endpoints_follow_the_cloud_and_honour_overrides() -> None:
    settings = Settings.from_env({"PPMI_GRAPH_ENDPOINT": "https://graph.example.test/"})
    assert settings.endpoints("china").arm == "https://management.chinacloudapi.cn"
    assert settings.endpoints("public").graph == "https://graph.example.test"


def test_bap_tokens_are_for_the_power_apps_service_unless_overridden() -> None:
    assert Settings.from_env({}).endpoints("public").bap_audience == "https://service.powerapps.com"
    overridden = Settings.from_env({"PPMI_BAP_AUDIENCE": "https://service.example.test/"})
    assert overridden.endpoints("gcchigh").bap_audience == "https://service.example.test"


def test_each_cloud_has_its_own_power_platform_hosts() -> None:
    settings = Settings.from_env({})
    hosts = {cloud: settings.endpoints(cloud).powerplatform for cloud in ("public", "gcc", "gcchigh", "dod")}
    assert hosts == {
        "public": "https://api.powerplatform.com",
        "gcc": "https://api.gov.powerplatform.microsoft.us",
        "gcchigh": "https://api.high.powerplatform.microsoft.us",
        "dod": "https://api.appsplatform.us",
    }
    assert settings.endpoints("gcc").arm == "https://management.azure.com"
    assert settings.endpoints("dod").graph == "https://dod-graph.microsoft.us"


def test_the_scope_of_a_dataverse_url_is_its_origin() -> None:
    assert (
        scope_for("https://org.crm.dynamics.com/api/data/v9.2/x") == "https://org.crm.dynamics.com/.default"
    )


class CountingCredential:
    def __init__(self, lifetime: float) -> None:
        self.fetches = 0
        self.lifetime = lifetime

    async def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        self.fetches += 1
        await asyncio.sleep(0)
        return AccessToken(f"t{self.fetches}", int(1000 + self.lifetime))

    async def close(self) -> None:
        return None


async def test_concurrent_callers_share_one_token_fetch() -> None:
    credential = CountingCredential(lifetime=3600)
    tokens = CachedTokens(credential, now=lambda: 1000.0)  # type: ignore[arg-type]
    results = await asyncio.gather(*(tokens.token("https://x/.default") for _ in range(10)))
    assert set(results) == {"t1"}
    assert credential.fetches == 1


async def test_a_token_close_to_expiry_is_fetched_again() -> None:
    credential = CountingCredential(lifetime=3600)
    now = [1000.0]
    tokens = CachedTokens(credential, now=lambda: now[0])  # type: ignore[arg-type]
    assert await tokens.token("s") == "t1"
    now[0] = 4000.0  # 3600 s token, 300 s refresh margin: still fresh
    assert await tokens.token("s") == "t1"
    now[0] = 4400.0
    assert await tokens.token("s") == "t2"


class RefusingCredential(CountingCredential):
    """A token endpoint whose refusal repeats the header it was sent."""

    async def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        raise ClientAuthenticationError("endpoint said 400 to Authorization: Bearer abcdef0123456789secret")


async def test_a_refused_token_request_is_reported_without_what_the_endpoint_echoed() -> None:
    tokens = CachedTokens(RefusingCredential(lifetime=0), now=lambda: 1000.0)  # type: ignore[arg-type]
    with pytest.raises(TransientError) as caught:
        await tokens.token("https://management.azure.com/.default")
    assert "abcdef0123456789secret" not in str(caught.value)
    assert "endpoint said 400" in str(caught.value)
