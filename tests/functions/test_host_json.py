"""host.json says only what the Functions host and the Service Bus extension 5.x read, within their ranges,
and gives the triggers the semantics the app relies on.

Sources of the keys and ranges:
- the host: learn.microsoft.com/azure/azure-functions/functions-host-json (top-level properties, `logging`);
- the extension: Azure/azure-sdk-for-net `sdk/servicebus/Microsoft.Azure.WebJobs.Extensions.ServiceBus/src/
  Config/ServiceBusOptions.cs` (host.json's `extensions.serviceBus` binds to it; its setters refuse
  `maxConcurrentCalls`, `maxConcurrentSessions`, `maxConcurrentCallsPerSession` below 1 and a negative
  `maxAutoLockRenewalDuration`), and the retry options, `sdk/servicebus/Azure.Messaging.ServiceBus/src/
  Primitives/ServiceBusRetryOptions.cs` (`maxRetries` 0-100, `delay` 1 ms-5 min, `maxDelay` not negative,
  `tryTimeout` 0-1 h; `mode` Exponential or Fixed).
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shared.messaging.config import MessagingSettings
from shared.messaging.worker import WorkerOptions
from shared.settings import Settings
from tests.functions.test_function_app import FUNCTIONS, bindings

ROOT = Path(__file__).resolve().parents[2]
HOST: dict[str, Any] = json.loads((ROOT / "host.json").read_text(encoding="utf-8"))
SERVICE_BUS: dict[str, Any] = HOST["extensions"]["serviceBus"]
QUEUE_TRIGGERS = sorted(
    name for name in FUNCTIONS if any(b["type"] == "serviceBusTrigger" for b in bindings(name))
)
QUEUE_LOCK = datetime.timedelta(minutes=1)  # infra/core/messaging/service-bus.bicep: lockDuration PT1M

HOST_PROPERTIES = {
    "version",
    "aggregator",
    "concurrency",
    "customHandler",
    "extensions",
    "extensionBundle",
    "functions",
    "functionTimeout",
    "healthMonitor",
    "logging",
    "managedDependency",
    "retry",
    "singleton",
    "telemetryMode",
    "watchDirectories",
    "watchFiles",
}
LOGGING_PROPERTIES = {"fileLoggingMode", "logLevel", "console", "applicationInsights"}


def timespan(value: str) -> datetime.timedelta:
    """A host.json TimeSpan, `[d.]hh:mm:ss` with optional fractional seconds."""
    match = re.fullmatch(r"(?:(\d+)\.)?(\d+):(\d{2}):(\d{2}(?:\.\d+)?)", value)
    assert match, f"{value!r} is not an hh:mm:ss TimeSpan"
    days, hours, minutes, seconds = match.groups()
    return datetime.timedelta(
        days=int(days or 0), hours=int(hours), minutes=int(minutes), seconds=float(seconds)
    )


def at_least(minimum: int) -> Callable[[object], bool]:
    return lambda value: isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def span_between(low: datetime.timedelta, high: datetime.timedelta | None = None) -> Callable[[object], bool]:
    return lambda value: isinstance(value, str) and low <= timespan(value) <= (high or datetime.timedelta.max)


def is_bool(value: object) -> bool:
    return isinstance(value, bool)


ZERO = datetime.timedelta(0)
SERVICE_BUS_OPTIONS: dict[str, Callable[[object], bool]] = {
    "prefetchCount": at_least(0),
    "transportType": lambda value: str(value).lower() in {"amqptcp", "amqpwebsockets"},
    "webProxy": lambda value: isinstance(value, str),
    "autoCompleteMessages": is_bool,
    "maxAutoLockRenewalDuration": span_between(ZERO),
    "maxConcurrentCalls": at_least(1),
    "maxConcurrentSessions": at_least(1),
    "maxConcurrentCallsPerSession": at_least(1),
    "maxMessageBatchSize": at_least(1),
    "minMessageBatchSize": at_least(1),
    "maxBatchWaitTime": span_between(ZERO, datetime.timedelta(minutes=2, seconds=30)),
    "sessionIdleTimeout": span_between(ZERO),
    "enableCrossEntityTransactions": is_bool,
}
RETRY_OPTIONS: dict[str, Callable[[object], bool]] = {
    "mode": lambda value: str(value).lower() in {"exponential", "fixed"},
    "maxRetries": lambda value: at_least(0)(value) and int(str(value)) <= 100,
    "delay": span_between(datetime.timedelta(milliseconds=1), datetime.timedelta(minutes=5)),
    "maxDelay": span_between(ZERO),
    "tryTimeout": span_between(ZERO, datetime.timedelta(hours=1)),
}


def test_every_top_level_and_logging_property_is_one_the_host_reads() -> None:
    assert set(HOST) <= HOST_PROPERTIES
    assert set(HOST["logging"]) <= LOGGING_PROPERTIES
    assert HOST["version"] == "2.0"
    bundle = HOST["extensionBundle"]
    assert (bundle["id"], bundle["version"]) == ("Microsoft.Azure.Functions.ExtensionBundle", "[4.*, 5.0.0)")


@pytest.mark.parametrize("name", sorted(SERVICE_BUS))
def test_each_service_bus_setting_is_an_extension_option_within_its_range(name: str) -> None:
    value = SERVICE_BUS[name]
    if name == "clientRetryOptions":
        assert set(value) <= set(RETRY_OPTIONS), set(value) - set(RETRY_OPTIONS)
        assert all(RETRY_OPTIONS[key](item) for key, item in value.items()), value
        return
    assert name in SERVICE_BUS_OPTIONS, f"{name} is not a ServiceBusOptions property"
    assert SERVICE_BUS_OPTIONS[name](value), f"{name}: {value!r} is out of range"


def test_no_setting_is_left_for_a_batch_trigger_the_app_does_not_have() -> None:
    assert all(str(b.get("cardinality", "one")).lower() == "one" for n in QUEUE_TRIGGERS for b in bindings(n))
    assert not {"maxMessageBatchSize", "minMessageBatchSize", "maxBatchWaitTime"} & set(SERVICE_BUS)


def test_a_sessions_messages_are_handled_side_by_side_and_its_lock_outlasts_any_call() -> None:
    assert SERVICE_BUS["maxConcurrentCallsPerSession"] > 1  # a shared pool is one session
    renewal = timespan(SERVICE_BUS["maxAutoLockRenewalDuration"])
    assert renewal >= timespan(HOST["functionTimeout"])
    assert renewal > QUEUE_LOCK


def test_messages_are_completed_by_returning_because_no_handler_settles_them_itself() -> None:
    assert SERVICE_BUS["autoCompleteMessages"] is True
    for name in QUEUE_TRIGGERS:
        (binding,) = bindings(name)
        assert binding.get("autoCompleteMessages", True) is True, name


def test_a_function_may_run_longer_than_the_retry_budget_of_its_calls() -> None:
    budget = Settings.from_env({}).retry_budget_seconds
    assert timespan(HOST["functionTimeout"]).total_seconds() > budget


def test_no_message_waits_locked_behind_a_slow_one_and_idle_sessions_are_let_go_quickly() -> None:
    assert SERVICE_BUS["prefetchCount"] == 0
    assert timespan(SERVICE_BUS["sessionIdleTimeout"]) < QUEUE_LOCK


def test_the_app_infers_its_session_holds_from_the_timings_host_json_gives_the_host() -> None:
    settings = MessagingSettings.from_env({})
    assert settings.session_idle_seconds == timespan(SERVICE_BUS["sessionIdleTimeout"]).total_seconds()
    assert (
        settings.session_lock_renewal_seconds
        == timespan(SERVICE_BUS["maxAutoLockRenewalDuration"]).total_seconds()
    )


def test_the_worker_defaults_mirror_the_functions_host() -> None:
    options = WorkerOptions()
    assert options.sessions == SERVICE_BUS["maxConcurrentSessions"]
    assert options.concurrent_calls == SERVICE_BUS["maxConcurrentCalls"]
    assert options.calls_per_session == SERVICE_BUS["maxConcurrentCallsPerSession"]
    assert options.session_idle_seconds == timespan(SERVICE_BUS["sessionIdleTimeout"]).total_seconds()
    assert (
        options.max_lock_renewal_seconds
        == timespan(SERVICE_BUS["maxAutoLockRenewalDuration"]).total_seconds()
    )


def documented_settings() -> dict[str, str]:
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    section = text.split("\n## host.json\n", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| `(\w+)` \| ([^|]+?) \|", section, re.MULTILINE))


def in_words(value: object) -> str:
    """A host.json value as operations.md writes it: `true`, `8`, `1 hour`, `10 minutes`, `2 seconds`."""
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, int):
        return str(value)
    seconds = int(timespan(str(value)).total_seconds())
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour" if hours == 1 else f"{hours} hours"
    return f"{seconds // 60} minutes" if seconds % 60 == 0 else f"{seconds} seconds"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        *((key, value) for key, value in SERVICE_BUS.items() if not isinstance(value, dict)),
        ("functionTimeout", HOST["functionTimeout"]),
    ],
)
def test_operations_guide_states_the_value_host_json_has(name: str, value: object) -> None:
    assert documented_settings()[name] == in_words(value)
