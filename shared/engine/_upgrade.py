"""Subject format upgrade (v0/v1 → v2) and its revert, for one environment's `managedidentity` row.

Order matters: the new FIC exists before the row asks for it, and the old one goes only after the row was
read back at the new version, so plug-ins keep working at every step. Entra takes minutes to propagate a new
FIC (a token asked for meanwhile fails with `AADSTS70021`), so when a switch has to create FICs it creates
them and stops there (`PropagationPending`): the event is tried again after `PPMI_FIC_PROPAGATION_SECONDS`,
finds them in place and moves the row.

No reply ppmi can rely on says when a FIC was created (the 2024-11-30 spec declares a read-only `systemData`
on every resource, contracts/arm-msi/, but no official example or recording of a FIC carries it:
UNCONFIRMED that ARM fills it), so the switch records it itself: a tag on the managed identity
(`ppmi-fics-created-<environment>`, UTC) written right after the new FICs, and removed when the row has
moved. Any later run (the rescheduled event, `ppmi upgrade` started again after Ctrl-C, another instance)
waits out whatever is left of the full wait from that moment. New FICs found without such a tag (a run that
stopped between creating them and tagging) are tagged then and waited for in full. An app registration has
no tags ppmi writes: there the wait holds within one process only.

A dedicated identity remembers the version it came from in a tag, which is what a revert goes back to.
Reconcile never moves a row's version, so neither an upgrade nor a revert is undone behind an operator's back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NoReturn

from shared.clients.dataverse import DataverseClient
from shared.engine._apply import apply
from shared.engine._desired import credentials_for, resolved, row_id_for
from shared.engine._model import (
    Action,
    DesiredCredential,
    Enrichment,
    PutCredential,
    ResolvedIdentity,
    TagIdentity,
    Unchanged,
    UpdateRow,
)
from shared.engine._naming import UPGRADED_FROM_TAG, propagation_tag
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

    tags = {name: value for name, value in identity.tags.items() if name != propagation_tag(environment_id)}
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
        fresh = _fresh(adopt, retire)
        switch = _Switch(identity, propagation_tag(environment_id), version, fresh, runtime, dataverse, into)
        await switch.apply_after_propagation(actions)
    return actions


def _fresh(adopt: tuple[DesiredCredential, ...], retire: tuple[DesiredCredential, ...]) -> list[str]:
    """The new format's FICs whose values the old format's do not already have: these must propagate.

    A self-signed signer's format 1 and 2 FICs hold the same subject: nothing new to wait for.
    """
    old = {(c.credential.issuer, c.credential.subject) for c in retire}
    return [c.name for c in adopt if (c.credential.issuer, c.credential.subject) not in old]


@dataclass(frozen=True)
class _Switch:
    """Applying one switch, with the propagation wait recorded on the identity and honoured from there."""

    identity: ResolvedIdentity
    tag: str  # `propagation_tag` of the environment
    version: int
    fresh: list[str]  # names of the new FICs that must propagate
    runtime: Runtime
    dataverse: DataverseClient
    into: list[StepResult]

    async def apply_after_propagation(self, actions: list[Action]) -> None:
        """Apply the switch; while new FICs have not had the whole wait, make or record them and stop."""
        wait = self.runtime.settings.fic_propagation_seconds
        created = [action for action in actions if isinstance(action, PutCredential)]
        moves_row = any(isinstance(action, UpdateRow) for action in actions)
        if wait > 0 and moves_row and (created or self.fresh):
            recorded = _recorded(self.identity.tags, self.tag)
            if created or recorded is None:
                await apply(created, self.runtime, self.dataverse, self.into)
                await self._record(datetime.now(UTC))
                self._pending(wait, wait, created=[action.name for action in created])
            elapsed = (datetime.now(UTC) - recorded).total_seconds()
            if elapsed < wait:
                self._pending(wait, wait - elapsed, created=[])
        await apply(actions, self.runtime, self.dataverse, self.into)

    async def _record(self, moment: datetime) -> None:
        target = self.identity.target
        if target.address is None:
            return  # an app registration has no tags: the wait holds within this process only
        tags = {**self.identity.tags, self.tag: moment.isoformat()}
        await apply([TagIdentity(target, tags)], self.runtime, self.dataverse, self.into)

    def _pending(self, wait: float, left: float, *, created: list[str]) -> NoReturn:
        made = f"created {', '.join(created)}" if created else f"{', '.join(self.fresh)} in place"
        raise PropagationPending(
            f"{made}; the row moves to version {self.version} once Entra has had {wait:.0f} s to propagate "
            f"it ({left:.0f} s left; plug-ins keep the FICs they use until then)",
            retry_after=left,
        )


def _recorded(tags: Mapping[str, str], tag: str) -> datetime | None:
    """When the new FICs were recorded as created; None without a readable record."""
    try:
        moment = datetime.fromisoformat(tags[tag])
    except (KeyError, ValueError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
