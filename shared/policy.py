"""The provisioning policy: one versioned YAML file, validated at start-up, that every decision reads."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from shared.fic import (
    CertificateError,
    Cloud,
    FederatedCredential,
    Signer,
    SubjectEnvironmentSegment,
    federated_credential,
    federated_credential_name,
    load_certificate,
)
from shared.policy_checks import dataverse_suffix_problem, signer_capacity_problem, signer_warnings
from shared.policy_connectors import ConnectorSettings
from shared.policy_document import PolicyError as _PolicyError
from shared.policy_document import read_policy_document
from shared.policy_fields import Guid, PolicyModel, invalid
from shared.policy_key_vaults import KeyVaultAccessPolicy, duplicate_vault_problem
from shared.role_grants import ScopeError, check_scope, refused_role_reason

_RESOURCE_GROUP = re.compile(r"[-\w._()]{0,89}[-\w_()]", re.ASCII)
_LOCATION = re.compile(r"[a-z0-9]{2,40}", re.ASCII)
_PATH_LIKE = re.compile(r"[A-Za-z0-9 ._/()\-]{1,200}", re.ASCII)
_NAME_PREFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9-_]{0,39}", re.ASCII)

# Dataverse host suffixes per cloud (learn.microsoft.com/power-platform/admin/powerapps-us-government lists
# crm9.dynamics.com for GCC, crm.microsoftdynamics.us for GCC High and crm.appsplatform.us for DoD;
# crm.dynamics.cn is China's). crm9 is GCC's alone, so the public list leaves it out.
GCC_DATAVERSE_HOST = "crm9.dynamics.com"
DEFAULT_DATAVERSE_HOST_SUFFIXES: dict[Cloud, tuple[str, ...]] = {
    Cloud.PUBLIC: (
        "crm.dynamics.com",
        *(
            f"crm{region}.dynamics.com"
            for region in range(2, 23)
            if f"crm{region}.dynamics.com" != GCC_DATAVERSE_HOST
        ),
    ),
    Cloud.GCC: (GCC_DATAVERSE_HOST,),
    Cloud.GCC_HIGH: ("crm.microsoftdynamics.us",),
    Cloud.DOD: ("crm.appsplatform.us",),
    Cloud.CHINA: ("crm.dynamics.cn",),
}
# `cloud: usgov` once meant GCC High and DoD together (and GCC was `public`): different endpoint sets.
RETIRED_CLOUDS = {
    "usgov": "cloud 'usgov' no longer exists: GCC High and DoD have different endpoints; set cloud to "
    "'gcchigh' (Dataverse at *.crm.microsoftdynamics.us) or 'dod' (*.crm.appsplatform.us); a GCC tenant "
    "(*.crm9.dynamics.com) is 'gcc'",
}


PolicyError = _PolicyError  # raised by every policy check; defined with the document reader


_fail = invalid


def _pattern(regex: re.Pattern[str], hint: str) -> AfterValidator:
    def check(value: str) -> str:
        if not regex.fullmatch(value):
            raise _fail(hint)
        return value

    return AfterValidator(check)


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as error:
        raise _fail(f"is not a valid regular expression: {error}") from None
    return value


def _scope_template(value: str) -> str:
    try:
        return check_scope(value, template=True)
    except ScopeError as error:
        raise _fail(str(error)) from None


def _grantable_role(value: str) -> str:
    reason = refused_role_reason(value)
    if reason is not None:
        raise _fail(reason)
    return value


Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
ShortName = Annotated[
    str, _pattern(_NAME_PREFIX, "must be 1-40 letters, digits, '-' or '_', not starting with '-'")
]
ResourceGroup = Annotated[
    str, _pattern(_RESOURCE_GROUP, "must be an Azure resource group name (1-90 characters)")
]
Location = Annotated[str, _pattern(_LOCATION, "must be an Azure region name such as westeurope")]
Sha256 = Annotated[str, _pattern(re.compile(r"[0-9a-fA-F]{64}", re.ASCII), "must be 64 hex characters")]
DotNetName = Annotated[str, Field(min_length=3, max_length=1024)]


def _current_cloud(value: object) -> object:
    retired = RETIRED_CLOUDS.get(str(value).strip().lower()) if isinstance(value, str) else None
    if retired is not None:
        raise _fail(retired)
    return value


class PoolSettings(PolicyModel):
    pool_name: ShortName | None = None
    shard_capacity: Annotated[int, Field(ge=1, le=20)] = 20
    headroom: Annotated[int, Field(ge=0, le=19)] = 2


class IdentitySettings(PoolSettings):
    """Where identities live and how they are shared; pool and app-registration settings sit beside them."""

    strategy: Literal["per-environment", "shared-pool", "app-registration"] = "per-environment"
    subscription_id: Guid | None = None
    resource_group: ResourceGroup | None = None
    location: Location | None = None
    name_prefix: ShortName = "ppmi"
    tags: dict[str, Annotated[str, Field(max_length=256)]] = Field(default_factory=dict, max_length=50)
    application_object_id: Guid | None = None
    application_id: Guid | None = None

    @model_validator(mode="after")
    def _strategy_needs(self) -> IdentitySettings:
        required: tuple[str, ...] = ("subscription_id", "resource_group", "location")
        if self.strategy == "app-registration":
            required = ("application_object_id", "application_id")
        for name in required:
            if getattr(self, name) is None:
                raise PydanticCustomError(
                    "missing_for_strategy",
                    "{field} is required when strategy is {strategy}",
                    {"field": to_camel(name), "strategy": self.strategy},
                )
        if self.strategy == "shared-pool" and self.pool_name is None:
            raise _fail("poolName is required when strategy is shared-pool")
        if self.headroom >= self.shard_capacity:
            raise _fail("headroom must be smaller than shardCapacity, or no shard could ever take a FIC")
        return self


class TrustedSigner(PolicyModel):
    """A signer whose plug-ins get a FIC: a certificate (file or base64 DER), or a SHA-256 with names."""

    name: Annotated[str, Field(min_length=1, max_length=100)]
    certificate: str | None = None
    sha256: Sha256 | None = None
    issuer_name: DotNetName | None = None
    subject_name: DotNetName | None = None
    _signer: Signer | None = PrivateAttr(default=None)
    _valid_until: datetime | None = PrivateAttr(default=None)

    @field_validator("certificate")
    @classmethod
    def _readable(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            try:
                load_certificate(_certificate_bytes(value, _base_dir(info)))
            except CertificateError as error:
                raise _fail(f"cannot be read as a certificate: {error}") from None
        return value

    @model_validator(mode="after")
    def _resolve(self, info: ValidationInfo) -> TrustedSigner:
        if (self.certificate is None) == (self.sha256 is None):
            raise _fail("give exactly one of certificate (path or base64 DER) and sha256")
        if self.certificate is not None:
            certificate = load_certificate(_certificate_bytes(self.certificate, _base_dir(info)))
            self._signer = Signer.from_certificate(certificate, self.issuer_name, self.subject_name)
            self._valid_until = certificate.not_valid_after
        elif (self.issuer_name is None) != (self.subject_name is None):
            raise _fail("give both issuerName and subjectName for a CA-issued signer, or neither")
        else:
            self._signer = Signer(
                self_signed=self.issuer_name is None,
                sha256_hex=(self.sha256 or "").lower(),
                issuer_name=self.issuer_name,
                subject_name=self.subject_name,
            )
        return self

    @property
    def valid_until(self) -> datetime | None:
        """When the signer's certificate expires; None for a signer given by thumbprint and names."""
        return self._valid_until

    @property
    def signer(self) -> Signer:
        if self._signer is None:  # pragma: no cover - set by validation, which always runs
            raise RuntimeError("trusted signer used before validation")
        return self._signer


