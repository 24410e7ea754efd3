"""In-memory state of every stand-in; deterministic from the seed so runs are reproducible."""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sandbox.config import SandboxConfig

Row = dict[str, Any]

# Power Platform region -> Dataverse host label (crm = North America).
REGION_HOSTS = {
    "unitedstates": "crm",
    "southamerica": "crm2",
    "canada": "crm3",
    "europe": "crm4",
    "asia": "crm5",
    "australia": "crm6",
    "japan": "crm7",
    "india": "crm8",
    "unitedkingdom": "crm11",
    "france": "crm12",
    "unitedarabemirates": "crm15",
    "germany": "crm16",
    "switzerland": "crm17",
    "norway": "crm19",
    "korea": "crm21",
}


@dataclass
class FederatedCredential:
    name: str
    issuer: str
    subject: str
    audiences: list[str]
    id: str = ""
    description: str | None = None


@dataclass
class Identity:
    """A user-assigned managed identity with its federated credentials (keyed by lower-case name)."""

    subscription_id: str
    resource_group: str
    name: str
    location: str
    tags: dict[str, str]
    client_id: str
    principal_id: str
    tenant_id: str
    created_at: float
    fics: dict[str, FederatedCredential] = field(default_factory=dict)
    busy_until: float = 0.0
    isolation_scope: str = "None"

    @property
    def resource_id(self) -> str:
        # ARM answers with `resourcegroups` lower-cased whatever the request said (every 2024-11-30 example
        # in contracts/arm-msi/examples/, and recordings/azure-sdk-net...CreateOrUpdate.json).
        return (
            f"/subscriptions/{self.subscription_id}/resourcegroups/{self.resource_group}"
            f"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{self.name}"
        )


@dataclass
class ResourceGroup:
    name: str
    location: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Exchange:
    """One request and its reply, whole, as the contract tests check them against Microsoft's specs."""

    service: str
    method: str
    url: str
    request_headers: dict[str, str]
    request_body: bytes
    status: int
    response_headers: dict[str, str]
    response_body: bytes


@dataclass
class RoleAssignment:
    name: str
    scope: str
    role_definition_id: str
    principal_id: str
    principal_type: str
    created_on: str
    description: str | None = None
    condition: str | None = None
    condition_version: str | None = None

    @property
    def resource_id(self) -> str:
        return f"{self.scope}/providers/Microsoft.Authorization/roleAssignments/{self.name}"


@dataclass
class Application:
    """An Entra app registration with its service principal and federated credentials."""

    object_id: str
    app_id: str
    display_name: str
    service_principal_id: str
    fics: dict[str, FederatedCredential] = field(default_factory=dict)
    busy_until: float = 0.0
    redirect_uris: list[str] = field(default_factory=list)  # web.redirectUris


@dataclass
class VaultEntry:
    """One access policy entry; permission values kept as they were written, per category."""

    object_id: str
    tenant_id: str
    permissions: dict[str, list[str]]
    application_id: str | None = None


@dataclass
class Vault:
    subscription_id: str
    resource_group: str
    name: str
    location: str
    tenant_id: str
    rbac: bool | None  # enableRbacAuthorization; None: the property is left out of replies
    entries: list[VaultEntry] = field(default_factory=list)

    @property
    def resource_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.KeyVault/vaults/{self.name}"
        )


@dataclass
class Organization:
    """One Dataverse organisation: its host, tables of rows (by lower-case id) and plug-in signers."""

    id: str
    host: str
    unique_name: str
    environment_id: str
    tables: dict[str, dict[str, Row]] = field(default_factory=dict)
    signers: dict[str, bytes] = field(default_factory=dict)
    privileged_app_ids: set[str] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"https://{self.host}"

    def table(self, name: str) -> dict[str, Row]:
        return self.tables.setdefault(name, {})


@dataclass
class Environment:
    id: str
    display_name: str
    type: str
    region: str
    created: datetime
    ready_at: float
    organization: Organization | None

    @property
    def ready(self) -> bool:
        return time.monotonic() >= self.ready_at

    @property
    def dataverse_url(self) -> str:
        if self.organization is None or not self.ready:
            return ""
        return self.organization.url + "/"


@dataclass
class TelemetryEnvelope:
    envelope: dict[str, Any]
    authenticated: bool
    instrumentation_key: str


