"""The benchmark's tenant: environments with plug-in packages in the sandbox, and the events for them."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from sandbox import Sandbox
from shared.events import Event, new_event

SOURCE = "/ppmi/bench"


@dataclass(frozen=True)
class BenchEnvironment:
    """One environment as an ALM pipeline would have made it: Dataverse ready, packages pushed."""

    id: str
    package_ids: tuple[str, ...]


def create_environments(
    sandbox: Sandbox, count: int, packages: int, certificate: bytes
) -> list[BenchEnvironment]:
    """What `pac admin create` and `pac plugin push` would leave behind, done through the control plane."""
    made = []
    for index in range(count):
        environment = sandbox.control.create_environment(display_name=f"bench-{index:03d}")
        package_ids = tuple(
            sandbox.control.register_plugin_package(
                environment.id, certificate, name=f"Bench.Package{number}.{index:03d}"
            )
            for number in range(packages)
        )
        made.append(BenchEnvironment(environment.id, package_ids))
    return made


def creation_events(
    environments: list[BenchEnvironment], certificate: bytes, reply_session: str
) -> list[Event]:
    """Per environment: `environment.created`, then one `pluginpackage.registered` per package."""
    reference = {"der": base64.b64encode(certificate).decode("ascii")}
    events = []
    for environment in environments:
        data = {"environmentId": environment.id}
        events.append(new_event("ppmi.environment.created", data, source=SOURCE, reply_session=reply_session))
        events.extend(
            new_event(
                "ppmi.pluginpackage.registered",
                {**data, "pluginPackageId": package_id, "certificate": reference},
                source=SOURCE,
                reply_session=reply_session,
            )
            for package_id in environment.package_ids
        )
    return events


def reconcile_events(environments: list[BenchEnvironment], reply_session: str) -> list[Event]:
    """What the hourly reconcile timer publishes: one event per environment in scope."""
    return [
        new_event(
            "ppmi.environment.reconcile",
            {"environmentId": environment.id},
            source=SOURCE,
            reply_session=reply_session,
        )
        for environment in environments
    ]
