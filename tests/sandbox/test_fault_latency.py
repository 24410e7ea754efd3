"""Injected latency delays the service's replies by at least the configured time (lower bounds only)."""

from __future__ import annotations

import time

import httpx

from sandbox.server import Sandbox
from tests.sandbox.conftest import ARM, MSI_VERSION, ODATA_HEADERS

LATENCY_MS = 200
AT_LEAST_SECONDS = 0.18  # the configured 200 ms, less a margin for the clocks' resolution


def elapsed(send: httpx.Client, url: str, params: dict[str, str] | None = None) -> tuple[int, float]:
    started = time.perf_counter()
    response = send.get(url, params=params)
    return response.status_code, time.perf_counter() - started


def test_an_arm_request_waits_out_the_configured_latency(
    arm: httpx.Client, identities_url: str, sandbox: Sandbox
) -> None:
    sandbox.set_faults("none", services={"arm": {"latency_ms": LATENCY_MS}})
    status, took = elapsed(arm, identities_url, params=MSI_VERSION)
    assert status == 200
    assert took >= AT_LEAST_SECONDS


def test_a_dataverse_request_waits_out_the_configured_latency(sandbox: Sandbox) -> None:
    environment = sandbox.control.create_environment()
    url = environment.dataverse_url.rstrip("/")
    sandbox.set_faults("none", services={"dataverse": {"latency_ms": LATENCY_MS}})
    with sandbox.client(url, base_url=url, headers=ODATA_HEADERS) as dataverse:
        status, took = elapsed(dataverse, "/api/data/v9.2/managedidentities")
    assert status == 200
    assert took >= AT_LEAST_SECONDS


def test_a_token_request_waits_out_the_configured_latency(sandbox: Sandbox) -> None:
    sandbox.set_faults("none", services={"token": {"latency_ms": LATENCY_MS}})
    with httpx.Client(headers={"X-IDENTITY-HEADER": sandbox.env["IDENTITY_HEADER"]}) as client:
        status, took = elapsed(
            client,
            sandbox.env["IDENTITY_ENDPOINT"],
            params={"api-version": "2019-08-01", "resource": ARM},
        )
    assert status == 200
    assert took >= AT_LEAST_SECONDS


def test_a_latency_spike_adds_its_time(arm: httpx.Client, identities_url: str, sandbox: Sandbox) -> None:
    sandbox.set_faults("none", services={"arm": {"spike_rate": 1.0, "spike_ms": LATENCY_MS}})
    status, took = elapsed(arm, identities_url, params=MSI_VERSION)
    assert status == 200
    assert took >= AT_LEAST_SECONDS


def test_latency_delays_refusals_as_well_as_answers(
    arm: httpx.Client, identities_url: str, sandbox: Sandbox
) -> None:
    sandbox.set_faults("none", services={"arm": {"latency_ms": LATENCY_MS, "error_rate": 1.0}})
    status, took = elapsed(arm, identities_url, params=MSI_VERSION)
    assert status in {500, 503}
    assert took >= AT_LEAST_SECONDS
