"""One process's connections: HTTP layer, credential, typed clients, pacing and per-identity locks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace

import httpx

from shared.auth import CachedTokens, TokenSource, credential_from
from shared.clients.arm import ArmClient
from shared.clients.dataverse import DataverseClient
from shared.clients.environments import EnvironmentsClient
from shared.clients.graph import GraphClient
from shared.clients.keyvault import KeyVaultClient
from shared.engine._held import HeldArm
from shared.http import (
    DEFAULT_RATES,
    PROVIDER_RATES,
    Backoff,
    Clock,
    HttpClient,
    Pacing,
    Rate,
    SystemClock,
    build_transport,
    provider_rate,
)
from shared.policy import Pacing as PolicyPacing
from shared.policy import Policy
from shared.settings import Settings


@dataclass
class Runtime:
    """What the engine needs to act: the policy, the clients, and a lock per identity key."""

    settings: Settings
    policy: Policy
    http: HttpClient
    arm: ArmClient
    graph: GraphClient
    keyvault: KeyVaultClient
    environments: EnvironmentsClient
    service_application_id: str | None  # the service's own client ID, made an application user when asked
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    def dataverse(self, origin: str) -> DataverseClient:
        """A client for an organisation whose origin already passed `dataverse_origin`."""
        return DataverseClient(self.http, origin)

    def identity_lock(self, key: str) -> asyncio.Lock:
        """Held for a whole event: FIC writes to one identity never overlap within this process."""
        return self.lock(f"identity-key:{key}")

    def lock(self, name: str) -> asyncio.Lock:
        """One lock per name for the whole process (every held view of this runtime shares them)."""
        return self._locks.setdefault(name, asyncio.Lock())

    def held(self) -> Runtime:
        """This runtime with a `HeldArm`: ARM read once and kept while one batch of messages is held."""
        if isinstance(self.arm, HeldArm):
            return self
        return replace(self, arm=HeldArm(self.arm, self))


def pacing_rates(limits: PolicyPacing) -> dict[str, Rate]:
    """The policy's limits; the provider's reads, lists and deletes follow its write limits in proportion.

    The policy names the provider's write limits only; a deployment whose limits differ from the
    documented ones (or a time-scaled sandbox) has every operation's limit scaled alike.
    """
    per_subscription = (
        limits.managed_identity_writes_per_subscription_per_second
        / PROVIDER_RATES["managed-identity-writes-per-subscription"]
    )
    per_identity = (
        limits.managed_identity_writes_per_identity_per_second
        / PROVIDER_RATES["managed-identity-writes-per-identity"]
    )
    return {
        **DEFAULT_RATES,
        **{
            kind: provider_rate(kind, per_identity if kind.endswith("-per-identity") else per_subscription)
            for kind in PROVIDER_RATES
        },
        "arm-writes-per-subscription": Rate(limits.arm_writes_per_second, float(limits.arm_write_burst)),
    }


@asynccontextmanager
async def open_runtime(
    settings: Settings,
    policy: Policy,
    *,
    clock: Clock | None = None,
    backoff: Backoff | None = None,
    tokens: TokenSource | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[Runtime]:
    """Open every connection the engine uses; close them all on exit. `clock`/`backoff` are test switches;
    `transport` replaces the one the settings describe (a recording wrapped around it, say)."""
    chosen_clock = clock or SystemClock()
    cached = None
    if tokens is None:
        cached = CachedTokens(credential_from(settings))
        tokens = cached
    http = HttpClient(
        transport=transport or build_transport(settings.connect_to, settings.ca_bundle),
        tokens=tokens,
        pacing=Pacing(
            chosen_clock,
            rates=pacing_rates(policy.pacing),
            dataverse_concurrency=policy.pacing.dataverse_concurrency_per_organization,
        ),
        clock=chosen_clock,
        timeout_seconds=settings.http_timeout_seconds,
        retry_budget_seconds=settings.retry_budget_seconds,
        backoff=backoff,
    )
    endpoints = settings.endpoints(policy.cloud.value)
    try:
        yield Runtime(
            settings=settings,
            policy=policy,
            http=http,
            arm=ArmClient(http, endpoints.arm),
            graph=GraphClient(http, endpoints.graph),
            keyvault=KeyVaultClient(http, endpoints.arm),
            environments=EnvironmentsClient(
                http, endpoints.powerplatform, endpoints.bap, bap_audience=endpoints.bap_audience
            ),
            service_application_id=settings.azure_client_id,
        )
    finally:
        await http.aclose()
        if cached is not None:
            await cached.close()
