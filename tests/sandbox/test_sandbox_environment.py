"""What `sandbox.env` gives a product process: enough to reach every stand-in, Service Bus included."""

from __future__ import annotations

import uuid

from azure.identity import ManagedIdentityCredential
from azure.servicebus import ServiceBusClient, ServiceBusMessage

from sandbox.server import Sandbox


def test_env_reaches_the_service_bus_broker_with_the_real_sdk(sandbox: Sandbox) -> None:
    namespace = sandbox.env["ServiceBusConnection__fullyQualifiedNamespace"]
    assert sandbox.env["PPMI_SERVICEBUS_TLS"] == "false"
    credential = ManagedIdentityCredential(client_id=sandbox.env["AZURE_CLIENT_ID"])
    with ServiceBusClient(namespace, credential, use_tls=False) as client:
        queue, message_id = "ppmi-events", str(uuid.uuid4())
        with client.get_queue_sender(queue) as sender:
            sender.send_messages(ServiceBusMessage("hello", message_id=message_id))
        with client.get_queue_receiver(queue, max_wait_time=2) as receiver:
            # Queues outlive reset(): other tests' messages may still be waiting ahead of this one.
            received = receiver.receive_messages(max_message_count=50, max_wait_time=0.5)
            for message in received:
                receiver.complete_message(message)
    assert [str(m) for m in received if m.message_id == message_id] == ["hello"]


def test_env_names_every_setting_a_product_process_reads(sandbox: Sandbox) -> None:
    expected = {
        "PPMI_CONNECT_TO",
        "PPMI_CA_BUNDLE",
        "IDENTITY_ENDPOINT",
        "IDENTITY_HEADER",
        "AZURE_CLIENT_ID",
        "PPMI_TENANT_ID",
        "PPMI_SUBSCRIPTION_ID",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "REQUESTS_CA_BUNDLE",
        "ServiceBusConnection__fullyQualifiedNamespace",
        "PPMI_SERVICEBUS_TLS",
    }
    assert expected <= set(sandbox.env)
    assert sandbox.env["PPMI_CONNECT_TO"].startswith("127.0.0.1:")
    assert sandbox.env["APPLICATIONINSIGHTS_CONNECTION_STRING"].endswith(f"IngestionEndpoint={sandbox.url}/")
