"""Host-agnostic message processing: decide each message's fate, send what follows, keep what cannot proceed.

`shared.messaging.hosting` opens what a process needs (runtime, Service Bus client); `worker` and `requeue`
build on it. This package itself imports no I/O.

The Functions triggers (`handlers/`) and `ppmi worker` both call into this package, so both hosts agree.
"""

from shared.messaging.bindings import from_function_message
from shared.messaging.config import DEFAULT_REPLY_SESSION, MessagingSettings
from shared.messaging.disposition import Disposition, Outcome
from shared.messaging.envelope import (
    ATTEMPT,
    EVENTS_QUEUE,
    KEPT_CLASS,
    KEPT_QUEUE,
    KEPT_REASON,
    RESULTS_QUEUE,
    SERVICEBUS_CONNECTION,
    SOURCE_QUEUE,
    WORK_QUEUE,
    IncomingMessage,
    OutgoingMessage,
)

__all__ = [
    "ATTEMPT",
    "DEFAULT_REPLY_SESSION",
    "EVENTS_QUEUE",
    "KEPT_CLASS",
    "KEPT_QUEUE",
    "KEPT_REASON",
    "RESULTS_QUEUE",
    "SERVICEBUS_CONNECTION",
    "SOURCE_QUEUE",
    "WORK_QUEUE",
    "Disposition",
    "IncomingMessage",
    "MessagingSettings",
    "Outcome",
    "OutgoingMessage",
    "from_function_message",
]
