"""Applying is I/O: each action becomes one call (or none), reported as one step with its outcome."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.clients.arm import IdentityAddress, ManagedIdentity
from shared.clients.dataverse import DataverseClient
from shared.engine._apply_access import describe_access, run_access
from shared.engine._guards import still_owned, still_ppmi_assignment
from shared.engine._model import (
    Action,
    AddApplicationUser,
    AddRedirectUri,
    BindComponent,
    CreateRow,
    DeleteCredential,
    DeleteIdentity,
    DeleteRow,
    EnsureIdentity,
    Grant,
    GrantVaultAccess,
    IdentityTarget,
    PutCredential,
    RemoveRedirectUri,
    Revoke,
    RevokeVaultAccess,
    Skip,
    TagIdentity,
    Unchanged,
    UpdateRow,
    VerifyRow,
    VerifySubject,
)
from shared.engine._runtime import Runtime
from shared.errors import PermanentError
from shared.events import StepOutcome, StepResult
from shared.telemetry import get_logger, redact, step_span

LOG = get_logger("shared.engine")
MAX_DETAIL_LENGTH = 1000  # a step's detail quotes service answers; the result event holds 4096 characters


@dataclass(frozen=True)
class Change:
    """How an action reads in a plan: the step, its target, and what would happen."""

    step: str
    target: str
    change: str  # create | update | delete | none | skip | check
    detail: str | None = None


def describe(action: Action) -> Change:  # noqa: PLR0911, PLR0912 - one arm per action type
    match action:
        case Unchanged(step, target, detail):
            return Change(step, target, "none", detail)
        case Skip(step, target, reason):
            return Change(step, target, "skip", reason)
        case EnsureIdentity(target, create):
            return Change("identity", target.label, "create" if create else "update", _columns(target.tags))
        case TagIdentity(target, tags):
            return Change("identity", target.label, "update", _columns(tags))
        case PutCredential(_, name, credential, create):
            return Change("federated-credential", name, "create" if create else "update", credential.subject)
        case DeleteCredential(_, name, reason):
            return Change("federated-credential", name, "delete", reason)
        case CreateRow(row_id, values):
            return Change("managed-identity-row", row_id, "create", _columns(values))
        case UpdateRow(row_id, changes):
            return Change("managed-identity-row", row_id, "update", _columns(changes))
        case DeleteRow(row_id):
            return Change("managed-identity-row", row_id, "delete")
        case BindComponent(kind, component_id, row_id):
            return Change(
                "bind-component", f"{kind} {component_id}", "update", f"to managedidentity {row_id}"
            )
        case Grant(grant, _):
            return Change("role-assignment", f"{grant.role_definition_id} on {grant.scope}", "create")
        case Revoke(scope, name, _, reason):
            return Change("role-assignment", f"{name} on {scope}", "delete", reason)
        case DeleteIdentity(target):
            return Change("identity", target.label, "delete")
        case AddApplicationUser(environment_id, application_id):
            return Change("application-user", environment_id, "create", f"application {application_id}")
        case VerifySubject(kind, component_id, expected, actual):
            return Change("verify-subject", f"{kind} {component_id}", "check", f"{expected} vs {actual}")
        case VerifyRow(row_id, version):
            return Change("verify-row", row_id, "check", f"version {version}")
        case AddRedirectUri() | RemoveRedirectUri() | GrantVaultAccess() | RevokeVaultAccess():
            return Change(*describe_access(action))
    raise AssertionError(f"unknown action {action!r}")  # pragma: no cover - the match is exhaustive


def _columns(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in values.items())


_OUTCOMES: dict[str, StepOutcome] = {
    "create": "created",
    "update": "updated",
    "delete": "removed",
    "none": "unchanged",
    "skip": "skipped",
    "check": "unchanged",
}


async def apply(
    actions: Sequence[Action], runtime: Runtime, dataverse: DataverseClient | None, into: list[StepResult]
) -> list[StepResult]:
    """Run `actions` in order, appending one `StepResult` each to `into` (kept on failure, for the report).

    Callers hold the identity's lock (`Runtime.identity_lock`), so FIC writes never overlap.
    """
    for action in actions:
        change = describe(action)
        with step_span(change.step, change.target) as span:
            outcome = await _run(action, runtime, dataverse, change)
            span.set_outcome(outcome)
        into.append(_step_result(change, outcome))
    return into


async def _run(  # noqa: PLR0912 - one arm per action type reads best
    action: Action, runtime: Runtime, dataverse: DataverseClient | None, change: Change
) -> StepOutcome:
    outcome = _OUTCOMES[change.change]
    match action:
        case Unchanged() | Skip() | EnsureIdentity():
            pass  # identities are ensured by `ensure_identity`, whose reply the later steps need
        case TagIdentity(target, tags):
            await runtime.arm.update_identity_tags(_address(target), tags)
        case PutCredential(target, name, credential, _, description):
            if target.address is not None:
                created = await runtime.arm.create_or_update_federated_credential(
                    target.address, name, credential
                )
            else:
                created = await runtime.graph.upsert_federated_credential(
                    str(target.application_object_id), name, credential, description=description
                )
            outcome = "created" if created else "updated"
        case DeleteCredential(target, name):
            if target.address is not None:
                await still_owned(runtime, target)
                gone = await runtime.arm.delete_federated_credential(target.address, name)
            else:
                gone = await runtime.graph.delete_federated_credential(
                    str(target.application_object_id), name
                )
            outcome = "removed" if gone else "unchanged"
        case CreateRow(row_id, values):
            if not await _organisation(dataverse).create_managed_identity(row_id, values):
                outcome = "unchanged"  # created meanwhile by an earlier delivery of the same event
        case UpdateRow(row_id, changes):
            await _organisation(dataverse).update_managed_identity(row_id, changes)
        case DeleteRow(row_id):
            outcome = (
                "removed" if await _organisation(dataverse).delete_managed_identity(row_id) else "unchanged"
            )
        case BindComponent(kind, component_id, row_id):
            await _organisation(dataverse).bind_component(kind, component_id, row_id)
        case Grant(grant, principal_id):
            created = await runtime.arm.create_role_assignment(
                grant.scope,
                grant.name,
                role_definition_id=grant.role_definition_id,
                principal_id=principal_id,
            )
            outcome = "created" if created else "unchanged"
        case Revoke(scope, name, principal_id):
            gone = await still_ppmi_assignment(runtime, scope, name, principal_id)
            if gone:
                gone = await runtime.arm.delete_role_assignment(scope, name)
            outcome = "removed" if gone else "unchanged"
        case DeleteIdentity(target):
            await still_owned(runtime, target)
            outcome = "removed" if await runtime.arm.delete_identity(_address(target)) else "unchanged"
        case AddApplicationUser(environment_id, application_id):
            await runtime.environments.add_application_user(environment_id, application_id)
        case VerifySubject(kind, component_id, expected, actual):
            raise PermanentError(
                f"the FIC subject for {kind} {component_id} does not match: ppmi computed {expected!r}, "
                f"Dataverse computes {actual!r}; check the policy's subjectEnvironmentSegment and the signer"
            )
        case VerifyRow(row_id, version):
            row = await _organisation(dataverse).get_managed_identity(row_id)
            if row is None or row.version != version:
                found = "missing" if row is None else f"version {row.version}"
                raise PermanentError(f"managedidentity {row_id} should be version {version} but is {found}")
        case AddRedirectUri() | RemoveRedirectUri() | GrantVaultAccess() | RevokeVaultAccess():
            outcome = await run_access(action, runtime, outcome)
    return outcome


async def ensure_identity(
    action: EnsureIdentity, runtime: Runtime, into: list[StepResult]
) -> ManagedIdentity:
    """Create the managed identity (PUT), or PATCH the tags it lacks onto it, and report the step."""
    change = describe(action)
    target = action.target
    with step_span(change.step, change.target) as span:
        if action.create:
            identity, created = await runtime.arm.create_or_update_identity(
                _address(target), location=target.location, tags=target.tags
            )
        else:
            identity, created = await runtime.arm.update_identity_tags(_address(target), target.tags), False
        outcome: StepOutcome = "created" if created else "updated"
        span.set_outcome(outcome)
    LOG.info("identity.ensured", identity=target.label, outcome=outcome)
    into.append(_step_result(change, outcome))
    return identity


def _step_result(change: Change, outcome: StepOutcome) -> StepResult:
    """Details quote what services answered (a Dataverse-computed subject, say): redacted before reporting."""
    detail = None if change.detail is None else redact(change.detail)[:MAX_DETAIL_LENGTH]
    return StepResult(step=change.step, target=change.target, outcome=outcome, detail=detail)


def _address(target: IdentityTarget) -> IdentityAddress:
    if target.address is None:
        raise PermanentError(f"{target.label} is not a managed identity")
    return target.address


def _organisation(dataverse: DataverseClient | None) -> DataverseClient:
    if dataverse is None:
        raise PermanentError("this step needs the environment's Dataverse, which it does not have")
    return dataverse
