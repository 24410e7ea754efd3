"""The policy's `connectors` section: the app registrations custom connectors may use, and what a connector's
subject and redirect URL must look like before ppmi writes them onto one.

Power Platform shows a connector's issuer and subject for the maker to copy; Microsoft publishes no format for
them (contracts/MANIFEST.md, Gaps). Entra's own FIC rules are documented and fixed in
`shared.connector_credentials`; what ppmi assumes beyond them is UNCONFIRMED and set here, so an operator can
follow Power Platform if it differs.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, field_validator, model_validator

from shared.policy_fields import Guid, PolicyModel, invalid

# UNCONFIRMED: the `/eid1/c/{cloud}/t/{base64url tenant}/a/` opening is documented for plug-ins
# (contracts/dataverse/ppadmin_set-up-managed-identity.2025-10-10.md) and seen in other first-party
# federations (contracts/connectors/issue_microsoft-agents-202.eid1-subject-error.excerpt.md), not for
# connectors. `{cloudPrefix}` is the cloud's `/eid1/c/pub|usg|chn`, `{encodedTenantId}` the policy tenant in
# the plug-in encoding (base64url of the GUID's .NET bytes).
DEFAULT_SUBJECT_PREFIX = "{cloudPrefix}/t/{encodedTenantId}/a/"
SUBJECT_PLACEHOLDERS = frozenset({"{cloudPrefix}", "{encodedTenantId}"})
# UNCONFIRMED: community guides show connector redirect URLs on this host; Microsoft documents none.
DEFAULT_REDIRECT_HOSTS = ("global.consent.azure-apim.net",)
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})+", re.ASCII)
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
_PREFIX_CHARACTERS = re.compile(r"[A-Za-z0-9/_\-{}]+", re.ASCII)


class ConnectorApplication(PolicyModel):
    """A single-tenant app registration custom connectors authenticate as; ppmi must own it in Entra."""

    application_id: Guid
    object_id: Guid
    name: Annotated[str, Field(max_length=120)] = ""

    @property
    def label(self) -> str:
        return f"{self.name} ({self.application_id})" if self.name else f"application {self.application_id}"


class ConnectorSettings(PolicyModel):
    applications: list[ConnectorApplication] = Field(default_factory=list, max_length=100)
    redirect_hosts: list[Annotated[str, Field(min_length=3, max_length=253)]] = Field(
        default_factory=lambda: list(DEFAULT_REDIRECT_HOSTS), max_length=20
    )
    subject_prefix: Annotated[str, Field(min_length=2, max_length=200)] = DEFAULT_SUBJECT_PREFIX

    @field_validator("redirect_hosts")
    @classmethod
    def _hosts(cls, hosts: list[str]) -> list[str]:
        for index, host in enumerate(hosts):
            if not _HOST.fullmatch(host):
                raise invalid(
                    f"[{index}] must be a lower-case DNS name such as global.consent.azure-apim.net, with no "
                    "scheme, port, path or wildcard"
                )
        return hosts

    @field_validator("subject_prefix")
    @classmethod
    def _prefix(cls, prefix: str) -> str:
        if not prefix.startswith("/") or not _PREFIX_CHARACTERS.fullmatch(prefix):
            raise invalid("must start with '/' and hold only letters, digits, '/', '_', '-' and placeholders")
        unknown = set(_PLACEHOLDER.findall(prefix)) - SUBJECT_PLACEHOLDERS
        if unknown:
            raise invalid(f"knows only the placeholders {', '.join(sorted(SUBJECT_PLACEHOLDERS))}")
        if "{encodedTenantId}" not in prefix:
            raise invalid("must hold {encodedTenantId}, so that a connector of another tenant is refused")
        return prefix

    @model_validator(mode="after")
    def _unique(self) -> ConnectorSettings:
        for key in ("application_id", "object_id"):
            values = [getattr(application, key) for application in self.applications]
            if len(values) != len(set(values)):
                raise invalid(f"applications lists an {key.replace('_', ' ')} twice")
        return self

    def application(self, application_id: str) -> ConnectorApplication | None:
        """The allowed app registration with this application (client) ID, or None."""
        wanted = application_id.lower()
        return next((each for each in self.applications if each.application_id == wanted), None)
