"""Key Vault management stand-in: vaults in either authorisation mode and their access policy entries.

Each rule names its source (docs/sandbox.md lists them): shapes and limits from
contracts/keyvault/keyvault-2025-05-01.trimmed.json and the 2026-05-15 examples; `remove` matching
permission values case-sensitively from
contracts/keyvault/issue_azure-rest-api-specs-42963.accessPolicies-remove-casing.md.
What no source says (the error codes and messages, 200 versus 201, `remove` of a subset, what `replace`
replaces) is the sandbox's choice, marked UNCONFIRMED.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox.arm_versions import ResourceType
from sandbox.errors import error_response
from sandbox.routing import Call, Refusal, Router
from sandbox.runtime import Runtime
from sandbox.state import Vault, VaultEntry

# The stable folders of azure-rest-api-specs specification/keyvault/resource-manager/Microsoft.KeyVault
# (stable/<version>/keyvault.json up to 2025-05-01, KeyVault/stable/<version>/ from 2026-02-01 on); previews
# are not modelled. ARM answers the others as for any provider type (`sandbox.arm_versions`).
VAULT_API_VERSIONS = (
    "2016-10-01",
    "2018-02-14",
    "2019-09-01",
    "2021-10-01",
    "2022-07-01",
    "2022-11-01",
    "2023-02-01",
    "2023-07-01",
    "2024-11-01",
    "2025-05-01",
    "2026-02-01",
    "2026-05-15",
)
VAULTS = ResourceType("vaults", VAULT_API_VERSIONS, locations="westeurope, northeurope, eastus, westus")
VAULT_ACCESS_POLICIES = ResourceType("vaults/accessPolicies", VAULT_API_VERSIONS, locations=VAULTS.locations)
VAULT_TYPE = "Microsoft.KeyVault/vaults"
VAULT = (
    r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.KeyVault/vaults/(?P<name>[^/]+)"
)
ACCESS_POLICIES = VAULT + r"/accessPolicies/(?P<kind>[^/]+)"
MAX_ENTRIES = 1024  # VaultProperties.accessPolicies: "An array of 0 to 1024 identities"
MAX_ENTRIES_PER_CALL = 16  # VaultAccessPolicyProperties.accessPolicies: "An array of 0 to 16 identities"
PERMISSIONS: dict[str, frozenset[str]] = {  # definitions.Permissions, compared without case
    "keys": frozenset((
        "all", "encrypt", "decrypt", "wrapkey", "unwrapkey", "sign", "verify", "get", "list", "create",
        "update", "import", "delete", "backup", "restore", "recover", "purge", "release", "rotate",
        "getrotationpolicy", "setrotationpolicy",
    )),
    "secrets": frozenset(("all", "get", "list", "set", "delete", "backup", "restore", "recover", "purge")),
    "certificates": frozenset((
        "all", "get", "list", "delete", "create", "import", "update", "managecontacts", "getissuers",
        "listissuers", "setissuers", "deleteissuers", "manageissuers", "recover", "purge", "backup",
        "restore",
    )),
    "storage": frozenset((
        "all", "get", "list", "delete", "set", "update", "regeneratekey", "recover", "purge", "backup",
        "restore", "setsas", "listsas", "getsas", "deletesas",
    )),
}  # fmt: skip


def _error(status: int, code: str, message: str) -> web.Response:
    return error_response("arm", status, code, message)


def vault_json(vault: Vault) -> dict[str, Any]:
    """Vaults_Get's reply, shaped as contracts/keyvault/examples/2026-05-15/getVault.json."""
    properties: dict[str, Any] = {
        "accessPolicies": [entry_json(entry) for entry in vault.entries],
        "enabledForDeployment": False,
        "enabledForDiskEncryption": False,
        "enabledForTemplateDeployment": False,
        "provisioningState": "Succeeded",
        "publicNetworkAccess": "Enabled",
        "sku": {"name": "standard", "family": "A"},
        "tenantId": vault.tenant_id,
        "vaultUri": f"https://{vault.name}.vault.azure.net",
    }
    if vault.rbac is not None:  # the 2026-05-15 example leaves it out altogether
        properties["enableRbacAuthorization"] = vault.rbac
    return {
        "name": vault.name,
        "type": "Microsoft.KeyVault/vaults",
        "id": vault.resource_id,
        "location": vault.location,
        "properties": properties,
        "tags": {},
    }


def entry_json(entry: VaultEntry) -> dict[str, Any]:
    body: dict[str, Any] = {
        "objectId": entry.object_id,
        "permissions": {category: list(values) for category, values in entry.permissions.items()},
        "tenantId": entry.tenant_id,
    }
    if entry.application_id is not None:
        body["applicationId"] = entry.application_id
    return body


