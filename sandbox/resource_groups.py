"""Resource groups: ARM refuses anything inside one that does not exist, so tests and the demo create them.

Resources API (https://learn.microsoft.com/en-us/rest/api/resources/resource-groups/create-or-update, /get,
/check-existence): PUT answers 201 created / 200 updated, GET 200, HEAD 204 when it exists and 404 when not.
A missing group answers 404 `ResourceGroupNotFound` "Resource group '…' could not be found." (verbatim with
its status in MicrosoftDocs/azure-docs#21346, and in Azure/azure-cli#20316). Deleting groups is not modelled.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sandbox.errors import error_response
from sandbox.routing import Call, Router
from sandbox.runtime import Runtime
from sandbox.state import ResourceGroup

GROUP = r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
GROUP_NAME_MAX = 90


def group_missing(name: str) -> web.Response:
    return error_response("arm", 404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found.")


class ResourceGroups:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def register(self, router: Router) -> None:
        router.add("PUT", GROUP, self.put_group)
        router.add("GET", GROUP, self.get_group)
        router.add("HEAD", GROUP, self.check_group)

    def group_json(self, group: ResourceGroup) -> dict[str, Any]:
        return {
            "id": f"/subscriptions/{self.runtime.state.subscription_id}/resourceGroups/{group.name}",
            "name": group.name,
            "type": "Microsoft.Resources/resourceGroups",
            "location": group.location,
            "tags": dict(group.tags),
            "properties": {"provisioningState": "Succeeded"},
        }

    async def put_group(self, call: Call) -> web.StreamResponse:
        name = call.params["rg"]
        body = await call.json_object()
        location = str(body.get("location") or "").replace(" ", "").lower()
        if not location or len(name) > GROUP_NAME_MAX:
            return error_response(
                "arm", 400, "InvalidResourceGroup", "A location and a valid name are required."
            )
        tags = body.get("tags") or {}
        groups = self.runtime.state.resource_groups
        existing = groups.get(name.lower())
        if existing is not None:
            existing.tags = {str(k): str(v) for k, v in tags.items()}
            return web.json_response(self.group_json(existing))
        group = ResourceGroup(name, location, {str(k): str(v) for k, v in tags.items()})
        groups[name.lower()] = group
        return web.json_response(self.group_json(group), status=201)

    async def get_group(self, call: Call) -> web.StreamResponse:
        group = self.runtime.state.resource_groups.get(call.params["rg"].lower())
        if group is None:
            return group_missing(call.params["rg"])
        return web.json_response(self.group_json(group))

    async def check_group(self, call: Call) -> web.StreamResponse:
        exists = call.params["rg"].lower() in self.runtime.state.resource_groups
        return web.Response(status=204 if exists else 404)
