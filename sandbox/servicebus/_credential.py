"""Credentials for clients of the sandbox broker in this process: real sandbox-signed tokens, not
placeholders.

The broker checks every token put on `$cbs` (`sandbox.servicebus._cbs`); these credentials mint them from the
process's `PROCESS_AUTHORITY` for the scope the SDK asks (`https://servicebus.azure.net//.default`). A process
that is not the sandbox's (the product against `ppmi sandbox`) gets its tokens from the token endpoint
instead.
"""

from __future__ import annotations

import uuid
from typing import Any

from azure.core.credentials import AccessToken

from sandbox.tokens import PROCESS_AUTHORITY

TOKEN_LIFETIME_SECONDS = 3600
# A test client of the broker: an application of its own, not the service's identity.
TEST_CLIENT_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "https://ppmi.sandbox/servicebus-test-client"))
TENANT_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "https://ppmi.sandbox/tenant"))


def _token(scopes: tuple[str, ...]) -> AccessToken:
    resource = (scopes[0] if scopes else "").removesuffix(".default")
    token, expires = PROCESS_AUTHORITY.mint(
        resource=resource,
        app_id=TEST_CLIENT_ID,
        object_id=TEST_CLIENT_ID,
        tenant_id=TENANT_ID,
        lifetime_seconds=TOKEN_LIFETIME_SECONDS,
    )
    return AccessToken(token, expires)


class SandboxTokenCredential:
    """A `TokenCredential` for the sandbox broker (and any stand-in) of this process."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return _token(scopes)


class AsyncSandboxTokenCredential:
    """The `AsyncTokenCredential` twin of `SandboxTokenCredential`."""

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return _token(scopes)

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> AsyncSandboxTokenCredential:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None
