"""What ARM said about the identities of the messages in hand, kept while those messages are held.

Every write to an identity goes through the Service Bus session of its identity key (docs/architecture.md),
so while a process holds a session's messages nobody else that plays by the rules writes to that identity.
A `HeldArm` therefore reads each identity, each identity list and each FIC list once per batch of
messages, and keeps its copy true by recording its own writes. Without it, every event of a batch would
re-read what the previous one just wrote, and the provider counts reads and lists per identity (0.5/s and
0.25/s): a pool shard serving 17 environments and their plug-in registrations would spend minutes reading.

It also serialises writes per identity within the process (the provider answers 409 to overlapping FIC
writes), skips a write whose result it already holds (two environments placed on one new shard both ask
for the shard to exist), and keeps the shared-pool placement ledger: which environment it sent to which
shard before that shard's FICs were written, so the next placement counts the slot as taken.

A view lives for one batch: it is dropped with the messages, so what another process did since the last
batch (a session moves between processes) is read afresh.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from shared.clients.arm import ArmClient, IdentityAddress, ManagedIdentity, RoleAssignment, StoredCredential
from shared.fic import FederatedCredential


class LockSource(Protocol):
    """What hands out one process-wide lock per name (`Runtime`)."""

    def lock(self, name: str) -> asyncio.Lock: ...


def _key(address: IdentityAddress) -> str:
    return address.path.lower()


@dataclass
class PoolLedger:
    """Placements made in this view whose FICs may not exist yet: address -> environment prefixes."""

    reserved: dict[str, set[str]] = field(default_factory=dict)
    planned: dict[str, IdentityAddress] = field(default_factory=dict)  # new shards nobody has created yet
    environments_in_scope: int | None = None  # read once per view, for how many shards to spread over

    def reserve(self, address: IdentityAddress, prefix: str, *, new: bool) -> None:
        self.reserved.setdefault(_key(address), set()).add(prefix)
        if new:
            self.planned[_key(address)] = address

    def holds(self, address: IdentityAddress, prefix: str) -> bool:
        return prefix in self.reserved.get(_key(address), set())

    def pending(self, address: IdentityAddress, written: Mapping[str, StoredCredential], needed: int) -> int:
        """FIC slots on `address` reserved for environments placed here and not written yet.

        Each reserved environment takes `needed` slots; the FICs it has already written count among
        `written`, so only the rest are pending (an environment half-way through its writes still holds its
        remaining slots).
        """
        return sum(
            max(0, needed - sum(1 for name in written if name.startswith(prefix)))
            for prefix in self.reserved.get(_key(address), set())
        )


class HeldArm(ArmClient):
    """An `ArmClient` that remembers what it read and wrote while its messages are held (see module doc)."""

    def __init__(self, arm: ArmClient, locks: LockSource) -> None:
        super().__init__(arm.http, arm.base_url)
        self._locks = locks
        self._identities: dict[str, ManagedIdentity | None] = {}
        self._listed_groups: dict[tuple[str, str], dict[str, ManagedIdentity]] = {}
        self._credentials: dict[str, dict[str, StoredCredential]] = {}
        self._assignments: dict[tuple[str, str], RoleAssignment | None] = {}
        self.ledger = PoolLedger()

    # -- identities ---------------------------------------------------------------------------------------

    async def get_identity(self, address: IdentityAddress) -> ManagedIdentity | None:
        """What this view holds; a read waits for a write to the same identity that is under way."""
        key = _key(address)
        lock = self._locks.lock(key)
        if key in self._identities and not lock.locked():
            return self._identities[key]
        async with lock:
            if key not in self._identities:
                listed = self._listed_groups.get(_group(address))
                if listed is not None:
                    self._identities[key] = listed.get(key)
                else:
                    self._identities[key] = await super().get_identity(address)
            return self._identities[key]

    async def list_identities(self, subscription_id: str, resource_group: str) -> list[ManagedIdentity]:
        group = (subscription_id.lower(), resource_group.lower())
        if group not in self._listed_groups:
            found = await super().list_identities(subscription_id, resource_group)
            listed = {_key(identity.address): identity for identity in found}
            # What this view wrote or read since is newer than the list.
            for key, known in self._identities.items():
                if known is not None and _group(known.address) == group:
                    listed[key] = known
                elif known is None:
                    listed.pop(key, None)
            self._listed_groups[group] = listed
        return list(self._listed_groups[group].values())

    async def create_or_update_identity(
        self, address: IdentityAddress, *, location: str, tags: Mapping[str, str]
    ) -> tuple[ManagedIdentity, bool]:
        async with self._locks.lock(_key(address)):
            known = self._identities.get(_key(address))
            if known is not None and known.location == location and dict(known.tags) == dict(tags):
                return known, False  # written by an earlier event of this batch
            identity, created = await super().create_or_update_identity(address, location=location, tags=tags)
            self._remember_identity(address, identity)
            if created:
                self._credentials[_key(address)] = {}
            return identity, created

    async def update_identity_tags(
        self, address: IdentityAddress, tags: Mapping[str, str]
    ) -> ManagedIdentity:
        async with self._locks.lock(_key(address)):
            known = self._identities.get(_key(address))
            if known is not None and dict(known.tags) == dict(tags):
                return known  # written by an earlier event of this batch
            identity = await super().update_identity_tags(address, tags)
            self._remember_identity(address, identity)
            return identity

    async def delete_identity(self, address: IdentityAddress) -> bool:
        async with self._locks.lock(_key(address)):
            gone = await super().delete_identity(address)
            self._remember_identity(address, None)
            self._credentials[_key(address)] = {}
            return gone

    def note_identity(self, address: IdentityAddress, identity: ManagedIdentity | None) -> None:
        """What ARM said of the identity just now, read outside this view (before a delete)."""
        self._remember_identity(address, identity)
        if identity is None:
            self._credentials[_key(address)] = {}

    def note_assignment_gone(self, scope: str, name: str) -> None:
        self._assignments[(scope.lower(), name.lower())] = None

    def _remember_identity(self, address: IdentityAddress, identity: ManagedIdentity | None) -> None:
        key = _key(address)
        self._identities[key] = identity
        listed = self._listed_groups.get(_group(address))
        if listed is not None:
            if identity is None:
                listed.pop(key, None)
            else:
                listed[key] = identity

    # -- federated identity credentials -------------------------------------------------------------------

    async def list_federated_credentials(self, address: IdentityAddress) -> list[StoredCredential]:
        """What this view holds, without waiting for a write under way (placement counts those itself)."""
        held = self._credentials.get(_key(address))
        if held is None:
            async with self._locks.lock(_key(address)):
                held = await self._held_credentials(address)
        return list(held.values())

    async def get_federated_credential(self, address: IdentityAddress, name: str) -> StoredCredential | None:
        return {item.name.lower(): item for item in await self.list_federated_credentials(address)}.get(
            name.lower()
        )

    async def create_or_update_federated_credential(
        self, address: IdentityAddress, name: str, credential: FederatedCredential
    ) -> bool:
        async with self._locks.lock(_key(address)):
            held = await self._held_credentials(address)
            created = await super().create_or_update_federated_credential(address, name, credential)
            held[name.lower()] = StoredCredential(
                name=name,
                issuer=credential.issuer,
                subject=credential.subject,
                audiences=(credential.audience,),
            )
            return created

    async def delete_federated_credential(self, address: IdentityAddress, name: str) -> bool:
        async with self._locks.lock(_key(address)):
            gone = await super().delete_federated_credential(address, name)
            self._credentials.get(_key(address), {}).pop(name.lower(), None)
            return gone

    async def _held_credentials(self, address: IdentityAddress) -> dict[str, StoredCredential]:
        key = _key(address)
        if key not in self._credentials:
            stored = await super().list_federated_credentials(address)
            self._credentials[key] = {item.name.lower(): item for item in stored}
        return self._credentials[key]

    # -- role assignments ---------------------------------------------------------------------------------

    async def get_role_assignment(self, scope: str, name: str) -> RoleAssignment | None:
        key = (scope.lower(), name.lower())
        if key not in self._assignments:
            self._assignments[key] = await super().get_role_assignment(scope, name)
        return self._assignments[key]

    async def create_role_assignment(
        self, scope: str, name: str, *, role_definition_id: str, principal_id: str
    ) -> bool:
        self._assignments.pop((scope.lower(), name.lower()), None)  # read afresh if asked again
        return await super().create_role_assignment(
            scope, name, role_definition_id=role_definition_id, principal_id=principal_id
        )

    async def delete_role_assignment(self, scope: str, name: str) -> bool:
        self._assignments[(scope.lower(), name.lower())] = None
        return await super().delete_role_assignment(scope, name)


def _group(address: IdentityAddress) -> tuple[str, str]:
    return address.subscription_id.lower(), address.resource_group.lower()
