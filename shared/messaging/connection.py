"""The Service Bus client every ppmi process opens from its settings: identity-based, never a key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from azure.servicebus.aio import ServiceBusClient

from shared.auth import credential_from
from shared.clients.servicebus import async_servicebus_client
from shared.errors import ConfigurationError
from shared.settings import SERVICEBUS_NAMESPACE_VARIABLE, Settings


@asynccontextmanager
async def open_servicebus(settings: Settings) -> AsyncIterator[ServiceBusClient]:
    """A client on `ServiceBusConnection__fullyQualifiedNamespace`, authenticated as the app's identity."""
    if settings.servicebus_namespace is None:
        raise ConfigurationError(
            f"{SERVICEBUS_NAMESPACE_VARIABLE} is not set: give the Service Bus namespace, e.g. "
            '<name>.servicebus.windows.net (for the sandbox: eval "$(ppmi sandbox --print-env)")'
        )
    credential = credential_from(settings)
    try:
        client = async_servicebus_client(
            settings.servicebus_namespace, credential, tls=settings.servicebus_tls
        )
        async with client:
            yield client
    finally:
        await credential.close()
