"""Bearer tokens for every service ppmi calls: one scope per resource, reused until near expiry."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol
from urllib.parse import urlsplit

from azure.core.credentials import AccessToken
from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import AzureError, ClientAuthenticationError
from azure.identity import CredentialUnavailableError
from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential

from shared.errors import ConfigurationError, PermanentError, TransientError
from shared.settings import Settings
from shared.telemetry import redact

# Refresh this long before expiry so a token never expires mid-request.
REFRESH_MARGIN_SECONDS = 300.0


class TokenSource(Protocol):
    """What the HTTP layer needs: a bearer token for a scope."""

    async def token(self, scope: str) -> str: ...


def scope_for(url: str) -> str:
    """The `.default` scope of the resource that serves `url` (e.g. `https://org.crm.dynamics.com/.default`)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/.default"


def credential_from(settings: Settings) -> AsyncTokenCredential:
    """Managed identity on Azure (App Service sets IDENTITY_ENDPOINT); the developer chain elsewhere."""
    if settings.identity_endpoint:
        return ManagedIdentityCredential(client_id=settings.azure_client_id)
    try:
        return DefaultAzureCredential(managed_identity_client_id=settings.azure_client_id)
    except ValueError as error:  # AZURE_TOKEN_CREDENTIALS names no credential of the chain
        raise ConfigurationError(str(error)) from None


class CachedTokens:
    """Token reuse per scope; concurrent callers for one scope share a single fetch."""

    def __init__(self, credential: AsyncTokenCredential, *, now: Callable[[], float] = time.time) -> None:
        self._credential = credential
        self._now = now
        self._tokens: dict[str, AccessToken] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def token(self, scope: str) -> str:
        cached = self._tokens.get(scope)
        if cached is not None and self._fresh(cached):
            return cached.token
        lock = self._locks.setdefault(scope, asyncio.Lock())
        async with lock:
            cached = self._tokens.get(scope)
            if cached is not None and self._fresh(cached):
                return cached.token
            fetched = await self._fetch(scope)
            self._tokens[scope] = fetched
            return fetched.token

    async def close(self) -> None:
        await self._credential.close()

    def _fresh(self, token: AccessToken) -> bool:
        return token.expires_on - REFRESH_MARGIN_SECONDS > self._now()

    async def _fetch(self, scope: str) -> AccessToken:
        try:
            return await self._credential.get_token(scope)
        except CredentialUnavailableError as error:
            raise PermanentError(
                f"no Azure credential available for {scope}: {redact(error.message)}"
            ) from error
        except ClientAuthenticationError as error:
            # The token endpoint answering with an error is worth a retry: it is often a cold start.
            raise TransientError(
                f"token request for {scope} failed: {redact(error.message)}", retry_after=1.0
            ) from error
        except AzureError as error:  # the token endpoint could not be reached at all
            raise TransientError(
                f"token request for {scope} failed: {redact(str(error.message))}", retry_after=1.0
            ) from error
