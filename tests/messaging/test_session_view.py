"""A held session's view of ARM lasts across the batches handled while the session is held."""

from __future__ import annotations

from shared.events import Event
from shared.messaging.disposition import Disposition, Outcome
from shared.messaging.hosting import MessagingHost, open_messaging_host
from shared.messaging.sessions import HeldSession
from tests.messaging.conftest import Platform
from tests.messaging.test_batches import as_work, environment_event
from tests.messaging.test_end_to_end import package_event


def arm_calls(platform: Platform, since: int, until: int | None = None) -> list[str]:
    """The ARM requests among the sandbox's `since`-th to `until`-th logged ones, as 'METHOD path'."""
    return [
        f"{record.method} {record.path}"
        for record in platform.sandbox.requests[since:until]
        if record.service == "arm"
    ]


async def succeeded(
    host: MessagingHost, platform: Platform, events: list[Event], session: HeldSession | None
) -> None:
    """Handle `events` in the hold `session`, or as one batch of their own when None; all succeed."""
    messages = [as_work(event, platform) for event in events]
    if session is None:
        results = await host.handle_provision_batch(messages)
    else:
        results = [await host.handle_in_session(session, message) for message in messages]
    assert [r.outcome if isinstance(r, Disposition) else r for r in results] == [Outcome.SUCCEEDED] * len(
        events
    )


async def test_a_later_batch_of_the_same_held_session_binds_a_package_without_asking_arm(
    platform: Platform,
) -> None:
    environment = platform.sandbox.control.create_environment(display_name="Sales")
    created = environment_event("created", environment.id, "answers")
    registered = package_event(platform, environment.id, "answers", platform.certificate)

    async with open_messaging_host() as host:
        session = host.hold_session()
        await succeeded(host, platform, [created], session)
        before = len(platform.sandbox.requests)
        await succeeded(host, platform, [registered], session)

    assert arm_calls(platform, before) == []
    (row,) = platform.sandbox.control.rows(environment.id, "managedidentities")
    (package,) = platform.sandbox.control.rows(environment.id, "pluginpackages")
    assert package["_managedidentityid_value"] == row["managedidentityid"]


async def test_a_new_hold_or_none_reads_the_identity_from_arm_again(platform: Platform) -> None:
    environment = platform.sandbox.control.create_environment(display_name="Sales")
    created = environment_event("created", environment.id, "answers")
    first = package_event(platform, environment.id, "answers", platform.certificate)
    second = package_event(platform, environment.id, "answers", platform.second_certificate)
    identity = f"/userAssignedIdentities/ppmi-{environment.id}".lower()

    async with open_messaging_host() as host:
        await succeeded(host, platform, [created], host.hold_session())
        before_fresh = len(platform.sandbox.requests)
        await succeeded(host, platform, [first], host.hold_session())
        before_none = len(platform.sandbox.requests)
        await succeeded(host, platform, [second], None)
        after = len(platform.sandbox.requests)

    for start, end in ((before_fresh, before_none), (before_none, after)):
        reads = [call.lower() for call in arm_calls(platform, start, end) if call.startswith("GET ")]
        assert any(identity in call for call in reads)
    bound = platform.sandbox.control.rows(environment.id, "pluginpackages")
    assert len(bound) == 2
