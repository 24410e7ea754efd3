"""What the policy wants for one environment: FIC values and names, the Dataverse row, role grants."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.clients.arm import ManagedIdentity
from shared.clients.dataverse import CREDENTIAL_SOURCE_MANAGED, SUBJECT_SCOPE_ENVIRONMENT
from shared.engine._model import DesiredCredential, DesiredGrant, IdentityTarget, ResolvedIdentity
from shared.engine._naming import managed_identity_row_id, role_assignment_name
from shared.errors import PermanentError
from shared.fic import FederatedCredentialError, federated_credential, federated_credential_name
from shared.policy import Policy, TrustedSigner
from shared.role_grants import ScopeError

NEW_IDENTITY = "(new)"  # stands in for IDs an identity gets only when it is created (plans only)


def resolved(target: IdentityTarget, identity: ManagedIdentity | None) -> ResolvedIdentity:
    """The identity's IDs: a placeholder while it does not exist (plans), the app's for app registrations."""
    if target.address is None:
        return ResolvedIdentity(target, client_id=str(target.application_id), principal_id=None)
    if identity is None:
        return ResolvedIdentity(target, NEW_IDENTITY, NEW_IDENTITY, exists=False)
    return ResolvedIdentity(target, identity.client_id, identity.principal_id, dict(identity.tags))


def credentials_for(
    policy: Policy,
    environment_id: str,
    signers: Sequence[TrustedSigner],
    *,
    version: int,
    organization_id: str | None,
    component: str = "pluginassembly",
) -> tuple[DesiredCredential, ...]:
    """One FIC per signer in the given subject format; errors name the signer."""
    wanted = []
    for trusted in signers:
        try:
            credential = federated_credential(
                tenant_id=policy.tenant_id,
                environment_id=environment_id,
                signer=trusted.signer,
                format_version=version,
                cloud=policy.cloud,
                component=component,
                organization_id=organization_id,
                environment_segment=policy.subject_environment_segment,
            )
            name = federated_credential_name(environment_id, trusted.signer, format_version=version)
        except FederatedCredentialError as error:
            raise PermanentError(f"signer {trusted.name}: {error}") from error
        wanted.append(DesiredCredential(name=name, credential=credential, signer=trusted.name))
    return tuple(wanted)


def row_id_for(environment_id: str, target: IdentityTarget) -> str:
    """The deterministic `managedidentityid` of the row linking the environment to `target`."""
    identity = target.address.name if target.address is not None else str(target.application_object_id)
    return managed_identity_row_id(environment_id, identity)


def row_values(
    policy: Policy, environment_id: str, identity: ResolvedIdentity, version: int
) -> dict[str, Any]:
    """The `managedidentity` columns plug-ins need: managed credential, environment scope, subject format."""
    return {
        "applicationid": identity.client_id,
        "tenantid": policy.tenant_id,
        "credentialsource": CREDENTIAL_SOURCE_MANAGED,
        "subjectscope": SUBJECT_SCOPE_ENVIRONMENT,
        "version": version,
        "name": f"ppmi {environment_id}"[:100],
    }


def grants_for(
    policy: Policy, environment_id: str, principal_id: str | None, *, only_environment_scoped: bool = False
) -> tuple[DesiredGrant, ...]:
    """The policy's role grants with their scopes filled in and their deterministic names."""
    settings = policy.identity
    if settings.subscription_id is None or settings.resource_group is None:
        return ()
    grants = []
    for grant in policy.role_grants:
        if only_environment_scoped and "{environmentId}" not in grant.scope:
            continue
        try:
            scope = grant.scope_for(
                subscription_id=settings.subscription_id,
                resource_group=settings.resource_group,
                environment_id=environment_id,
            )
        except ScopeError as error:
            raise PermanentError(f"role grant {grant.scope} for {environment_id}: {error}") from None
        name = role_assignment_name(scope, principal_id or "", grant.role_definition_id)
        grants.append(DesiredGrant(scope=scope, role_definition_id=grant.role_definition_id, name=name))
    return tuple(grants)
