"""Inputs as the Functions host sends them to the Python worker: typed data and trigger metadata.

- Service Bus (extension 5.x): the binding data of a single message are the message's properties by name
  (`MessageId`, `SessionId`, `ReplyToSessionId`, `DeliveryCount` (1 on the first delivery), `SequenceNumber`,
  `EnqueuedTimeUtc`, `ApplicationProperties` and, for compatibility, the same dictionary as `UserProperties`,
  ...); a batch's are arrays named `...Array` (Azure/azure-sdk-for-net,
  `Microsoft.Azure.WebJobs.Extensions.ServiceBus/src/Triggers/ServiceBusTriggerBindingStrategy.cs`).
- The host turns each value into typed data by its .NET type (Azure/azure-functions-host,
  `src/WebJobs.Script.Grpc/MessageExtensions/GrpcMessageConversionExtensions.cs`, `ToRpc`): null → nothing
  set, string → `string`, byte[] → `bytes`, double → `double`, `string[]` / `long[]` → `collection_string`
  (empty entries dropped unless the worker asks otherwise) / `collection_sint64`, anything else, numbers and
  dates included, → `json`. The worker library reads no `int` typed data at all
  (`azure_functions_runtime/bindings/datumdef.py`).
- Timer: the `TimerInfo` as JSON (`Schedule`, `ScheduleStatus`, `IsPastDue`; `azure/functions/timer.py`).
- HTTP: an `RpcHttp` with method, url, headers, body, params and query (`FunctionRpc.proto`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime

from sandbox.servicebus import MessageSnapshot
from tests.functions import host_protocol as protos


def _text(value: str | None) -> protos.TypedData:
    """A string property; a null one travels as typed data with nothing set."""
    return protos.TypedData() if value is None else protos.TypedData(string=value)


def _json(value: object) -> protos.TypedData:
    return protos.TypedData(json=json.dumps(value))


LOCK_TOKEN = "3f6b1d2a-0000-4000-8000-000000000001"  # a peek-lock token is a GUID


def service_bus_message(
    message: MessageSnapshot, *, delivery_count: int = 1
) -> tuple[protos.TypedData, dict[str, protos.TypedData]]:
    """A stored message as the session or queue trigger (one message per call) hands it to the worker."""
    properties = dict(message.application_properties)
    metadata = {
        "MessageId": _text(message.message_id),
        "SessionId": _text(message.session_id),
        "ReplyToSessionId": _text(message.reply_to_session_id),
        "CorrelationId": _text(message.correlation_id),
        "ContentType": _text(message.content_type),
        "Subject": _text(message.subject),
        "Label": _text(message.subject),
        "LockToken": _text(LOCK_TOKEN),
        "DeliveryCount": _json(delivery_count),
        "SequenceNumber": _json(message.sequence_number),
        "EnqueuedTimeUtc": _json(message.enqueued_time.isoformat()),
        "ApplicationProperties": _json(properties),
        "UserProperties": _json(properties),
        "sys": _json({"MethodName": "provision", "UtcNow": datetime.now(UTC).isoformat()}),
    }
    return protos.TypedData(string=message.body.decode()), metadata


def timer_tick(*, past_due: bool = False) -> protos.TypedData:
    """What a timer trigger's binding carries at a scheduled occurrence."""
    return protos.TypedData(
        json=json.dumps(
            {
                "Schedule": {"AdjustForDST": True},
                "ScheduleStatus": {"Last": "0001-01-01T00:00:00", "Next": "0001-01-01T00:05:00"},
                "IsPastDue": past_due,
            }
        )
    )


def http_request(
    method: str, url: str, body: bytes, headers: Mapping[str, str] | None = None
) -> protos.TypedData:
    """An HTTP trigger's request."""
    return protos.TypedData(
        http=protos.RpcHttp(
            method=method,
            url=url,
            headers=dict(headers or {}),
            body=protos.TypedData(bytes=body),
            params={},
            query={},
        )
    )