@dataclass
class HostIdentity:
    """An identity the token endpoint can issue tokens for (the service's own, or the system-assigned one)."""

    client_id: str
    principal_id: str


class SandboxState:
    """All mutable state, reset as a whole; identifiers come from a seeded generator."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._rng = random.Random(config.seed)
        self.tenant_id = self.new_id()
        self.subscription_id = self.new_id()
        self.instrumentation_key = self.new_id()
        self.service_identity = HostIdentity(client_id=self.new_id(), principal_id=self.new_id())
        self.system_identity = HostIdentity(client_id=self.new_id(), principal_id=self.new_id())
        self.identities: dict[str, Identity] = {}
        self.role_assignments: dict[str, RoleAssignment] = {}
        self.applications: dict[str, Application] = {}
        self.vaults: dict[str, Vault] = {}  # by lower-case resource ID
        self.environments: dict[str, Environment] = {}
        self.telemetry: list[TelemetryEnvelope] = []
        self.exchanges: list[Exchange] = []
        self.resource_groups = {
            name.lower(): ResourceGroup(name, location) for name, location in config.resource_groups.items()
        }
        self.extra_principals: set[str] = {
            self.service_identity.principal_id,
            self.system_identity.principal_id,
        }
        self.add_environment(
            f"Default-{self.tenant_id}",
            display_name="Contoso (default)",
            env_type="Default",
            region="unitedstates",
        )

    def new_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def new_hex(self, length: int) -> str:
        return "".join(self._rng.choice("0123456789abcdef") for _ in range(length))

    def add_environment(
        self,
        environment_id: str | None = None,
        *,
        display_name: str = "",
        env_type: str = "Sandbox",
        region: str = "unitedstates",
        dataverse: bool = True,
        provisioning_seconds: float | None = None,
        app_user_ids: tuple[str, ...] | None = None,
    ) -> Environment:
        env_id = environment_id or self.new_id()
        if env_id in self.environments:
            raise ValueError(f"environment {env_id} already exists")
        organization = None
        if dataverse:
            suffix = f"{REGION_HOSTS.get(region, 'crm')}.dynamics.com"
            unique = f"org{self.new_hex(8)}"
            organization = Organization(
                id=self.new_id(), host=f"{unique}.{suffix}", unique_name=unique, environment_id=env_id
            )
            users = (self.service_identity.client_id,) if app_user_ids is None else app_user_ids
            for app_id in users:
                self.add_application_user(organization, app_id, privileged=True)
        delay = (
            self.config.environment_provisioning_seconds
            if provisioning_seconds is None
            else provisioning_seconds
        )
        environment = Environment(
            id=env_id,
            display_name=display_name or f"Environment {env_id[:8]}",
            type=env_type,
            region=region,
            created=datetime.now(UTC),
            ready_at=time.monotonic() + delay,
            organization=organization,
        )
        self.environments[env_id] = environment
        return environment

    def add_application_user(self, organization: Organization, app_id: str, *, privileged: bool) -> Row:
        users = organization.table("systemusers")
        for existing in users.values():
            if existing["applicationid"] == app_id.lower():
                if privileged:
                    organization.privileged_app_ids.add(app_id.lower())
                return existing
        user_id = self.new_id()
        row: Row = {
            "systemuserid": user_id,
            "applicationid": app_id.lower(),
            "fullname": f"# {app_id}",
            "isdisabled": False,
            "accessmode": 4,
        }
        users[user_id] = row
        if privileged:
            organization.privileged_app_ids.add(app_id.lower())
        return row

    def organization_by_host(self, host: str) -> Organization | None:
        for environment in self.environments.values():
            org = environment.organization
            if org is not None and org.host == host and environment.ready:
                return org
        return None

    def resource_group(self, subscription_id: str, name: str) -> ResourceGroup | None:
        if subscription_id.lower() != self.subscription_id:
            return None
        return self.resource_groups.get(name.lower())

    def known_principal(self, principal_id: str) -> Identity | Application | bool | None:
        """The identity or application that owns this principal ID, True for host principals, else None."""
        pid = principal_id.lower()
        for identity in self.identities.values():
            if identity.principal_id == pid:
                return identity
        for application in self.applications.values():
            if application.service_principal_id == pid:
                return application
        return True if pid in self.extra_principals else None