def _base_dir(info: ValidationInfo) -> Path:
    context = info.context or {}
    base_dir = context.get("base_dir", Path())
    return base_dir if isinstance(base_dir, Path) else Path(str(base_dir))


def _certificate_bytes(value: str, base_dir: Path) -> bytes:
    """A path (relative to the policy file) if such a file exists, otherwise base64 DER."""
    candidate = base_dir / value
    try:
        if candidate.is_file():
            return candidate.read_bytes()
    except OSError:
        pass  # too long or unreadable as a path: try it as base64 below
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        # Only a short plain value is repeated: anything else may be a key pasted in the wrong place.
        looked = (
            f"looked for {candidate}" if _PATH_LIKE.fullmatch(value) else f"a {len(value)}-character value"
        )
        raise _fail(
            f"is neither a file ({looked}) nor base64 DER; give a path relative to the policy file"
        ) from None


class RoleGrant(PolicyModel):
    role_definition_id: Annotated[Guid, AfterValidator(_grantable_role)]
    scope: Annotated[str, Field(min_length=2, max_length=1024), AfterValidator(_scope_template)]
    description: Annotated[str, Field(max_length=500)] = ""

    def scope_for(self, *, subscription_id: str, resource_group: str, environment_id: str) -> str:
        """The scope filled in, checked again: a value put into a placeholder must not change its meaning."""
        filled = self.scope.format(
            subscriptionId=subscription_id, resourceGroup=resource_group, environmentId=environment_id
        )
        return check_scope(filled, template=False)


