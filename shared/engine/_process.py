"""Events in, converged state out: enrich from trusted sources, plan and apply under the identity's lock."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal

from shared.clients.dataverse import ComponentKind, DataverseClient, ManagedIdentityRow, dataverse_origin
from shared.clients.environments import Readiness
from shared.engine._apply import apply, ensure_identity
from shared.engine._connectors import converge_connector, enrich_connector
from shared.engine._desired import credentials_for, grants_for, resolved, row_id_for, row_values
from shared.engine._grants import environment_grants, stale_grants
from shared.engine._held import HeldArm
from shared.engine._model import (
    Action,
    AddApplicationUser,
    Desired,
    DesiredBinding,
    Enrichment,
    EnsureIdentity,
    Observed,
    ResolvedIdentity,
    Retirement,
    Revoke,
    Skip,
    Unchanged,
)
from shared.engine._naming import credential_signer_key, identity_key
from shared.engine._placement import Placement, find_existing, place
from shared.engine._plan import plan, plan_removal
from shared.engine._rebind import SUBJECT_VERSION, owned_row_ids, plan_rebind, survey_components
from shared.engine._runtime import Runtime
from shared.engine._tenancy import check_environment_tenant, check_identity_tenant
from shared.engine._upgrade import switch_format
from shared.engine._vault_access import add_vault_teardown, plan_vault_access
from shared.errors import (
    InvalidInputError,
    MissingResourceGroup,
    PermanentError,
    PermanentServiceError,
    TransientError,
)
from shared.events import (
    ConnectorDeletedEvent,
    ConnectorRegisteredEvent,
    EnvironmentDeletedEvent,
    Event,
    IdentityUpgradeEvent,
    PluginAssemblyData,
    PluginPackageData,
    StepResult,
)
from shared.policy import TrustedSigner

NOT_READY_RETRY_SECONDS = 60.0
BAD_REQUEST = 400


@dataclass(frozen=True)
class Report:
    outcome: Literal["succeeded", "rejected", "failed"]
    reason: str | None
    steps: list[StepResult]


async def enrich(event: Event, runtime: Runtime) -> Enrichment:
    """Check the environment against the environments API and the policy; the event's word is not enough."""
    if isinstance(event, ConnectorRegisteredEvent | ConnectorDeletedEvent):
        return await enrich_connector(event, runtime)
    policy = runtime.policy
    environment_id = event.data.environment_id
    key = identity_key(environment_id, policy)
    if isinstance(event.data, PluginAssemblyData | PluginPackageData):
        # Decided from the event and the policy alone: an untrusted or expired signer costs no request.
        trusted_signer(event, runtime)
    environment = await runtime.environments.get_environment(environment_id)
    if isinstance(event, EnvironmentDeletedEvent):
        origin = None
        if environment is not None and environment.dataverse_url:
            origin = dataverse_origin(environment.dataverse_url, policy)
        return Enrichment(environment_id, environment, origin, key)
    if environment is None:
        raise InvalidInputError(
            f"environment {environment_id} does not exist in the tenant", field="data.environmentId"
        )
    check_environment_tenant(environment, policy.tenant_id)
    if not policy.environment_in_scope(environment.id, environment.type, environment.display_name):
        raise InvalidInputError(
            f"environment {environment_id} ({environment.type} {environment.display_name!r}) is outside the "
            "policy's environments scope",
            field="data.environmentId",
        )
    readiness = environment.readiness
    if readiness is Readiness.PROVISIONING:
        raise TransientError(environment.readiness_reason(), retry_after=NOT_READY_RETRY_SECONDS)
    if readiness is not Readiness.READY:
        raise InvalidInputError(environment.readiness_reason(), field="data.environmentId")
    origin = dataverse_origin(environment.dataverse_url, policy)
    return Enrichment(environment_id, environment, origin, key)


def trusted_signer(event: Event, runtime: Runtime) -> TrustedSigner:
    """The policy's entry for the event's signer, or a rejection that says which signer and what to do.

    An expired certificate is refused first: trusting it would not help.
    """
    certificate = event.certificate()
    expiry = certificate.valid_until
    if expiry is not None and expiry <= datetime.now(UTC):
        raise InvalidInputError(
            f"the signing certificate expired on {expiry:%Y-%m-%d %H:%M} UTC: a FIC for it would serve no "
            "new plug-in; sign with a valid certificate and register the plug-in again",
            field="data.certificate",
        )
    signer = certificate.signer()
    trusted = runtime.policy.trusted_signer_for(signer)
    if trusted is None:
        shown = signer.sha256_hex or signer.sha1_thumbprint or signer.subject_name or "unknown"
        raise InvalidInputError(
            f"the signer {shown} is not trusted by the policy; add it to trustedSigners to give its "
            "plug-ins a FIC",
            field="data.certificate",
        )
    return trusted


