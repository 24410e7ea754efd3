"""The Azure model reaches the sandbox and the product's policy at the same time scale."""

from __future__ import annotations

from pathlib import Path

from bench.profile import AzureModel, BenchPolicy, write_policy
from sandbox import FaultProfile
from shared.cli.demo import signing_certificate
from shared.policy import load_policy

ENV = {
    "PPMI_TENANT_ID": "7f2c1900-9fd4-4b89-91d3-79a649996f0a",
    "PPMI_SUBSCRIPTION_ID": "3b1f0c2e-5d4a-4e8b-9c7d-2a1b0c9d8e7f",
}


def test_the_model_takes_its_latencies_from_the_sandbox_azure_profile() -> None:
    model = AzureModel.default(time_scale=10.0)
    azure = FaultProfile.from_json({"profile": "azure", "time_scale": 10.0})

    assert model.latency_ms["arm"] / 10.0 == azure.for_service("arm").latency_ms


def test_the_sandbox_runs_the_documented_limits_faster_by_the_time_scale() -> None:
    config = AzureModel.default(time_scale=20.0).sandbox_config()

    assert config.profile == "azure"
    assert config.time_scale == 20.0
    assert config.identity_rates.write_per_subscription == 2.0  # scaled by the sandbox, not here
    assert config.fault_overrides == {}


def test_chaos_adds_errors_throttling_resets_and_spikes_on_top_of_azure() -> None:
    model = AzureModel.default(time_scale=10.0)
    config = model.sandbox_config(chaos=True)

    profile = FaultProfile.from_json(model.fault_overrides(chaos=True))
    arm = profile.for_service("arm")
    assert profile.rate_limits
    assert arm.latency_ms == model.latency_ms["arm"] / 10.0
    assert (arm.error_rate, arm.throttle_rate, arm.reset_rate, arm.spike_rate) == (0.05, 0.05, 0.02, 0.05)
    assert arm.retry_after_seconds == 0.1
    assert set(config.fault_overrides["services"]) == {"arm", "dataverse", "environments", "bap"}


def test_the_policy_paces_the_product_at_the_documented_limits_times_the_scale(tmp_path: Path) -> None:
    model = AzureModel.default(time_scale=10.0)

    path = write_policy(tmp_path, ENV, signing_certificate(), BenchPolicy("shared-pool"), model)

    policy = load_policy(path)
    assert policy.identity.strategy == "shared-pool"
    assert policy.identity.shard_capacity == 20
    assert policy.pacing.managed_identity_writes_per_subscription_per_second == 20.0
    assert policy.pacing.managed_identity_writes_per_identity_per_second == 2.5
    assert len(policy.role_grants) == 1
