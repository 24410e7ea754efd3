"""Identity strategies: which identity holds an environment's FICs.

- per-environment: `{namePrefix}-{environmentId}`, made for that environment alone.
- shared-pool: `{pool}-{n}`; an environment's FICs all sit on one shard (its Dataverse row points at one
  identity). A new environment goes to a new shard while the pool has fewer shards than the environments
  in scope will fill (ceil(environments / environments per shard)), else to the shard with the most room
  for all its FICs, keeping `headroom` slots free, else to a new shard. Spreading lets each shard's FIC
  writes (one per four seconds per identity) proceed side by side. Events for one pool share a Service Bus
  session, so one process places at a time; within its batch the held view's ledger counts the slots it
  handed out before their FICs exist.
- app-registration: the policy's application, through Microsoft Graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

from shared.clients.arm import IdentityAddress, ManagedIdentity, StoredCredential
from shared.engine._held import HeldArm, PoolLedger
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
from shared.engine._scope import environments_in_scope
from shared.errors import PermanentError
from shared.http import PaceKey
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
        credentials = {item.name.lower(): item for item in stored}
        record_fic_capacity(target.label, len(credentials), FIC_CAP)
        _check_application_room(target, credentials, credential_prefix(environment_id), needed)
        return Placement(target, None, credentials)
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


def _check_application_room(
    target: IdentityTarget, credentials: dict[str, StoredCredential], prefix: str, needed: int
) -> None:
    """One application holds every environment's FICs: refuse before Entra would refuse the 21st.

    The environment's own FICs (any signer, any format) count as room it already has: a retired signer's FIC
    is deleted before a new one is written.
    """
    own = sum(1 for name in credentials if name.startswith(prefix))
    missing = max(0, needed - own)
    if missing and len(credentials) + missing > FIC_CAP:
        raise PermanentError(
            f"the {target.label} holds {len(credentials)} of the {FIC_CAP} FICs Entra allows an application; "
            f"this environment needs {missing} more: remove unused FICs, trust fewer signers, or move to the "
            "per-environment or shared-pool strategy"
        )


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
    ledger = runtime.arm.ledger if isinstance(runtime.arm, HeldArm) else PoolLedger()
    async with runtime.lock(f"pool-placement:{pool.lower()}"):  # one placement at a time: no slot twice
        namesakes = await _pool_namesakes(runtime, pool)
        shards = await _pool_shards(runtime, pool, key, namesakes, ledger=ledger, needed=needed)
        prefix = credential_prefix(environment_id)
        for shard in shards:
            if ledger.holds(shard.address, prefix) or any(
                name.startswith(prefix) for name in shard.placement.credentials
            ):
                return shard.placement  # the environment already lives here (or was just sent here)
        chosen = _soonest_writable(runtime, shards, needed, limit)
        if chosen is None or len(shards) < await _shards_wanted(runtime, ledger, limit // needed):
            # past every namesake, owned or not, and every shard already handed out
            number = max([shard.number for shard in shards] + [n for n, _ in namesakes], default=0) + 1
            address = IdentityAddress(
                str(settings.subscription_id), str(settings.resource_group), f"{pool}-{number}"
            )
            ledger.reserve(address, prefix, new=True)
            return Placement(_pool_target(runtime, key, address), None, {})
        ledger.reserve(chosen.address, prefix, new=False)
        return chosen.placement


@dataclass(frozen=True)
class _Shard:
    number: int
    placement: Placement
    taken: int  # FICs held plus the slots reserved for environments placed but not yet written

    @property
    def address(self) -> IdentityAddress:
        return _shard_address(self.placement)


def _shard_address(placement: Placement) -> IdentityAddress:
    address = placement.target.address
    if address is None:  # pragma: no cover - pool targets always have one
        raise PermanentError(f"{placement.target.label} is not a managed identity")
    return address


async def _pool_shards(
    runtime: Runtime,
    pool: str,
    key: str,
    namesakes: list[tuple[int, ManagedIdentity]],
    *,
    ledger: PoolLedger,
    needed: int,
) -> list[_Shard]:
    """ppmi's shards of `pool`, existing and placed-on-but-not-yet-created, with how full each is."""
    shards = []
    for number, identity in namesakes:
        if not owns_shard(identity.tags, pool):
            continue  # someone else's identity that happens to share the naming scheme
        credentials = await _credentials(runtime, identity.address)
        taken = len(credentials) + ledger.pending(identity.address, credentials, needed)
        placement = Placement(_pool_target(runtime, key, identity.address), identity, credentials)
        shards.append(_Shard(number, placement, taken))
    existing = {shard.number for shard in shards}
    for address in ledger.planned.values():
        number = pool_shard_number(pool, address.name) or 0
        if number not in existing:
            taken = ledger.pending(address, {}, needed)
            shards.append(_Shard(number, Placement(_pool_target(runtime, key, address), None, {}), taken))
    return sorted(shards, key=lambda shard: shard.number)


def _soonest_writable(runtime: Runtime, shards: list[_Shard], needed: int, limit: int) -> _Shard | None:
    """Among the shards with room for `needed` more FICs, the one whose next FIC write can go soonest.

    A shard takes one write per four seconds: sending a new environment to one that was just written would
    leave it waiting while others idle. Its reserved but unwritten environments queue there first. Among
    equals, the emptiest, then the lowest number.
    """
    with_room = [shard for shard in shards if shard.taken + needed <= limit]

    def wait(shard: _Shard) -> float:
        bucket = runtime.http.pacing.bucket(
            PaceKey("managed-identity-writes-per-identity", shard.address.path.lower())
        )
        queued = shard.taken - len(shard.placement.credentials)  # slots reserved, not yet written
        return round(bucket.seconds_until_free() + queued / bucket.per_second, 3)

    return min(with_room, key=lambda shard: (wait(shard), shard.taken, shard.number), default=None)


async def _shards_wanted(runtime: Runtime, ledger: PoolLedger, environments_per_shard: int) -> int:
    """As many shards as the environments in scope will fill: new environments spread over them.

    Spreading lets FIC writes proceed on several identities at once; each identity takes one write per
    four seconds. Read once per held view.
    """
    if ledger.environments_in_scope is None:
        ledger.environments_in_scope = len(await environments_in_scope(runtime))
    return max(1, ceil(ledger.environments_in_scope / max(1, environments_per_shard)))


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
