"""The control API under `/_sandbox/`: loopback only, unauthenticated, JSON in and out."""

from __future__ import annotations

import base64
from dataclasses import asdict
from typing import Any

from aiohttp import web

from sandbox.control import ControlOperations
from sandbox.errors import error_response
from sandbox.faults import FaultProfile
from sandbox.routing import Call, StandIn
from sandbox.runtime import Runtime


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


class Control(StandIn):
    """`/_sandbox/*`: loopback-only, unauthenticated, JSON in and out."""

    name = "control"

    def __init__(self, runtime: Runtime) -> None:
        super().__init__()
        self.ops = ControlOperations(runtime)
        self.runtime = runtime
        add = self.router.add
        add("POST", r"/_sandbox/reset", self.reset)
        add("GET", r"/_sandbox/state", self.state)
        add("GET", r"/_sandbox/requests", self.requests)
        add("GET", r"/_sandbox/telemetry", self.telemetry)
        add("GET", r"/_sandbox/faults", self.get_faults)
        add("PUT", r"/_sandbox/faults", self.put_faults)
        add("PATCH", r"/_sandbox/config", self.patch_config)
        add("GET", r"/_sandbox/environments", self.list_environments)
        add("POST", r"/_sandbox/environments", self.create_environment)
        add("DELETE", r"/_sandbox/environments/(?P<env>[^/]+)", self.delete_environment)
        add(
            "POST",
            r"/_sandbox/environments/(?P<env>[^/]+)/(?P<table>pluginassemblies|pluginpackages)",
            self.register,
        )
        add("POST", r"/_sandbox/environments/(?P<env>[^/]+)/applicationusers", self.add_user)
        add("POST", r"/_sandbox/environments/(?P<env>[^/]+)/solutionimports", self.import_solution)
        add("POST", r"/_sandbox/applications", self.create_application)
        add("POST", r"/_sandbox/vaults", self.create_vault)
        add("POST", r"/_sandbox/tokens", self.mint_token)

    @staticmethod
    def _problem(status: int, message: str) -> web.Response:
        return error_response("control", status, "BadRequest" if status == 400 else "NotFound", message)

    async def reset(self, call: Call) -> web.StreamResponse:
        self.runtime.reset()
        return _json({"reset": True})

    async def state(self, call: Call) -> web.StreamResponse:
        return _json(self.ops.dump())

    async def requests(self, call: Call) -> web.StreamResponse:
        with self.runtime.lock:
            return _json([asdict(r) for r in self.runtime.requests])

    async def telemetry(self, call: Call) -> web.StreamResponse:
        return _json([asdict(t) for t in self.runtime.state.telemetry])

    async def get_faults(self, call: Call) -> web.StreamResponse:
        return _json(self.runtime.faults.profile.to_json())

    async def put_faults(self, call: Call) -> web.StreamResponse:
        try:
            profile = FaultProfile.from_json(await call.json_object())
        except (ValueError, TypeError) as exc:
            return self._problem(400, str(exc))
        self.runtime.set_faults(profile)
        return _json(profile.to_json())

    async def patch_config(self, call: Call) -> web.StreamResponse:
        try:
            self.runtime.config.update(await call.json_object())
        except ValueError as exc:
            return self._problem(400, str(exc))
        return _json({"updated": True})

    async def list_environments(self, call: Call) -> web.StreamResponse:
        return _json([asdict(e) for e in self.ops.environments()])

    async def create_environment(self, call: Call) -> web.StreamResponse:
        body = await call.json_object()
        users = body.get("appUsers")
        try:
            info = self.ops.create_environment(
                body.get("id"),
                display_name=str(body.get("displayName", "")),
                env_type=str(body.get("type", "Sandbox")),
                region=str(body.get("region", "unitedstates")),
                dataverse=bool(body.get("dataverse", True)),
                provisioning_seconds=body.get("provisioningSeconds"),
                app_users=tuple(users) if users is not None else None,
            )
        except ValueError as exc:
            return self._problem(400, str(exc))
        return _json(asdict(info), 201)

    async def delete_environment(self, call: Call) -> web.StreamResponse:
        try:
            self.ops.delete_environment(call.params["env"])
        except LookupError as exc:
            return self._problem(404, str(exc))
        return web.Response(status=204)

    async def register(self, call: Call) -> web.StreamResponse:
        body = await call.json_object()
        try:
            der = base64.b64decode(str(body["certificate"]), validate=True)
            component_id = self.ops.register_component(
                call.params["env"],
                call.params["table"],
                der,
                name=str(body.get("name", "Plugins")),
                component_id=body.get("id"),
            )
        except (KeyError, ValueError) as exc:
            return self._problem(400, f"certificate (base64 DER) is required: {exc}")
        except LookupError as exc:
            return self._problem(404, str(exc))
        return _json({"id": component_id}, 201)

    async def import_solution(self, call: Call) -> web.StreamResponse:
        try:
            unbound = self.ops.import_solution(call.params["env"])
        except LookupError as exc:
            return self._problem(404, str(exc))
        return _json({"unbound": unbound})

    async def add_user(self, call: Call) -> web.StreamResponse:
        body = await call.json_object()
        try:
            user_id = self.ops.add_application_user(
                call.params["env"], str(body["appId"]), privileged=bool(body.get("privileged", True))
            )
        except KeyError:
            return self._problem(400, "appId is required")
        except LookupError as exc:
            return self._problem(404, str(exc))
        return _json({"systemuserid": user_id}, 201)

    async def create_application(self, call: Call) -> web.StreamResponse:
        body = await call.json_object()
        info = self.ops.create_application(str(body.get("displayName", "app")), app_id=body.get("appId"))
        return _json(asdict(info), 201)

    async def create_vault(self, call: Call) -> web.StreamResponse:
        body = await call.json_object()
        try:
            vault_id = self.ops.create_vault(
                str(body["name"]),
                resource_group=str(body.get("resourceGroup", "rg-secrets")),
                rbac=body.get("enableRbacAuthorization"),
                access_policies=list(body.get("accessPolicies") or []),
            )
        except (KeyError, TypeError, ValueError):
            return self._problem(
                400, "name is required; accessPolicies entries need objectId and permissions"
            )
        return _json({"id": vault_id}, 201)

    async def mint_token(self, call: Call) -> web.StreamResponse:
        body = await call.json_object()
        if "resource" not in body:
            return self._problem(400, "resource is required")
        token = self.ops.mint_token(
            str(body["resource"]),
            app_id=body.get("appId"),
            object_id=body.get("objectId"),
            lifetime_seconds=int(body.get("lifetimeSeconds", 3600)),
        )
        return _json({"access_token": token})
