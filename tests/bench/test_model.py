"""The lower-bound model: which limit binds, and by how much, for the scenarios' workloads."""

from __future__ import annotations

import pytest

from bench.model import Workload, bucket_seconds, lower_bound, required_calls
from bench.profile import AzureModel

MODEL = AzureModel.default(time_scale=10.0)
ARM_LATENCY = 0.12


def test_a_full_bucket_admits_its_burst_at_once_then_paces_the_rest() -> None:
    assert bucket_seconds(2, burst=2.0, per_second=2.0) == 0.0
    assert bucket_seconds(12, burst=2.0, per_second=2.0) == 5.0


def test_two_hundred_new_environments_are_bound_by_identity_writes_per_subscription() -> None:
    bound = lower_bound(Workload(200), MODEL)

    # 200 identities + 200 FICs at 2/s after a burst of 2, then one ARM call's latency
    assert bound.binding.startswith("managed identity writes per subscription")
    assert bound.seconds == pytest.approx((400 - 2) / 2 + ARM_LATENCY)


def test_one_environment_is_bound_by_its_identity_write_gap() -> None:
    bound = lower_bound(Workload(1), MODEL)

    # look-up, create the identity, wait 1 / 0.25 s for the identity's write bucket, write the FIC
    assert bound.binding == "critical path of one environment"
    assert bound.seconds == pytest.approx(0.15 + 4.0 + ARM_LATENCY + MODEL.fic_write_hold_seconds)


def test_each_more_signer_adds_one_identity_write_gap_to_the_critical_path() -> None:
    one = lower_bound(Workload(1, signers=1), MODEL).seconds
    three = lower_bound(Workload(1, signers=3), MODEL).seconds

    assert three - one == pytest.approx(2 / MODEL.identity_rates.write_per_identity)


def test_a_shared_pool_spreads_environments_over_the_fewest_shards_with_headroom() -> None:
    workload = Workload(200, strategy="shared-pool")
    calls = required_calls(workload)

    assert workload.identities == 12  # 200 FICs, 18 per shard
    assert max(workload.credentials_on(shard) for shard in range(12)) == 17
    assert calls.identity_calls[("subscription", "subscription", "write")] == 212
    bound = lower_bound(workload, MODEL)
    assert bound.binding.startswith("managed identity writes per subscription")
    assert bound.seconds == pytest.approx((212 - 2) / 2 + ARM_LATENCY)


def test_a_no_op_reconcile_needs_no_writes_and_is_bound_by_listing_credentials() -> None:
    workload = Workload(200, reconcile=True)
    calls = required_calls(workload)

    assert not [key for key in calls.identity_calls if key[2] in ("write", "delete")]
    assert "writes" not in calls.arm_calls
    bound = lower_bound(workload, MODEL)
    assert bound.binding.startswith("managed identity lists per subscription")
    assert bound.seconds == pytest.approx((200 - 5) / 5 + ARM_LATENCY)


def test_the_bound_is_in_model_seconds_whatever_the_time_scale() -> None:
    slow, fast = AzureModel.default(time_scale=1.0), AzureModel.default(time_scale=40.0)

    assert lower_bound(Workload(50), slow).seconds == lower_bound(Workload(50), fast).seconds