class KeyVaults:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def register(self, router: Router) -> None:
        router.add("GET", VAULT, self.get_vault)
        router.add("PUT", ACCESS_POLICIES, self.update_access_policy)

    def _vault(self, call: Call) -> Vault:
        key = (
            f"/subscriptions/{call.params['sub']}/resourcegroups/{call.params['rg']}"
            f"/providers/microsoft.keyvault/vaults/{call.params['name']}"
        ).lower()
        vault = next((v for v in self.runtime.state.vaults.values() if v.resource_id.lower() == key), None)
        if (
            vault is None
        ):  # ARM's generic reply for a missing resource (as sandbox/arm.py gives for identities)
            raise Refusal(
                _error(
                    404,
                    "ResourceNotFound",
                    f"The Resource 'Microsoft.KeyVault/vaults/{call.params['name']}' under resource group "
                    f"'{call.params['rg']}' was not found. For more details please go to "
                    "https://aka.ms/ARMResourceNotFoundFix",
                )
            )
        return vault

    async def get_vault(self, call: Call) -> web.StreamResponse:
        return web.json_response(vault_json(self._vault(call)))

    async def update_access_policy(self, call: Call) -> web.StreamResponse:
        vault = self._vault(call)
        kind = call.params["kind"]
        if kind not in ("add", "replace", "remove"):  # operationKind: enum add | replace | remove
            return _error(400, "BadRequest", f"The operation kind '{kind}' is not add, replace or remove.")
        body = await call.json_object()
        entries = [_parsed(item, vault) for item in _entries(body)]
        created = False
        for entry in entries:
            created = self._apply(vault, kind, entry) or created
        if len(vault.entries) > MAX_ENTRIES:
            raise Refusal(
                _error(
                    400, "AccessPolicyLimitExceeded", f"A vault holds at most {MAX_ENTRIES} access policies."
                )
            )
        reply = {
            "type": "Microsoft.KeyVault/vaults/accessPolicies",
            "id": f"{vault.resource_id}/accessPolicies/",
            "properties": {"accessPolicies": [entry_json(entry) for entry in entries]},
        }
        return web.json_response(reply, status=201 if created else 200)  # UNCONFIRMED: which of the two

    @staticmethod
    def _apply(vault: Vault, kind: str, entry: VaultEntry) -> bool:
        """Change the vault's entry for the same principal (and application); True when one was created."""
        current = next((e for e in vault.entries if _same_principal(e, entry)), None)
        if kind == "add":
            if current is None:
                vault.entries.append(entry)
                return True
            for category, values in entry.permissions.items():
                held = current.permissions.setdefault(category, [])
                held.extend(v for v in values if v.lower() not in {h.lower() for h in held})
        elif current is not None and kind == "replace":  # UNCONFIRMED: the entry, not the vault's whole list
            current.permissions = {category: list(values) for category, values in entry.permissions.items()}
        elif current is not None:  # remove: case-sensitive match (issue 42963); an emptied entry goes
            for category, values in entry.permissions.items():
                held = current.permissions.get(category, [])
                current.permissions[category] = [v for v in held if v not in values]
            if not any(current.permissions.values()):
                vault.entries.remove(current)
        return False


def _same_principal(first: VaultEntry, second: VaultEntry) -> bool:
    return (
        first.object_id.lower() == second.object_id.lower()
        and (first.application_id or "").lower() == (second.application_id or "").lower()
    )


def _entries(body: dict[str, Any]) -> list[Any]:
    properties = body.get("properties")
    entries = properties.get("accessPolicies") if isinstance(properties, dict) else None
    if not isinstance(entries, list):  # VaultAccessPolicyParameters: properties.accessPolicies required
        raise Refusal(_error(400, "BadRequest", "The request must carry properties.accessPolicies."))
    if len(entries) > MAX_ENTRIES_PER_CALL:
        raise Refusal(
            _error(400, "BadRequest", f"At most {MAX_ENTRIES_PER_CALL} access policies may be sent at once.")
        )
    return entries


def _parsed(item: Any, vault: Vault) -> VaultEntry:
    """AccessPolicyEntry: tenantId, objectId and permissions required; the tenant must be the vault's."""
    if not isinstance(item, dict) or not all(item.get(key) for key in ("tenantId", "objectId")):
        raise Refusal(_error(400, "BadRequest", "An access policy needs tenantId, objectId and permissions."))
    permissions = item.get("permissions")
    if not isinstance(permissions, dict):
        raise Refusal(_error(400, "BadRequest", "An access policy needs tenantId, objectId and permissions."))
    if str(item["tenantId"]).lower() != vault.tenant_id.lower():
        raise Refusal(
            _error(
                400,
                "BadRequest",
                "All identities in the access policies must use the same tenant ID as the key vault's tenant "
                f"ID ({vault.tenant_id}).",
            )
        )
    checked: dict[str, list[str]] = {}
    for category, values in permissions.items():
        known = PERMISSIONS.get(category)
        if known is None or not isinstance(values, list) or any(str(v).lower() not in known for v in values):
            raise Refusal(_error(400, "BadRequest", f"The {category} permissions {values!r} are not valid."))
        checked[category] = [str(v) for v in values]
    application = item.get("applicationId")
    return VaultEntry(
        object_id=str(item["objectId"]),
        tenant_id=str(item["tenantId"]),
        permissions=checked,
        application_id=str(application) if application else None,
    )


def add_vault(
    runtime: Runtime,
    name: str,
    *,
    resource_group: str,
    rbac: bool | None,
    entries: list[VaultEntry] | None = None,
    location: str = "westeurope",
) -> Vault:
    """A vault as an administrator would have made it (control plane)."""
    state = runtime.state
    vault = Vault(state.subscription_id, resource_group, name, location, state.tenant_id, rbac, entries or [])
    state.vaults[vault.resource_id.lower()] = vault
    return vault
