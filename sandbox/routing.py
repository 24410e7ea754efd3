"""Path routing inside one stand-in, with the request context handlers receive."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sandbox.state import Organization
from sandbox.tokens import Caller


class BadRequestBody(Exception):
    """The request body is not the JSON object the route expects."""


class Refusal(Exception):
    """Raised from a handler or hook to answer at once with an error reply in the service's shape."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


@dataclass
class Call:
    """One request as a handler sees it: path parameters, verified caller, the Dataverse organisation."""

    request: web.Request
    params: dict[str, str]
    caller: Caller | None = None
    organization: Organization | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    body: bytes = b""  # the raw request body once a handler has read it

    @property
    def query(self) -> Any:
        return self.request.query

    async def json_object(self) -> dict[str, Any]:
        raw = self.body = await self.request.read()
        try:
            body = json.loads(raw or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BadRequestBody(f"The request body is not valid JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise BadRequestBody("The request body must be a JSON object.")
        return body


Handler = Callable[[Call], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    operation: str  # read | write | delete | list | action
    api_versions: tuple[str, ...] = ()


class Router:
    """An ordered list of (method, full-match regex) routes; case-insensitive where the service is."""

    def __init__(self, *, ignore_case: bool = False) -> None:
        self._flags = re.IGNORECASE if ignore_case else 0
        self.routes: list[Route] = []

    def add(
        self,
        method: str,
        pattern: str,
        handler: Handler,
        operation: str = "",
        api_versions: tuple[str, ...] = (),
    ) -> None:
        op = operation or {"GET": "read", "DELETE": "delete"}.get(method, "write")
        self.routes.append(Route(method, re.compile(pattern, self._flags), handler, op, api_versions))

    def resolve(self, method: str, path: str) -> tuple[Route, dict[str, str]] | str:
        """The matching route and its parameters, or "not_found" / "method_not_allowed"."""
        path_matched = False
        for route in self.routes:
            match = route.pattern.fullmatch(path)
            if match is None:
                continue
            path_matched = True
            if route.method == method:
                return route, {k: v for k, v in match.groupdict().items() if v is not None}
        return "method_not_allowed" if path_matched else "not_found"


class StandIn:
    """One emulated service: its routes, the token audiences it accepts, and hooks around each request."""

    name = ""

    def __init__(self, *, ignore_case: bool = False) -> None:
        self.router = Router(ignore_case=ignore_case)

    def audiences(self, host: str) -> set[str] | None:
        """Accepted token audiences for a request to `host`; None means no bearer token is required."""
        return None

    async def admit(self, call: Call, route: Route) -> web.StreamResponse | None:
        """A refusal (throttling, authorisation) before the handler runs, or None to go ahead."""
        return None

    def finish(self, call: Call, route: Route, response: web.StreamResponse, elapsed: float) -> None:
        """Account for a finished request (headers, counters)."""
