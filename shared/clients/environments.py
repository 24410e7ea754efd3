"""Power Platform environments (the Power Platform API) and the BAP admin API's `addAppUser`.

Readiness is decided from the fields the real API sends (contracts/powerplatform/
capture_list-environments.2024-10-01.response.json): live environments report `state: "Enabled"` and
`deletedDateTime: "1970-01-01T00:00:00Z"`. The reference (learn-rest_environments_list-environments-for-
user.2024-10-01.md) types `state` as a plain string and publishes no values, so a value ppmi does not know is
logged and does not block an environment whose Dataverse is there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from shared.clients._paging import paged_items
from shared.errors import ResourceNotFoundError
from shared.http import Call, HttpClient
from shared.telemetry import get_logger

PP_API_VERSION = "2024-10-01"
BAP_API_VERSION = "2020-10-01"
_BAP_ENVIRONMENTS = "/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments"
# The reference spells the page link `@odata.nextlink` (lower-case l); OData clients send `@odata.nextLink`.
NEXT_LINK_FIELDS = ("@odata.nextlink", "@odata.nextLink")
# `deletedDateTime` of a live environment in the real capture: the epoch, not null.
NOT_DELETED_SENTINEL = datetime(1970, 1, 1, tzinfo=UTC)

LOG = get_logger("shared.clients.environments")


class Readiness(StrEnum):
    """What ppmi may do with an environment now."""

    READY = "ready"  # Dataverse is there: provision
    PROVISIONING = "provisioning"  # no Dataverse yet and the state is not a live one: try again later
    NO_DATAVERSE = "no-dataverse"  # live without Dataverse: nothing to provision until one is added
    DELETED = "deleted"  # `deletedDateTime` is a real date: the environment is gone (or in its retention)
    DISABLED = "disabled"  # switched off by an administrator


# Each `state` ppmi knows and what it means; matching ignores case.
LIVE_STATES = frozenset(
    {
        "enabled",  # every live environment in the real capture
        # the BAP API's word for a usable one (powerplatform/tf-fixture_bap_admin-environment_get.json)
        "ready",
    }
)
# UNCONFIRMED: BAP's `states.runtime.id` counterpart of "Enabled"; not seen from the Power Platform API.
DISABLED_STATES = frozenset({"disabled"})
_reported_unknown_states: set[str] = set()


@dataclass(frozen=True)
class EnvironmentInfo:
    """An environment as the Power Platform API reports it."""

    id: str
    display_name: str
    dataverse_url: str
    organization_id: str | None
    state: str
    type: str
    created_time: datetime | None
    tenant_id: str | None = None
    deleted_time: datetime | None = None  # None while the environment lives (the epoch sentinel or absent)

    @property
    def readiness(self) -> Readiness:
        state = self.state.casefold()
        if self.deleted_time is not None:
            return Readiness.DELETED
        if state in DISABLED_STATES:
            return Readiness.DISABLED
        if self.dataverse_url:
            return Readiness.READY
        return Readiness.NO_DATAVERSE if state in LIVE_STATES else Readiness.PROVISIONING

    @property
    def ready(self) -> bool:
        """Ready for this job: Dataverse exists and the environment is neither deleted nor disabled."""
        return self.readiness is Readiness.READY

    def readiness_reason(self) -> str:
        """Why the environment is not ready, in words an administrator can act on."""
        shown = f"environment {self.id} (state {self.state or 'not reported'})"
        match self.readiness:
            case Readiness.DELETED:
                return f"{shown} was deleted on {self.deleted_time:%Y-%m-%d %H:%M} UTC"
            case Readiness.DISABLED:
                return f"{shown} is disabled; enable it, then send ppmi.environment.reconcile"
            case Readiness.NO_DATAVERSE:
                return (
                    f"{shown} has no Dataverse database, so plug-ins cannot run there; add one, then send "
                    "ppmi.environment.reconcile (the hourly reconcile also picks it up)"
                )
            case Readiness.PROVISIONING:
                return f"{shown} is not ready yet: it has no Dataverse URL while it is being provisioned"
        return f"{shown} is ready"


class EnvironmentsClient:
    """Reads environments from the Power Platform API; adds application users through BAP."""

    def __init__(self, http: HttpClient, powerplatform_url: str, bap_url: str, *, bap_audience: str) -> None:
        self._http = http
        self._base = powerplatform_url.rstrip("/")
        self._bap = bap_url.rstrip("/")
        self._bap_scope = f"{bap_audience.rstrip('/')}/.default"
        self._scope = f"{self._base}/.default"  # the API's audience is its host (docs/configuration.md)

    def _call(self, path: str, template: str) -> Call:
        return Call(
            service="environments",
            method="GET",
            url=f"{self._base}{path}",
            template=template,
            scope=self._scope,
        )

    async def list_environments(self) -> list[EnvironmentInfo]:
        template = "/environmentmanagement/environments"
        call = self._call(f"{template}?api-version={PP_API_VERSION}", template)
        items = paged_items(self._http, call, link_field=NEXT_LINK_FIELDS, origin=self._base)
        return [environment_from(item) async for item in items]

    async def get_environment(self, environment_id: str) -> EnvironmentInfo | None:
        template = "/environmentmanagement/environments/{environmentId}"
        path = f"/environmentmanagement/environments/{environment_id}?api-version={PP_API_VERSION}"
        try:
            response = await self._http.send(self._call(path, template))
        except ResourceNotFoundError:
            return None
        return environment_from(response.json())

    async def add_application_user(self, environment_id: str, application_id: str) -> None:
        """Make `application_id` an application user of the environment's Dataverse (idempotent)."""
        call = Call(
            service="bap",
            method="POST",
            url=f"{self._bap}{_BAP_ENVIRONMENTS}/{environment_id}/addAppUser?api-version={BAP_API_VERSION}",
            template=_BAP_ENVIRONMENTS + "/{environmentId}/addAppUser",
            scope=self._bap_scope,
            json={"servicePrincipalAppId": application_id},
            idempotent=True,  # adding a user who is already there changes nothing
        )
        await self._http.send(call)


def environment_from(item: Mapping[str, Any]) -> EnvironmentInfo:
    """An `EnvironmentResponse` as the API sends it: extra fields ignored, nulls and absences tolerated."""
    state = str(item.get("state") or "")
    _report_unknown_state(state, str(item.get("id", "")))
    deleted = _timestamp(item.get("deletedDateTime"))
    return EnvironmentInfo(
        id=str(item.get("id", "")),
        display_name=str(item.get("displayName") or ""),
        dataverse_url=str(item.get("url") or ""),
        organization_id=str(item["dataverseId"]) if item.get("dataverseId") else None,
        state=state,
        type=str(item.get("type") or ""),
        created_time=_timestamp(item.get("createdDateTime")),
        tenant_id=str(item["tenantId"]).lower() if item.get("tenantId") else None,
        deleted_time=None if deleted is None or deleted <= NOT_DELETED_SENTINEL else deleted,
    )


def _report_unknown_state(state: str, environment_id: str) -> None:
    """Log each state value ppmi has no meaning for, once per process: it is evidence worth keeping."""
    folded = state.casefold()
    if not folded or folded in LIVE_STATES | DISABLED_STATES or folded in _reported_unknown_states:
        return
    _reported_unknown_states.add(folded)
    LOG.warning(
        "environment.state.unknown",
        state=state,
        environment_id=environment_id,
        handling="readiness decided from the Dataverse URL and deletedDateTime",
    )


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
