"""List calls follow `nextLink` pages on the same host, as the sandbox pages them two at a time."""

from __future__ import annotations

import pytest

from sandbox.server import Sandbox
from shared.clients.arm import ArmClient, IdentityAddress
from shared.clients.graph import GraphClient
from shared.engine import Runtime
from shared.errors import PermanentError
from shared.http import HttpClient
from tests.http.conftest import Reply, ScriptedServer

APPLICATION = "3f0f3c2a-4d2a-4ec4-9a43-0b6f1f449e11"


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


async def test_a_page_link_back_to_a_page_already_read_stops_the_listing_instead_of_looping(
    http: HttpClient, server: ScriptedServer
) -> None:
    arm = ArmClient(http, server.base_url)
    identities = "/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
    first = f"{server.base_url}/subscriptions/s/resourceGroups/rg{identities}"
    server.script = [
        Reply(200, {"value": [{"name": "a"}], "nextLink": f"{first}?page=2"}),
        Reply(200, {"value": [{"name": "b"}], "nextLink": f"{first}?page=2"}),
    ]

    with pytest.raises(PermanentError, match="already followed"):
        await arm.list_identities("s", "rg")
    assert len(server.arrivals) == 2


async def test_a_graph_page_link_off_graph_is_an_error_not_a_short_list(
    http: HttpClient, server: ScriptedServer
) -> None:
    graph = GraphClient(http, server.base_url)
    server.script = [
        Reply(200, {"value": [], "@odata.nextLink": "https://graph.example.test/v1.0/next"}),
    ]

    with pytest.raises(PermanentError, match="refusing to follow a nextLink off"):
        await graph.list_federated_credentials(APPLICATION)
    assert len(server.arrivals) == 1
