"""The lower bound: how fast any correct procedure could finish a workload under the modelled Azure limits.

The bound counts only the calls a workload cannot do without (the writes that create the state, and for a
reconcile the reads that verify it), never what the product happens to send, so it cannot flatter the product.
It is the largest of:

- each token bucket the sandbox enforces (managed identity provider per tenant / subscription / identity and
  operation, ARM per subscription and kind): `n` calls drawn from a bucket of burst `b` refilling `r`/s are
  admitted no sooner than `(n - b) / r`, and the last one then still takes its call latency;
- Dataverse per organisation: `n` requests of latency `l` under a cap of `c` concurrent need `n * l / c`;
- the critical path of dependent calls for one environment: lookup → identity → (per-identity write gap) →
  FIC, and identity → row → binding, and identity → (replication delay) → role assignment.

All figures are model seconds (real Azure time); divide by the time scale for the sandbox's wall clock.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from bench.profile import AzureModel

Strategy = Literal["per-environment", "shared-pool"]
Operation = Literal["read", "list", "write", "delete"]
ARM_KIND: dict[Operation, str] = {"read": "reads", "list": "reads", "write": "writes", "delete": "deletes"}


@dataclass(frozen=True)
class Workload:
    """What a scenario asks for: environments, plug-in packages each, trusted signers, role grants."""

    environments: int
    packages_per_environment: int = 3
    signers: int = 1
    grants: int = 1
    strategy: Strategy = "per-environment"
    shard_capacity: int = 20
    headroom: int = 2
    reconcile: bool = False  # verify existing state (reads) instead of creating it (writes)

    @property
    def identities(self) -> int:
        if self.strategy == "per-environment":
            return self.environments
        per_shard = self.shard_capacity - self.headroom
        return math.ceil(self.environments * self.signers / per_shard)

    def credentials_on(self, shard: int) -> int:
        """FICs the minimal placement puts on identity `shard` (shards filled evenly)."""
        total = self.environments * self.signers
        if self.strategy == "per-environment":
            return self.signers
        base, extra = divmod(total, self.identities)
        return base + (1 if shard < extra else 0)


@dataclass
class RequiredCalls:
    """Calls counted per bucket: managed identity `(scope, key, operation)` and ARM `(kind)`."""

    identity_calls: Counter[tuple[str, str, Operation]] = field(default_factory=Counter)
    arm_calls: Counter[str] = field(default_factory=Counter)
    dataverse_per_organization: int = 0

    def add_identity_call(self, identity: str, operation: Operation, count: int = 1) -> None:
        """A managed identity provider call: it draws from tenant, subscription and identity buckets."""
        for scope, key in (("tenant", "tenant"), ("subscription", "subscription"), ("identity", identity)):
            self.identity_calls[(scope, key, operation)] += count
        self.arm_calls[ARM_KIND[operation]] += count

    def add_arm_call(self, operation: Operation, count: int = 1) -> None:
        """Any other ARM call (role assignments): only the subscription's ARM bucket."""
        self.arm_calls[ARM_KIND[operation]] += count


def required_calls(workload: Workload) -> RequiredCalls:
    """The calls no correct procedure can skip."""
    calls = RequiredCalls()
    identities = workload.identities
    if workload.reconcile:
        for index in range(identities):
            calls.add_identity_call(f"id-{index}", "read")  # clientId, principalId
            calls.add_identity_call(f"id-{index}", "list")  # its FICs
        calls.add_arm_call("read", workload.environments * workload.grants)
        calls.dataverse_per_organization = 1 + workload.packages_per_environment  # row and bindings
        return calls
    for index in range(identities):
        calls.add_identity_call(f"id-{index}", "write")  # create the identity
        calls.add_identity_call(f"id-{index}", "write", workload.credentials_on(index))
    calls.add_arm_call("write", identities * workload.grants)
    calls.dataverse_per_organization = 1 + workload.packages_per_environment  # row, then each binding
    return calls


