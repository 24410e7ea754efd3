"""List calls follow `nextLink` pages on the same host, as the sandbox pages them two at a time."""

from __future__ import annotations

from sandbox.server import Sandbox
from shared.clients.arm import IdentityAddress
from shared.engine import Runtime


async def test_identities_and_environments_are_read_across_pages(sandbox: Sandbox, runtime: Runtime) -> None:
    settings = runtime.policy.identity
    for name in ("alpha", "bravo", "charlie"):
        address = IdentityAddress(str(settings.subscription_id), str(settings.resource_group), name)
        await runtime.arm.create_or_update_identity(address, location="westeurope", tags={})
    for display_name in ("One", "Two", "Three"):
        sandbox.control.create_environment(display_name=display_name)

    identities = await runtime.arm.list_identities(
        str(settings.subscription_id), str(settings.resource_group)
    )
    environments = await runtime.environments.list_environments()

    assert sorted(identity.address.name for identity in identities) == ["alpha", "bravo", "charlie"]
    names = [environment.display_name for environment in environments]
    assert len(names) == len(set(names)) == len(sandbox.control.environments())
    assert {"One", "Two", "Three"} <= set(names)
