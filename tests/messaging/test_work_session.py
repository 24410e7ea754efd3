"""Which ppmi-work session an environment's events are worked in: one per managed identity write limit."""

from __future__ import annotations

from shared.engine import identity_key
from shared.messaging.processing import work_session
from shared.policy import load_policy
from tests.messaging.conftest import Platform


def test_dedicated_identities_of_one_subscription_are_worked_in_one_session(platform: Platform) -> None:
    policy = load_policy(platform.policy)

    sessions = {
        work_session(environment, identity_key(environment, policy), policy)
        for environment in ("Env-A", "env-b", "env-c")
    }

    assert sessions == {f"subscription-{policy.identity.subscription_id}".lower()}


def test_a_pools_environments_are_worked_in_the_pools_session(platform: Platform) -> None:
    text = platform.policy.read_text(encoding="utf-8")
    platform.policy.write_text(
        text.replace("strategy: per-environment", "strategy: shared-pool\n  poolName: pool"), encoding="utf-8"
    )
    policy = load_policy(platform.policy)

    assert {work_session(env, identity_key(env, policy), policy) for env in ("env-a", "env-b")} == {"pool"}


def test_an_event_that_writes_to_an_application_is_worked_in_the_applications_session(
    platform: Platform,
) -> None:
    policy = load_policy(platform.policy)

    assert work_session("env-a", "application-object-id", policy) == "application-object-id"
