"""One tenant: the policy's `tenantId` is the FIC issuer; environments and identities elsewhere are refused.

The environment's tenant comes from the Power Platform API (`tenantId`, contracts/powerplatform/
capture_list-environments.2024-10-01.response.json), the identity's from ARM (`properties.tenantId`,
contracts/arm-msi/examples/IdentityGet.json).
"""

from __future__ import annotations

from shared.clients.arm import ManagedIdentity
from shared.clients.environments import EnvironmentInfo
from shared.errors import InvalidInputError, PermanentError


def check_environment_tenant(environment: EnvironmentInfo, tenant_id: str) -> None:
    """The FIC issuer is the policy's tenant: an environment of another tenant would get FICs trusting it."""
    if environment.tenant_id is not None and environment.tenant_id != tenant_id.lower():
        raise InvalidInputError(
            f"environment {environment.id} belongs to tenant {environment.tenant_id}, but the policy's "
            f"tenantId is {tenant_id}: its plug-ins' tokens come from their own tenant, so FICs issued for "
            f"{tenant_id} would trust the wrong issuer; run a ppmi deployment for that tenant",
            field="data.environmentId",
        )


def check_identity_tenant(identity: ManagedIdentity, tenant_id: str) -> None:
    """Checked before any FIC is written: an identity in another tenant never trusts this tenant's issuer."""
    if identity.tenant_id and identity.tenant_id.lower() != tenant_id.lower():
        raise PermanentError(
            f"the identity {identity.address.name} lives in tenant {identity.tenant_id}, but the policy's "
            f"tenantId is {tenant_id}: no FIC is written on it; put identity.subscriptionId in a "
            f"subscription of tenant {tenant_id}"
        )
