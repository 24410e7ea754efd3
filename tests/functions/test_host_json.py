"""host.json gives the Service Bus triggers the semantics the handlers rely on, and says what the docs say."""

from __future__ import annotations

import datetime
import inspect
import json
import re
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest

from shared.messaging.worker import WorkerOptions
from shared.settings import Settings
from tests.functions.test_function_app import FUNCTIONS, bindings, trigger

ROOT = Path(__file__).resolve().parents[2]
HOST: dict[str, Any] = json.loads((ROOT / "host.json").read_text(encoding="utf-8"))
SERVICE_BUS: dict[str, Any] = HOST["extensions"]["serviceBus"]
QUEUE_TRIGGERS = sorted(
    name for name in FUNCTIONS if any(b["type"] == "serviceBusTrigger" for b in bindings(name))
)


def timespan(value: str) -> datetime.timedelta:
    """A host.json TimeSpan, `hh:mm:ss` with optional fractional seconds."""
    match = re.fullmatch(r"(\d+):(\d{2}):(\d{2}(?:\.\d+)?)", value)
    assert match, f"{value!r} is not an hh:mm:ss TimeSpan"
    hours, minutes, seconds = match.groups()
    return datetime.timedelta(hours=int(hours), minutes=int(minutes), seconds=float(seconds))


def test_the_extension_bundle_is_version_4() -> None:
    bundle = HOST["extensionBundle"]
    assert bundle["id"] == "Microsoft.Azure.Functions.ExtensionBundle"
    assert bundle["version"] == "[4.*, 5.0.0)"
    assert HOST["version"] == "2.0"


def test_both_queue_triggers_are_read_and_only_the_work_queue_by_session() -> None:
    assert QUEUE_TRIGGERS == ["provision", "route_event"]
    (work,) = bindings("provision")
    (events,) = bindings("route_event")
    assert work["isSessionsEnabled"] is True
    assert "isSessionsEnabled" not in events
    assert SERVICE_BUS["maxConcurrentSessions"] >= 1
    assert SERVICE_BUS["maxConcurrentCalls"] >= 1


def test_messages_are_completed_by_returning_because_no_handler_settles_them_itself() -> None:
    assert SERVICE_BUS["autoCompleteMessages"] is True
    for name in QUEUE_TRIGGERS:
        (binding,) = bindings(name)
        assert binding.get("autoCompleteMessages", True) is True, name
        # The plain message binding carries no settlement client: returning completes, raising abandons.
        parameters = inspect.signature(trigger(name)).parameters
        assert [p.annotation for p in parameters.values()] in (
            [func.ServiceBusMessage],
            ["func.ServiceBusMessage"],
            [list[func.ServiceBusMessage]],
            ["list[func.ServiceBusMessage]"],
        ), name


def test_the_work_queue_is_read_in_batches_of_one_session_and_intake_one_message_at_a_time() -> None:
    (work,) = bindings("provision")
    (events,) = bindings("route_event")
    assert str(work["cardinality"]).lower() == "many"
    assert str(events.get("cardinality", "one")).lower() == "one"
    assert 1 < SERVICE_BUS["maxMessageBatchSize"] <= 500  # a batch's writes fit well inside the lock renewal


def test_locks_are_renewed_for_as_long_as_a_function_may_run() -> None:
    renewal = timespan(SERVICE_BUS["maxAutoLockRenewalDuration"])
    function_timeout = timespan(HOST["functionTimeout"])
    assert renewal >= function_timeout


def test_a_function_may_run_longer_than_the_retry_budget_of_its_calls() -> None:
    budget = Settings.from_env({}).retry_budget_seconds
    assert timespan(HOST["functionTimeout"]).total_seconds() > budget


def test_no_message_waits_locked_behind_a_slow_one_and_idle_sessions_are_let_go_quickly() -> None:
    assert SERVICE_BUS["prefetchCount"] == 0
    assert timespan(SERVICE_BUS["sessionIdleTimeout"]) < datetime.timedelta(minutes=1)  # the queues' lock


def test_the_worker_defaults_mirror_the_functions_host() -> None:
    options = WorkerOptions()
    assert options.sessions == SERVICE_BUS["maxConcurrentSessions"]
    assert options.batch_size == SERVICE_BUS["maxMessageBatchSize"]
    assert options.session_idle_seconds == timespan(SERVICE_BUS["sessionIdleTimeout"]).total_seconds()


def documented_settings() -> dict[str, str]:
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    section = text.split("\n## host.json\n", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| `(\w+)` \| ([^|]+?) \|", section, re.MULTILINE))


def in_words(value: object) -> str:
    """A host.json value as operations.md writes it: `true`, `8`, `10 minutes`, `2 seconds`."""
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, int):
        return str(value)
    span = timespan(str(value))
    minutes, seconds = divmod(int(span.total_seconds()), 60)
    return f"{minutes} minutes" if minutes and not seconds else f"{int(span.total_seconds())} seconds"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        *(
            (key, SERVICE_BUS[key])
            for key in (
                "autoCompleteMessages",
                "maxAutoLockRenewalDuration",
                "maxConcurrentSessions",
                "maxMessageBatchSize",
                "sessionIdleTimeout",
                "maxConcurrentCalls",
                "prefetchCount",
            )
        ),
        ("functionTimeout", HOST["functionTimeout"]),
    ],
)
def test_operations_guide_states_the_value_host_json_has(name: str, value: object) -> None:
    assert documented_settings()[name] == in_words(value)