@dataclass(frozen=True)
class Bound:
    name: str
    seconds: float


@dataclass(frozen=True)
class LowerBound:
    """The bound and every term it is the maximum of, in model seconds."""

    seconds: float
    binding: str
    terms: tuple[Bound, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "seconds": round(self.seconds, 3),
            "binding": self.binding,
            "terms": {term.name: round(term.seconds, 3) for term in self.terms},
        }


def bucket_seconds(calls: int, burst: float, per_second: float) -> float:
    """When the last of `calls` is admitted by a token bucket that starts full."""
    return max(0.0, (calls - math.floor(burst)) / per_second)


def lower_bound(workload: Workload, model: AzureModel) -> LowerBound:
    calls = required_calls(workload)
    arm = model.latency_seconds("arm")
    terms = [*_identity_bucket_terms(calls, model, arm), *_arm_bucket_terms(calls, model, arm)]
    terms.append(_dataverse_term(calls, model))
    terms.append(Bound("critical path of one environment", _critical_path(workload, model)))
    binding = max(terms, key=lambda term: term.seconds)
    return LowerBound(binding.seconds, binding.name, tuple(terms))


def _identity_bucket_terms(calls: RequiredCalls, model: AzureModel, latency: float) -> list[Bound]:
    """Per (scope, operation), the busiest bucket; the sandbox's burst is max(1, rate)."""
    busiest: dict[tuple[str, Operation], int] = {}
    for (scope, _, operation), count in calls.identity_calls.items():
        busiest[(scope, operation)] = max(busiest.get((scope, operation), 0), count)
    terms = []
    for (scope, operation), count in sorted(busiest.items()):
        rate: float = getattr(model.identity_rates, f"{operation}_per_{scope}")
        seconds = bucket_seconds(count, max(1.0, rate), rate) + latency
        terms.append(Bound(f"managed identity {operation}s per {scope} ({count} at {rate}/s)", seconds))
    return terms


def _arm_bucket_terms(calls: RequiredCalls, model: AzureModel, latency: float) -> list[Bound]:
    buckets = model.arm_buckets
    limits = {
        "reads": (buckets.read_burst, buckets.read_refill),
        "writes": (buckets.write_burst, buckets.write_refill),
        "deletes": (buckets.delete_burst, buckets.delete_refill),
    }
    terms = []
    for kind, count in sorted(calls.arm_calls.items()):
        burst, refill = limits[kind]
        seconds = bucket_seconds(count, burst, refill) + latency
        terms.append(Bound(f"ARM {kind} per subscription ({count}, burst {burst:g}, {refill:g}/s)", seconds))
    return terms


def _dataverse_term(calls: RequiredCalls, model: AzureModel) -> Bound:
    limits = model.dataverse_limits
    count = calls.dataverse_per_organization
    latency = model.latency_seconds("dataverse")
    windows = (count - 1) // limits.max_requests  # full 5-minute windows spent waiting for the count limit
    seconds = max(count * latency / limits.max_concurrent, windows * limits.window_seconds + latency)
    return Bound(
        f"Dataverse per organisation ({count} requests, {limits.max_concurrent} concurrent)", seconds
    )


def _critical_path(workload: Workload, model: AzureModel) -> float:
    """Dependent calls for one environment, each taking at least the profile's latency."""
    arm = model.latency_seconds("arm")
    dataverse = model.latency_seconds("dataverse")
    lookup = model.latency_seconds("environments")
    if workload.reconcile:
        # look up the environment, then read the identity and (in parallel) the row and its bindings
        return lookup + max(arm, dataverse)
    # the FIC write waits for the identity's write bucket to refill after the identity was created
    gap = workload.signers / model.identity_rates.write_per_identity
    credential = gap + arm + model.fic_write_hold_seconds
    row_then_binding = arm + 2 * dataverse
    grant = max(arm, model.principal_propagation_seconds) + arm
    return lookup + max(credential, row_then_binding, grant)
