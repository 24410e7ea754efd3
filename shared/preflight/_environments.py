"""The Power Platform API as ppmi reads it: every field its decisions rest on, the value seen, the conclusion.

What ppmi concludes is what the engine concludes: readiness (`EnvironmentInfo.readiness`, from the real
capture's `state` and `deletedDateTime`), the tenant (the policy's `tenantId`), the Dataverse URL (the
allow-list of `dataverse_origin`) and the policy's environment scope.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from shared.clients.dataverse import dataverse_origin
from shared.clients.environments import DISABLED_STATES, LIVE_STATES, EnvironmentInfo, Readiness
from shared.diagnosis import Evidence, Finding, Severity
from shared.errors import InvalidInputError, PpmiError
from shared.policy import Policy
from shared.preflight._problems import failed_call
from shared.preflight._report import Findings, Outcome

AREA = "environments"
REGISTER_APP = (
    "make ppmi's identity known to Power Platform once per tenant: `pac admin application register "
    "--application-id <AZURE_CLIENT_ID>` (docs/deploy.md, prerequisite 5)"
)
_NOT_READY = {
    Readiness.DELETED: ("environment.deleted", "remove it from the policy's environments.include"),
    Readiness.DISABLED: ("environment.disabled", "enable it in the Power Platform admin center"),
    Readiness.NO_DATAVERSE: ("environment.no_dataverse", "add a Dataverse database to it"),
    Readiness.PROVISIONING: ("environment.provisioning", "wait until its Dataverse is provisioned"),
}


async def check_environments(
    listing: Sequence[EnvironmentInfo] | PpmiError, policy: Policy, selected: Sequence[str]
) -> tuple[Findings, list[tuple[EnvironmentInfo, str]]]:
    """Checks of every environment in scope (or of those `selected`); those whose Dataverse ppmi would use,
    with the origin it would call."""
    found = Findings()
    if isinstance(listing, PpmiError):
        found.add(
            failed_call(
                listing, what="list the environments", resource="environments", refused_fix=REGISTER_APP
            )
        )
        found.check(AREA, "environment list", Outcome.ERROR, "could not be read")
        return found, []
    in_scope = [e for e in listing if policy.environment_in_scope(e.id, e.type, e.display_name)]
    found.check(
        AREA,
        "environment list",
        Outcome.OK if in_scope or selected else Outcome.WARNING,
        "the Power Platform API answers",
        listed=str(len(listing)),
        in_scope=str(len(in_scope)),
    )
    if not in_scope and not selected:
        found.add(_none_in_scope(len(listing)))
    targets = _targets(found, listing, in_scope, selected)
    usable = []
    for environment in targets:
        origin = _check_one(found, environment, policy, explicit=bool(selected))
        if origin is not None:
            usable.append((environment, origin))
    return found, usable


def _targets(
    found: Findings,
    listing: Sequence[EnvironmentInfo],
    in_scope: list[EnvironmentInfo],
    selected: Sequence[str],
) -> list[EnvironmentInfo]:
    if not selected:
        return in_scope
    by_id = {environment.id.casefold(): environment for environment in listing}
    targets = []
    for wanted in selected:
        environment = by_id.get(wanted.casefold())
        if environment is None:
            found.add(_not_found(wanted))
            found.check(AREA, wanted, Outcome.ERROR, "not in the list the Power Platform API gives ppmi")
        else:
            targets.append(environment)
    return targets


def _check_one(
    found: Findings, environment: EnvironmentInfo, policy: Policy, *, explicit: bool
) -> str | None:
    """One environment's fields, each judged; the Dataverse origin when ppmi could provision it now."""
    host = urlsplit(environment.dataverse_url).hostname or ""
    seen = {
        "state": environment.state or "not reported",
        "tenantId": environment.tenant_id or "not reported",
        "url host suffix": host.split(".", 1)[1] if "." in host else "no Dataverse URL",
        "deletedDateTime": f"{environment.deleted_time:%Y-%m-%d}"
        if environment.deleted_time
        else "not deleted",
        "type": environment.type or "not reported",
    }
    conclusions = [_state_conclusion(environment)]
    problems: list[Finding] = []
    if explicit and not policy.environment_in_scope(
        environment.id, environment.type, environment.display_name
    ):
        problems.append(_out_of_scope(environment))
    state = environment.state.casefold()
    if state and state not in LIVE_STATES | DISABLED_STATES:
        problems.append(_unknown_state(environment))
    if environment.tenant_id is None:
        conclusions.append("no tenant reported, so ppmi cannot compare it with the policy's")
    elif environment.tenant_id != policy.tenant_id:
        problems.append(_other_tenant(environment, policy.tenant_id))
    else:
        conclusions.append("the policy's tenant")
    origin = None
    if environment.readiness is Readiness.READY:
        try:
            origin = dataverse_origin(environment.dataverse_url, policy)
            conclusions.append(f"Dataverse at {host} is on the allow-list")
        except InvalidInputError as error:
            problems.append(_url_refused(environment, error.reason))
    else:
        code, fix = _NOT_READY[environment.readiness]
        severity = Severity.ERROR if explicit else Severity.WARNING
        problems.append(_not_ready(environment, code, severity, fix))
    for problem in problems:
        found.add(problem)
    worst = _worst(problems)
    found.check(AREA, environment.id, worst, "; ".join(conclusions), **seen)
    blocked = any(p.severity is Severity.ERROR for p in problems)
    return None if blocked else origin


