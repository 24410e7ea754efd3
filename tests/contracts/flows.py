"""The product's conversations with the Power Platform API, BAP, Dataverse and Graph, end to end."""

from __future__ import annotations

from sandbox.server import Sandbox
from shared.engine import open_runtime
from shared.settings import Settings
from tests.engine.conftest import FAST_BACKOFF, PolicyWriter, certificate_reference, event, succeed


async def provision_an_environment(
    sandbox: Sandbox, write_policy: PolicyWriter, signers: list[bytes]
) -> None:
    """Created (ppmi adds itself as application user), a package registered, a solution import, deleted."""
    policy = write_policy(extra="manageApplicationUser: true")
    environment = sandbox.control.create_environment(display_name="Sales", app_users=())
    sandbox.control.register_system_assembly(environment.id)
    sandbox.control.register_plugin_assembly(environment.id, signers[1])
    package = sandbox.control.register_plugin_package(environment.id, signers[0])
    async with open_runtime(Settings.from_env(), policy, backoff=FAST_BACKOFF) as runtime:
        await succeed(runtime, event("environment.created", environment.id))
        await succeed(
            runtime,
            event(
                "pluginpackage.registered",
                environment.id,
                pluginPackageId=package,
                certificate=certificate_reference(signers[0]),
            ),
        )
        sandbox.control.import_solution(environment.id)
        await succeed(runtime, event("environment.reconcile", environment.id))
        await runtime.environments.list_environments()
        await succeed(runtime, event("environment.deleted", environment.id))


async def provision_on_an_app_registration(
    sandbox: Sandbox, write_policy: PolicyWriter, signers: list[bytes]
) -> None:
    """FICs on an application through Graph: listed, upserted, read, and retired when a signer leaves."""
    application = sandbox.control.create_application("ppmi plug-ins")
    identity = (
        f"strategy: app-registration\napplicationObjectId: {application.object_id}\n"
        f"applicationId: {application.app_id}"
    )
    environment = sandbox.control.create_environment(display_name="Sales")
    async with open_runtime(
        Settings.from_env(), write_policy(identity=identity), backoff=FAST_BACKOFF
    ) as runtime:
        await succeed(runtime, event("environment.created", environment.id))
        (name, *_) = [c.name for c in await runtime.graph.list_federated_credentials(application.object_id)]
        await runtime.graph.get_federated_credential(application.object_id, name)
    narrower = write_policy(identity=identity, trusted=signers[:1])
    async with open_runtime(Settings.from_env(), narrower, backoff=FAST_BACKOFF) as runtime:
        await succeed(runtime, event("environment.reconcile", environment.id))
