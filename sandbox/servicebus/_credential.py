"""Credentials for clients of the sandbox broker, which accepts any token put on `$cbs`."""

from __future__ import annotations

import time
from typing import Any

from azure.core.credentials import AccessToken

_SANDBOX_TOKEN = "sandbox-servicebus-token"  # not a secret: the broker does not check tokens


class SandboxTokenCredential:
    """A `TokenCredential` that hands out a fixed placeholder token valid for an hour."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(_SANDBOX_TOKEN, int(time.time()) + 3600)


class AsyncSandboxTokenCredential:
    """The `AsyncTokenCredential` twin of `SandboxTokenCredential`."""

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(_SANDBOX_TOKEN, int(time.time()) + 3600)

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> AsyncSandboxTokenCredential:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None
