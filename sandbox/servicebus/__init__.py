"""A loopback Service Bus (AMQP 1.0) that the real `azure-servicebus` SDK works against unchanged."""

from sandbox.servicebus._broker import DEFAULT_QUEUES, MessageSnapshot, QueueView, ServiceBusBroker
from sandbox.servicebus._credential import AsyncSandboxTokenCredential, SandboxTokenCredential
from sandbox.servicebus._queue import MAX_DELIVERY_COUNT_EXCEEDED, QueueOptions

__all__ = [
    "DEFAULT_QUEUES",
    "MAX_DELIVERY_COUNT_EXCEEDED",
    "AsyncSandboxTokenCredential",
    "MessageSnapshot",
    "QueueOptions",
    "QueueView",
    "SandboxTokenCredential",
    "ServiceBusBroker",
]
