"""`ppmi status`: what ppmi holds for each environment it manages, read from the services, nothing written.

An environment counts as managed when the policy's scope covers it or an identity of ppmi's carries it
(the `ppmi-environment` tag of a dedicated identity, or FIC names on a pool shard or app registration).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace

from shared.clients.dataverse import Component, DataverseClient, dataverse_origin
from shared.clients.environments import EnvironmentInfo
from shared.engine import Runtime, environments_in_scope, find_existing, grants_for, row_id_for
from shared.engine._naming import ENVIRONMENT_TAG, OWNED_TAG, credential_prefix
from shared.errors import InvalidInputError, PermanentServiceError
from shared.events._fields import check_environment_id

# Environments surveyed at once: each costs a few reads of ARM and of its own Dataverse.
CONCURRENT_ENVIRONMENTS = 8
_ENVIRONMENT_ID_LENGTH = 36


@dataclass(frozen=True)
class RowStatus:
    row_id: str
    exists: bool
    version: int | None = None
    application_id: str | None = None


@dataclass(frozen=True)
class GrantStatus:
    role_definition_id: str
    scope: str
    present: bool


@dataclass(frozen=True)
class EnvironmentStatus:
    """One environment as the services describe it; `problem` says what could not be read, if anything."""

    environment_id: str
    display_name: str | None
    state: str | None  # None: the environments API no longer knows it
    in_scope: bool
    identity: str | None = None  # the identity's name (or the app registration), None while there is none
    owned: bool = True
    credentials: tuple[str, ...] = ()  # the identity's FICs for this environment
    row: RowStatus | None = None
    bindings: tuple[str, ...] = ()  # components bound to ppmi's row
    grants: tuple[GrantStatus, ...] = ()
    problems: tuple[str, ...] = field(default=())


async def survey(runtime: Runtime, environment_id: str | None = None) -> list[EnvironmentStatus]:
    """Every environment ppmi manages (or the one asked for), with what it holds there."""
    runtime = runtime.held()
    if environment_id is not None:
        found = await runtime.environments.get_environment(environment_id)
        known = {environment_id: found}
    else:
        known = {e.id.lower(): e for e in await environments_in_scope(runtime)}
        for tagged in await _tagged_environments(runtime):
            known.setdefault(tagged, None)
    limit = asyncio.Semaphore(CONCURRENT_ENVIRONMENTS)

    async def one(key: str, environment: EnvironmentInfo | None) -> EnvironmentStatus:
        async with limit:
            return await _status(runtime, key, environment)

    return list(await asyncio.gather(*(one(key, environment) for key, environment in sorted(known.items()))))


async def _tagged_environments(runtime: Runtime) -> set[str]:
    """Environments named by ppmi's own identities (dedicated ones by tag, shards by their FIC names)."""
    settings = runtime.policy.identity
    if settings.strategy == "app-registration":
        held = await runtime.graph.list_federated_credentials(str(settings.application_object_id))
        return {key for item in held if (key := _environment_in_name(item.name))}
    if settings.subscription_id is None or settings.resource_group is None:
        return set()
    found: set[str] = set()
    for identity in await runtime.arm.list_identities(
        str(settings.subscription_id), str(settings.resource_group)
    ):
        if identity.tags.get(OWNED_TAG) != "true":
            continue
        if tagged := identity.tags.get(ENVIRONMENT_TAG):
            found.add(tagged.lower())
        elif settings.strategy == "shared-pool":
            for stored in await runtime.arm.list_federated_credentials(identity.address):
                if key := _environment_in_name(stored.name):
                    found.add(key)
    return found


def _environment_in_name(name: str) -> str | None:
    """The environment ID in a FIC name ppmi gave (`ppmi-{environmentId}-{signer key}`), if it is one."""
    if not name.lower().startswith("ppmi-"):
        return None
    rest = name[len("ppmi-") :].lower()
    for candidate in (rest[:_ENVIRONMENT_ID_LENGTH], rest[: len("default-") + _ENVIRONMENT_ID_LENGTH]):
        try:
            wanted = candidate if not candidate.startswith("default-") else "Default-" + candidate[8:]
            return check_environment_id(wanted)
        except ValueError:
            continue
    return None


async def _status(
    runtime: Runtime, environment_id: str, environment: EnvironmentInfo | None
) -> EnvironmentStatus:
    policy = runtime.policy
    in_scope = environment is not None and policy.environment_in_scope(
        environment.id, environment.type, environment.display_name
    )
    status = EnvironmentStatus(
        environment_id=environment.id if environment else environment_id,
        display_name=environment.display_name if environment else None,
        state=environment.state if environment else None,
        in_scope=in_scope,
    )
    placement = await find_existing(runtime, status.environment_id)
    if placement is None or (placement.target.address is not None and placement.identity is None):
        return status
    identity = placement.identity
    row_id = row_id_for(status.environment_id, placement.target)
    prefix = credential_prefix(status.environment_id)
    grants: tuple[GrantStatus, ...] = ()
    if identity is not None:
        wanted = grants_for(policy, status.environment_id, identity.principal_id)
        grants = tuple(
            [
                GrantStatus(
                    g.role_definition_id,
                    g.scope,
                    await runtime.arm.get_role_assignment(g.scope, g.name) is not None,
                )
                for g in wanted
            ]
        )
    status = replace(
        status,
        identity=placement.target.label,
        owned=placement.owned_by_ppmi(status.environment_id),
        credentials=tuple(
            sorted(c.name for c in placement.credentials.values() if c.name.lower().startswith(prefix))
        ),
        grants=grants,
    )
    return await _with_dataverse(runtime, status, environment, row_id)


async def _with_dataverse(
    runtime: Runtime, status: EnvironmentStatus, environment: EnvironmentInfo | None, row_id: str
) -> EnvironmentStatus:
    if environment is None or not environment.ready:
        return replace(status, problems=("no ready Dataverse to read the row from",))
    try:
        dataverse = runtime.dataverse(dataverse_origin(environment.dataverse_url, runtime.policy))
    except InvalidInputError as error:
        return replace(status, problems=(error.reason,))
    try:
        row = await dataverse.get_managed_identity(row_id)
        bound = await _bound(dataverse, row_id) if row is not None else ()
    except PermanentServiceError as error:
        if error.status != 403:
            raise
        return replace(
            status, problems=(f"Dataverse refused ppmi (403 {error.code}): run `ppmi verify` for the fix",)
        )
    if row is None:
        return replace(status, row=RowStatus(row_id, exists=False))
    return replace(
        status,
        row=RowStatus(row_id, exists=True, version=row.version, application_id=row.application_id),
        bindings=bound,
    )


async def _bound(dataverse: DataverseClient, row_id: str) -> tuple[str, ...]:
    components: list[Component] = [
        *await dataverse.list_components("pluginassembly"),
        *await dataverse.list_components("pluginpackage"),
    ]
    return tuple(
        f"{c.kind} {c.id} ({c.name})"
        for c in components
        if (c.managed_identity_id or "").lower() == row_id.lower()
    )
