"""Service Bus clients for ppmi: identity-based only, with TLS switched off solely for a loopback broker."""

from __future__ import annotations

import ipaddress
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.credentials_async import AsyncTokenCredential
from azure.servicebus import ServiceBusClient
from azure.servicebus.aio import ServiceBusClient as AsyncServiceBusClient

_LOOPBACK_NAMES = frozenset({"localhost"})


def _host_of(fully_qualified_namespace: str) -> str:
    """The host part of `name.servicebus.windows.net`, `127.0.0.1:5672` or `[::1]:5672`."""
    namespace = fully_qualified_namespace.strip()
    if "://" in namespace:
        namespace = namespace.split("://", 1)[1]
    namespace = namespace.split("/", 1)[0]
    if namespace.startswith("["):
        return namespace[1:].split("]", 1)[0]
    if namespace.count(":") == 1:
        return namespace.split(":", 1)[0]
    return namespace


def is_loopback_host(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _client_options(fully_qualified_namespace: str, *, tls: bool) -> dict[str, Any]:
    host = _host_of(fully_qualified_namespace)
    if not host:
        raise ValueError(
            f"'{fully_qualified_namespace}' is not a Service Bus namespace: "
            "give '<name>.servicebus.windows.net'."
        )
    if tls:
        return {}
    if not is_loopback_host(host):
        raise ValueError(
            f"Refusing to talk to Service Bus at '{host}' without TLS: plain AMQP is only allowed to a "
            "loopback broker (127.0.0.1, ::1, localhost). Set PPMI_SERVICEBUS_TLS=true for a real namespace."
        )
    return {"use_tls": False}


def servicebus_client(
    fully_qualified_namespace: str, credential: TokenCredential, *, tls: bool = True, **sdk_options: Any
) -> ServiceBusClient:
    """A client authenticated by `credential` (managed identity in Azure), never by a key.

    `sdk_options` go to `ServiceBusClient` unchanged (`retry_total`, `logging_enable`, ...).
    """
    options = _client_options(fully_qualified_namespace, tls=tls)
    return ServiceBusClient(fully_qualified_namespace, credential, **sdk_options, **options)


def async_servicebus_client(
    fully_qualified_namespace: str, credential: AsyncTokenCredential, *, tls: bool = True, **sdk_options: Any
) -> AsyncServiceBusClient:
    """The asyncio twin of `servicebus_client`."""
    options = _client_options(fully_qualified_namespace, tls=tls)
    return AsyncServiceBusClient(fully_qualified_namespace, credential, **sdk_options, **options)
