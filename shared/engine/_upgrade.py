"""Subject format upgrade (v0/v1 → v2) and its revert, for one environment's `managedidentity` row.

Order matters: the new FIC exists before the row asks for it, and the old one goes only after the row was
read back at the new version, so plug-ins keep working at every step. Entra takes minutes to propagate a new
FIC (a token asked for meanwhile fails with `AADSTS70021`), so when a switch has to create FICs it creates
them and stops there (`PropagationPending`): the event is tried again after `PPMI_FIC_PROPAGATION_SECONDS`,
finds them in place and moves the row. A dedicated identity remembers the
version it came from in a tag, which is what a revert goes back to. Reconcile never moves a row's version,
so neither an upgrade nor a revert is undone behind the operator's back.
"""

from __future__ import annotations

from shared.clients.dataverse import DataverseClient
from shared.engine._apply import apply
from shared.engine._desired import credentials_for, resolved, row_id_for
from shared.engine._model import Action, DesiredCredential, Enrichment, PutCredential, Unchanged, UpdateRow
from shared.engine._naming import UPGRADED_FROM_TAG
from shared.engine._placement import find_existing
from shared.engine._plan import plan_switch
from shared.engine._runtime import Runtime
from shared.errors import InvalidInputError, PropagationPending
from shared.events import StepResult

CURRENT_VERSION = 2


async def switch_format(
    enrichment: Enrichment, runtime: Runtime, *, revert: bool, into: list[StepResult], write: bool
) -> list[Action]:
    policy = runtime.policy
    environment_id = enrichment.environment_id
    placement = await find_existing(runtime, environment_id)
    if placement is None or (placement.target.address is not None and placement.identity is None):
        raise InvalidInputError(
            f"environment {environment_id} has no identity from ppmi yet; send ppmi.environment.created first"
        )
    if not placement.owned_by_ppmi(environment_id):
        raise InvalidInputError(
            f"the identity {placement.target.label} is not ppmi's; ppmi upgrades only its own"
        )
    identity = resolved(placement.target, placement.identity)
    dataverse = runtime.dataverse(str(enrichment.dataverse_origin))
    row = await dataverse.get_managed_identity(row_id_for(environment_id, placement.target))
    if row is None:
        raise InvalidInputError(
            f"environment {environment_id} has no managedidentity row from ppmi; "
            "send ppmi.environment.created first"
        )
    organization_id = enrichment.environment.organization_id if enrichment.environment else None

    def credentials(version: int) -> tuple[DesiredCredential, ...]:
        return credentials_for(
            policy, environment_id, policy.trusted_signers, version=version, organization_id=organization_id
        )

    tags = dict(identity.tags)
    if not revert:
        current = row.version or 0
        if current >= CURRENT_VERSION:
            actions: list[Action] = [Unchanged("managed-identity-row", row.id, f"already version {current}")]
            if write:
                await apply(actions, runtime, dataverse, into)
            return actions
        retire, adopt, version = credentials(current), credentials(CURRENT_VERSION), CURRENT_VERSION
        if placement.target.dedicated:
            tags[UPGRADED_FROM_TAG] = str(current)
    else:
        previous = tags.get(UPGRADED_FROM_TAG, "")
        current = row.version or 0
        if placement.target.dedicated and not previous and current < CURRENT_VERSION:
            # A revert delivered again after it was done: the row is back and the tag is gone.
            done: list[Action] = [
                Unchanged("managed-identity-row", row.id, f"already reverted to version {current}")
            ]
            if write:
                await apply(done, runtime, dataverse, into)
            return done
        if not placement.target.dedicated or not previous.isdigit():
            raise InvalidInputError(
                f"environment {environment_id} has no upgrade by ppmi to revert (reverts need a "
                "per-environment identity, which remembers the version it came from)"
            )
        retire, adopt, version = credentials(CURRENT_VERSION), credentials(int(previous)), int(previous)
        tags = {name: value for name, value in tags.items() if name != UPGRADED_FROM_TAG}
    actions = plan_switch(
        identity=identity,
        row=row,
        present=placement.credentials,
        retire=retire,
        adopt=adopt,
        version=version,
        tags=tags,
    )
    if write:
        await _apply_after_propagation(actions, runtime, dataverse, into, version=version)
    return actions


async def _apply_after_propagation(
    actions: list[Action],
    runtime: Runtime,
    dataverse: DataverseClient,
    into: list[StepResult],
    *,
    version: int,
) -> None:
    """Apply a switch; when it creates FICs, only those, and ask to be run again once they propagated."""
    wait = runtime.settings.fic_propagation_seconds
    created = [action for action in actions if isinstance(action, PutCredential)]
    if created and wait > 0 and any(isinstance(action, UpdateRow) for action in actions):
        await apply(created, runtime, dataverse, into)
        names = ", ".join(action.name for action in created)
        raise PropagationPending(
            f"created {names}; the row moves to version {version} once Entra has had {wait:.0f} s to "
            "propagate it (plug-ins keep the FICs they use until then)",
            retry_after=wait,
        )
    await apply(actions, runtime, dataverse, into)
