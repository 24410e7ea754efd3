"""Checks immediately before a delete: read what is about to go from ARM itself, not from a held view.

A held view (`HeldArm`) trusts what it read earlier in the batch, which is right for writes that only ever
go through the identity's session, but an administrator can delete an identity and make an untagged
namesake meanwhile. So a destructive step re-reads its target and goes ahead only while it is still ppmi's.
"""

from __future__ import annotations

from shared.clients.arm import ArmClient
from shared.engine._held import HeldArm
from shared.engine._model import IdentityTarget
from shared.engine._naming import OWNED_TAG, role_assignment_name
from shared.engine._runtime import Runtime
from shared.errors import PermanentError


async def still_owned(runtime: Runtime, target: IdentityTarget) -> None:
    """Raise unless the managed identity is, right now, tagged as ppmi's for what `target` says it is."""
    address = target.address
    if address is None:  # the policy's own app registration: no tags to check, nothing of it is deleted
        return
    current = await ArmClient.get_identity(runtime.arm, address)  # past any held view, on purpose
    if isinstance(runtime.arm, HeldArm):
        runtime.arm.note_identity(address, current)
    if current is None:
        return  # already gone: the delete finds nothing, harmlessly
    marks = {name: value for name, value in target.tags.items() if name.startswith("ppmi-")}
    marks[OWNED_TAG] = "true"
    if any(current.tags.get(name) != value for name, value in marks.items()):
        raise PermanentError(
            f"the identity {address.name} is no longer tagged as ppmi's (it changed since this batch read "
            "it, perhaps replaced by a namesake): nothing on it is deleted; look at it, then send the event "
            "again"
        )


async def still_ppmi_assignment(runtime: Runtime, scope: str, name: str, principal_id: str) -> bool:
    """Whether the role assignment exists and is still the one ppmi made (its deterministic name matches
    its scope, principal and role); False when it is gone. Raises when someone else's took its place."""
    current = await ArmClient.get_role_assignment(runtime.arm, scope, name)
    if current is None:
        if isinstance(runtime.arm, HeldArm):
            runtime.arm.note_assignment_gone(scope, name)
        return False
    made_by_ppmi = role_assignment_name(scope, principal_id, current.role_definition_id) == name.lower()
    if not principal_id or current.principal_id != principal_id.lower() or not made_by_ppmi:
        raise PermanentError(
            f"the role assignment {name} on {scope} is not the one ppmi made for principal {principal_id} "
            "(its principal or role differs): not deleted"
        )
    return True
