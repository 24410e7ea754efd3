"""Policy rules that weigh one setting against another: signers against an identity's FIC cap, host
suffixes against the cloud's Dataverse domains, certificates against the calendar."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from shared.fic import Cloud

# Learn, "Workload identity federation considerations" (learn.microsoft.com/entra/workload-id/
# workload-identity-federation-considerations): at most 20 FICs on one application or managed identity.
MAX_FICS_PER_IDENTITY = 20
EXPIRY_WARNING = timedelta(days=30)
_HOST_SUFFIX = re.compile(
    r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+", re.ASCII
)


class IdentityChoice(Protocol):
    @property
    def strategy(self) -> str: ...

    @property
    def pool_name(self) -> str | None: ...

    @property
    def shard_capacity(self) -> int: ...

    @property
    def headroom(self) -> int: ...


class ExpiringSigner(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def valid_until(self) -> datetime | None: ...


def signer_capacity_problem(signers: int, identity: IdentityChoice) -> str | None:
    """Environment events write one FIC per distinct trusted signer onto one identity; more than it holds
    would fail on every event after writing as many as fit, so such a policy is refused up front."""
    capacity = MAX_FICS_PER_IDENTITY
    where = f"a managed identity or application holds at most {capacity} FICs (Entra's limit)"
    if identity.strategy == "shared-pool":
        capacity = identity.shard_capacity - identity.headroom
        where = f"a {identity.pool_name} shard takes at most {capacity} (shardCapacity - headroom)"
    if signers <= capacity:
        return None
    return (
        f"{signers} distinct trusted signers need {signers} FICs per environment, but {where}: trust fewer "
        "signers (a CA-issued signer covers every certificate its CA issues under one subject name)"
    )


def dataverse_suffix_problem(suffix: str, cloud: Cloud, defaults: Iterable[str]) -> str | None:
    """Why a configured Dataverse host suffix is refused, or None. It must be a DNS name strictly under one
    of the cloud's Dataverse domains (the parents of its default suffixes: dynamics.com, dynamics.cn, ...),
    so a suffix can add a region (crm23.dynamics.com) but never send the service's tokens to other hosts.
    """
    normalised = suffix.lower().strip(".")
    if not _HOST_SUFFIX.fullmatch(normalised):
        return "must be a DNS name such as crm4.dynamics.com (letters, digits, '-' and dots)"
    domains = sorted({default.split(".", 1)[1] for default in defaults})
    if not any(normalised.endswith("." + domain) for domain in domains):
        return (
            f"must lie under the {cloud.value} cloud's Dataverse domains ({', '.join(domains)}), "
            "e.g. crm4.dynamics.com: the service sends Dataverse tokens to hosts under it"
        )
    return None


def signer_warnings(signers: Sequence[ExpiringSigner], now: datetime) -> list[str]:
    """Trusted certificates expired, or expiring within 30 days.

    Warnings, not errors: a policy must not stop the service on the day a certificate expires, and events
    signed with an expired certificate are rejected anyway.
    """
    found = []
    for index, signer in enumerate(signers):
        expiry = signer.valid_until
        label = f"trustedSigners[{index}] ({signer.name})"
        if expiry is not None and expiry <= now:
            found.append(
                f"{label}: its certificate expired on {expiry:%Y-%m-%d}; events signed with it are "
                "rejected, and its FICs serve only plug-ins signed before"
            )
        elif expiry is not None and expiry - now <= EXPIRY_WARNING:
            found.append(
                f"{label}: its certificate expires on {expiry:%Y-%m-%d}; add its successor to trustedSigners"
            )
    return found
