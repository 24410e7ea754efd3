"""ppmi's own role assignments that the policy no longer asks for: found by their names, revoked.

ppmi names every assignment it makes `uuid5(scope, principal, role)` (`role_assignment_name`), so an
assignment whose name is exactly that of its own scope, principal and role is ppmi's, whatever the policy
said when it was made; anyone else's assignment has another name and is never touched. They are looked for
where the deployment lets ppmi assign roles (`infra/` gives it Role Based Access Control Administrator, whose
`*/read` covers listing, on each covering scope of the policy's grants): the scopes the current policy needs,
and the ones the running deployment still delegates (`PPMI_GRANT_SCOPES`), so a grant whose whole scope left
the policy is still found and revoked until the next `azd provision` takes the delegation away. Where the
service may not list them, the step says so (skipped) instead of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from shared.clients.arm import RoleAssignment
from shared.deployment import ScopeError as CoverError
from shared.deployment import covering_scope
from shared.engine._model import Action, Revoke, Skip
from shared.engine._naming import role_assignment_name
from shared.engine._runtime import Runtime
from shared.errors import PermanentServiceError
from shared.policy import Policy

STEP = "role-assignment"


def listing_scopes(policy: Policy, delegated: Sequence[str] | None = None) -> list[str]:
    """Where ppmi's assignments can be and ppmi may read them: the covering scope (subscription or
    resource group) of every grant, as `ppmi policy deployment-parameters` derives them, then the
    `delegated` scopes the deployment grants on. Where the deployment is not known (`delegated` None: a
    shell, a container), also every subscription those scopes lie in, so a grant whose scope left the
    policy is still found when the caller may read there. A listing covers everything below its scope."""
    settings = policy.identity
    scopes: dict[str, str] = {}  # by lower case: ARM compares scopes without case
    if settings.subscription_id is not None and settings.resource_group is not None:
        for grant in policy.role_grants:
            try:
                scope, _ = covering_scope(grant, settings.subscription_id, settings.resource_group)
            except CoverError:  # above any subscription (a management group): listed there
                scope = grant.scope
            scopes.setdefault(scope.lower(), scope)
    if delegated is None:
        subscriptions = [f"/subscriptions/{settings.subscription_id}"] if settings.subscription_id else []
        subscriptions += ["/".join(scope.split("/")[:3]) for scope in scopes.values()]
        for subscription in subscriptions:
            if subscription.lower().startswith("/subscriptions/"):
                scopes.setdefault(subscription.lower(), subscription)
    else:
        for scope in delegated:
            scopes.setdefault(scope.lower(), scope)
    return list(scopes.values())


async def ppmi_assignments(runtime: Runtime, principal_id: str) -> tuple[list[RoleAssignment], list[Action]]:
    """The principal's assignments ppmi made, and a skip step per scope that could not be listed."""
    found: dict[str, RoleAssignment] = {}
    unseen: list[Action] = []
    for scope in listing_scopes(runtime.policy, runtime.settings.grant_scopes):
        try:
            listed = await runtime.arm.list_role_assignments_for_principal(scope, principal_id)
        except PermanentServiceError as error:
            unseen.append(
                Skip(
                    STEP,
                    scope,
                    f"cannot list role assignments here ({error.status} {error.code}), so "
                    "grants the policy dropped are not revoked here; run `azd provision` so the deployment "
                    "delegates role assignments here (ppmi policy deployment-parameters)",
                )
            )
            continue
        for assignment in listed:
            made_by_ppmi = assignment.name.lower() == role_assignment_name(
                assignment.scope, principal_id, assignment.role_definition_id
            )
            if made_by_ppmi and assignment.principal_id == principal_id.lower():
                found[assignment.name.lower()] = assignment
    return list(found.values()), unseen


def wanted_on_shared_identity(policy: Policy, assignment: RoleAssignment) -> bool:
    """Whether any environment on a shared identity may still need it: a grant of its role whose scope,
    with any environment ID filled in, is the assignment's scope."""
    settings = policy.identity
    for grant in policy.role_grants:
        if grant.role_definition_id != assignment.role_definition_id:
            continue
        pattern = re.escape(grant.scope)
        pattern = pattern.replace(re.escape("{environmentId}"), "[^/]+")
        pattern = pattern.replace(re.escape("{subscriptionId}"), re.escape(str(settings.subscription_id)))
        pattern = pattern.replace(re.escape("{resourceGroup}"), re.escape(str(settings.resource_group)))
        if re.fullmatch(pattern, assignment.scope, re.IGNORECASE):
            return True
    return False


async def stale_grants(
    runtime: Runtime, principal_id: str, *, wanted: Collection[str], shared: bool
) -> list[Action]:
    """Revocations of ppmi's assignments for the principal that are neither in `wanted` (names) nor, on a
    shared identity, wanted by any environment under the policy."""
    assignments, actions = await ppmi_assignments(runtime, principal_id)
    for assignment in sorted(assignments, key=lambda found: found.name):
        if assignment.name.lower() in wanted:
            continue
        if shared and wanted_on_shared_identity(runtime.policy, assignment):
            continue
        actions.append(
            Revoke(
                assignment.scope,
                assignment.name,
                principal_id,
                f"role {assignment.role_definition_id} is no longer granted there by the policy",
            )
        )
    return actions


async def environment_grants(runtime: Runtime, principal_id: str, environment_id: str) -> list[Action]:
    """On tear-down: ppmi's assignments made for this environment alone (their scope names it), so none
    outlives the environment even when the policy changed since they were made."""
    assignments, actions = await ppmi_assignments(runtime, principal_id)
    for assignment in sorted(assignments, key=lambda found: found.name):
        if environment_id.lower() in assignment.scope.lower():
            actions.append(
                Revoke(assignment.scope, assignment.name, principal_id, "the environment was deleted")
            )
    return actions
