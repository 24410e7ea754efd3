"""The Functions app's binding metadata as the host reads it (invocations: test_worker_invocation.py)."""

from __future__ import annotations

import json
from typing import Any

from function_app import app
from shared.messaging.envelope import (
    EVENTS_QUEUE,
    WORK_QUEUE,
)

# `get_functions()` indexes the app, as the host does once at start-up; a second call refuses the names.
FUNCTIONS: dict[str, Any] = {str(f.get_function_name()): f for f in app.get_functions()}


def functions() -> dict[str, Any]:
    return FUNCTIONS


def bindings(name: str) -> list[dict[str, Any]]:
    document: dict[str, Any] = json.loads(functions()[name].get_function_json())
    return list(document["bindings"])


def test_the_app_registers_one_function_per_handler() -> None:
    assert set(functions()) == {"route_event", "provision", "discovery", "reconcile", "intake"}


def test_queue_triggers_bind_the_documented_queues_through_the_identity_connection() -> None:
    (route,) = bindings("route_event")
    (work,) = bindings("provision")

    assert (route["type"], route["queueName"], route["connection"]) == (
        "serviceBusTrigger",
        EVENTS_QUEUE,
        "ServiceBusConnection",
    )
    assert (work["type"], work["queueName"], work["connection"]) == (
        "serviceBusTrigger",
        WORK_QUEUE,
        "ServiceBusConnection",
    )
    assert work["isSessionsEnabled"] is True
    assert not route.get("isSessionsEnabled")
    # One message per call for both: the host renews session locks and works sessions side by side only then.
    assert "cardinality" not in work
    assert "cardinality" not in route


def test_timers_run_every_five_minutes_and_hourly_by_default() -> None:
    (discovery,) = bindings("discovery")
    (reconcile,) = bindings("reconcile")

    assert (discovery["type"], discovery["schedule"]) == ("timerTrigger", "0 */5 * * * *")
    assert (reconcile["type"], reconcile["schedule"]) == ("timerTrigger", "0 0 * * * *")


def test_the_http_intake_needs_a_function_key() -> None:
    http_trigger = bindings("intake")[0]

    assert (http_trigger["type"], http_trigger["authLevel"], http_trigger["methods"]) == (
        "httpTrigger",
        "FUNCTION",
        ["POST"],
    )
