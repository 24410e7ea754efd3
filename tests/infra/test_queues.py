"""The queue settings the handlers rely on: duplicate detection at intake, sessions for work and results."""

from __future__ import annotations

from tests.infra.templates import resource_config, template

QUEUE = "Microsoft.ServiceBus/namespaces/queues"


def queues() -> dict[str, dict[str, object]]:
    tree = template("core/messaging/service-bus.bicep")
    return {
        config["name"]: config["properties"]
        for config in (
            resource_config(resource) for resource in tree["resources"].values() if resource["type"] == QUEUE
        )
    }


def test_exactly_the_three_queues_of_the_flow_exist() -> None:
    assert set(queues()) == {"ppmi-events", "ppmi-work", "ppmi-results"}


def test_intake_drops_a_resent_event_within_the_configured_window() -> None:
    events = queues()["ppmi-events"]

    assert events["requiresDuplicateDetection"] is True
    assert events["duplicateDetectionHistoryTimeWindow"] == "eventDuplicateDetectionWindow"
    assert template("main.bicep")["parameters"]["eventDuplicateDetectionWindow"]["default"] == "PT10M"


def test_work_is_serialised_per_identity_with_a_configurable_delivery_limit() -> None:
    work = queues()["ppmi-work"]

    assert work["requiresSession"] is True
    assert work["lockDuration"] == "PT1M"
    assert work["maxDeliveryCount"] == "workMaxDeliveryCount"
    assert template("main.bicep")["parameters"]["workMaxDeliveryCount"]["default"] == 10


def test_results_are_delivered_per_caller_session() -> None:
    assert queues()["ppmi-results"]["requiresSession"] is True


def test_expired_messages_are_kept_in_each_queues_dead_letter_subqueue() -> None:
    assert all(properties["deadLetteringOnMessageExpiration"] is True for properties in queues().values())
