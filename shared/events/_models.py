"""CloudEvents 1.0 models for every intake event type; strict: unknown attributes and fields are refused."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PrivateAttr, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from shared.events._fields import (
    Base64Der,
    ConnectorId,
    DotNetName,
    EnvironmentId,
    EventId,
    FicIssuer,
    FicSubject,
    Guid,
    RedirectUrl,
    ReplySession,
    Sha1Hex,
    Sha256Hex,
    Source,
    Subject,
    TraceParent,
)
from shared.fic import Signer, SigningCertificate, load_certificate


class StrictModel(BaseModel):
    """JSON in camelCase, no coercion, no unknown keys, immutable."""

    model_config = ConfigDict(
        extra="forbid", strict=True, frozen=True, alias_generator=to_camel, populate_by_name=True
    )


class CertificateReference(StrictModel):
    """The signer: DER in base64 (preferred), or a SHA-256 / SHA-1 thumbprint, plus optional .NET names."""

    der: Base64Der | None = None
    sha256: Sha256Hex | None = None
    sha1: Sha1Hex | None = None
    issuer_name: DotNetName | None = None
    subject_name: DotNetName | None = None
    _certificate: SigningCertificate | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _one_form(self) -> CertificateReference:
        given = [form for form in ("der", "sha256", "sha1") if getattr(self, form) is not None]
        if len(given) != 1:
            raise PydanticCustomError(
                "invalid_value",
                "must hold exactly one of 'der' (base64 DER, preferred), 'sha256' or 'sha1'; got {given}",
                {"given": ", ".join(given) or "none"},
            )
        if self.der is None and (self.issuer_name is None) != (self.subject_name is None):
            raise PydanticCustomError(
                "invalid_value",
                "must give both 'issuerName' and 'subjectName' for a CA-issued signer, or neither",
            )
        if self.der is not None:
            self._certificate = load_certificate(self.der)  # already proven readable by the field check
        return self

    @property
    def valid_until(self) -> datetime | None:
        """When the certificate expires, if the event carried it (a thumbprint alone does not say)."""
        return None if self._certificate is None else self._certificate.not_valid_after

    def signer(self) -> Signer:
        """Names without a certificate mean CA-issued; a bare thumbprint means self-signed."""
        if self._certificate is not None:
            return Signer.from_certificate(self._certificate, self.issuer_name, self.subject_name)
        return Signer(
            self_signed=self.issuer_name is None,
            sha256_hex=self.sha256,
            sha1_thumbprint=self.sha1,
            issuer_name=self.issuer_name,
            subject_name=self.subject_name,
        )


class EventData(StrictModel):
    environment_id: EnvironmentId


class EnvironmentData(EventData):
    """For created, reconcile and deleted: the environment is all the event names."""


class PluginAssemblyData(EventData):
    plugin_assembly_id: Guid
    certificate: CertificateReference


class PluginPackageData(EventData):
    plugin_package_id: Guid
    certificate: CertificateReference


class ConnectorDeletedData(EventData):
    """A custom connector gone: ppmi removes its FIC (and the redirect URI ppmi added) from the app."""

    connector_id: ConnectorId
    application_id: Guid  # the app registration's application (client) ID


class ConnectorData(ConnectorDeletedData):
    """A custom connector with managed identity authentication, as Power Platform shows it to the maker."""

    issuer: FicIssuer
    subject: FicSubject
    redirect_url: RedirectUrl | None = None


class IdentityUpgradeData(EventData):
    target_version: Literal[2] = 2
    revert: bool = False


class CloudEvent(BaseModel):
    """The CloudEvents 1.0 context attributes this service reads and writes."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)

    specversion: Literal["1.0"]
    id: EventId
    source: Source
    type: str
    time: AwareDatetime | None = None
    subject: Subject | None = None
    datacontenttype: Literal["application/json"] | None = None
    reply_session: ReplySession | None = Field(default=None, alias="replysession")
    traceparent: TraceParent | None = None

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True, exclude_none=True).encode("utf-8")


class Event(CloudEvent):
    """An intake event; `data` is typed per `type`."""

    data: EventData

    def signer(self) -> Signer:
        """The plug-in's signer; only plug-in registration events carry one."""
        return self.certificate().signer()

    def certificate(self) -> CertificateReference:
        """The plug-in's signing certificate as sent; only plug-in registration events carry one."""
        if isinstance(self.data, PluginAssemblyData | PluginPackageData):
            return self.data.certificate
        raise ValueError(f"a {self.type} event carries no certificate")


class EnvironmentCreatedEvent(Event):
    type: Literal["ppmi.environment.created"]
    data: EnvironmentData


class EnvironmentReconcileEvent(Event):
    type: Literal["ppmi.environment.reconcile"]
    data: EnvironmentData


class EnvironmentDeletedEvent(Event):
    type: Literal["ppmi.environment.deleted"]
    data: EnvironmentData


class PluginAssemblyRegisteredEvent(Event):
    type: Literal["ppmi.pluginassembly.registered"]
    data: PluginAssemblyData


class PluginPackageRegisteredEvent(Event):
    type: Literal["ppmi.pluginpackage.registered"]
    data: PluginPackageData


class IdentityUpgradeEvent(Event):
    type: Literal["ppmi.identity.upgrade"]
    data: IdentityUpgradeData


class ConnectorRegisteredEvent(Event):
    type: Literal["ppmi.connector.registered"]
    data: ConnectorData


class ConnectorDeletedEvent(Event):
    type: Literal["ppmi.connector.deleted"]
    data: ConnectorDeletedData


EVENT_MODELS: dict[str, type[Event]] = {
    "ppmi.environment.created": EnvironmentCreatedEvent,
    "ppmi.environment.reconcile": EnvironmentReconcileEvent,
    "ppmi.environment.deleted": EnvironmentDeletedEvent,
    "ppmi.pluginassembly.registered": PluginAssemblyRegisteredEvent,
    "ppmi.pluginpackage.registered": PluginPackageRegisteredEvent,
    "ppmi.identity.upgrade": IdentityUpgradeEvent,
    "ppmi.connector.registered": ConnectorRegisteredEvent,
    "ppmi.connector.deleted": ConnectorDeletedEvent,
}
EVENT_TYPES: tuple[str, ...] = tuple(EVENT_MODELS)
