"""The naive baseline: Microsoft Learn's manual procedure, automated literally.

One environment after another, one call after another, no pacing; a call is retried only when it fails
(after `Retry-After` when the service gives one, else one model second), as a script around `az` and the
Dataverse Web API would. Per environment: look up its Dataverse URL, create the identity, add the FIC,
create the `managedidentity` row, bind each plug-in package, grant the role.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from bench.profile import KEY_VAULT_SECRETS_USER, AzureModel
from bench.workload import BenchEnvironment
from sandbox import Sandbox
from shared.fic import Signer, federated_credential, federated_credential_name, load_certificate

ARM = "https://management.azure.com"
MSI_API = "api-version=2024-11-30"
ROLES_API = "api-version=2022-04-01"
RETRYABLE = frozenset({409, 429, 500, 502, 503, 504})
MAX_ATTEMPTS = 30
ODATA = {"OData-MaxVersion": "4.0", "OData-Version": "4.0", "Accept": "application/json"}


class BaselineFailure(RuntimeError):
    """A call the naive script could not complete."""


@dataclass(frozen=True)
class BaselineRun:
    environments: int
    seconds: float  # wall clock, scaled


@dataclass
class NaiveScript:
    sandbox: Sandbox
    client: httpx.AsyncClient
    model: AzureModel
    signer: Signer
    tokens: dict[str, str]

    def _token(self, resource: str) -> str:
        if resource not in self.tokens:
            self.tokens[resource] = self.sandbox.control.mint_token(resource)
        return self.tokens[resource]

    async def call(
        self, method: str, url: str, resource: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        """Send; on a retryable failure wait `Retry-After` (or one model second) and send again."""
        sent = {"Authorization": f"Bearer {self._token(resource)}", **(headers or {})}
        for _ in range(MAX_ATTEMPTS):
            try:
                response = await self.client.request(method, url, json=body, headers=sent)
            except httpx.TransportError:
                await asyncio.sleep(self.model.scaled(1.0))
                continue
            principal_missing = response.status_code == 400 and "PrincipalNotFound" in response.text
            if response.status_code not in RETRYABLE and not principal_missing:
                if response.is_error:
                    raise BaselineFailure(f"{method} {url}: {response.status_code} {response.text[:200]}")
                return response
            retry_after = response.headers.get("Retry-After")
            await asyncio.sleep(float(retry_after) if retry_after else self.model.scaled(1.0))
        raise BaselineFailure(f"{method} {url}: still failing after {MAX_ATTEMPTS} attempts")

    async def set_up(self, environment: BenchEnvironment, tenant: str, subscription: str) -> None:
        found = await self.call(
            "GET",
            f"https://api.powerplatform.com/environmentmanagement/environments/{environment.id}"
            "?api-version=2024-10-01",
            "https://api.powerplatform.com",
        )
        org = str(found.json()["url"]).rstrip("/")
        identity_path = (
            f"{ARM}/subscriptions/{subscription}/resourceGroups/rg-naive/providers/"
            f"Microsoft.ManagedIdentity/userAssignedIdentities/naive-{environment.id}"
        )
        created = await self.call("PUT", f"{identity_path}?{MSI_API}", ARM, {"location": "westeurope"})
        properties = created.json()["properties"]
        credential = federated_credential(tenant_id=tenant, environment_id=environment.id, signer=self.signer)
        name = federated_credential_name(environment.id, self.signer)
        body = {
            "properties": {
                "issuer": credential.issuer,
                "subject": credential.subject,
                "audiences": [credential.audience],
            }
        }
        await self.call("PUT", f"{identity_path}/federatedIdentityCredentials/{name}?{MSI_API}", ARM, body)
        row_id = str(uuid.uuid4())
        row = {
            "managedidentityid": row_id,
            "applicationid": properties["clientId"],
            "tenantid": tenant,
            "credentialsource": 2,
            "subjectscope": 1,
            "version": 2,
            "name": f"naive {environment.id}",
        }
        api = f"{org}/api/data/v9.2"
        headers = {**ODATA, "Content-Type": "application/json"}
        await self.call("POST", f"{api}/managedidentities", org, row, headers)
        for package_id in environment.package_ids:
            bind = {"managedidentityid@odata.bind": f"/managedidentities({row_id})"}
            await self.call("PATCH", f"{api}/pluginpackages({package_id})", org, bind, headers)
        scope = (
            f"/subscriptions/{subscription}/resourceGroups/rg-kv/providers/Microsoft.KeyVault/vaults/kv-naive"
        )
        grant = {
            "properties": {
                "roleDefinitionId": f"/subscriptions/{subscription}/providers/Microsoft.Authorization/"
                f"roleDefinitions/{KEY_VAULT_SECRETS_USER}",
                "principalId": properties["principalId"],
                "principalType": "ServicePrincipal",
            }
        }
        assignment = uuid.uuid4()
        url = f"{ARM}{scope}/providers/Microsoft.Authorization/roleAssignments/{assignment}?{ROLES_API}"
        await self.call("PUT", url, ARM, grant)


async def run_baseline(
    sandbox: Sandbox, environments: list[BenchEnvironment], certificate: bytes, model: AzureModel
) -> BaselineRun:
    """Set up `environments` one after another; the wall-clock time it took."""
    state = sandbox.state
    tenant, subscription = state.tenant_id, state.subscription_id
    signer = Signer.from_certificate(load_certificate(certificate))
    async with sandbox.async_client(timeout=60) as client:
        script = NaiveScript(sandbox, client, model, signer, {})
        started = time.monotonic()
        for environment in environments:
            await script.set_up(environment, tenant, subscription)
        return BaselineRun(len(environments), time.monotonic() - started)
