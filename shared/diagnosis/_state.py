"""The two inputs of the checks: what the policy and the engine's naming expect, what the services hold."""

from __future__ import annotations

from dataclasses import dataclass

from shared.fic import Cloud, Signer, SubjectEnvironmentSegment


@dataclass(frozen=True)
class ExpectedSigner:
    """A certificate whose plug-ins must get tokens: a trusted signer of the policy, or the one given."""

    name: str
    signer: Signer


@dataclass(frozen=True)
class ExpectedGrant:
    scope: str
    role_definition_id: str  # the role's GUID
    description: str = ""


@dataclass(frozen=True)
class ComponentTarget:
    """The plug-in component being verified: its table's logical name and row ID."""

    table: str  # "pluginassembly" | "pluginpackage"
    component_id: str

    @property
    def label(self) -> str:
        kind = "plug-in package" if self.table == "pluginpackage" else "plug-in assembly"
        return f"{kind} {self.component_id}"


@dataclass(frozen=True)
class Expectation:
    """Everything that must hold for plug-ins in `environment_id`, from the policy and deterministic names."""

    environment_id: str
    tenant_id: str
    identity: str  # the identity the engine gives this environment (a name or resource ID)
    row_id: str | None  # the deterministic `managedidentityid`; None while no identity holds the environment
    signers: tuple[ExpectedSigner, ...]
    grants: tuple[ExpectedGrant, ...]
    cloud: Cloud = Cloud.PUBLIC
    format_version: int = 2
    environment_segment: SubjectEnvironmentSegment = SubjectEnvironmentSegment.ENVIRONMENT_ID
    headroom: int = 2
    component: ComponentTarget | None = None
    signer_given: bool = False  # True when the component's certificate was given, not taken from the policy
    trusted: tuple[ExpectedSigner, ...] = ()  # the policy's trusted signers, whatever `signers` holds


@dataclass(frozen=True)
class ObservedIdentity:
    resource: str  # resource ID (managed identity) or object ID (app registration), for messages
    client_id: str
    principal_id: str | None  # None for an app registration: its service principal is not read


@dataclass(frozen=True)
class ObservedCredential:
    name: str
    issuer: str
    subject: str
    audiences: tuple[str, ...]


@dataclass(frozen=True)
class ObservedRow:
    """A Dataverse `managedidentity` row, with the columns that decide whether a token can be issued."""

    row_id: str
    application_id: str | None
    tenant_id: str | None
    credential_source: int | None
    subject_scope: int | None
    version: int | None


@dataclass(frozen=True)
class ObservedComponent:
    name: str
    bound_row_id: str | None
    server_subject: str | None  # `GetComponentManagedIdentityFIC`; None when Dataverse does not offer it


@dataclass(frozen=True)
class ObservedGrant:
    scope: str
    role_definition_id: str  # the role's GUID


@dataclass(frozen=True)
class DataverseRefusal:
    """Dataverse answered 403: the service is not an application user, or its user has no security role."""

    code: str
    message: str


@dataclass(frozen=True)
class Observation:
    """What the services hold; a part is None when it does not exist (or could not be read: see `refusal`)."""

    organization_id: str | None = None
    dataverse_read: bool = True  # False when the environment has no reachable Dataverse to read
    identity: ObservedIdentity | None = None
    credentials: tuple[ObservedCredential, ...] = ()
    refusal: DataverseRefusal | None = None
    row: ObservedRow | None = None
    component: ObservedComponent | None = None
    bound_row: ObservedRow | None = None  # the row the component is bound to, when it is not `row`
    grants: tuple[ObservedGrant, ...] = ()
    service_client_id: str | None = None  # the client ID ppmi called Dataverse as
