"""Read the chain's observed state through the product's clients; nothing is written.

A read that the services refuse for a reason worth reporting (Dataverse 403) becomes part of the observation;
anything else (the service is unreachable, the caller lacks ARM rights) is raised for the command to report.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.clients.arm import ArmClient, StoredCredential
from shared.clients.dataverse import ComponentKind, DataverseClient, ManagedIdentityRow
from shared.diagnosis._state import (
    ComponentTarget,
    DataverseRefusal,
    ExpectedGrant,
    ObservedComponent,
    ObservedCredential,
    ObservedGrant,
    ObservedIdentity,
    ObservedRow,
)
from shared.engine import Placement
from shared.errors import PermanentServiceError, ResourceNotFoundError


def observed_identity(
    placement: Placement | None,
) -> tuple[ObservedIdentity | None, tuple[ObservedCredential, ...]]:
    """The identity and its FICs as the engine's placement found them; (None, ()) when there is none."""
    if placement is None:
        return None, ()
    credentials = tuple(_credential(c) for c in placement.credentials.values())
    target = placement.target
    if target.address is None:
        # An app registration: the engine grants it no roles, so its service principal is not needed.
        return ObservedIdentity(target.label, str(target.application_id), None), credentials
    if placement.identity is None:
        return None, ()
    identity = placement.identity
    return ObservedIdentity(target.address.path, identity.client_id, identity.principal_id), credentials


def _credential(stored: StoredCredential) -> ObservedCredential:
    return ObservedCredential(stored.name, stored.issuer, stored.subject, stored.audiences)


async def read_grants(
    arm: ArmClient, grants: tuple[ExpectedGrant, ...], principal_id: str
) -> tuple[ObservedGrant, ...]:
    """The principal's assignments at and above each scope the policy grants on (none where it is gone)."""
    found: dict[tuple[str, str], ObservedGrant] = {}
    for scope in dict.fromkeys(grant.scope for grant in grants):
        try:
            assignments = await arm.list_role_assignments_for_principal(scope, principal_id)
        except ResourceNotFoundError:
            continue  # the resource at that scope does not exist: its grant is missing too
        for assignment in assignments:
            observed = ObservedGrant(assignment.scope, assignment.role_definition_id)
            found[(observed.scope.lower(), observed.role_definition_id)] = observed
    return tuple(found.values())


@dataclass(frozen=True)
class DataverseState:
    refusal: DataverseRefusal | None = None
    row: ObservedRow | None = None
    component: ObservedComponent | None = None
    bound_row: ObservedRow | None = None


async def read_dataverse(
    dataverse: DataverseClient, row_id: str | None, component: ComponentTarget | None
) -> DataverseState:
    """The expected row, the component, its binding and Dataverse's own subject; a 403 is an answer too."""
    try:
        row = _row(await dataverse.get_managed_identity(row_id)) if row_id is not None else None
        if component is None:
            return DataverseState(row=row)
        kind = _kind(component.table)
        found = await dataverse.get_component(kind, component.component_id)
        if found is None:
            return DataverseState(row=row)
        bound_row = None
        if found.managed_identity_id is not None and found.managed_identity_id != (row_id or "").lower():
            bound_row = _row(await dataverse.get_managed_identity(found.managed_identity_id))
        subject = await dataverse.component_fic_subject(kind, component.component_id)
        observed = ObservedComponent(found.name, found.managed_identity_id, subject)
        return DataverseState(row=row, component=observed, bound_row=bound_row)
    except PermanentServiceError as error:
        if error.status != 403:
            raise
        return DataverseState(refusal=DataverseRefusal(error.code, error.service_message))


def _kind(table: str) -> ComponentKind:
    return "pluginpackage" if table == "pluginpackage" else "pluginassembly"


def _row(row: ManagedIdentityRow | None) -> ObservedRow | None:
    if row is None:
        return None
    return ObservedRow(
        row_id=row.id,
        application_id=row.application_id,
        tenant_id=row.tenant_id,
        credential_source=row.credential_source,
        subject_scope=row.subject_scope,
        version=row.version,
    )
