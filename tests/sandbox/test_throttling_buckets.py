"""ARM's subscription read bucket and the managed identity provider's subscription write bucket, made small:
a burst is served, the next request gets a 429 whose `Retry-After` says when to come back."""

from __future__ import annotations

import time

import httpx

from sandbox.server import Sandbox
from tests.sandbox.conftest import MSI_VERSION

GENEROUS_PROVIDER_READS = {
    "read_per_tenant": 1000.0,
    "read_per_subscription": 1000.0,
    "read_per_identity": 1000.0,
}


def read_identity(arm: httpx.Client, identities_url: str, name: str = "uami-read") -> httpx.Response:
    return arm.get(f"{identities_url}/{name}", params=MSI_VERSION)


def put_identity(arm: httpx.Client, identities_url: str, name: str) -> httpx.Response:
    return arm.put(f"{identities_url}/{name}", params=MSI_VERSION, json={"location": "westeurope"})


def test_reads_beyond_the_arm_read_burst_get_429_with_retry_after(
    arm: httpx.Client, identities_url: str, sandbox: Sandbox
) -> None:
    sandbox.configure(
        arm_buckets={"read_burst": 3.0, "read_refill": 0.5}, identity_rates=GENEROUS_PROVIDER_READS
    )
    sandbox.set_faults("none", rate_limits=True)

    replies = [read_identity(arm, identities_url) for _ in range(4)]

    assert [r.status_code for r in replies] == [404, 404, 404, 429]
    assert [r.headers["x-ms-ratelimit-remaining-subscription-reads"] for r in replies] == ["2", "1", "0", "0"]
    refused = replies[-1]
    assert refused.json()["error"]["code"] == "SubscriptionRequestsThrottled"
    assert "reads" in refused.json()["error"]["message"]
    assert refused.headers["Retry-After"] == "2"  # one token at half a token a second


def test_the_arm_read_bucket_refills_after_the_announced_wait(
    arm: httpx.Client, identities_url: str, sandbox: Sandbox
) -> None:
    sandbox.configure(
        arm_buckets={"read_burst": 2.0, "read_refill": 0.5}, identity_rates=GENEROUS_PROVIDER_READS
    )
    sandbox.set_faults("none", rate_limits=True, time_scale=20.0)  # refills 10 tokens a second
    assert [read_identity(arm, identities_url).status_code for _ in range(2)] == [404, 404]
    refused = read_identity(arm, identities_url)
    assert refused.status_code == 429
    wait = float(refused.headers["Retry-After"])
    assert 0 < wait <= 0.1

    time.sleep(wait)  # the refill the reply announced, not a timing assertion

    assert read_identity(arm, identities_url).status_code == 404


def test_an_empty_arm_read_bucket_does_not_hold_back_writes(
    arm: httpx.Client, identities_url: str, sandbox: Sandbox
) -> None:
    sandbox.configure(
        arm_buckets={"read_burst": 1.0, "read_refill": 0.01},
        identity_rates={"write_per_subscription": 1000.0, "write_per_identity": 1000.0},
    )
    sandbox.set_faults("none", rate_limits=True)
    read_identity(arm, identities_url)

    assert read_identity(arm, identities_url).status_code == 429
    assert put_identity(arm, identities_url, "uami-written").status_code == 201


def test_identity_writes_beyond_the_subscription_rate_get_429_with_retry_after(
    arm: httpx.Client, identities_url: str, sandbox: Sandbox
) -> None:
    sandbox.configure(identity_rates={"write_per_subscription": 2.0, "write_per_identity": 1000.0})
    sandbox.set_faults("none", rate_limits=True)

    replies = [put_identity(arm, identities_url, f"uami-{n}") for n in range(3)]

    assert [r.status_code for r in replies] == [201, 201, 429]
    refused = replies[-1]
    assert refused.json()["error"]["code"] == "TooManyRequests"
    assert "subscription" in refused.json()["error"]["message"]
    assert refused.headers["Retry-After"] == "1"  # one token at two tokens a second
    assert "uami-2" not in {identity["name"] for identity in sandbox.control.dump()["identities"]}


def test_the_subscription_write_bucket_refills_after_the_announced_wait(
    arm: httpx.Client, identities_url: str, sandbox: Sandbox
) -> None:
    sandbox.configure(identity_rates={"write_per_subscription": 1.0, "write_per_identity": 1000.0})
    sandbox.set_faults("none", rate_limits=True, time_scale=20.0)
    assert put_identity(arm, identities_url, "uami-a").status_code == 201
    refused = put_identity(arm, identities_url, "uami-b")
    assert refused.status_code == 429
    wait = float(refused.headers["Retry-After"])
    assert 0 < wait <= 0.05

    time.sleep(wait)  # the refill the reply announced, not a timing assertion

    assert put_identity(arm, identities_url, "uami-b").status_code == 201