def _worst(problems: list[Finding]) -> Outcome:
    if any(p.severity is Severity.ERROR for p in problems):
        return Outcome.ERROR
    return Outcome.WARNING if problems else Outcome.OK


def _state_conclusion(environment: EnvironmentInfo) -> str:
    readiness = environment.readiness
    if readiness is Readiness.READY:
        return "live with Dataverse: ppmi provisions it"
    return environment.readiness_reason()


def _none_in_scope(listed: int) -> Finding:
    return Finding(
        code="environments.none_in_scope",
        severity=Severity.WARNING,
        message=f"none of the {listed} environments ppmi can see is in the policy's scope",
        fix="check the policy's environments (types, namePattern, include, exclude); ppmi lists only "
        "environments its identity may see",
        resource="environments",
    )


def _out_of_scope(environment: EnvironmentInfo) -> Finding:
    return Finding(
        code="environment.out_of_scope",
        severity=Severity.ERROR,
        message="the policy's environments scope leaves this environment out: ppmi rejects its events",
        fix="add it to environments.include, or widen types / namePattern",
        evidence=Evidence(
            actual=f"type {environment.type or 'not reported'}, name {environment.display_name!r}"
        ),
        resource=environment.id,
    )


def _not_found(environment_id: str) -> Finding:
    return Finding(
        code="environment.not_found",
        severity=Severity.ERROR,
        message="the Power Platform API does not list this environment for ppmi's identity",
        fix=f"check the environment ID; {REGISTER_APP}",
        resource=environment_id,
    )


def _unknown_state(environment: EnvironmentInfo) -> Finding:
    return Finding(
        code="environment.state_unknown",
        severity=Severity.WARNING,
        message=f"ppmi has no meaning for the state {environment.state!r}; it decides readiness from the "
        "Dataverse URL and deletedDateTime",
        fix="nothing to do if the environment works; send the recording (--record) so ppmi learns the value",
        evidence=Evidence(
            expected=", ".join(sorted(LIVE_STATES | DISABLED_STATES)), actual=environment.state
        ),
        resource=environment.id,
    )


def _other_tenant(environment: EnvironmentInfo, tenant_id: str) -> Finding:
    return Finding(
        code="environment.other_tenant",
        severity=Severity.ERROR,
        message="the environment belongs to another tenant than the policy's: its FICs would trust the "
        "wrong issuer, so ppmi refuses it",
        fix="correct the policy's tenantId, or run a ppmi deployment for that tenant",
        evidence=Evidence(expected=tenant_id, actual=environment.tenant_id),
        resource=environment.id,
    )


def _url_refused(environment: EnvironmentInfo, reason: str) -> Finding:
    return Finding(
        code="environment.url_not_allowed",
        severity=Severity.ERROR,
        message=f"ppmi would refuse this environment: {reason}",
        fix="check the policy's cloud and dataverseHostSuffixes",
        evidence=Evidence(actual=environment.dataverse_url),
        resource=environment.id,
    )


def _not_ready(environment: EnvironmentInfo, code: str, severity: Severity, fix: str) -> Finding:
    return Finding(
        code=code,
        severity=severity,
        message=environment.readiness_reason(),
        fix=f"{fix}; until then ppmi leaves it out",
        evidence=Evidence(actual=environment.state or None),
        resource=environment.id,
    )
