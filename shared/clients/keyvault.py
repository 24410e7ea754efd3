"""Key Vault management (ARM): read a vault's authorisation mode and access policies, add and remove entries.

Shapes from contracts/keyvault/keyvault-2025-05-01.trimmed.json and the 2026-05-15 examples beside it. A
vault's reply may leave `enableRbacAuthorization` out (the 2026-05-15 Vaults_Get example does): it is then
read as unstated (None), and callers use the spec's default, access policies. Permission values are kept
exactly as the vault spells them, because `accessPolicies/remove` matches them case-sensitively
(contracts/keyvault/issue_azure-rest-api-specs-42963.accessPolicies-remove-casing.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from shared.clients.arm import explained_refusal, scope_subscription
from shared.errors import MissingResourceGroup, PermanentServiceError, ResourceNotFoundError
from shared.http import Call, HttpClient, PaceKey
from shared.telemetry import get_logger

KEYVAULT_API_VERSION = "2026-05-15"  # the current stable (Microsoft.KeyVault/KeyVault/stable/2026-05-15)
PERMISSION_CATEGORIES = ("secrets", "keys", "certificates")
_VAULT = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{name}"
LOG = get_logger("shared.clients.keyvault")

Permissions = Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class AccessPolicy:
    """One entry of a vault's access policy list; `permissions` as the vault spells them, per category."""

    object_id: str
    tenant_id: str
    permissions: Permissions = field(default_factory=dict)
    application_id: str | None = None  # a compound identity (application on behalf of a principal)

    def holds(self, category: str) -> tuple[str, ...]:
        return tuple(self.permissions.get(category, ()))


@dataclass(frozen=True)
class KeyVault:
    id: str
    name: str
    tenant_id: str
    rbac: bool | None  # `enableRbacAuthorization`; None when the reply does not say
    access_policies: tuple[AccessPolicy, ...] = ()

    @property
    def uses_access_policies(self) -> bool:
        """Access policies decide: `enableRbacAuthorization` false, or unstated (the spec's default)."""
        return self.rbac is not True

    def entry_for(self, principal_id: str) -> AccessPolicy | None:
        """The principal's own entry (not a compound identity's); object IDs are unique per vault."""
        wanted = principal_id.lower()
        return next(
            (
                entry
                for entry in self.access_policies
                if entry.object_id.lower() == wanted and entry.application_id is None
            ),
            None,
        )


class KeyVaultClient:
    """Exactly the Key Vault management calls ppmi makes; writes draw from the subscription's ARM bucket."""

    def __init__(self, http: HttpClient, base_url: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._scope = f"{self._base}/.default"

    def _call(self, method: str, path: str, template: str, **extra: Any) -> Call:
        return Call(
            service="arm",
            method=method,
            url=f"{self._base}{path}?api-version={KEYVAULT_API_VERSION}",
            template=template,
            scope=self._scope,
            **extra,
        )

    async def get_vault(self, vault_id: str) -> KeyVault | None:
        try:
            response = await self._send(self._call("GET", vault_id, _VAULT))
        except (ResourceNotFoundError, MissingResourceGroup):  # no group, no vault
            return None
        return vault_from(vault_id, response.json())

    async def update_access_policy(
        self, vault_id: str, kind: Literal["add", "remove"], entry: AccessPolicy
    ) -> None:
        """`add` merges the permissions into the entry (creating it); `remove` takes the listed ones away."""
        body = {"properties": {"accessPolicies": [access_policy_json(entry)]}}
        subscription = scope_subscription(vault_id) or ""
        call = self._call(
            "PUT",
            f"{vault_id}/accessPolicies/{kind}",
            _VAULT + "/accessPolicies/{operationKind}",
            json=body,
            pace=(PaceKey("arm-writes-per-subscription", subscription.lower()),),
        )
        await self._send(call)

    async def _send(self, call: Call) -> httpx.Response:
        """ARM's refusals of ppmi's rights (and a missing resource group) said in the operator's terms."""
        try:
            return await self._http.send(call)
        except PermanentServiceError as error:
            raise explained_refusal(call, error) from error


def access_policy_json(entry: AccessPolicy) -> dict[str, Any]:
    permissions = {category: list(entry.holds(category)) for category in PERMISSION_CATEGORIES}
    body: dict[str, Any] = {
        "tenantId": entry.tenant_id,
        "objectId": entry.object_id,
        "permissions": permissions,
    }
    if entry.application_id is not None:
        body["applicationId"] = entry.application_id
    return body


def vault_from(vault_id: str, body: Mapping[str, Any]) -> KeyVault:
    properties = body.get("properties") or {}
    rbac = properties.get("enableRbacAuthorization")
    if not isinstance(rbac, bool):
        LOG.info("keyvault.rbac_unstated", vault=vault_id, value=repr(rbac))
        rbac = None
    entries = tuple(_entry(item) for item in properties.get("accessPolicies") or () if isinstance(item, dict))
    return KeyVault(
        id=str(body.get("id") or vault_id),
        name=str(body.get("name") or vault_id.rsplit("/", 1)[-1]),
        tenant_id=str(properties.get("tenantId") or "").lower(),
        rbac=rbac,
        access_policies=entries,
    )


def _entry(item: Mapping[str, Any]) -> AccessPolicy:
    raw = item.get("permissions") or {}
    permissions = {
        str(category): tuple(str(value) for value in values or ())
        for category, values in raw.items()
        if isinstance(values, list | type(None))
    }
    unknown = set(permissions) - {*PERMISSION_CATEGORIES, "storage"}
    if unknown:
        LOG.info("keyvault.unknown_permission_categories", categories=sorted(unknown))
    application = item.get("applicationId")
    return AccessPolicy(
        object_id=str(item.get("objectId") or "").lower(),
        tenant_id=str(item.get("tenantId") or "").lower(),
        permissions=permissions,
        application_id=str(application).lower() if application else None,
    )
