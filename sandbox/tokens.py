"""Entra-like access tokens: an App Service token endpoint that mints HS256 JWTs, and their verification.

Every stand-in verifies signature, expiry and audience so a client that asks for the wrong scope fails here
the way it would fail in Azure.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.typedefs import Handler

from sandbox.requestlog import RequestRecord
from sandbox.state import HostIdentity

if TYPE_CHECKING:
    from sandbox.runtime import Runtime

TOKEN_API_VERSION = "2019-08-01"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Caller:
    """Who a verified bearer token says the caller is."""

    app_id: str
    object_id: str
    tenant_id: str
    audience: str
    expires_on: float


class TokenRejected(Exception):
    """A bearer token that a stand-in refuses; `reason` picks the service's error code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason  # missing | malformed | signature | expired | audience
        self.message = message


class TokenAuthority:
    """Mints and verifies the sandbox's tokens with a secret that lives only as long as the process.

    One authority serves the whole process (`PROCESS_AUTHORITY`): every stand-in, the Service Bus broker and
    `SandboxTokenCredential` share it, so a token is good wherever its audience is, and nowhere else.
    """

    def __init__(self) -> None:
        self._secret = secrets.token_bytes(32)
        self.identity_header = secrets.token_hex(16)

    def mint(
        self, *, resource: str, app_id: str, object_id: str, tenant_id: str, lifetime_seconds: int
    ) -> tuple[str, int]:
        now = int(time.time())
        expires = now + lifetime_seconds
        claims = {
            "aud": resource,
            "iss": f"https://sts.windows.net/{tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": expires,
            "appid": app_id,
            "oid": object_id,
            "sub": object_id,
            "tid": tenant_id,
            "idtyp": "app",
        }
        header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
        signature = hmac.new(self._secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{_b64url(signature)}", expires

    def verify(self, authorization: str | None, audiences: set[str]) -> Caller:
        """Check an `Authorization` header against the audiences one service accepts."""
        if not authorization:
            raise TokenRejected("missing", "The 'Authorization' header is missing.")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise TokenRejected("malformed", "The 'Authorization' header is not a bearer token.")
        parts = token.strip().split(".")
        if len(parts) != 3:
            raise TokenRejected("malformed", "The access token is not a well-formed JWT.")
        expected = hmac.new(self._secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        try:
            signature = _b64url_decode(parts[2])
            claims: dict[str, Any] = json.loads(_b64url_decode(parts[1]))
        except (ValueError, json.JSONDecodeError) as exc:
            raise TokenRejected("malformed", "The access token is not a well-formed JWT.") from exc
        if not hmac.compare_digest(signature, expected):
            raise TokenRejected("signature", "The access token signature is invalid.")
        if int(claims.get("exp", 0)) <= time.time():
            raise TokenRejected("expired", "The access token has expired.")
        audience = str(claims.get("aud", ""))
        if audience.rstrip("/").lower() not in {a.rstrip("/").lower() for a in audiences}:
            raise TokenRejected(
                "audience",
                f"The access token has an invalid audience '{audience}'; "
                f"expected one of {sorted(audiences)}.",
            )
        return Caller(
            app_id=str(claims.get("appid", "")).lower(),
            object_id=str(claims.get("oid", "")).lower(),
            tenant_id=str(claims.get("tid", "")).lower(),
            audience=audience,
            expires_on=float(claims.get("exp", 0)),
        )


PROCESS_AUTHORITY = TokenAuthority()


def _app_service_error(status: int, message: str) -> web.Response:
    return web.json_response({"statusCode": status, "message": message}, status=status)


def _request_problem(request: web.Request, identity_header: str) -> web.Response | None:
    """What App Service answers to a malformed token request, or None."""
    header = request.headers.get("X-IDENTITY-HEADER")
    if header is None:
        return web.json_response(
            {"error": "invalid_request", "error_description": "The X-IDENTITY-HEADER header is required."},
            status=400,
        )
    if not hmac.compare_digest(header, identity_header):
        return _app_service_error(401, "Unauthorized. Access is denied due to invalid credentials.")
    if request.query.get("api-version") != TOKEN_API_VERSION:
        return _app_service_error(400, f"The api-version must be '{TOKEN_API_VERSION}'.")
    if not request.query.get("resource"):
        return _app_service_error(400, "The resource parameter is required.")
    return None


def _requested_identity(request: web.Request, hosted: tuple[HostIdentity, ...]) -> HostIdentity | None:
    """The identity named by `client_id` or `principal_id`/`object_id`; the system-assigned one if none is."""
    query = request.query
    if query.get("client_id"):
        return next((i for i in hosted if i.client_id == query["client_id"].lower()), None)
    principal = query.get("principal_id") or query.get("object_id")
    if principal:
        return next((i for i in hosted if i.principal_id == principal.lower()), None)
    return hosted[0]


def token_endpoint(runtime: Runtime) -> web.Application:
    """The App Service managed-identity endpoint (`IDENTITY_ENDPOINT`), plain HTTP on loopback."""
    authority = runtime.authority

    async def issue(request: web.Request) -> web.Response:
        state = runtime.state
        delay = runtime.faults.latency_seconds("token")
        if delay:
            await asyncio.sleep(delay)
        if runtime.faults.outcome("token") != "pass":
            return _app_service_error(500, "An unexpected error occurred while fetching the token.")
        problem = _request_problem(request, authority.identity_header)
        if problem is not None:
            return problem
        resource = request.query["resource"]
        identity = _requested_identity(request, (state.system_identity, state.service_identity))
        if identity is None:
            return _app_service_error(400, "Unable to load the proper Managed Identity.")
        token, expires = authority.mint(
            resource=resource,
            app_id=identity.client_id,
            object_id=identity.principal_id,
            tenant_id=state.tenant_id,
            lifetime_seconds=state.config.token_lifetime_seconds,
        )
        return web.json_response(
            {
                "access_token": token,
                "expires_on": str(expires),
                "resource": resource,
                "token_type": "Bearer",
                "client_id": identity.client_id,
            }
        )

    @web.middleware
    async def log_request(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.monotonic()
        response = await handler(request)
        runtime.record(
            RequestRecord(
                service="token",
                method=request.method,
                host=request.host,
                path=request.path,
                query=request.query_string,
                status=response.status,
                error_code="",
                write=False,
                started=started,
                finished=time.monotonic(),
                caller=request.query.get("client_id", ""),
            )
        )
        return response

    app = web.Application(middlewares=[log_request])
    app.router.add_get("/msi/token", issue)
    return app
