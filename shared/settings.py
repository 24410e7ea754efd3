"""The one settings object, read once from environment variables; every error names the variable to fix."""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from shared.errors import ConfigurationError
from shared.role_grants import ScopeError, check_scope


@dataclass(frozen=True)
class Endpoints:
    """Base URLs of the services ppmi calls, for one cloud."""

    arm: str
    graph: str
    powerplatform: str
    bap: str
    # The BAP admin API takes tokens for the Power Apps service, not for its own host name.
    bap_audience: str


# Defaults per cloud (`Policy.cloud`); each can be overridden by a PPMI_*_ENDPOINT variable. Sources:
# - Power Platform API and BAP hosts, the clouds' names: microsoft/terraform-provider-power-platform
#   internal/constants/constants.go (its cloud table) and internal/provider/provider.go. Its GCC High
#   Power Platform API constant (`api.appsplatform.us`, DoD's host) disagrees with its own table and with
#   microsoft/Agents-for-python (copilotstudio-client power_platform_environment.py): both say
#   `api.high.powerplatform.microsoft.us`, which ppmi uses. The API's token audience is its host (both).
# - BAP token audiences: public and DoD agree between terraform-provider-power-platform and
#   microsoft/coe-starter-kit (coe-cli/scripts/Microsoft.PowerApps.RestClientModule.psm1); for GCC and
#   GCC High they disagree (terraform: service.powerapps.us / high.service.apps.appsplatform.us;
#   coe-starter-kit: gov.service.powerapps.us / high.service.powerapps.us): UNCONFIRMED, ppmi uses the
#   latter, PPMI_BAP_AUDIENCE overrides. China: terraform only (UNCONFIRMED).
# - ARM: GCC tenants sign in to the public cloud ("GCC uses public cloud for authentication",
#   provider.go), so their identities live in public Azure; GCC High and DoD use Azure Government.
# - Graph: learn.microsoft.com/graph/deployments: global for public and GCC, graph.microsoft.us for
#   GCC High (US Government L4), dod-graph.microsoft.us for DoD (L5), microsoftgraph.chinacloudapi.cn.
_AZURE_GOVERNMENT = "https://management.usgovcloudapi.net"
CLOUD_ENDPOINTS: dict[str, Endpoints] = {
    "public": Endpoints(
        arm="https://management.azure.com",
        graph="https://graph.microsoft.com",
        powerplatform="https://api.powerplatform.com",
        bap="https://api.bap.microsoft.com",
        bap_audience="https://service.powerapps.com",
    ),
    "gcc": Endpoints(
        arm="https://management.azure.com",
        graph="https://graph.microsoft.com",
        powerplatform="https://api.gov.powerplatform.microsoft.us",
        bap="https://gov.api.bap.microsoft.us",
        bap_audience="https://gov.service.powerapps.us",  # UNCONFIRMED: PPMI_BAP_AUDIENCE
    ),
    "gcchigh": Endpoints(
        arm=_AZURE_GOVERNMENT,
        graph="https://graph.microsoft.us",
        powerplatform="https://api.high.powerplatform.microsoft.us",
        bap="https://high.api.bap.microsoft.us",
        bap_audience="https://high.service.powerapps.us",  # UNCONFIRMED: PPMI_BAP_AUDIENCE
    ),
    "dod": Endpoints(
        arm=_AZURE_GOVERNMENT,
        graph="https://dod-graph.microsoft.us",
        powerplatform="https://api.appsplatform.us",
        bap="https://api.bap.appsplatform.us",
        bap_audience="https://service.apps.appsplatform.us",
    ),
    "china": Endpoints(
        arm="https://management.chinacloudapi.cn",
        graph="https://microsoftgraph.chinacloudapi.cn",
        powerplatform="https://api.powerplatform.partner.microsoftonline.cn",
        bap="https://api.bap.partner.microsoftonline.cn",
        bap_audience="https://service.powerapps.cn",  # UNCONFIRMED: PPMI_BAP_AUDIENCE
    ),
}

