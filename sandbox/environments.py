"""Power Platform environments: the Power Platform API (`api.powerplatform.com`) and the BAP admin API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from sandbox.errors import error_response
from sandbox.routing import Call, Route, StandIn
from sandbox.runtime import Runtime
from sandbox.state import Environment

PP_API_VERSION = "2024-10-01"
BAP_API_VERSION = "2020-10-01"  # addAppUser: terraform-provider-power-platform api_application.go
# BAP reads: the same, and 2023-06-01 (powerplatform/tf-fixture_bap_admin-environments_list.json's request).
BAP_READ_API_VERSIONS = (BAP_API_VERSION, "2023-06-01")
BAP_ENVIRONMENTS = r"/providers/Microsoft\.BusinessAppPlatform/scopes/admin/environments"
DATAVERSE_VERSION = "9.2.26051.157"  # the real capture's
# Geo -> the Azure region an environment of that geo reports (the capture's pair: unitedstates / westus).
AZURE_REGIONS = {
    "unitedstates": "westus",
    "europe": "westeurope",
    "unitedkingdom": "uksouth",
    "canada": "canadacentral",
    "asia": "southeastasia",
    "australia": "australiaeast",
    "japan": "japaneast",
    "india": "centralindia",
    "france": "francecentral",
    "germany": "germanywestcentral",
}


def _timestamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _version_problem(service: str, call: Call, *accepted: str) -> web.Response | None:
    """UNCONFIRMED replies: the status and codes are ARM's; these APIs publish none for a wrong version."""
    version = call.query.get("api-version")
    if version is None:
        return error_response(
            service, 400, "MissingApiVersionParameter", "The api-version query parameter is required."
        )
    if version not in accepted:
        return error_response(
            service,
            400,
            "InvalidApiVersionParameter",
            f"The api-version '{version}' is invalid; use '{"', '".join(accepted)}'.",
        )
    return None


def _paged(call: Call, items: list[dict[str, Any]], size: int, link_key: str) -> web.Response:
    token = call.query.get("$skiptoken", "0") or "0"
    start = int(token) if token.isdigit() else 0
    body: dict[str, Any] = {"value": items[start : start + size]}
    if start + size < len(items):
        body[link_key] = str(
            call.request.url.with_scheme("https").update_query({"$skiptoken": str(start + size)})
        )
    return web.json_response(body)


class Environments(StandIn):
    """`GET /environmentmanagement/environments[/{id}]?api-version=2024-10-01`."""

    name = "environments"

    def __init__(self, runtime: Runtime) -> None:
        super().__init__()
        self.runtime = runtime
        self.router.add("GET", r"/environmentmanagement/environments", self.list_environments, "list")
        self.router.add("GET", r"/environmentmanagement/environments/(?P<env>[^/]+)", self.get_environment)

    def audiences(self, host: str) -> set[str] | None:
        return {"https://api.powerplatform.com"}

    async def admit(self, call: Call, route: Route) -> web.StreamResponse | None:
        return _version_problem(self.name, call, PP_API_VERSION)

    def environment_json(self, environment: Environment) -> dict[str, Any]:
        """An `EnvironmentResponse` shaped like the real capture (powerplatform/capture_list-environments)."""
        config = self.runtime.config
        org = environment.organization if environment.ready else None
        created = _timestamp(environment.created)
        body: dict[str, Any] = {
            "id": environment.id,
            "displayName": environment.display_name,
            "tenantId": config.environment_tenant_id or self.runtime.state.tenant_id,
            "type": environment.type,
            "geo": environment.region,
            "azureRegion": AZURE_REGIONS.get(environment.region, "westus"),
            "createdDateTime": created,
        }
        if config.environment_deleted_sentinel is not None:
            body["deletedDateTime"] = config.environment_deleted_sentinel
        if org is not None:  # without Dataverse the capture's Dataverse fields have nothing to say
            body |= {
                "dataverseId": org.id,
                "url": org.url,  # no trailing slash in the capture
                "version": DATAVERSE_VERSION,
                "domainName": org.unique_name,
            }
        live = environment.ready or environment.organization is None
        body |= {
            "state": config.environment_live_state if live else config.environment_provisioning_state,
            "adminMode": "Disabled",
            "backgroundOperationsState": "Enabled",
            "protectionLevel": "Basic",
            "createdBy": {"id": "SYSTEM", "type": "NotSpecified"},
            "retentionDetails": {"retentionPeriod": "P7D", "availableFromDateTime": created},
        }
        return body

    async def list_environments(self, call: Call) -> web.StreamResponse:
        items = [self.environment_json(e) for e in self.runtime.state.environments.values()]
        config = self.runtime.config
        return _paged(call, items, config.environments_page_size, config.environment_next_link_key)

    async def get_environment(self, call: Call) -> web.StreamResponse:
        environment = self.runtime.state.environments.get(call.params["env"])
        if environment is None:
            return error_response(
                self.name,
                404,
                "EnvironmentNotFound",
                f"The environment '{call.params['env']}' could not be found.",
            )
        return web.json_response(self.environment_json(environment))


