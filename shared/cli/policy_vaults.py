"""`ppmi policy validate --check-vaults`: read each vault the policy names and warn where its authorisation
mode ignores what the policy gives there."""

from __future__ import annotations

import asyncio

from shared.diagnosis import policy_vault_warnings
from shared.engine import open_runtime
from shared.errors import PpmiError
from shared.policy import Policy
from shared.settings import Settings


def vault_mode_warnings(policy: Policy) -> list[str]:
    """The warnings; a policy is not made invalid by them, nor by a vault that cannot be read."""

    async def read() -> list[str]:
        async with open_runtime(Settings.from_env(), policy) as runtime:
            return await policy_vault_warnings(runtime)

    try:
        return asyncio.run(read())
    except PpmiError as error:
        return [f"the vaults could not be checked: {error}"]
