"""Which environments the policy covers, as the environments API lists them."""

from __future__ import annotations

from shared.clients.environments import EnvironmentInfo, Readiness
from shared.engine._runtime import Runtime

# Environments the timers announce: ready, or on their way (a Dataverse still being provisioned). One without
# Dataverse, deleted or disabled would be rejected every hour, so it is left out until that changes.
ANNOUNCED = frozenset({Readiness.READY, Readiness.PROVISIONING})


async def environments_in_scope(runtime: Runtime) -> list[EnvironmentInfo]:
    """Every environment the policy covers that can hold plug-ins (for the timers, a pool's shard count)."""
    policy = runtime.policy
    return [
        environment
        for environment in await runtime.environments.list_environments()
        if environment.readiness in ANNOUNCED
        and policy.environment_in_scope(environment.id, environment.type, environment.display_name)
    ]