async def process(event: Event, runtime: Runtime, *, steps: list[StepResult] | None = None) -> Report:
    """Converge what `event` asks for. Raises `TransientError` only with the in-process retry budget spent.

    Each step is appended to `steps` as it is done (a caller may pass a list that shows them as they come).
    """
    steps = [] if steps is None else steps
    in_batch = isinstance(runtime.arm, HeldArm)  # the caller holds a batch of messages and one view of ARM
    runtime = runtime.held()
    try:
        enrichment = await enrich(event, runtime)
        connector = isinstance(event, ConnectorRegisteredEvent | ConnectorDeletedEvent)
        async with _event_lock(runtime, enrichment, in_batch=in_batch, connector=connector):
            await converge(event, enrichment, runtime, into=steps, write=True)
    except InvalidInputError as error:
        return Report("rejected", error.reason, steps)
    except TransientError:
        raise
    except PermanentError as error:
        return Report("failed", str(error), steps)
    return Report("succeeded", None, steps)


def _event_lock(runtime: Runtime, enrichment: Enrichment, *, in_batch: bool, connector: bool) -> asyncio.Lock:
    """One event at a time per identity key, except for a pool's batch: there the environment is the unit.

    A batch's events share one held view, which serialises writes per shard and hands out each slot once
    (its ledger counts what it placed), so a pool's shards are written side by side and only one
    environment's own events need ordering. Events processed alone have a view each: one at a time.
    Connector events write to an app registration other environments' connectors share: one at a time.
    """
    if in_batch and runtime.policy.identity.strategy == "shared-pool" and not connector:
        return runtime.lock(f"environment:{enrichment.environment_id.lower()}")
    return runtime.identity_lock(enrichment.identity_key)


async def converge(
    event: Event, enrichment: Enrichment, runtime: Runtime, *, into: list[StepResult], write: bool
) -> list[Action]:
    """Plan (and with `write`, apply) what the event asks for; returns every planned action."""
    if isinstance(event, ConnectorRegisteredEvent | ConnectorDeletedEvent):
        actions = await converge_connector(event, runtime)
        if write:
            await apply(actions, runtime, None, into)
        return actions
    if isinstance(event, EnvironmentDeletedEvent):
        return await _remove(enrichment, runtime, into=into, write=write)
    if isinstance(event, IdentityUpgradeEvent):
        return await switch_format(enrichment, runtime, revert=event.data.revert, into=into, write=write)
    signers: Sequence[TrustedSigner] = runtime.policy.trusted_signers
    component: tuple[ComponentKind, str] | None = None
    if isinstance(event.data, PluginAssemblyData):
        signers, component = (
            [trusted_signer(event, runtime)],
            ("pluginassembly", event.data.plugin_assembly_id),
        )
    elif isinstance(event.data, PluginPackageData):
        signers, component = [trusted_signer(event, runtime)], ("pluginpackage", event.data.plugin_package_id)
    return await _provision(enrichment, runtime, signers, component, into=into, write=write)


