"""Identity strategies: which identity holds an environment's FICs.

- per-environment: `{namePrefix}-{environmentId}`, made for that environment alone.
- shared-pool: `{pool}-{n}`; an environment's FICs all sit on one shard (its Dataverse row points at one
  identity); a new environment goes to the lowest-numbered shard with room for all of them, keeping
  `headroom` slots free, else to a new shard. The choice depends only on what ARM holds, so two processes
  that see the same state agree; events for one pool share a Service Bus session, so they do see it.
- app-registration: the policy's application, through Microsoft Graph.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.clients.arm import IdentityAddress, ManagedIdentity, StoredCredential
from shared.engine._model import IdentityTarget
from shared.engine._naming import (
    POOL_TAG,
    credential_prefix,
    dedicated_identity_name,
    dedicated_tags,
    identity_key,
    owns_dedicated,
    owns_shard,
    pool_shard_number,
    pool_tags,
)
from shared.engine._runtime import Runtime
from shared.errors import PermanentError
from shared.telemetry import FIC_CAP, record_fic_capacity


@dataclass(frozen=True)
class Placement:
    """The identity for an environment, what ARM says of it now (None: it does not exist yet), its FICs."""

    target: IdentityTarget
    identity: ManagedIdentity | None
    credentials: dict[str, StoredCredential]

    def owned_by_ppmi(self, environment_id: str) -> bool:
        """False for a namesake someone else made: ppmi neither takes it over nor deletes anything on it."""
        if self.identity is None or self.target.address is None:
            return True
        if self.target.dedicated:
            return owns_dedicated(self.identity.tags, environment_id)
        return owns_shard(self.identity.tags, self.target.tags.get(POOL_TAG, ""))


async def place(runtime: Runtime, environment_id: str, *, needed: int) -> Placement:
    """Find (or choose) the identity for `environment_id`, which needs `needed` FICs."""
    policy = runtime.policy
    settings = policy.identity
    key = identity_key(environment_id, policy)
    if settings.strategy == "app-registration":
        target = IdentityTarget(
            key=key,
            application_object_id=settings.application_object_id,
            application_id=settings.application_id,
        )
        stored = await runtime.graph.list_federated_credentials(str(settings.application_object_id))
        return Placement(target, None, {item.name.lower(): item for item in stored})
    if settings.strategy == "shared-pool":
        return await _place_in_pool(runtime, environment_id, key, needed)
    address = IdentityAddress(
        str(settings.subscription_id),
        str(settings.resource_group),
        dedicated_identity_name(environment_id, policy),
    )
    target = IdentityTarget(
        key=key,
        address=address,
        location=str(settings.location),
        tags=dedicated_tags(policy, environment_id),
        dedicated=True,
    )
    identity = await runtime.arm.get_identity(address)
    credentials = await _credentials(runtime, address) if identity is not None else {}
    return Placement(target, identity, credentials)


async def _credentials(runtime: Runtime, address: IdentityAddress) -> dict[str, StoredCredential]:
    stored = await runtime.arm.list_federated_credentials(address)
    record_fic_capacity(address.name, len(stored), FIC_CAP)
    return {item.name.lower(): item for item in stored}


async def _place_in_pool(runtime: Runtime, environment_id: str, key: str, needed: int) -> Placement:
    settings = runtime.policy.identity
    pool = str(settings.pool_name)
    limit = settings.shard_capacity - settings.headroom
    if needed > limit:
        raise PermanentError(
            f"an environment needs {needed} FICs but a {pool} shard takes at most {limit} "
            "(shardCapacity - headroom); trust fewer signers or lower headroom"
        )
    namesakes = await _pool_namesakes(runtime, pool)
    room: Placement | None = None
    prefix = credential_prefix(environment_id)
    for _, identity in namesakes:
        if not owns_shard(identity.tags, pool):
            continue  # someone else's identity that happens to share the naming scheme
        credentials = await _credentials(runtime, identity.address)
        placement = Placement(_pool_target(runtime, key, identity.address), identity, credentials)
        if any(name.startswith(prefix) for name in credentials):
            return placement  # the environment already lives here
        if room is None and len(credentials) + needed <= limit:
            room = placement
    if room is not None:
        return room
    next_number = (namesakes[-1][0] + 1) if namesakes else 1  # past every namesake, owned or not
    address = IdentityAddress(
        str(settings.subscription_id), str(settings.resource_group), f"{pool}-{next_number}"
    )
    return Placement(_pool_target(runtime, key, address), None, {})


async def _pool_namesakes(runtime: Runtime, pool: str) -> list[tuple[int, ManagedIdentity]]:
    """Every `{pool}-{n}` identity in the resource group, by `n`."""
    settings = runtime.policy.identity
    identities = await runtime.arm.list_identities(
        str(settings.subscription_id), str(settings.resource_group)
    )
    return sorted(
        (
            (number, identity)
            for identity in identities
            if (number := pool_shard_number(pool, identity.address.name))
        ),
        key=lambda pair: pair[0],
    )


async def find_existing(runtime: Runtime, environment_id: str) -> Placement | None:
    """The identity holding an environment's FICs, without choosing a new one (for removal)."""
    settings = runtime.policy.identity
    if settings.strategy != "shared-pool":
        return await place(runtime, environment_id, needed=0)
    pool = str(settings.pool_name)
    prefix = credential_prefix(environment_id)
    key = identity_key(environment_id, runtime.policy)
    for _, identity in await _pool_namesakes(runtime, pool):
        if not owns_shard(identity.tags, pool):
            continue
        credentials = await _credentials(runtime, identity.address)
        if any(name.startswith(prefix) for name in credentials):
            return Placement(_pool_target(runtime, key, identity.address), identity, credentials)
    return None


def _pool_target(runtime: Runtime, key: str, address: IdentityAddress) -> IdentityTarget:
    pool = str(runtime.policy.identity.pool_name)
    return IdentityTarget(
        key=key,
        address=address,
        location=str(runtime.policy.identity.location),
        tags=pool_tags(runtime.policy, pool),
    )
