"""What `sandbox.env` gives a product process: enough to reach every stand-in, Service Bus included."""

from __future__ import annotations

import uuid

from azure.identity import ManagedIdentityCredential
from azure.servicebus import ServiceBusClient, ServiceBusMessage

from sandbox.server import Sandbox


def test_env_reaches_the_service_bus_broker_with_the_real_sdk(sandbox: Sandbox) -> None:
    namespace = sandbox.env["ServiceBusConnection__fullyQualifiedNamespace"]
    assert sandbox.env["PPMI_SERVICEBUS_TLS"] == "false"
    assert sandbox.servicebus is not None
    credential = ManagedIdentityCredential(client_id=sandbox.env["AZURE_CLIENT_ID"])
    message_id = str(uuid.uuid4())
    with (
        ServiceBusClient(namespace, credential, use_tls=False) as client,
        client.get_queue_sender("ppmi-events") as sender,
    ):
        sender.send_messages(ServiceBusMessage("hello", message_id=message_id))
    stored = [
        m.body for m in sandbox.servicebus.queue("ppmi-events").messages() if m.message_id == message_id
    ]
    assert stored == [b"hello"]


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