async def _provision(
    enrichment: Enrichment,
    runtime: Runtime,
    signers: Sequence[TrustedSigner],
    component: tuple[ComponentKind, str] | None,
    *,
    into: list[StepResult],
    write: bool,
) -> list[Action]:
    policy = runtime.policy
    environment_id = enrichment.environment_id
    dataverse = runtime.dataverse(str(enrichment.dataverse_origin))
    actions: list[Action] = []
    if policy.manage_application_user and runtime.service_application_id:
        user: Action = Unchanged("application-user", environment_id)
        if not await dataverse.signed_in_as_application_user():
            user = AddApplicationUser(environment_id, runtime.service_application_id)
        actions.append(user)
        if write:
            await apply([user], runtime, dataverse, into)
    placement = await place(runtime, environment_id, needed=max(1, len(policy.trusted_signers)))
    if not placement.owned_by_ppmi(environment_id):
        raise PermanentError(
            f"the identity {placement.target.label} exists but is not tagged as ppmi's for {environment_id}; "
            "ppmi does not take identities over: delete or rename it, or tag it ppmi-owned=true and "
            f"ppmi-environment={environment_id}"
        )
    row_id = row_id_for(environment_id, placement.target)
    # Read before the identity is written: a Dataverse that refuses ppmi (no application user, no privilege)
    # then stops the event with nothing created. Not yet an application user, a preview cannot read the row.
    user_pending = not write and any(isinstance(action, AddApplicationUser) for action in actions)
    row = None if user_pending else await dataverse.get_managed_identity(row_id)
    identity, ensure = await _ensure(placement, runtime, into=into, write=write)
    actions.append(ensure)
    # An existing row keeps its subject format: only `ppmi upgrade` (and its revert) moves it, safely.
    version = policy.format_version if row is None else (row.version or 0)
    organization_id = enrichment.environment.organization_id if enrichment.environment else None
    bindings: tuple[DesiredBinding, ...] = ()
    if component is not None:
        kind, component_id = component
        expected = credentials_for(
            policy, environment_id, signers, version=version, organization_id=organization_id, component=kind
        )[0].credential.subject
        bindings = (DesiredBinding(kind, component_id, expected),)
    desired = Desired(
        environment_id=environment_id,
        identity=identity,
        credentials=credentials_for(
            policy, environment_id, signers, version=version, organization_id=organization_id
        ),
        row_id=row_id,
        row_values=row_values(policy, environment_id, identity, version),
        bindings=bindings,
        grants=grants_for(policy, environment_id, identity.principal_id) if component is None else (),
        retirement=_retirement(runtime) if component is None else None,
        owned_rows=owned_row_ids(environment_id, placement.target, policy),
    )
    observed = await _observe(desired, placement, row, runtime, dataverse, compare_subjects=version == 2)
    planned = plan(desired, observed)
    if component is None and identity.exists and identity.principal_id and placement.target.address:
        # The policy is the truth for ppmi's grants too: what it dropped or moved is revoked.
        wanted = {grant.name.lower() for grant in desired.grants}
        shared = not placement.target.dedicated
        planned.extend(await stale_grants(runtime, identity.principal_id, wanted=wanted, shared=shared))
    if component is None:  # and converge the identity's key vault access policies
        planned.extend(await plan_vault_access(runtime, identity))
    if component is None:  # environment events also repair bindings a solution import dropped
        found = await survey_components(
            dataverse,
            row_id=row_id,
            owned_rows=owned_row_ids(environment_id, placement.target, policy),
            ask_subjects=version == SUBJECT_VERSION,
            max_subject_calls=runtime.settings.rebind_subject_calls,
        )
        trusted = {wanted.credential.subject for wanted in desired.credentials}
        planned.extend(plan_rebind(found, row_id=row_id, trusted_subjects=trusted, version=version))
    actions.extend(planned)
    if write:
        await apply(planned, runtime, dataverse, into)
    return actions


def _retirement(runtime: Runtime) -> Retirement:
    """Environment events make the policy's signer list the truth for ppmi's FICs; plug-in events do not."""
    policy = runtime.policy
    trusted = frozenset(trusted.signer.key for trusted in policy.trusted_signers)
    return Retirement(trusted, enabled=policy.retire_untrusted_signers)


async def _ensure(
    placement: Placement, runtime: Runtime, *, into: list[StepResult], write: bool
) -> tuple[ResolvedIdentity, Action]:
    """Create the managed identity, or add missing ownership tags; app registrations exist already."""
    target, identity = placement.target, placement.identity
    if target.address is None:
        return resolved(target, None), Unchanged("identity", target.label, "app registration")
    if identity is None:  # another environment of this batch may have created it since placement
        identity = await runtime.arm.get_identity(target.address)
    action: Action = Unchanged("identity", target.label)
    if identity is None:
        action = EnsureIdentity(target, create=True)
    elif any(identity.tags.get(name) != value for name, value in target.tags.items()):
        action = EnsureIdentity(replace(target, tags={**identity.tags, **target.tags}), create=False)
    if identity is not None:  # before the tags are merged, too: nothing is written to a stranger
        check_identity_tenant(identity, runtime.policy.tenant_id)
    if write and isinstance(action, EnsureIdentity):
        identity = await ensure_identity(action, runtime, into)
        check_identity_tenant(identity, runtime.policy.tenant_id)
    elif write:
        await apply([action], runtime, None, into)
    return resolved(target, identity), action


