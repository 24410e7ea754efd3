"""The Azure model the benchmarks run against: the sandbox's `azure` fault profile, time-scaled.

One `AzureModel` feeds three consumers, so they cannot disagree: the sandbox (latencies, rate limits,
replication delays), the product's policy (its pacing knobs, scaled like the sandbox), and the lower-bound
model. Every limit is the documented one (domain.md §2.4, §4); only the clock runs `time_scale` times faster.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sandbox import ArmBuckets, DataverseLimits, FaultProfile, ManagedIdentityRates, SandboxConfig
from sandbox.servicebus import DEFAULT_QUEUES, QueueOptions

# Per-request fault rates of the chaos overlay, on top of the Azure latencies and limits.
CHAOS_FAULTS: dict[str, float] = {
    "error_rate": 0.05,  # half 500, half 503
    "throttle_rate": 0.05,  # 429 with Retry-After, independent of the rate limits
    "reset_rate": 0.02,  # TCP reset before the handler runs
    "spike_rate": 0.05,
}
CHAOS_SPIKE_MS = 1500.0  # model milliseconds added to a spiking request
CHAOS_RETRY_AFTER_SECONDS = 1.0  # model seconds a chaos 429 asks the caller to wait
CHAOS_SERVICES = ("arm", "dataverse", "environments", "bap")


# Five times faster than Azure: the whole run takes about three minutes, and the product's own CPU (which does
# not scale) still counts for little against the API limits on a two-core machine. At ten, the worker's and
# the sandbox's CPU, multiplied by ten in model time, crowd out the limits being measured.
DEFAULT_TIME_SCALE = 5.0
QUEUE_LOCK_SECONDS = 60.0  # every ppmi queue's lockDuration as deployed


@dataclass(frozen=True)
class AzureModel:
    """Latencies and limits in model (real Azure) units; the sandbox runs `time_scale` times faster."""

    time_scale: float = DEFAULT_TIME_SCALE
    seed: int = 7
    latency_ms: dict[str, float] = field(default_factory=dict)
    identity_rates: ManagedIdentityRates = field(default_factory=ManagedIdentityRates)
    arm_buckets: ArmBuckets = field(default_factory=ArmBuckets)
    dataverse_limits: DataverseLimits = field(default_factory=DataverseLimits)
    fic_write_hold_seconds: float = 0.05
    principal_propagation_seconds: float = 0.3

    @classmethod
    def default(cls, time_scale: float = DEFAULT_TIME_SCALE, seed: int = 7) -> AzureModel:
        """The sandbox's `azure` profile latencies, read back in model milliseconds."""
        profile = FaultProfile.from_json({"profile": "azure", "time_scale": 1.0})
        latencies = {name: faults.latency_ms for name, faults in profile.services.items()}
        config = SandboxConfig()
        return cls(
            time_scale=time_scale,
            seed=seed,
            latency_ms=latencies,
            fic_write_hold_seconds=config.fic_write_hold_seconds,
            principal_propagation_seconds=config.principal_propagation_seconds,
        )

    def latency_seconds(self, service: str) -> float:
        """The smallest model latency of one call (the profile adds jitter on top, never less)."""
        return self.latency_ms.get(service, 0.0) / 1000.0

    def fault_overrides(self, *, chaos: bool) -> dict[str, Any]:
        """The control-API shape of the fault profile: `azure`, plus the chaos rates when asked."""
        body: dict[str, Any] = {"profile": "azure", "seed": self.seed, "time_scale": self.time_scale}
        if chaos:
            body["services"] = {
                service: {
                    **CHAOS_FAULTS,
                    "spike_ms": CHAOS_SPIKE_MS / self.time_scale,
                    "retry_after_seconds": CHAOS_RETRY_AFTER_SECONDS / self.time_scale,
                }
                for service in CHAOS_SERVICES
            }
        return body

    def sandbox_config(self, *, chaos: bool = False) -> SandboxConfig:
        """A sandbox that behaves like Azure at `time_scale`; page sizes as ARM's (100), not tests' (2)."""
        overrides = self.fault_overrides(chaos=chaos)
        return SandboxConfig(
            seed=self.seed,
            profile="azure",
            time_scale=self.time_scale,
            fault_overrides={"services": overrides["services"]} if chaos else {},
            arm_page_size=100,
            environments_page_size=100,
            # The groups a deployment would have made: the policy's identities, the naive baseline's.
            resource_groups={"rg-ppmi-bench": "westeurope", "rg-naive": "westeurope"},
            fic_write_hold_seconds=self.fic_write_hold_seconds,
            principal_propagation_seconds=self.principal_propagation_seconds,
            identity_rates=ManagedIdentityRates(**vars(self.identity_rates)),
            arm_buckets=ArmBuckets(**vars(self.arm_buckets)),
            dataverse_limits=DataverseLimits(**vars(self.dataverse_limits)),
        )

    def servicebus_queues(self) -> dict[str, QueueOptions]:
        """ppmi's queues with the deployed lock duration (infra/core/messaging/service-bus.bicep: PT1M),
        time-scaled: a consumer that holds a message or session longer than that, unrenewed, loses it."""
        lock = self.scaled(QUEUE_LOCK_SECONDS)
        return {name: replace(options, lock_duration=lock) for name, options in DEFAULT_QUEUES.items()}

    def scaled(self, model_seconds: float) -> float:
        """Model seconds as wall-clock seconds in the scaled sandbox."""
        return model_seconds / self.time_scale


@dataclass(frozen=True)
class BenchPolicy:
    """What the product is told: strategy, one trusted signer, one role grant, pacing at the model's scale."""

    strategy: str
    shard_capacity: int = 20
    headroom: int = 2
    grants: int = 1


KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"


def write_policy(
    directory: Path, env: dict[str, str], certificate: bytes, policy: BenchPolicy, model: AzureModel
) -> Path:
    """The policy file the worker reads; pacing is the documented default times `time_scale`."""
    (directory / "signing.cer").write_bytes(certificate)
    rates = model.identity_rates
    scale = model.time_scale
    pool = ""
    if policy.strategy == "shared-pool":
        pool = (
            f"  poolName: ppmi-pool\n  shardCapacity: {policy.shard_capacity}\n"
            f"  headroom: {policy.headroom}\n"
        )
    grants = "".join(
        f"  - roleDefinitionId: {KEY_VAULT_SECRETS_USER}\n"
        f"    scope: /subscriptions/{{subscriptionId}}/resourceGroups/rg-kv/providers/"
        f"Microsoft.KeyVault/vaults/kv-bench-{index}\n"
        for index in range(policy.grants)
    )
    path = directory / f"policy-{policy.strategy}.yaml"
    path.write_text(
        f"""\
version: 1
tenantId: {env["PPMI_TENANT_ID"]}
identity:
  strategy: {policy.strategy}
  subscriptionId: {env["PPMI_SUBSCRIPTION_ID"]}
  resourceGroup: rg-ppmi-bench
  location: westeurope
{pool}trustedSigners:
  - name: contoso-bench
    certificate: signing.cer
roleGrants:
{grants}pacing:
  managedIdentityWritesPerSubscriptionPerSecond: {rates.write_per_subscription * scale}
  managedIdentityWritesPerIdentityPerSecond: {rates.write_per_identity * scale}
  armWritesPerSecond: {model.arm_buckets.write_refill * scale}
  armWriteBurst: {int(model.arm_buckets.write_burst)}
""",
        encoding="utf-8",
    )
    return path
