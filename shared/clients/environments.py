"""Power Platform environments (the Power Platform API) and the BAP admin API's `addAppUser`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.clients._paging import paged_items
from shared.errors import ResourceNotFoundError
from shared.http import Call, HttpClient

PP_API_VERSION = "2024-10-01"
BAP_API_VERSION = "2020-10-01"
_BAP_ENVIRONMENTS = "/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments"


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

    @property
    def ready(self) -> bool:
        """Ready for this job: Dataverse exists and the environment is in the Ready state."""
        return bool(self.dataverse_url) and self.state.lower() == "ready"


class EnvironmentsClient:
    """Reads environments from the Power Platform API; adds application users through BAP."""

    def __init__(self, http: HttpClient, powerplatform_url: str, bap_url: str, *, bap_audience: str) -> None:
        self._http = http
        self._base = powerplatform_url.rstrip("/")
        self._bap = bap_url.rstrip("/")
        self._bap_scope = f"{bap_audience.rstrip('/')}/.default"

    def _call(self, path: str, template: str) -> Call:
        return Call(
            service="environments",
            method="GET",
            url=f"{self._base}{path}",
            template=template,
            scope=f"{self._base}/.default",
        )

    async def list_environments(self) -> list[EnvironmentInfo]:
        template = "/environmentmanagement/environments"
        call = self._call(f"{template}?api-version={PP_API_VERSION}", template)
        items = paged_items(self._http, call, link_field="@odata.nextLink", origin=self._base)
        return [_environment(item) async for item in items]

    async def get_environment(self, environment_id: str) -> EnvironmentInfo | None:
        template = "/environmentmanagement/environments/{environmentId}"
        path = f"/environmentmanagement/environments/{environment_id}?api-version={PP_API_VERSION}"
        try:
            response = await self._http.send(self._call(path, template))
        except ResourceNotFoundError:
            return None
        return _environment(response.json())

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


def _environment(item: Mapping[str, Any]) -> EnvironmentInfo:
    created = item.get("createdDateTime")
    created_time = None
    if isinstance(created, str) and created:
        try:
            created_time = datetime.fromisoformat(created.replace("Z", "+00:00"))
        except ValueError:
            created_time = None
    return EnvironmentInfo(
        id=str(item.get("id", "")),
        display_name=str(item.get("displayName") or ""),
        dataverse_url=str(item.get("url") or ""),
        organization_id=str(item["dataverseId"]) if item.get("dataverseId") else None,
        state=str(item.get("state") or ""),
        type=str(item.get("type") or ""),
        created_time=created_time,
    )
