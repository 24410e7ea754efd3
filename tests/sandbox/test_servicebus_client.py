"""The product's Service Bus client factory: identity only, and plain AMQP only to a loopback broker."""

from __future__ import annotations

import pytest

from sandbox.servicebus import AsyncSandboxTokenCredential, SandboxTokenCredential
from shared.clients.servicebus import async_servicebus_client, is_loopback_host, servicebus_client


@pytest.mark.parametrize(
    "namespace", ["contoso.servicebus.windows.net", "10.0.0.5:5672", "sb://contoso.servicebus.windows.net/"]
)
def test_plain_amqp_is_refused_for_a_host_that_is_not_loopback(namespace: str) -> None:
    with pytest.raises(ValueError, match="only allowed to a loopback broker"):
        servicebus_client(namespace, SandboxTokenCredential(), tls=False)


def test_async_client_refuses_plain_amqp_to_a_remote_host_too() -> None:
    with pytest.raises(ValueError, match="PPMI_SERVICEBUS_TLS=true"):
        async_servicebus_client("contoso.servicebus.windows.net", AsyncSandboxTokenCredential(), tls=False)


@pytest.mark.parametrize("namespace", ["127.0.0.1:5672", "localhost:5672", "[::1]:5672", "127.0.0.1"])
def test_plain_amqp_is_allowed_for_a_loopback_broker(namespace: str) -> None:
    client = servicebus_client(namespace, SandboxTokenCredential(), tls=False)
    assert client.fully_qualified_namespace == namespace


def test_a_real_namespace_is_accepted_with_tls() -> None:
    client = servicebus_client("contoso.servicebus.windows.net", SandboxTokenCredential())
    assert client.fully_qualified_namespace == "contoso.servicebus.windows.net"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.0.1", True),
        ("::1", True),
        ("LOCALHOST", True),
        ("10.0.0.1", False),
        ("", False),
    ],
)
def test_loopback_hosts_are_recognised(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback
