"""Error replies in each service's own shape, so clients parse sandbox errors exactly like Azure's."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from aiohttp import web

# Codes a stand-in uses when a fault profile injects a failure, per service.
THROTTLE_CODES = {
    "arm": "TooManyRequests",
    "graph": "TooManyRequests",
    "dataverse": "0x80072322",
    "environments": "TooManyRequests",
    "bap": "TooManyRequests",
    "ingestion": "TooManyRequests",
}
SERVER_ERROR_CODES = {
    "arm": {500: "InternalServerError", 503: "ServiceUnavailable"},
    "graph": {500: "generalException", 503: "serviceNotAvailable"},
    "dataverse": {500: "0x80040216", 503: ""},
}
UNAUTHORIZED_CODES = {
    "missing": "AuthenticationFailed",
    "malformed": "InvalidAuthenticationToken",
    "signature": "InvalidAuthenticationToken",
    "expired": "ExpiredAuthenticationToken",
    "audience": "InvalidAuthenticationTokenAudience",
}


ERROR_CODE = web.ResponseKey("error_code", str)


def error_response(
    service: str,
    status: int,
    code: str,
    message: str,
    *,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """A JSON error reply; the code is also kept on the response for the request log."""
    body: object
    if service == "graph":
        body = {
            "error": {
                "code": code,
                "message": message,
                "innerError": {
                    "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                    "request-id": str(uuid.uuid4()),
                    "client-request-id": str(uuid.uuid4()),
                },
            }
        }
    elif service == "ingestion":
        body = {
            "itemsReceived": 0,
            "itemsAccepted": 0,
            "errors": [{"index": 0, "statusCode": status, "message": message}],
        }
    elif service == "arm":
        body = {"error": {"code": code, "message": message, "details": []}}
    else:
        body = {"error": {"code": code, "message": message}}
    response = web.json_response(body, status=status, headers=headers)
    response[ERROR_CODE] = code
    return response


def unauthorized(service: str, reason: str, message: str, tenant_id: str) -> web.Response:
    challenge = (
        f'Bearer authorization_uri="https://login.microsoftonline.com/{tenant_id}/oauth2/authorize", '
        f'error="invalid_token", error_description="{message}"'
    )
    if service == "graph":
        code = "InvalidAuthenticationToken"
    elif service == "dataverse":
        code = ""
    else:
        code = UNAUTHORIZED_CODES.get(reason, "InvalidAuthenticationToken")
    return error_response(service, 401, code, message, headers={"WWW-Authenticate": challenge})


def server_error_code(service: str, status: int) -> str:
    return SERVER_ERROR_CODES.get(service, {}).get(
        status, "InternalServerError" if status == 500 else "ServiceUnavailable"
    )
