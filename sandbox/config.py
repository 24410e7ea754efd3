"""The knobs of the sandbox: ports, seed, timings and limits; everything a test may turn is here."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

SubjectEnvironmentSource = Literal["environment", "organization"]


@dataclass
class DataverseLimits:
    """Service-protection limits per user per organisation over a sliding window (domain.md §2.4)."""

    window_seconds: float = 300.0
    max_requests: int = 6000
    max_execution_seconds: float = 1200.0
    max_concurrent: int = 52


@dataclass
class ManagedIdentityRates:
    """Managed identity provider rates, requests per second per tenant / subscription / identity (§4)."""

    write_per_tenant: float = 10.0
    read_per_tenant: float = 30.0
    list_per_tenant: float = 15.0
    delete_per_tenant: float = 10.0
    write_per_subscription: float = 2.0
    write_per_identity: float = 0.25
    read_per_subscription: float = 10.0
    read_per_identity: float = 0.5
    list_per_subscription: float = 5.0
    list_per_identity: float = 0.25
    delete_per_subscription: float = 2.0
    delete_per_identity: float = 0.25


@dataclass
class ArmBuckets:
    """ARM token buckets per subscription: burst and refill per second."""

    write_burst: float = 200.0
    write_refill: float = 10.0
    read_burst: float = 250.0
    read_refill: float = 25.0
    delete_burst: float = 200.0
    delete_refill: float = 10.0


@dataclass
class ArmAccess:
    """The deployment parameters `infra/main.bicep` derives ppmi's own ARM rights from (`sandbox.arm_access`).

    Off by default: every caller may do anything. When enforced, only the service identity holds rights.
    """

    enforced: bool = False
    identity_resource_groups: list[str] = field(default_factory=list)
    granted_role_definition_ids: list[str] = field(default_factory=list)
    grant_scopes: list[str] = field(default_factory=list)
    key_vault_ids: list[str] = field(default_factory=list)

    @classmethod
    def deployed(cls, parameters: Mapping[str, Any]) -> ArmAccess:
        """The rights `azd provision` grants from its parameters (`ppmi policy deployment-parameters`)."""
        group = parameters.get("PPMI_IDENTITY_RESOURCE_GROUP")
        return cls(
            enforced=True,
            identity_resource_groups=[str(group)] if group else [],
            granted_role_definition_ids=[str(r) for r in parameters.get("PPMI_GRANTED_ROLE_IDS") or []],
            grant_scopes=[str(s) for s in parameters.get("PPMI_GRANT_SCOPES") or []],
            key_vault_ids=[str(v) for v in parameters.get("PPMI_KEY_VAULT_IDS") or []],
        )


@dataclass
class SandboxConfig:
    """Everything that shapes the sandbox's behaviour; `reset()` restores the values it was started with."""

    seed: int = 0
    host: str = "127.0.0.1"
    https_port: int = 0
    token_port: int = 0
    servicebus_port: int = 0
    servicebus: bool = True
    profile: str = "none"
    time_scale: float = 1.0
    fault_overrides: dict[str, Any] = field(default_factory=dict)  # control-API shape: {"services": {...}}
    arm_page_size: int = 2
    # Resource groups that exist at start (name -> location), as a deployment of docs/policy.sample.yaml
    # leaves them; others answer 404 ResourceGroupNotFound until created (ARM PUT or
    # `control.create_resource_group`).
    resource_groups: dict[str, str] = field(default_factory=lambda: {"rg-ppmi-identities": "westeurope"})
    # Role definitions beyond the built-in ones in `sandbox.roles` (custom roles), by GUID.
    custom_role_definitions: list[str] = field(default_factory=list)
    arm_access: ArmAccess = field(default_factory=ArmAccess)
    # Whether the permissions API names the ABAC condition of the assignment behind an entry (UNCONFIRMED).
    permissions_report_conditions: bool = False
    # "Troubleshoot Azure RBAC" documents that principalType skips the lookup that lags replication; a public
    # report (MicrosoftDocs/azure-docs#103085) says it can still fail: False models that.
    principal_type_skips_lookup: bool = True
    # Keep every ARM request and reply (headers, bodies) in `state.exchanges`, for the contract tests.
    record_exchanges: bool = False
    environments_page_size: int = 2
    fic_write_hold_seconds: float = 0.05
    principal_propagation_seconds: float = 0.3
    environment_provisioning_seconds: float = 0.0
    token_lifetime_seconds: int = 3600
    fic_subject_environment: SubjectEnvironmentSource = "environment"
    # GetComponentManagedIdentityFIC for plug-ins is UNCONFIRMED (domain.md §2.3); False answers as if absent.
    component_subject_supported: bool = True
    # Tables an organisation does not have (logical names), e.g. `managedidentity` before the platform shipped
    # it: no EntityDefinitions entry, and its entity set answers as an unknown segment (UNCONFIRMED replies).
    dataverse_absent_tables: list[str] = field(default_factory=list)
    # Power Platform API field values (docs/sandbox.md): the real capture's by default, variations on request.
    environment_live_state: str = "Enabled"  # contracts/powerplatform/capture_list-environments...json
    environment_provisioning_state: str = "Provisioning"  # UNCONFIRMED: no capture of a provisioning one
    environment_next_link_key: str = "@odata.nextlink"  # the 2024-10-01 reference's spelling
    environment_deleted_sentinel: str | None = "1970-01-01T00:00:00Z"  # None leaves deletedDateTime out
    environment_tenant_id: str | None = None  # None: the sandbox's tenant; else what environments report
    dataverse_limits: DataverseLimits = field(default_factory=DataverseLimits)
    identity_rates: ManagedIdentityRates = field(default_factory=ManagedIdentityRates)
    arm_buckets: ArmBuckets = field(default_factory=ArmBuckets)

    def copy(self) -> SandboxConfig:
        return dataclasses.replace(
            self,
            dataverse_limits=dataclasses.replace(self.dataverse_limits),
            identity_rates=dataclasses.replace(self.identity_rates),
            arm_buckets=dataclasses.replace(self.arm_buckets),
            arm_access=copy.deepcopy(self.arm_access),
            resource_groups=dict(self.resource_groups),
            custom_role_definitions=list(self.custom_role_definitions),
            dataverse_absent_tables=list(self.dataverse_absent_tables),
            fault_overrides=copy.deepcopy(self.fault_overrides),
        )

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a partial change set (nested dataclasses take dicts), refusing unknown keys."""
        for key, value in changes.items():
            if key not in {f.name for f in dataclasses.fields(self)}:
                raise ValueError(f"unknown sandbox setting {key!r}")
            current = getattr(self, key)
            if dataclasses.is_dataclass(current) and isinstance(value, dict):
                names = {f.name for f in dataclasses.fields(current)}
                unknown = set(value) - names
                if unknown:
                    raise ValueError(f"unknown {key} settings: {sorted(unknown)}")
                for inner, inner_value in value.items():
                    setattr(current, inner, inner_value)
            else:
                setattr(self, key, value)
