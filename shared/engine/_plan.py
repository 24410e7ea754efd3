"""Planning is pure: desired state against observed state gives the list of steps, nothing else."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shared.clients.arm import StoredCredential
from shared.clients.dataverse import ManagedIdentityRow
from shared.engine._model import (
    Action,
    BindComponent,
    CreateRow,
    DeleteCredential,
    DeleteIdentity,
    DeleteRow,
    Desired,
    DesiredBinding,
    DesiredCredential,
    Grant,
    Observed,
    PutCredential,
    ResolvedIdentity,
    Retirement,
    Revoke,
    Skip,
    TagIdentity,
    Unchanged,
    UpdateRow,
    VerifyRow,
    VerifySubject,
)
from shared.engine._naming import credential_signer_key
from shared.errors import InvalidInputError

_ROW_COLUMNS = {
    "applicationid": "application_id",
    "tenantid": "tenant_id",
    "credentialsource": "credential_source",
    "subjectscope": "subject_scope",
    "version": "version",
    "name": "name",
}


def plan(desired: Desired, observed: Observed) -> list[Action]:
    """The steps that make `observed` what `desired` says; `Unchanged` entries keep the report complete."""
    # Retired signers go first: on an identity at Entra's FIC cap they make the room a new signer needs.
    actions: list[Action] = [
        *_retirement_steps(desired, observed.credentials),
        *_credential_steps(desired, observed.credentials),
    ]
    if desired.row_id is not None:
        actions.append(_row_step(desired.row_id, desired.row_values, observed.row))
    for binding in desired.bindings:
        component = observed.components.get(binding.component_id)
        target = f"{binding.kind} {binding.component_id}"
        if component is None:
            raise InvalidInputError(
                f"the {binding.kind} {binding.component_id} does not exist in environment "
                f"{desired.environment_id}; register it first",
                field="data",
            )
        actual = observed.dataverse_subjects.get(binding.component_id)
        if actual is None:
            actions.append(
                Skip("verify-subject", target, "Dataverse does not offer GetComponentManagedIdentityFIC")
            )
        elif actual != binding.expected_subject:
            actions.append(
                VerifySubject(binding.kind, binding.component_id, binding.expected_subject, actual)
            )
        else:
            actions.append(Unchanged("verify-subject", target, "Dataverse computes the same subject"))
        actions.append(_binding_step(desired, binding, component.managed_identity_id))
    principal = desired.identity.principal_id
    for grant in desired.grants:
        target = f"{grant.role_definition_id} on {grant.scope}"
        if principal is None:
            actions.append(
                Skip("role-assignment", target, "the identity has no service principal ID to grant")
            )
        elif observed.grants.get(grant.name) is None:
            actions.append(Grant(grant, principal))
        else:
            actions.append(Unchanged("role-assignment", target))
    return actions


def _binding_step(desired: Desired, binding: DesiredBinding, bound: str | None) -> Action:
    """Bind an unbound component, or one bound to ppmi's own row; one bound elsewhere stays where it is."""
    target = f"{binding.kind} {binding.component_id}"
    if desired.row_id is None or bound == desired.row_id:
        return Unchanged("bind-component", target)
    if bound is None or bound in desired.owned_rows:
        return BindComponent(binding.kind, binding.component_id, desired.row_id)
    return Skip(
        "bind-component",
        target,
        f"bound to managedidentity {bound}, which ppmi does not own: it stays where it is (someone bound it "
        "on purpose); unbind it first for ppmi to bind it",
    )


def _credential_steps(desired: Desired, present: Mapping[str, StoredCredential]) -> list[Action]:
    steps: list[Action] = []
    target = desired.identity.target
    for wanted in desired.credentials:
        have = present.get(wanted.name.lower())
        # Entra refuses a second FIC with the same issuer and subject, and one is all a signer needs.
        twin = next((stored for stored in present.values() if stored.holds(wanted.credential)), None)
        if have is None and twin is not None:
            steps.append(Unchanged("federated-credential", wanted.name, f"held by {twin.name}"))
        elif have is None:
            steps.append(PutCredential(target, wanted.name, wanted.credential, create=True))
        elif not have.holds(wanted.credential):
            steps.append(PutCredential(target, wanted.name, wanted.credential, create=False))
        else:
            steps.append(Unchanged("federated-credential", wanted.name, f"signer {wanted.signer}"))
    return steps


