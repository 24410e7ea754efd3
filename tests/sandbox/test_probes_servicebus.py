"""Probes with the official azure-servicebus and azure-identity clients: the broker checks CBS tokens as
Service Bus does (signature, expiry, audience), and the product's own credential gets through.

Sources: "AMQP 1.0 in Azure Service Bus and Event Hubs protocol guide" (claims-based authorization, put-token)
and "Authenticate a managed identity with Microsoft Entra ID to access Azure Service Bus resources"
(tokens for https://servicebus.azure.net); docs/sandbox.md lists what is UNCONFIRMED.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.identity import ManagedIdentityCredential
from azure.servicebus import ServiceBusClient, ServiceBusMessage
from azure.servicebus.exceptions import ServiceBusAuthenticationError

from sandbox.server import Sandbox
from sandbox.servicebus import QueueOptions, ServiceBusBroker
from sandbox.tokens import PROCESS_AUTHORITY


class FixedToken:
    """A credential that hands out one given token, whatever it is asked for."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self.token, int(time.time()) + 3600)


def _minted(resource: str, lifetime_seconds: int = 3600) -> str:
    token, _ = PROCESS_AUTHORITY.mint(
        resource=resource,
        app_id="probe",
        object_id="probe",
        tenant_id="tenant",
        lifetime_seconds=lifetime_seconds,
    )
    return token


@pytest.fixture
def broker() -> Iterator[ServiceBusBroker]:
    with ServiceBusBroker(queues={"q": QueueOptions()}) as running:
        yield running


def _send(namespace: str, credential: Any) -> None:
    with (
        ServiceBusClient(namespace, credential, use_tls=False, retry_total=0) as client,
        client.get_queue_sender("q", keep_alive=0) as sender,
    ):
        sender.send_messages(ServiceBusMessage("probe"))


@pytest.mark.parametrize(
    "token",
    [
        "sandbox-servicebus-token",
        _minted("https://management.azure.com"),
        _minted("https://servicebus.azure.net", lifetime_seconds=-60),
        _minted("https://servicebus.azure.net")[:-4] + "AAAA",
    ],
    ids=["not-a-token", "another-audience", "expired", "forged-signature"],
)
def test_a_token_service_bus_would_refuse_is_refused_and_nothing_is_sent(
    broker: ServiceBusBroker, token: str
) -> None:
    with pytest.raises(ServiceBusAuthenticationError):
        _send(broker.fully_qualified_namespace, FixedToken(token))
    assert broker.queue("q").active_count == 0


def test_a_sandbox_token_for_service_bus_is_accepted(broker: ServiceBusBroker) -> None:
    _send(broker.fully_qualified_namespace, FixedToken(_minted("https://servicebus.azure.net/")))
    assert broker.queue("q").active_count == 1


def test_the_managed_identity_credential_the_product_uses_authenticates_to_the_sandbox_broker(
    sandbox: Sandbox,
) -> None:
    namespace = sandbox.env["ServiceBusConnection__fullyQualifiedNamespace"]
    session = f"probe-{uuid.uuid4()}"  # a session of its own: the sandbox's queues outlive its resets
    with (
        ManagedIdentityCredential(client_id=sandbox.env["AZURE_CLIENT_ID"]) as credential,
        ServiceBusClient(namespace, credential, use_tls=False, retry_total=0) as client,
    ):
        with client.get_queue_sender("ppmi-results", keep_alive=0) as sender:
            sender.send_messages(ServiceBusMessage("probe", session_id=session))
        with client.get_queue_receiver("ppmi-results", session_id=session, max_wait_time=5) as receiver:
            received = receiver.receive_messages(max_wait_time=5)
            for message in received:
                receiver.complete_message(message)
    assert [str(message) for message in received] == ["probe"]