class EnvironmentScope(PolicyModel):
    """`None` types means every type; an empty list means only `include`."""

    types: list[Annotated[str, Field(min_length=1, max_length=40)]] | None = None
    name_pattern: Annotated[str, AfterValidator(_regex)] | None = None
    include: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(default_factory=list)
    exclude: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(default_factory=list)


class Pacing(PolicyModel):
    """Client-side limits, defaulting to the documented Azure and Dataverse limits."""

    managed_identity_writes_per_subscription_per_second: Positive = 2.0
    managed_identity_writes_per_identity_per_second: Positive = 0.25
    arm_writes_per_second: Positive = 10.0
    arm_write_burst: Annotated[int, Field(ge=1)] = 200
    dataverse_concurrency_per_organization: Annotated[int, Field(ge=1, le=52)] = 8


class Policy(PolicyModel):
    version: Literal[1]
    tenant_id: Guid
    cloud: Annotated[Cloud, BeforeValidator(_current_cloud)] = Cloud.PUBLIC
    format_version: Literal[1, 2] = 2
    subject_environment_segment: SubjectEnvironmentSegment = SubjectEnvironmentSegment.ENVIRONMENT_ID
    identity: IdentitySettings
    trusted_signers: list[TrustedSigner] = Field(default_factory=list)
    role_grants: list[RoleGrant] = Field(default_factory=list)
    key_vault_access_policies: list[KeyVaultAccessPolicy] = Field(default_factory=list)
    connectors: ConnectorSettings = Field(default_factory=ConnectorSettings)
    environments: EnvironmentScope = Field(default_factory=EnvironmentScope)
    dataverse_host_suffixes: list[Annotated[str, Field(min_length=3, max_length=253)]] | None = None
    manage_application_user: bool = False
    # Environment events delete ppmi's FICs of signers no longer trusted (never while none is trusted).
    retire_untrusted_signers: bool = True
    pacing: Pacing = Field(default_factory=Pacing)

    @model_validator(mode="after")
    def _limits(self) -> Policy:
        """As many signers as one identity holds FICs; host suffixes only under the cloud's own domains."""
        problem = signer_capacity_problem(
            len({trusted.signer.key for trusted in self.trusted_signers}), self.identity
        )
        if problem is not None:
            raise PydanticCustomError("too_many_signers", problem)
        for index, suffix in enumerate(self.dataverse_host_suffixes or ()):
            problem = dataverse_suffix_problem(
                suffix, self.cloud, DEFAULT_DATAVERSE_HOST_SUFFIXES[self.cloud]
            )
            if problem is not None:
                raise PydanticCustomError("bad_suffix", f"dataverseHostSuffixes[{index}] {problem}")
        problem = duplicate_vault_problem(self.key_vault_access_policies)
        if problem is not None:
            raise PydanticCustomError("bad_vault", f"keyVaultAccessPolicies{problem}")
        return self

    def warnings(self, now: datetime | None = None) -> list[str]:
        """What is allowed but deserves attention (see `shared.policy_checks.signer_warnings`)."""
        return signer_warnings(self.trusted_signers, now or datetime.now(UTC))

    @property
    def allowed_dataverse_host_suffixes(self) -> tuple[str, ...]:
        if self.dataverse_host_suffixes is not None:
            return tuple(suffix.lower().strip(".") for suffix in self.dataverse_host_suffixes)
        return DEFAULT_DATAVERSE_HOST_SUFFIXES[self.cloud]

    def dataverse_host_allowed(self, host: str) -> bool:
        """`{org}.{suffix}` or `{org}.api.{suffix}` with a single-label organisation name."""
        host = host.lower().rstrip(".")
        for suffix in self.allowed_dataverse_host_suffixes:
            if host.endswith("." + suffix):
                organization = host[: -len(suffix) - 1].removesuffix(".api")
                if re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", organization, re.ASCII):
                    return True
        return False

    def credential_for(
        self,
        environment_id: str,
        signer: Signer,
        *,
        component: str = "pluginassembly",
        organization_id: str | None = None,
    ) -> FederatedCredential:
        """The FIC values this policy's tenant, cloud, format and subject segment give a signer."""
        return federated_credential(
            tenant_id=self.tenant_id,
            environment_id=environment_id,
            signer=signer,
            format_version=self.format_version,
            cloud=self.cloud,
            component=component,
            organization_id=organization_id,
            environment_segment=self.subject_environment_segment,
        )

    def credential_name_for(self, environment_id: str, signer: Signer) -> str:
        return federated_credential_name(environment_id, signer, format_version=self.format_version)

    def trusted_signer_for(self, signer: Signer) -> TrustedSigner | None:
        return next((trusted for trusted in self.trusted_signers if trusted.signer.matches(signer)), None)

    def environment_in_scope(self, env_id: str, env_type: str | None, display_name: str | None) -> bool:
        """Exclude wins, include always counts, otherwise type and name pattern (searched) must both pass."""
        scope = self.environments
        listed = env_id.casefold()  # a GUID pasted in upper case still names the same environment
        if listed in {entry.casefold() for entry in scope.exclude}:
            return False
        if listed in {entry.casefold() for entry in scope.include}:
            return True
        if scope.types is not None and (env_type or "").casefold() not in {t.casefold() for t in scope.types}:
            return False
        return scope.name_pattern is None or re.search(scope.name_pattern, display_name or "") is not None


def parse_policy(text: str, base_dir: Path) -> Policy:
    """Validate policy YAML; certificate paths are read relative to `base_dir`."""
    document = read_policy_document(text)
    try:
        return Policy.model_validate(document, context={"base_dir": base_dir})
    except ValidationError as error:
        raise _policy_error(error) from None
    except CertificateError as error:
        raise PolicyError(
            f"a trusted signer's certificate cannot be read: {error}", "trustedSigners"
        ) from None


def load_policy(path: str | Path) -> Policy:
    policy_path = Path(path)
    try:
        text = policy_path.read_text(encoding="utf-8")
    except OSError as error:
        raise PolicyError(f"cannot read the policy file {policy_path}: {error.strerror}") from None
    return parse_policy(text, policy_path.parent)


def _policy_error(error: ValidationError) -> PolicyError:
    detail = error.errors(include_url=False)[0]
    location = [part for part in detail["loc"] if not (isinstance(part, str) and "[" in part)]
    field = ""
    for part in location:
        field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
    message = str(detail["msg"]).removeprefix("Value error, ")
    if detail["type"] == "missing":
        message = "is required"
    elif detail["type"] == "extra_forbidden":
        message = "is not a policy key; remove it or fix its spelling (see docs/policy.sample.yaml)"
    elif detail["type"] == "missing_for_strategy":
        field = f"{field}.{detail.get('ctx', {}).get('field', '')}".lstrip(".")
    return PolicyError(message, field or "$")
