"""Tearing an environment down on a shared identity removes its exact FICs, never look-alikes."""

from __future__ import annotations

import pytest

from sandbox.server import Sandbox
from shared.engine import open_runtime
from shared.settings import Settings
from tests.engine.conftest import FAST_BACKOFF, PolicyWriter, event, succeed
from tests.engine.test_retire import add_by_hand, fic_names, identity_block


@pytest.mark.parametrize("strategy", ["shared-pool", "app-registration"])
async def test_deleting_an_environment_leaves_hand_made_look_alike_fics_on_a_shared_identity(
    sandbox: Sandbox, write_policy: PolicyWriter, strategy: str
) -> None:
    policy = write_policy(identity=identity_block(sandbox, strategy))
    environment = sandbox.control.create_environment(display_name="Going")
    async with open_runtime(Settings.from_env(), policy, backoff=FAST_BACKOFF) as runtime:
        await succeed(runtime, event("environment.created", environment.id))
        ppmi_made = fic_names(sandbox)
        look_alikes = {f"ppmi-{environment.id}-manual", f"ppmi-{environment.id}-0123456789abcdef-old"}
        for name in look_alikes:
            await add_by_hand(runtime, environment.id, name, f"hand/{name}")

        await succeed(runtime, event("environment.deleted", environment.id))

    remaining = fic_names(sandbox)
    assert remaining & ppmi_made == set()
    assert look_alikes <= remaining