async def _observe(
    desired: Desired,
    placement: Placement,
    row: ManagedIdentityRow | None,
    runtime: Runtime,
    dataverse: DataverseClient,
    *,
    compare_subjects: bool,
) -> Observed:
    components = {}
    subjects = {}
    for binding in desired.bindings:
        found = await dataverse.get_component(binding.kind, binding.component_id)
        components[binding.component_id] = found
        if found is not None and compare_subjects:
            subjects[binding.component_id] = await _subject_or_none(dataverse, binding)
    grants = {}
    if desired.identity.exists:
        for grant in desired.grants:
            grants[grant.name] = await runtime.arm.get_role_assignment(grant.scope, grant.name)
    credentials = placement.credentials if desired.identity.exists else {}
    return Observed(credentials, row, components, grants, subjects)


async def _subject_or_none(dataverse: DataverseClient, binding: DesiredBinding) -> str | None:
    """Dataverse's subject for the component; a refusal for it leaves the check undone (a skipped step)."""
    try:
        return await dataverse.component_fic_subject(binding.kind, binding.component_id)
    except PermanentServiceError as error:
        if error.status != BAD_REQUEST:
            raise
        return None


async def _existing_or_none(runtime: Runtime, environment_id: str) -> Placement | None:
    """ppmi's identity for the environment; none can be in an identity group that does not exist."""
    try:
        return await find_existing(runtime, environment_id)
    except MissingResourceGroup:
        return None


async def _remove(
    enrichment: Enrichment, runtime: Runtime, *, into: list[StepResult], write: bool
) -> list[Action]:
    """Environment deleted: remove the row, grants, FICs and dedicated identity ppmi made for it, only."""
    environment_id = enrichment.environment_id
    placement = await _existing_or_none(runtime, environment_id)
    if placement is None or (placement.target.address is not None and placement.identity is None):
        actions: list[Action] = [Unchanged("identity", environment_id, "ppmi holds nothing for it")]
        if write:
            await apply(actions, runtime, None, into)
        return actions
    identity = resolved(placement.target, placement.identity)
    owned = placement.owned_by_ppmi(environment_id)
    dataverse = runtime.dataverse(enrichment.dataverse_origin) if enrichment.dataverse_origin else None
    row = None
    if dataverse is not None:
        row = await dataverse.get_managed_identity(row_id_for(environment_id, placement.target))
    grants: dict[str, str] = {}
    unseen: list[Action] = []
    if owned and identity.principal_id:
        # On a shared identity only environment-specific grants go: the others serve every environment on it.
        # Besides the policy's grants, ppmi's assignments made under an earlier policy go too.
        shared = not placement.target.dedicated
        for grant in grants_for(
            runtime.policy, environment_id, identity.principal_id, only_environment_scoped=shared
        ):
            if await runtime.arm.get_role_assignment(grant.scope, grant.name) is not None:
                grants[grant.name.lower()] = grant.scope
        if placement.target.address is not None:
            found = await (
                environment_grants(runtime, identity.principal_id, environment_id)
                if shared
                else stale_grants(runtime, identity.principal_id, wanted=(), shared=False)
            )
            for action in found:
                if isinstance(action, Revoke):
                    grants.setdefault(action.name.lower(), action.scope)
                else:
                    unseen.append(action)
    # Exact names only: a hand-made `ppmi-{environmentId}-old` on a shared identity is not ppmi's to delete.
    credentials = [
        stored.name
        for name, stored in placement.credentials.items()
        if credential_signer_key(environment_id, name) is not None
    ]
    actions = plan_removal(
        environment_id=environment_id,
        identity=identity,
        owned=owned,
        owned_credentials=credentials,
        row=row,
        grants=grants,
        principal_id=identity.principal_id or "",
    )
    actions.extend(unseen)
    await add_vault_teardown(runtime, identity, actions, owned=owned)
    if dataverse is None:
        actions.insert(
            0, Skip("managed-identity-row", environment_id, "the environment no longer has Dataverse")
        )
    if write:
        await apply(actions, runtime, dataverse, into)
    return actions
