"""The Service Bus client every ppmi process opens from its settings: identity-based, never a key.

The SDK opens one AMQP connection per sender and receiver (its connection sharing is switched off and does
not work in 7.15), and without an `ssl_context` it builds a TLS context for each, loading the whole CA
bundle: 27 ms of CPU per session receiver, even without TLS. One context per process is loaded once.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import certifi
from azure.servicebus.aio import ServiceBusClient

from shared.auth import credential_from
from shared.clients.servicebus import async_servicebus_client
from shared.errors import ConfigurationError
from shared.settings import SERVICEBUS_NAMESPACE_VARIABLE, Settings


@functools.cache
def amqp_tls_context() -> ssl.SSLContext:
    """The CA bundle the SDK would load per connection (certifi's), loaded once per process."""
    return ssl.create_default_context(cafile=certifi.where())


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
            settings.servicebus_namespace,
            credential,
            tls=settings.servicebus_tls,
            ssl_context=amqp_tls_context(),
        )
        async with client:
            yield client
    finally:
        await credential.close()
