"""What `ppmi plan` shows: the same planning `process` does, with every write left out."""

from __future__ import annotations

from dataclasses import dataclass

from shared.engine._apply import Change, describe
from shared.engine._process import converge, enrich
from shared.engine._runtime import Runtime
from shared.errors import InvalidInputError
from shared.events import new_event

PREVIEW_SOURCE = "/ppmi/cli"


@dataclass(frozen=True)
class Preview:
    """The changes a reconcile would make, and those an upgrade to the current subject format would."""

    environment_id: str
    changes: list[Change]
    upgrade: list[Change]  # empty when the row is current (or there is no row yet)

    @property
    def pending(self) -> bool:
        return any(change.change not in ("none", "check") for change in [*self.changes, *self.upgrade])


async def preview(environment_id: str, runtime: Runtime, *, revert: bool = False) -> Preview:
    """Observe and plan without writing; raises `InvalidInputError` when the environment cannot be served."""
    data = {"environmentId": environment_id}
    reconcile = new_event("ppmi.environment.reconcile", data, source=PREVIEW_SOURCE)
    enrichment = await enrich(reconcile, runtime)
    changes = [
        describe(action) for action in await converge(reconcile, enrichment, runtime, into=[], write=False)
    ]
    upgrade_event = new_event("ppmi.identity.upgrade", {**data, "revert": revert}, source=PREVIEW_SOURCE)
    try:
        upgrade_actions = await converge(upgrade_event, enrichment, runtime, into=[], write=False)
    except InvalidInputError:
        upgrade_actions = []  # nothing to upgrade (or revert) yet
    upgrade = [describe(action) for action in upgrade_actions]
    if all(change.change == "none" for change in upgrade):
        upgrade = []
    return Preview(environment_id, changes, upgrade)
