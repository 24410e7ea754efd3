"""Documented rate limits: ARM and managed-identity token buckets, Dataverse service protection."""

from __future__ import annotations

import asyncio
import time

import httpx

from sandbox.config import SandboxConfig
from sandbox.server import Sandbox
from tests.sandbox.conftest import ARM, MSI_VERSION, ODATA_HEADERS


def put_identity(arm: httpx.Client, identities_url: str, name: str) -> httpx.Response:
    return arm.put(f"{identities_url}/{name}", params=MSI_VERSION, json={"location": "westeurope"})


def test_identity_writes_beyond_the_per_identity_rate_get_429_with_retry_after(
    arm: httpx.Client, identities_url: str, sandbox: Sandbox
) -> None:
    sandbox.set_faults("azure", services={"arm": {"latency_ms": 0, "jitter_ms": 0}})
    first = put_identity(arm, identities_url, "uami-rate")
    second = put_identity(arm, identities_url, "uami-rate")
    assert (first.status_code, second.status_code) == (201, 429)
    assert second.json()["error"]["code"] == "TooManyRequests"
    assert int(second.headers["Retry-After"]) >= 1


def test_time_scale_speeds_up_the_refill_and_retry_after_follows(
    arm: httpx.Client, identities_url: str, sandbox: Sandbox
) -> None:
    sandbox.set_faults("azure", time_scale=100.0, services={"arm": {"latency_ms": 0, "jitter_ms": 0}})
    put_identity(arm, identities_url, "uami-fast")
    refused = put_identity(arm, identities_url, "uami-fast")
    assert refused.status_code == 429
    wait = float(refused.headers["Retry-After"])
    assert 0 < wait < 1
    time.sleep(wait)  # the refill the reply announced, not a timing assertion
    assert put_identity(arm, identities_url, "uami-fast").status_code == 200


def test_arm_subscription_write_bucket_refuses_when_empty(
    arm: httpx.Client, identities_url: str, sandbox: Sandbox
) -> None:
    sandbox.configure(
        arm_buckets={"write_burst": 3.0, "write_refill": 0.01},
        identity_rates={"write_per_subscription": 1000.0, "write_per_identity": 1000.0},
    )
    sandbox.set_faults("azure", services={"arm": {"latency_ms": 0, "jitter_ms": 0}})
    statuses = [put_identity(arm, identities_url, f"uami-{n}") for n in range(4)]
    assert [r.status_code for r in statuses] == [201, 201, 201, 429]
    assert statuses[-1].json()["error"]["code"] == "SubscriptionRequestsThrottled"
    assert statuses[2].headers["x-ms-ratelimit-remaining-subscription-writes"] == "0"


def test_no_rate_limits_without_a_profile_that_enables_them(arm: httpx.Client, identities_url: str) -> None:
    statuses = {put_identity(arm, identities_url, "uami-free").status_code for _ in range(5)}
    assert statuses == {201, 200}


def dataverse(sandbox: Sandbox) -> tuple[httpx.Client, str]:
    environment = sandbox.control.create_environment()
    url = environment.dataverse_url.rstrip("/")
    return sandbox.client(url, base_url=url, headers=ODATA_HEADERS), url


def test_dataverse_requests_beyond_the_window_limit_get_0x80072322(sandbox: Sandbox) -> None:
    sandbox.configure(dataverse_limits={"max_requests": 3})
    client, _ = dataverse(sandbox)
    with client:
        responses = [client.get("/api/data/v9.2/managedidentities") for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert responses[-1].json()["error"]["code"] == "0x80072322"
    assert int(responses[-1].headers["Retry-After"]) > 0


def test_dataverse_execution_time_beyond_the_limit_gets_0x80072321(sandbox: Sandbox) -> None:
    sandbox.configure(dataverse_limits={"max_execution_seconds": 0.05})
    sandbox.set_faults("none", services={"dataverse": {"latency_ms": 60}})
    client, _ = dataverse(sandbox)
    with client:
        first = client.get("/api/data/v9.2/managedidentities")
        second = client.get("/api/data/v9.2/managedidentities")
    assert (first.status_code, second.status_code) == (200, 429)
    assert second.json()["error"]["code"] == "0x80072321"


async def test_dataverse_more_than_52_concurrent_requests_get_0x80072326(sandbox: Sandbox) -> None:
    sandbox.set_faults("none", services={"dataverse": {"latency_ms": 500}})
    environment = sandbox.control.create_environment()
    url = environment.dataverse_url.rstrip("/")
    async with sandbox.async_client(url, base_url=url, headers=ODATA_HEADERS) as client:
        responses = await asyncio.gather(*(client.get("/api/data/v9.2/managedidentities") for _ in range(60)))
    refused = [r.json()["error"]["code"] for r in responses if r.status_code == 429]
    served = sum(r.status_code == 200 for r in responses)
    # All 60 arrive while the first are still in flight, so exactly 52 are served (more only if a
    # handshake were slower than the injected latency, letting an early request finish first).
    assert 52 <= served < 60
    assert refused == ["0x80072326"] * (60 - served)


def test_start_up_profile_comes_back_after_reset() -> None:
    with Sandbox(SandboxConfig(profile="azure", time_scale=1000.0, servicebus=False)) as sandbox:
        sandbox.set_faults("none")
        sandbox.reset()
        assert sandbox.runtime.faults.profile.name == "azure"
        assert sandbox.runtime.faults.profile.time_scale == 1000.0
        with sandbox.client(ARM, base_url=ARM) as arm:
            url = (
                f"/subscriptions/{sandbox.env['PPMI_SUBSCRIPTION_ID']}/resourceGroups/rg-ppmi-identities/providers/"
                "Microsoft.ManagedIdentity/userAssignedIdentities/uami"
            )
            assert arm.put(url, params=MSI_VERSION, json={"location": "westeurope"}).status_code == 201


def test_a_throttled_reply_still_reports_what_is_left(
    arm: httpx.Client, identities_url: str, sandbox: Sandbox
) -> None:
    sandbox.configure(arm_buckets={"write_burst": 1.0, "write_refill": 0.01})
    sandbox.set_faults("azure", services={"arm": {"latency_ms": 0, "jitter_ms": 0}})
    put_identity(arm, identities_url, "uami-a")
    refused = put_identity(arm, identities_url, "uami-b")
    assert refused.status_code == 429
    assert refused.headers["x-ms-ratelimit-remaining-subscription-writes"] == "0"


def test_listing_a_resource_groups_identities_is_paced_per_subscription_not_per_identity(
    arm: httpx.Client, identities_url: str, sandbox: Sandbox
) -> None:
    sandbox.set_faults("azure", services={"arm": {"latency_ms": 0, "jitter_ms": 0}})
    lists = [arm.get(identities_url, params=MSI_VERSION).status_code for _ in range(6)]
    assert lists == [200] * 5 + [429]  # the subscription's list bucket holds 5


def test_listing_one_identitys_credentials_is_still_paced_per_identity(
    arm: httpx.Client, identities_url: str, sandbox: Sandbox
) -> None:
    sandbox.configure(identity_rates={"write_per_identity": 1000.0})
    sandbox.set_faults("azure", services={"arm": {"latency_ms": 0, "jitter_ms": 0}})
    put_identity(arm, identities_url, "uami-listed")
    credentials = f"{identities_url}/uami-listed/federatedIdentityCredentials"
    statuses = [arm.get(credentials, params=MSI_VERSION).status_code for _ in range(2)]
    assert statuses == [200, 429]
