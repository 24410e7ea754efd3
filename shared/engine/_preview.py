"""What `ppmi plan` shows: the same planning `process` does, with every write left out.

One held view of ARM serves both plans (reconcile and upgrade), so the identity and its FICs are read once.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.engine._apply import Change, describe
from shared.engine._process import converge, enrich
from shared.engine._runtime import Runtime
from shared.errors import InvalidInputError
from shared.events import new_event

PREVIEW_SOURCE = "/ppmi/cli"
# What a step that writes looks like in a plan; `none` (in place), `check` (a read) and `skip` change nothing.
WRITES = frozenset({"create", "update", "delete"})


@dataclass(frozen=True)
class Preview:
    """The changes a reconcile would make, and those an upgrade to the current subject format would."""

    environment_id: str
    changes: list[Change]
    upgrade: list[Change]  # empty when the row is current (or there is no row yet)

    @property
    def pending(self) -> bool:
        """Whether `ppmi apply` would write anything (the upgrade is an offer, made by `ppmi upgrade`)."""
        return any(change.change in WRITES for change in self.changes)

    @property
    def upgrade_available(self) -> bool:
        return any(change.change in WRITES for change in self.upgrade)

    @property
    def removals(self) -> list[Change]:
        """What `ppmi apply` would delete (FICs of signers that left the policy, grants, a row)."""
        return [change for change in self.changes if change.change == "delete"]


async def preview(environment_id: str, runtime: Runtime, *, revert: bool = False) -> Preview:
    """Observe and plan without writing; raises `InvalidInputError` when the environment cannot be served."""
    runtime = runtime.held()
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
    if not any(change.change in WRITES for change in upgrade):
        upgrade = []
    return Preview(environment_id, changes, upgrade)
