"""Each identity strategy ends with exactly the identities it promises; tear-down leaves the rest alone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.server import Sandbox
from shared.engine import Runtime, open_runtime
from shared.settings import Settings
from tests.reliability.conftest import Signers, foreign_around, without_replication_delay
from tests.reliability.invariants import Baseline, Expectation, check_invariants
from tests.reliability.policies import STRATEGIES, policy_with_strategy
from tests.reliability.test_ownership import provision, tear_down


@pytest.fixture(params=STRATEGIES)
async def strategy_runtime(
    request: pytest.FixtureRequest, sandbox: Sandbox, policy_file: Path
) -> AsyncIterator[Runtime]:
    policy = policy_with_strategy(sandbox, policy_file, str(request.param))
    without_replication_delay(sandbox)
    async with open_runtime(Settings.from_env(), policy) as opened:
        yield opened


EXPECTED_IDENTITIES = {"per-environment": 2, "shared-pool": 2, "app-registration": 0}  # two-FIC pool shards


async def test_each_strategy_makes_exactly_its_identities_and_tears_down_only_its_own(
    strategy_runtime: Runtime, sandbox: Sandbox, signers: Signers
) -> None:
    runtime = strategy_runtime
    policy = runtime.policy
    environments = [sandbox.control.create_environment(display_name=f"Strategy {n}") for n in range(3)]
    foreign_around(sandbox, policy, signers, [environments[0].id])
    baseline = Baseline.capture(sandbox.control.dump())
    expectation = Expectation(policy)
    for environment in environments:
        component = await provision(runtime, sandbox, signers, environment.id)
        expectation.provisioned(environment.id).components.append(component)

    await tear_down(runtime, environments[2].id)
    expectation.provisioned(environments[2].id).deleted = True

    assert check_invariants(baseline, expectation, sandbox.control.dump()) == []
    created = [
        i for i in sandbox.control.dump()["identities"] if (i.get("tags") or {}).get("ppmi-owned") == "true"
    ]
    assert len(created) == EXPECTED_IDENTITIES[policy.identity.strategy]