_ENDPOINT_VARIABLES = {
    "arm": "PPMI_ARM_ENDPOINT",
    "graph": "PPMI_GRAPH_ENDPOINT",
    "powerplatform": "PPMI_POWERPLATFORM_ENDPOINT",
    "bap": "PPMI_BAP_ENDPOINT",
    "bap_audience": "PPMI_BAP_AUDIENCE",
}

SERVICEBUS_NAMESPACE_VARIABLE = "ServiceBusConnection__fullyQualifiedNamespace"


class ConnectTo(BaseModel):
    """A loopback address every outbound HTTPS connection is sent to (like `curl --connect-to`)."""

    model_config = ConfigDict(frozen=True)

    host: str
    port: int


class Settings(BaseModel):
    """Everything ppmi reads from its environment; build it with `Settings.from_env()`."""

    model_config = ConfigDict(frozen=True)

    policy_file: Path | None = None
    endpoint_overrides: dict[str, str] = {}
    connect_to: ConnectTo | None = None
    ca_bundle: Path | None = None
    azure_client_id: str | None = None
    identity_endpoint: str | None = None
    http_timeout_seconds: float = 30.0
    retry_budget_seconds: float = 60.0
    fic_propagation_seconds: float = 300.0  # between adding an upgrade's FICs and moving the row to them
    # GetComponentManagedIdentityFIC calls one environment event's re-binding survey may make
    rebind_subject_calls: int = 25
    # Where the deployment lets ppmi assign roles (infra/ sets it from the azd parameter of the same name):
    # ppmi also looks there for its own grants that the policy dropped, to revoke them. None: not set.
    grant_scopes: tuple[str, ...] | None = None
    servicebus_namespace: str | None = None
    servicebus_tls: bool = True

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and check every variable; raise `ConfigurationError` naming the first wrong one."""
        env = os.environ if environ is None else environ
        connect_to = _connect_to(env.get("PPMI_CONNECT_TO", ""))
        servicebus_tls = _boolean(env, "PPMI_SERVICEBUS_TLS", default=True)
        namespace = env.get(SERVICEBUS_NAMESPACE_VARIABLE) or None
        if namespace is not None and not servicebus_tls and not is_loopback(namespace.rsplit(":", 1)[0]):
            raise ConfigurationError(
                f"PPMI_SERVICEBUS_TLS=false is only allowed for a loopback {SERVICEBUS_NAMESPACE_VARIABLE}, "
                f"not {namespace!r}"
            )
        overrides = {}
        for service, variable in _ENDPOINT_VARIABLES.items():
            value = env.get(variable)
            if value:
                if not value.startswith("https://"):
                    raise ConfigurationError(f"{variable} must be an https:// URL, got {value!r}")
                overrides[service] = value.rstrip("/")
        return cls(
            policy_file=_existing_file(env, "PPMI_POLICY_FILE"),
            endpoint_overrides=overrides,
            connect_to=connect_to,
            ca_bundle=_existing_file(env, "PPMI_CA_BUNDLE"),
            azure_client_id=env.get("AZURE_CLIENT_ID") or None,
            identity_endpoint=env.get("IDENTITY_ENDPOINT") or None,
            http_timeout_seconds=_positive(env, "PPMI_HTTP_TIMEOUT_SECONDS", 30.0),
            retry_budget_seconds=_positive(env, "PPMI_RETRY_BUDGET_SECONDS", 60.0),
            fic_propagation_seconds=_seconds(env, "PPMI_FIC_PROPAGATION_SECONDS", 300.0),
            rebind_subject_calls=_count(env, "PPMI_REBIND_SUBJECT_CALLS", 25),
            grant_scopes=_grant_scopes(env.get("PPMI_GRANT_SCOPES")),
            servicebus_namespace=namespace,
            servicebus_tls=servicebus_tls,
        )

    def endpoints(self, cloud: str) -> Endpoints:
        """Service base URLs for `cloud` (a `Policy.cloud` value), with any overrides applied."""
        try:
            defaults = CLOUD_ENDPOINTS[cloud]
        except KeyError:
            raise ConfigurationError(
                f"unknown cloud {cloud!r}; expected one of {sorted(CLOUD_ENDPOINTS)}"
            ) from None
        return Endpoints(
            arm=self.endpoint_overrides.get("arm", defaults.arm),
            graph=self.endpoint_overrides.get("graph", defaults.graph),
            powerplatform=self.endpoint_overrides.get("powerplatform", defaults.powerplatform),
            bap=self.endpoint_overrides.get("bap", defaults.bap),
            bap_audience=self.endpoint_overrides.get("bap_audience", defaults.bap_audience),
        )

    def require_policy_file(self) -> Path:
        """The policy path, or an error telling the user which variable to set."""
        if self.policy_file is None:
            raise ConfigurationError(
                "PPMI_POLICY_FILE is not set: point it at the provisioning policy (YAML)"
            )
        return self.policy_file


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _connect_to(value: str) -> ConnectTo | None:
    if not value:
        return None
    host, separator, port = value.rpartition(":")
    if not separator or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigurationError(f"PPMI_CONNECT_TO must be <loopback address>:<port>, got {value!r}")
    if not is_loopback(host):
        raise ConfigurationError(f"PPMI_CONNECT_TO must be a loopback address (127.0.0.1, ::1), got {host!r}")
    return ConnectTo(host=host.strip("[]"), port=int(port))


def _grant_scopes(value: str | None) -> tuple[str, ...] | None:
    """`PPMI_GRANT_SCOPES`: a JSON list of subscription or resource group IDs, as `azd` and infra/ pass it."""
    if value is None or not value.strip():
        return None
    try:
        scopes = json.loads(value)
    except ValueError:
        scopes = None
    if not isinstance(scopes, list) or not all(isinstance(scope, str) for scope in scopes):
        raise ConfigurationError(
            "PPMI_GRANT_SCOPES must be a JSON list of scopes, e.g. "
            '["/subscriptions/<id>/resourceGroups/<name>"]'
        )
    checked = []
    for scope in scopes:
        try:
            checked.append(check_scope(scope, template=False))
        except ScopeError as error:
            raise ConfigurationError(f"PPMI_GRANT_SCOPES: {scope!r} {error}") from None
    return tuple(checked)


def _existing_file(env: Mapping[str, str], variable: str) -> Path | None:
    value = env.get(variable)
    if not value:
        return None
    path = Path(value)
    if not path.is_file():
        raise ConfigurationError(f"{variable} points at {value!r}, which is not a readable file")
    return path


def _positive(env: Mapping[str, str], variable: str, default: float) -> float:
    return _seconds(env, variable, default, zero_allowed=False)


def _seconds(env: Mapping[str, str], variable: str, default: float, *, zero_allowed: bool = True) -> float:
    """A number of seconds; 0 only where it turns a wait off."""
    value = env.get(variable)
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ConfigurationError(f"{variable} must be a number of seconds, got {value!r}") from None
    if number < 0 or (number == 0 and not zero_allowed):
        expected = "0 or more" if zero_allowed else "positive"
        raise ConfigurationError(f"{variable} must be {expected}, got {value!r}")
    return number


def _count(env: Mapping[str, str], variable: str, default: int) -> int:
    """A whole number, 0 or more (0 turns the calls it counts off)."""
    value = env.get(variable, "").strip()
    if not value:
        return default
    if not value.isdigit():
        raise ConfigurationError(f"{variable} must be a whole number, 0 or more, got {value!r}")
    return int(value)


def _boolean(env: Mapping[str, str], variable: str, *, default: bool) -> bool:
    value = env.get(variable, "").strip().lower()
    if not value:
        return default
    if value in ("1", "true", "yes"):
        return True
    if value in ("0", "false", "no"):
        return False
    raise ConfigurationError(f"{variable} must be true or false, got {value!r}")
