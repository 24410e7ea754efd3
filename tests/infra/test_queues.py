"""Queue settings the handlers rely on: duplicate detection, sessions for work and results, a kept queue."""

from __future__ import annotations

from tests.infra.templates import resource_config, template

QUEUE = "Microsoft.ServiceBus/namespaces/queues"


def queues() -> dict[str, dict[str, object]]:
    tree = template("core/messaging/service-bus.bicep")
    configs = [
        resource_config(resource) for resource in tree["resources"].values() if resource["type"] == QUEUE
    ]
    return {config["name"]: config["properties"] for config in configs}


def test_exactly_the_four_queues_of_the_flow_exist() -> None:
    assert set(queues()) == {"ppmi-events", "ppmi-work", "ppmi-results", "ppmi-kept"}


def test_intake_drops_a_resent_event_within_the_configured_window() -> None:
    events = queues()["ppmi-events"]

    assert events["requiresDuplicateDetection"] is True
    assert events["duplicateDetectionHistoryTimeWindow"] == "duplicateDetectionWindow"
    assert template("main.bicep")["parameters"]["duplicateDetectionWindow"]["default"] == "PT10M"


def test_every_queue_drops_the_resends_of_a_redelivered_message() -> None:
    assert all(properties["requiresDuplicateDetection"] is True for properties in queues().values())


def test_work_is_serialised_per_identity_with_a_configurable_delivery_limit() -> None:
    work = queues()["ppmi-work"]

    assert work["requiresSession"] is True
    assert work["lockDuration"] == "PT1M"
    assert work["maxDeliveryCount"] == "workMaxDeliveryCount"
    assert template("main.bicep")["parameters"]["workMaxDeliveryCount"]["default"] == 10


def test_results_are_delivered_per_caller_session() -> None:
    assert queues()["ppmi-results"]["requiresSession"] is True


def test_kept_messages_wait_long_and_survive_being_listed_many_times() -> None:
    kept = queues()["ppmi-kept"]
    service_bus = template("core/messaging/service-bus.bicep")

    assert kept["requiresSession"] is False
    assert kept["maxDeliveryCount"] == 100
    assert kept["defaultMessageTimeToLive"] == "keptMessageTimeToLive"
    assert service_bus["parameters"]["keptMessageTimeToLive"]["default"] == "P90D"


def test_expired_messages_are_kept_in_each_queues_dead_letter_subqueue() -> None:
    assert all(properties["deadLetteringOnMessageExpiration"] is True for properties in queues().values())