class Bap(StandIn):
    """BAP admin API: list/get environments and `addAppUser` (adds an application user to Dataverse)."""

    name = "bap"

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(ignore_case=True)
        self.runtime = runtime
        self.router.add("GET", BAP_ENVIRONMENTS, self.list_environments, "list")
        self.router.add("GET", BAP_ENVIRONMENTS + r"/(?P<env>[^/]+)", self.get_environment)
        self.router.add("POST", BAP_ENVIRONMENTS + r"/(?P<env>[^/]+)/addAppUser", self.add_app_user, "action")

    def audiences(self, host: str) -> set[str] | None:
        return {"https://service.powerapps.com"}  # BAP takes Power Apps service tokens, not its own host

    async def admit(self, call: Call, route: Route) -> web.StreamResponse | None:
        if call.request.method == "GET":
            return _version_problem(self.name, call, *BAP_READ_API_VERSIONS)
        return _version_problem(self.name, call, BAP_API_VERSION)

    def environment_json(self, environment: Environment) -> dict[str, Any]:
        org = environment.organization
        created = _timestamp(environment.created)
        properties: dict[str, Any] = {
            "tenantId": self.runtime.state.tenant_id,
            "azureRegion": environment.region,
            "displayName": environment.display_name,
            "createdTime": created,
            "environmentSku": environment.type,
            "isDefault": environment.type == "Default",
            "provisioningState": "Succeeded" if environment.ready else "Creating",
            "states": {
                "management": {"id": "Ready" if environment.ready else "NotReady"},
                "runtime": {"id": "Enabled"},
            },
        }
        if org is not None and environment.ready:
            properties["linkedEnvironmentMetadata"] = {
                "resourceId": org.id,
                "friendlyName": environment.display_name,
                "uniqueName": org.unique_name,
                "domainName": org.unique_name,
                "version": "9.2.25101.00000",
                "instanceUrl": environment.dataverse_url,
                "instanceApiUrl": f"https://{org.unique_name}.api.{org.host.split('.', 1)[1]}",
                "instanceState": "Ready",
                "createdTime": created,
            }
        return {
            "id": f"/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments/{environment.id}",
            "type": "Microsoft.BusinessAppPlatform/scopes/environments",
            "location": environment.region,
            "name": environment.id,
            "properties": properties,
        }

    async def list_environments(self, call: Call) -> web.StreamResponse:
        items = [self.environment_json(e) for e in self.runtime.state.environments.values()]
        return _paged(call, items, self.runtime.config.environments_page_size, "nextLink")

    def _missing(self, env_id: str) -> web.Response:
        return error_response(
            self.name, 404, "EnvironmentNotFound", f"The environment '{env_id}' could not be found."
        )

    async def get_environment(self, call: Call) -> web.StreamResponse:
        environment = self.runtime.state.environments.get(call.params["env"])
        if environment is None:
            return self._missing(call.params["env"])
        return web.json_response(self.environment_json(environment))

    async def add_app_user(self, call: Call) -> web.StreamResponse:
        state = self.runtime.state
        environment = state.environments.get(call.params["env"])
        if environment is None:
            return self._missing(call.params["env"])
        if environment.organization is None or not environment.ready:
            return error_response(
                self.name, 400, "EnvironmentNotLinked", "The environment has no ready Dataverse organization."
            )
        body = await call.json_object()
        app_id = str(body.get("servicePrincipalAppId") or "")
        if not app_id:
            return error_response(self.name, 400, "InvalidRequest", "servicePrincipalAppId is required.")
        state.add_application_user(environment.organization, app_id, privileged=True)
        return web.json_response({}, status=200)
