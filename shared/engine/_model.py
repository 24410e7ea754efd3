"""What the engine reasons about: the identity an environment uses, desired and observed state, actions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.clients.arm import IdentityAddress, RoleAssignment, StoredCredential
from shared.clients.dataverse import Component, ComponentKind, ManagedIdentityRow
from shared.clients.environments import EnvironmentInfo
from shared.clients.keyvault import AccessPolicy
from shared.fic import FederatedCredential


@dataclass(frozen=True)
class Enrichment:
    """What only trusted sources can say about an event's environment."""

    environment_id: str
    environment: EnvironmentInfo | None  # None only for a deleted environment
    dataverse_origin: str | None  # None only for a deleted environment without Dataverse
    identity_key: str


@dataclass(frozen=True)
class IdentityTarget:
    """The identity an environment's FICs live on: a managed identity (`address`) or an app registration."""

    key: str  # what FIC writes are serialised on
    address: IdentityAddress | None = None
    location: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    dedicated: bool = False  # made for this environment alone, so it goes when the environment goes
    application_object_id: str | None = None
    application_id: str | None = None

    @property
    def label(self) -> str:
        if self.address is not None:
            return self.address.name
        return f"application {self.application_object_id}"


@dataclass(frozen=True)
class ResolvedIdentity:
    """The identity as it exists (or will exist): what the Dataverse row and role grants point at."""

    target: IdentityTarget
    client_id: str
    principal_id: str | None
    tags: Mapping[str, str] = field(default_factory=dict)
    exists: bool = True


@dataclass(frozen=True)
class DesiredCredential:
    name: str
    credential: FederatedCredential
    signer: str  # the trusted signer's label from the policy


@dataclass(frozen=True)
class DesiredGrant:
    scope: str
    role_definition_id: str
    name: str


@dataclass(frozen=True)
class DesiredBinding:
    kind: ComponentKind
    component_id: str
    expected_subject: str  # the subject ppmi computed; Dataverse's own answer must agree


@dataclass(frozen=True)
class Retirement:
    """Which of ppmi's FICs for the environment may go: those whose signer key the policy no longer trusts.

    Environment events carry one; plug-in events, which concern a single signer, carry none.
    """

    trusted_keys: frozenset[str]
    enabled: bool = True  # the policy's `retireUntrustedSigners`


@dataclass(frozen=True)
class Desired:
    """Everything one event wants to be true for one environment."""

    environment_id: str
    identity: ResolvedIdentity
    credentials: tuple[DesiredCredential, ...]
    row_id: str | None  # None: this event leaves the Dataverse row alone
    row_values: Mapping[str, Any] = field(default_factory=dict)
    bindings: tuple[DesiredBinding, ...] = ()
    grants: tuple[DesiredGrant, ...] = ()
    retirement: Retirement | None = None  # None: FICs the policy does not want are left alone
    owned_rows: frozenset[str] = frozenset()  # ppmi's rows for the environment: a binding may move from them


@dataclass(frozen=True)
class Observed:
    credentials: Mapping[str, StoredCredential]  # every FIC on the identity, by lower-case name
    row: ManagedIdentityRow | None = None
    components: Mapping[str, Component | None] = field(default_factory=dict)
    grants: Mapping[str, RoleAssignment | None] = field(default_factory=dict)
    dataverse_subjects: Mapping[str, str | None] = field(default_factory=dict)  # component id -> subject


# -- actions: each is one idempotent step; `apply` runs them in order -------------------------------------


@dataclass(frozen=True)
class Unchanged:
    step: str
    target: str
    detail: str | None = None


@dataclass(frozen=True)
class Skip:
    step: str
    target: str
    reason: str


@dataclass(frozen=True)
class EnsureIdentity:
    target: IdentityTarget
    create: bool  # False: the identity exists, only its tags change


@dataclass(frozen=True)
class TagIdentity:
    target: IdentityTarget
    tags: Mapping[str, str]


@dataclass(frozen=True)
class PutCredential:
    target: IdentityTarget
    name: str
    credential: FederatedCredential
    create: bool
    description: str | None = None  # app registrations only: ppmi's note of whose FIC it is


@dataclass(frozen=True)
class DeleteCredential:
    target: IdentityTarget
    name: str
    reason: str | None = None  # why it goes, for `ppmi plan` and the step's detail


@dataclass(frozen=True)
class CreateRow:
    row_id: str
    values: Mapping[str, Any]


@dataclass(frozen=True)
class UpdateRow:
    row_id: str
    changes: Mapping[str, Any]


@dataclass(frozen=True)
class DeleteRow:
    row_id: str


@dataclass(frozen=True)
class BindComponent:
    kind: ComponentKind
    component_id: str
    row_id: str


@dataclass(frozen=True)
class Grant:
    grant: DesiredGrant
    principal_id: str


@dataclass(frozen=True)
class Revoke:
    """Delete one of ppmi's role assignments; re-read first, deleted only while it is still ppmi's."""

    scope: str
    name: str
    principal_id: str
    reason: str | None = None


@dataclass(frozen=True)
class DeleteIdentity:
    target: IdentityTarget


@dataclass(frozen=True)
class AddApplicationUser:
    environment_id: str
    application_id: str


@dataclass(frozen=True)
class VerifySubject:
    """Fail clearly when Dataverse computes a different FIC subject than ppmi did."""

    kind: ComponentKind
    component_id: str
    expected: str
    actual: str


@dataclass(frozen=True)
class VerifyRow:
    """Read the row back after an upgrade and check its version."""

    row_id: str
    version: int


@dataclass(frozen=True)
class AddRedirectUri:
    """Add one URI to the app registration's web redirect URIs, leaving the others as they are."""

    application_object_id: str
    uri: str


@dataclass(frozen=True)
class RemoveRedirectUri:
    application_object_id: str
    uri: str
    reason: str | None = None


@dataclass(frozen=True)
class GrantVaultAccess:
    """`accessPolicies/add`: merge `entry`'s permissions into the principal's entry (creating it)."""

    vault_id: str
    entry: AccessPolicy


@dataclass(frozen=True)
class RevokeVaultAccess:
    """`accessPolicies/remove` of `entry`'s permissions, spelled as the vault holds them; checked after."""

    vault_id: str
    entry: AccessPolicy
    reason: str | None = None


Action = (
    Unchanged
    | Skip
    | EnsureIdentity
    | TagIdentity
    | PutCredential
    | DeleteCredential
    | CreateRow
    | UpdateRow
    | DeleteRow
    | BindComponent
    | Grant
    | Revoke
    | DeleteIdentity
    | AddApplicationUser
    | VerifySubject
    | VerifyRow
    | AddRedirectUri
    | RemoveRedirectUri
    | GrantVaultAccess
    | RevokeVaultAccess
)
