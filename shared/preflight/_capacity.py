"""Room for FICs on every identity in scope, and the tenant each is in: Entra allows 20 per managed identity
or application (Learn, "Workload identity federation considerations"; `MAX_FICS_PER_IDENTITY`)."""

from __future__ import annotations

from shared.clients.arm import IdentityAddress, ManagedIdentity
from shared.diagnosis import Evidence, Finding, Severity
from shared.engine import Runtime
from shared.engine._naming import OWNED_TAG, POOL_TAG
from shared.errors import MissingResourceGroup, PpmiError
from shared.policy_checks import MAX_FICS_PER_IDENTITY
from shared.preflight._problems import failed_call
from shared.preflight._report import Findings, Outcome

AREA = "capacity"
GRAPH_RIGHTS = (
    "make ppmi's identity an owner of the application and grant it Application.ReadWrite.OwnedBy "
    "(docs/deploy.md, prerequisite 7)"
)


async def check_capacity(runtime: Runtime) -> Findings:
    found = Findings()
    identity = runtime.policy.identity
    if identity.strategy == "app-registration":
        await _application(found, runtime, str(identity.application_object_id))
        return found
    subscription, group = str(identity.subscription_id), str(identity.resource_group)
    target = f"/subscriptions/{subscription}/resourceGroups/{group}"
    try:
        listed = await runtime.arm.list_identities(subscription, group)
    except MissingResourceGroup as error:
        found.add(_group_missing(target, error.reason))
        found.check(AREA, target, Outcome.ERROR, "the identity resource group does not exist")
        return found
    except PpmiError as error:
        found.add(
            failed_call(error, what="list the identities", resource=target, refused_fix=_rights_fix(target))
        )
        found.check(AREA, target, Outcome.ERROR, "could not be listed")
        return found
    owned = [i for i in listed if _in_scope(i, identity.strategy, identity.pool_name)]
    found.check(
        AREA,
        target,
        Outcome.OK,
        "ppmi's identities there",
        listed=str(len(listed)),
        owned_by_ppmi=str(len(owned)),
    )
    for managed in owned:
        await _identity(found, runtime, managed)
    return found


def _in_scope(identity: ManagedIdentity, strategy: str, pool: str | None) -> bool:
    if identity.tags.get(OWNED_TAG) != "true":
        return False
    return strategy != "shared-pool" or identity.tags.get(POOL_TAG) == pool


async def _identity(found: Findings, runtime: Runtime, identity: ManagedIdentity) -> None:
    address: IdentityAddress = identity.address
    tenant = runtime.policy.tenant_id
    if identity.tenant_id and identity.tenant_id.lower() != tenant:
        found.add(
            Finding(
                code="identity.other_tenant",
                severity=Severity.ERROR,
                message="the identity lives in another tenant than the policy's: ppmi writes no FIC on it",
                fix=f"put identity.subscriptionId in a subscription of tenant {tenant}",
                evidence=Evidence(expected=tenant, actual=identity.tenant_id),
                resource=address.path,
            )
        )
    try:
        credentials = await runtime.arm.list_federated_credentials(address)
    except PpmiError as error:
        found.add(
            failed_call(
                error, what="list its FICs", resource=address.path, refused_fix=_rights_fix(address.path)
            )
        )
        found.check(AREA, address.path, Outcome.ERROR, "FICs could not be listed")
        return
    _room(found, runtime, address.path, len(credentials), tenant=identity.tenant_id or None)


async def _application(found: Findings, runtime: Runtime, object_id: str) -> None:
    target = f"application {object_id}"
    try:
        credentials = await runtime.graph.list_federated_credentials(object_id)
    except PpmiError as error:
        found.add(
            failed_call(error, what="list the application's FICs", resource=target, refused_fix=GRAPH_RIGHTS)
        )
        found.check(AREA, target, Outcome.ERROR, "FICs could not be listed")
        return
    _room(found, runtime, target, len(credentials), tenant=None)


def _room(found: Findings, runtime: Runtime, target: str, used: int, *, tenant: str | None) -> None:
    settings = runtime.policy.identity
    cap = MAX_FICS_PER_IDENTITY
    # A pool fills its shards up to shardCapacity - headroom by design; anything else keeps `headroom` free.
    keep = (
        settings.headroom
        if settings.strategy != "shared-pool"
        else cap - settings.shard_capacity + settings.headroom
    )
    seen = {"FICs": f"{used} of {cap}", "tenantId": tenant}
    if used >= cap:
        finding = _capacity(
            "capacity.full",
            Severity.ERROR,
            target,
            used,
            "no further FIC fits: a new signer or environment fails here",
        )
        found.add(finding)
        found.check(AREA, target, Outcome.ERROR, "full", **seen)
    elif cap - used <= keep:
        found.add(
            _capacity("capacity.near", Severity.WARNING, target, used, f"only {cap - used} more FIC(s) fit")
        )
        found.check(AREA, target, Outcome.WARNING, "near Entra's cap", **seen)
    else:
        found.check(AREA, target, Outcome.OK, f"room for {cap - used} more FIC(s)", **seen)


def _capacity(code: str, severity: Severity, target: str, used: int, why: str) -> Finding:
    return Finding(
        code=code,
        severity=severity,
        message=f"the identity holds {used} of the {MAX_FICS_PER_IDENTITY} FICs Entra allows: {why}",
        fix="remove FICs that nothing uses any more (a reconcile retires those of signers that left the "
        "policy), trust fewer signers, or use shared-pool with a lower shardCapacity",
        evidence=Evidence(expected=f"at most {MAX_FICS_PER_IDENTITY}", actual=str(used)),
        resource=target,
    )


def _group_missing(target: str, reason: str) -> Finding:
    return Finding(
        code="identity.resource_group_missing",
        severity=Severity.ERROR,
        message="the policy's identity resource group does not exist",
        fix="create it (azd up creates the policy's identity.resourceGroup) or name an existing one",
        evidence=Evidence(actual=reason),
        resource=target,
    )


def _rights_fix(scope: str) -> str:
    return f"give ppmi's identity Managed Identity Contributor on the identity resource group ({scope})"
