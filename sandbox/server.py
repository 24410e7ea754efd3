"""The `Sandbox` handle: an HTTPS listener routed by Host and a plain-HTTP token endpoint, in a thread.

The thread owns its own event loop, so synchronous tests and product code running its own asyncio loop can
both talk to the sandbox at the same time.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import socket
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx
from aiohttp import web

from sandbox.arm import Arm
from sandbox.config import SandboxConfig
from sandbox.connect import connect_to_async_client, connect_to_client
from sandbox.control import SandboxControl
from sandbox.control_api import Control
from sandbox.dataverse import Dataverse
from sandbox.environments import Bap, Environments
from sandbox.errors import ERROR_CODE, THROTTLE_CODES, error_response, server_error_code, unauthorized
from sandbox.faults import FaultProfile
from sandbox.graph import Graph
from sandbox.ingestion import Ingestion
from sandbox.requestlog import RequestRecord
from sandbox.routing import BadRequestBody, Call, Refusal, Route, StandIn
from sandbox.runtime import Runtime
from sandbox.servicebus import QueueOptions, ServiceBusBroker
from sandbox.state import SandboxState
from sandbox.tls import make_tls
from sandbox.tokens import TokenRejected, token_endpoint

T = TypeVar("T")
LOG = logging.getLogger("sandbox")
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
DATAVERSE_HOST = re.compile(r"^[a-z0-9-]+\.(?:api\.)?crm\d*\.dynamics\.com$")
BAD_BODY_CODES = {"arm": "InvalidRequestContent", "graph": "BadRequest", "dataverse": "0x80048d19"}
NOT_FOUND_CODES = {"arm": "InvalidResourceType", "graph": "Request_BadRequest", "dataverse": "0x8006088a"}


class Sandbox:
    """Loopback stand-ins for ARM, Graph, Dataverse, environments APIs, ingestion and the token endpoint."""

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        state_dir: Path | None = None,
        servicebus_queues: Mapping[str, QueueOptions] | None = None,
    ) -> None:
        self.config = config or SandboxConfig()
        if not _is_loopback(self.config.host):
            raise ValueError(f"the sandbox listens on loopback only, not on {self.config.host!r}")
        self._servicebus_queues = servicebus_queues
        self.state_dir = state_dir or Path(tempfile.mkdtemp(prefix="ppmi-sandbox-"))
        self.runtime = Runtime(self.config)
        self.control = SandboxControl(self)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runners: list[web.AppRunner] = []
        self.servicebus: ServiceBusBroker | None = None
        self.https_port = 0
        self.token_port = 0
        self.ca_path = self.state_dir / "ca.pem"
        arm = Arm(self.runtime)
        self._arm = arm
        self._by_host: dict[str, StandIn] = {
            "management.azure.com": arm,
            "graph.microsoft.com": Graph(self.runtime),
            "api.powerplatform.com": Environments(self.runtime),
            "api.bap.microsoft.com": Bap(self.runtime),
            "dc.applicationinsights.azure.com": Ingestion(self.runtime),
        }
        self._dataverse = Dataverse(self.runtime)
        self._control = Control(self.runtime)

    # -- lifecycle --------------------------------------------------------------------------------------

    def start(self) -> Sandbox:
        if self._loop is not None:
            raise RuntimeError("this sandbox is already running; stop() it first or create another")
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=loop.run_forever, name="ppmi-sandbox", daemon=True)
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._start_listeners(), loop).result(timeout=30)
            if self.config.servicebus:
                config = self.config
                broker = ServiceBusBroker(config.host, config.servicebus_port, self._servicebus_queues)
                self.servicebus = broker.start()
        except BaseException:
            self.stop()
            raise
        return self

    async def _start_listeners(self) -> None:
        tls = make_tls(self.state_dir)
        self.ca_path = tls.ca_path
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        https = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=0.5)
        await https.setup()
        self._runners.append(https)
        site = web.TCPSite(https, self.config.host, self.config.https_port, ssl_context=tls.server_context)
        await site.start()
        self.https_port = _bound_port(https)
        tokens = web.AppRunner(
            token_endpoint(self.runtime), handler_cancellation=True, access_log=None, shutdown_timeout=0.5
        )
        await tokens.setup()
        self._runners.append(tokens)
        await web.TCPSite(tokens, self.config.host, self.config.token_port).start()
        self.token_port = _bound_port(tokens)

    def stop(self) -> None:
        if self.servicebus is not None:
            self.servicebus.stop()
            self.servicebus = None
        loop = self._loop
        if loop is None:
            return
        if loop.is_running():
            asyncio.run_coroutine_threadsafe(self._stop_listeners(), loop).result(timeout=30)
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        loop.close()
        self._loop = None

    async def _stop_listeners(self) -> None:
        for runner in reversed(self._runners):
            await runner.cleanup()
        self._runners.clear()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def call_in_loop(self, operation: Callable[[], T]) -> T:
        """Run `operation` on the sandbox's loop (where all state lives) and return its result."""
        if self._loop is None:
            raise RuntimeError("the sandbox is not running; call start() first")

        async def run() -> T:
            return operation()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=30)

    # -- what a product process needs --------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"https://{self.config.host}:{self.https_port}"

    @property
    def env(self) -> dict[str, str]:
        """Environment variables that point a product process (and the Azure SDKs) at this sandbox."""
        state = self.runtime.state
        servicebus = {}
        if self.servicebus is not None:
            servicebus = {
                "ServiceBusConnection__fullyQualifiedNamespace": self.servicebus.fully_qualified_namespace,
                "PPMI_SERVICEBUS_TLS": "false",
            }
        return servicebus | {
            "PPMI_CONNECT_TO": f"{self.config.host}:{self.https_port}",
            "PPMI_CA_BUNDLE": str(self.ca_path),
            "PPMI_SANDBOX_URL": self.url,
            "IDENTITY_ENDPOINT": f"http://{self.config.host}:{self.token_port}/msi/token",
            "IDENTITY_HEADER": self.runtime.authority.identity_header,
            "AZURE_CLIENT_ID": state.service_identity.client_id,
            "PPMI_TENANT_ID": state.tenant_id,
            "PPMI_SUBSCRIPTION_ID": state.subscription_id,
            "APPLICATIONINSIGHTS_CONNECTION_STRING": (
                f"InstrumentationKey={state.instrumentation_key};IngestionEndpoint={self.url}/"
            ),
            # azure-core's requests transport (the Azure Monitor exporter's) trusts only this bundle.
            "REQUESTS_CA_BUNDLE": str(self.ca_path),
            # The sandbox's directory knows a new FIC at once: an upgrade need not wait for Entra.
            "PPMI_FIC_PROPAGATION_SECONDS": "0",
        }

    @property
    def state(self) -> SandboxState:
        """The live state, for assertions once the requests under test are done (else `control.dump()`)."""
        return self.runtime.state

    @property
    def requests(self) -> list[RequestRecord]:
        with self.runtime.lock:
            return list(self.runtime.requests)

    def reset(self) -> None:
        self.call_in_loop(self.runtime.reset)

    def set_faults(self, profile: FaultProfile | str, **overrides: Any) -> None:
        """Switch the fault profile now: a `FaultProfile`, or a profile name plus control-API overrides."""
        chosen = (
            profile
            if isinstance(profile, FaultProfile)
            else FaultProfile.from_json({"profile": profile, **overrides})
        )
        self.call_in_loop(lambda: self.runtime.set_faults(chosen))

    def configure(self, **changes: Any) -> None:
        """Change settings at run time (see `SandboxConfig`); `reset()` restores the start-up values."""
        self.call_in_loop(lambda: self.runtime.config.update(changes))

    def client(
        self, resource: str | None = None, *, app_id: str | None = None, **kwargs: Any
    ) -> httpx.Client:
        """An httpx client for real Azure URLs routed here; with `resource`, it sends a token for it."""
        headers = {**self._auth(resource, app_id), **kwargs.pop("headers", {})}
        return connect_to_client(self.env["PPMI_CONNECT_TO"], self.ca_path, headers=headers, **kwargs)

    def async_client(
        self, resource: str | None = None, *, app_id: str | None = None, **kwargs: Any
    ) -> httpx.AsyncClient:
        headers = {**self._auth(resource, app_id), **kwargs.pop("headers", {})}
        return connect_to_async_client(self.env["PPMI_CONNECT_TO"], self.ca_path, headers=headers, **kwargs)

    def _auth(self, resource: str | None, app_id: str | None) -> dict[str, str]:
        if resource is None:
            return {}
        return {"Authorization": "Bearer " + self.control.mint_token(resource, app_id=app_id)}

    def telemetry_envelopes(self) -> list[dict[str, Any]]:
        return self.call_in_loop(lambda: [item.envelope for item in self.runtime.state.telemetry])

    # -- request handling ----------------------------------------------------------------------------------

    def _service_for(self, host: str, path: str) -> StandIn | None:
        """By Host; for IP literals by path (control API, ingestion, else ARM)."""
        ingestion = self._by_host["dc.applicationinsights.azure.com"]
        if host in LOOPBACK_NAMES:
            if path.startswith("/_sandbox/"):
                return self._control
            # Exporters join "IngestionEndpoint=https://host/" and "/v2.1/track" into a double slash.
            return ingestion if path.lstrip("/").startswith(("v2.1/track", "v2/track")) else self._arm
        if DATAVERSE_HOST.match(host):
            return self._dataverse
        if host.endswith(".in.applicationinsights.azure.com"):
            return ingestion
        return self._by_host.get(host)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        host = (request.url.host or "").lower()
        service = self._service_for(host, request.path)
        call: Call | None = None
        if service is None:
            response: web.StreamResponse = web.Response(
                status=404, text=f"No sandbox service answers for {host}."
            )
        else:
            call = Call(request=request, params={})
            response = await self._handle(service, call)
        if service is not None and service is not self._control:
            self.runtime.record(
                RequestRecord(
                    service=service.name,
                    method=request.method,
                    host=host,
                    path=request.path,
                    query=request.query_string,
                    status=response.status,
                    error_code=response.get(ERROR_CODE, ""),
                    write=request.method not in ("GET", "HEAD"),
                    started=started,
                    finished=time.monotonic(),
                    caller=call.caller.app_id if call is not None and call.caller is not None else "",
                )
            )
        return response

    async def _handle(self, service: StandIn, call: Call) -> web.StreamResponse:
        try:
            route = self._authenticate_and_route(service, call)
        except Refusal as refusal:
            return refusal.response
        started = time.monotonic()
        response: web.StreamResponse = web.Response(status=500)
        try:
            response = await self._admitted(service, call, route)
        except Refusal as refusal:
            response = refusal.response
        except BadRequestBody as bad:
            code = BAD_BODY_CODES.get(service.name, "BadRequest")
            response = error_response(service.name, 400, code, str(bad))
        except Exception:  # a sandbox bug must still answer in the service's shape, and be visible
            LOG.exception("sandbox %s failed on %s %s", service.name, call.request.method, call.request.path)
            response = error_response(
                service.name, 500, server_error_code(service.name, 500), "Sandbox failure."
            )
        finally:
            service.finish(call, route, response, time.monotonic() - started)
        return response

    async def _admitted(self, service: StandIn, call: Call, route: Route) -> web.StreamResponse:
        """The service's own refusal (throttling, authorisation), else an injected fault, else the handler."""
        refused = await service.admit(call, route)
        if refused is not None:
            return refused
        injected = await self._inject_faults(service, call)
        return injected if injected is not None else await route.handler(call)

    def _authenticate_and_route(self, service: StandIn, call: Call) -> Route:
        request = call.request
        audiences = service.audiences(request.url.host or "")
        if audiences is not None:
            try:
                call.caller = self.runtime.authority.verify(request.headers.get("Authorization"), audiences)
            except TokenRejected as rejected:
                tenant = self.runtime.state.tenant_id
                raise Refusal(unauthorized(service.name, rejected.reason, rejected.message, tenant)) from None
        resolved = service.router.resolve(request.method, request.path)
        if isinstance(resolved, str):
            status = 405 if resolved == "method_not_allowed" else 404
            code = "MethodNotAllowed" if status == 405 else NOT_FOUND_CODES.get(service.name, "NotFound")
            message = f"No {request.method} {request.path} here."
            raise Refusal(error_response(service.name, status, code, message))
        route, call.params = resolved
        return route

    async def _inject_faults(self, service: StandIn, call: Call) -> web.StreamResponse | None:
        if service is self._control:
            return None
        faults = self.runtime.faults
        delay = faults.latency_seconds(service.name)
        if delay:
            await asyncio.sleep(delay)
        outcome = faults.outcome(service.name)
        if outcome == "pass":
            return None
        if outcome in ("reset", "hang"):
            if outcome == "hang":
                await asyncio.sleep(faults.profile.hang_seconds)
            return _reset_connection(call.request)
        if outcome == "throttle":
            retry = faults.profile.for_service(service.name).retry_after_seconds
            return error_response(
                service.name,
                429,
                THROTTLE_CODES.get(service.name, "TooManyRequests"),
                "Rate limit is exceeded. Try again later.",
                headers={"Retry-After": str(max(1, round(retry))) if retry >= 1 else f"{retry:.3f}"},
            )
        status = 500 if outcome == "server_error" else 503
        return error_response(
            service.name, status, server_error_code(service.name, status), "Injected fault."
        )


def _reset_connection(request: web.Request) -> web.Response:
    """Close the connection with a TCP reset, as a dropped load balancer connection looks to a client.

    The returned reply is never delivered; it only records the reset in the request log.
    """
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    response = web.Response(status=499)
    response[ERROR_CODE] = "ConnectionReset"
    return response


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bound_port(runner: web.AppRunner) -> int:
    for site_address in runner.addresses:
        return int(site_address[1])
    raise RuntimeError("listener did not bind")