def _retirement_steps(desired: Desired, present: Mapping[str, StoredCredential]) -> list[Action]:
    """Delete ppmi's FICs for this environment whose signer the policy no longer trusts, in any format.

    A FIC still holding the values of a wanted credential serves a trusted signer, whatever its name, so it
    stays; with no signer trusted at all nothing goes: an empty list is likelier a mistake than intent.
    """
    retirement = desired.retirement
    if retirement is None:
        return []
    steps: list[Action] = []
    for _, stored in sorted(present.items()):
        key = credential_signer_key(desired.environment_id, stored.name)
        if key is None or key in retirement.trusted_keys:
            continue
        if any(stored.holds(wanted.credential) for wanted in desired.credentials):
            continue
        steps.append(_retire(desired.identity, stored.name, key, retirement))
    return steps


def _retire(identity: ResolvedIdentity, name: str, key: str, retirement: Retirement) -> Action:
    untrusted = f"signer {key} is no longer trusted by the policy"
    if not retirement.enabled:
        return Unchanged("federated-credential", name, f"{untrusted}; kept (retireUntrustedSigners: false)")
    if not retirement.trusted_keys:
        return Skip(
            "federated-credential",
            name,
            f"{untrusted}, but the policy trusts no signer at all, which looks like a mistake: nothing is "
            "retired; restore trustedSigners, or delete the FIC yourself if every signer really left",
        )
    return DeleteCredential(identity.target, name, untrusted)


def _row_step(row_id: str, values: Mapping[str, Any], row: ManagedIdentityRow | None) -> Action:
    if row is None:
        return CreateRow(row_id, values)
    changes = {
        column: value
        for column, value in values.items()
        if _normalised(getattr(row, _ROW_COLUMNS[column])) != _normalised(value)
    }
    if changes:
        return UpdateRow(row_id, changes)
    return Unchanged("managed-identity-row", row_id)


def _normalised(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def plan_switch(
    *,
    identity: ResolvedIdentity,
    row: ManagedIdentityRow,
    present: Mapping[str, StoredCredential],
    retire: Sequence[DesiredCredential],
    adopt: Sequence[DesiredCredential],
    version: int,
    tags: Mapping[str, str],
) -> list[Action]:
    """Move a row between subject formats: add the new FICs, flip the version, verify, retire the old FICs.

    Old FICs are found by their values, not their names, so credentials made before ppmi are retired too.
    """
    target = identity.target
    actions: list[Action] = []
    for wanted in adopt:
        have = present.get(wanted.name.lower())
        # A self-signed signer's v1 and v2 values are the same (h/ subject): the FIC it has already serves.
        twin = next((stored for stored in present.values() if stored.holds(wanted.credential)), None)
        if have is not None and have.holds(wanted.credential):
            actions.append(Unchanged("federated-credential", wanted.name, f"signer {wanted.signer}"))
        elif twin is not None:
            actions.append(Unchanged("federated-credential", wanted.name, f"held by {twin.name}"))
        else:
            actions.append(PutCredential(target, wanted.name, wanted.credential, create=have is None))
    if row.version != version:
        actions.append(UpdateRow(row.id, {"version": version}))
    else:
        actions.append(Unchanged("managed-identity-row", row.id, f"already version {version}"))
    actions.append(VerifyRow(row.id, version))
    keep = {wanted.name.lower() for wanted in adopt}
    for name, stored in sorted(present.items()):
        serves_new_format = any(stored.holds(new.credential) for new in adopt)
        if name not in keep and not serves_new_format and any(stored.holds(old.credential) for old in retire):
            actions.append(DeleteCredential(target, stored.name))
    if target.address is not None and dict(tags) != dict(identity.tags):
        actions.append(TagIdentity(target, tags))
    return actions


def plan_removal(
    *,
    environment_id: str,
    identity: ResolvedIdentity | None,
    owned: bool,
    owned_credentials: Sequence[str],
    row: ManagedIdentityRow | None,
    grants: Mapping[str, str],
    principal_id: str = "",
) -> list[Action]:
    """Remove what ppmi made for an environment, and only that: its row, grants, FICs, dedicated identity.

    An identity without ppmi's ownership tags is a namesake: nothing on it is touched.
    """
    actions: list[Action] = []
    if row is not None:
        actions.append(DeleteRow(row.id))
    if identity is None or not identity.exists:
        return actions
    target = identity.target
    if not owned:
        actions.append(
            Skip("identity", target.label, f"not tagged as ppmi's for {environment_id}; left as it is")
        )
        return actions
    for name, scope in sorted(grants.items()):
        actions.append(Revoke(scope, name, principal_id, "the environment was deleted"))
    for name in sorted(owned_credentials):
        actions.append(DeleteCredential(target, name))
    if target.dedicated:
        actions.append(DeleteIdentity(target))
    return actions
