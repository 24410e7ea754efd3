"""ppmi's own ARM rights where it acts, read from the permissions API, weighed against the actions it needs.

Only ppmi's own identity's permissions are read (contracts/arm-authorization/authorization-Permissions-
2022-04-01.trimmed.json): nothing is created to find out. The reply cannot show an ABAC condition in its
2022-04-01 shape; a `condition` a service does send is checked for the policy's roles.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.clients.arm import ArmClient, Permission
from shared.diagnosis import Evidence, Finding, Severity
from shared.errors import PpmiError
from shared.policy import Policy
from shared.preflight._needs import MI_CONTRIBUTOR, ROLE_ASSIGNMENTS, VAULT_ROLE, Need, ScopeNeeds
from shared.preflight._problems import failed_call
from shared.preflight._report import Findings, Outcome

AREA = "rights"
ASSIGN = f"{ROLE_ASSIGNMENTS}/write"
CONDITION_NOTE = (
    "the permissions API shows no ABAC condition: the deployment's condition lets ppmi assign only the roles "
    "in PPMI_GRANTED_ROLE_IDS, so check them with `ppmi policy deployment-parameters --check`"
)


async def check_rights(
    arm: ArmClient, policy: Policy, scopes: Sequence[ScopeNeeds], client_id: str | None
) -> Findings:
    found = Findings()
    for item in scopes:
        if item.scope.lower().startswith("/providers/microsoft.management/"):
            found.add(_unchecked(item))
            found.check(
                AREA, item.scope, Outcome.WARNING, "a management group: not checked", purpose=item.purpose
            )
            continue
        try:
            permissions = await arm.list_permissions(item.scope)
        except PpmiError as error:
            found.add(
                failed_call(
                    error,
                    what=f"read ppmi's own permissions at the {item.purpose}",
                    resource=item.scope,
                    refused_fix="the permissions API needs no right beyond a token for ARM: check that the "
                    "token's tenant is the subscription's and that the subscription ID is right",
                )
            )
            found.check(AREA, item.scope, Outcome.ERROR, "could not be read", purpose=item.purpose)
            continue
        _weigh(found, item, permissions, policy, client_id)
    return found


def _weigh(
    found: Findings, item: ScopeNeeds, permissions: list[Permission], policy: Policy, client_id: str | None
) -> None:
    missing = [need for need in item.needs if not any(p.allows(need.action) for p in permissions)]
    allowed = [need.action for need in item.needs if need not in missing]
    seen = {
        "purpose": item.purpose,
        "entries": str(len(permissions)),
        "allowed": ", ".join(allowed) or "none of the needed actions",
    }
    if missing:
        found.add(_missing(item, missing, client_id))
        outcome = Outcome.ERROR if item.severity is Severity.ERROR else Outcome.WARNING
        found.check(AREA, item.scope, outcome, f"{len(missing)} needed action(s) not allowed", **seen)
        return
    assigns = any(need.action == ASSIGN for need in item.needs)
    conditions = [p.condition for p in permissions if assigns and p.condition and p.allows(ASSIGN)]
    excluded = [
        role
        for role in dict.fromkeys(g.role_definition_id for g in policy.role_grants)
        if conditions and not any(role.lower() in condition.lower() for condition in conditions)
    ]
    if excluded:
        found.add(_excluded(item, excluded, conditions))
        found.check(AREA, item.scope, Outcome.ERROR, "the condition leaves out a policy role", **seen)
        return
    conclusion = "every action ppmi needs here is allowed"
    if assigns and not conditions:
        conclusion += f"; {CONDITION_NOTE}"
    found.check(AREA, item.scope, Outcome.OK, conclusion, **seen)


def _missing(item: ScopeNeeds, missing: list[Need], client_id: str | None) -> Finding:
    roles = sorted({need.role for need in missing})
    assignee = client_id or "<ppmi's client ID>"
    if roles == [MI_CONTRIBUTOR]:
        fix = (
            f"give ppmi's identity {MI_CONTRIBUTOR} on {item.scope}: `azd provision` does it for the "
            "policy's identity.resourceGroup (PPMI_IDENTITY_RESOURCE_GROUP); by hand: `az role assignment "
            f'create --assignee {assignee} --role "{MI_CONTRIBUTOR}" --scope {item.scope}`'
        )
    elif roles == [VAULT_ROLE]:
        fix = (
            'run `eval "$(ppmi policy deployment-parameters)"` and `azd provision`: the deployment gives '
            "ppmi its vault role on each vault of keyVaultAccessPolicies (PPMI_KEY_VAULT_IDS)"
        )
    elif item.severity is Severity.WARNING:
        fix = (
            "until ppmi may read role assignments here, grants the policy dropped are not revoked here: set "
            "PPMI_GRANT_SCOPES to the deployment's grant scopes (azd sets it on the Function App), or give "
            "ppmi's identity Reader here"
        )
    else:
        fix = (
            'run `eval "$(ppmi policy deployment-parameters)"` and `azd provision`: the deployment '
            "delegates Role Based Access Control Administrator, conditioned to the policy's roles, on the "
            f"resource group or subscription holding {item.scope} (PPMI_GRANT_SCOPES)"
        )
    return Finding(
        code="rights.missing",
        severity=item.severity,
        message=f"ppmi's identity lacks actions it needs here ({item.purpose})",
        fix=fix,
        evidence=Evidence(
            expected=", ".join(roles),
            actual="allowed: " + (", ".join(n.action for n in item.needs if n not in missing) or "nothing"),
            details=tuple(f"{need.action}: to {need.step} ({need.role})" for need in missing),
        ),
        resource=item.scope,
    )


def _excluded(item: ScopeNeeds, roles: list[str], conditions: list[str]) -> Finding:
    return Finding(
        code="rights.condition_excludes_role",
        severity=Severity.ERROR,
        message="the condition on ppmi's right to assign roles here leaves out roles the policy grants",
        fix='run `eval "$(ppmi policy deployment-parameters)"` and `azd provision`, which rewrite the '
        "condition with the policy's roles",
        evidence=Evidence(expected=", ".join(roles), actual=conditions[0], details=tuple(conditions[1:])),
        resource=item.scope,
    )


def _unchecked(item: ScopeNeeds) -> Finding:
    return Finding(
        code="rights.unchecked",
        severity=Severity.WARNING,
        message="ppmi cannot read its permissions at a management group (the API covers subscriptions, "
        "resource groups and resources)",
        fix="check by hand that ppmi's identity holds Role Based Access Control Administrator, conditioned "
        "to the policy's roles, at this management group",
        resource=item.scope,
    )
