"""Which environments the policy covers, as the environments API lists them."""

from __future__ import annotations

from shared.clients.environments import EnvironmentInfo
from shared.engine._runtime import Runtime


async def environments_in_scope(runtime: Runtime) -> list[EnvironmentInfo]:
    """Every environment the policy covers (for the timers, and for how many shards a pool will need)."""
    policy = runtime.policy
    return [
        environment
        for environment in await runtime.environments.list_environments()
        if policy.environment_in_scope(environment.id, environment.type, environment.display_name)
    ]
