"""Fault profiles: injected errors, resets, latency, determinism by seed, and run-time switching."""

from __future__ import annotations

import httpx
import pytest

from sandbox.config import SandboxConfig
from sandbox.faults import FaultInjector, FaultProfile, named_profile
from sandbox.server import Sandbox
from tests.sandbox.conftest import ARM, MSI_VERSION


def list_identities(arm: httpx.Client, identities_url: str) -> httpx.Response:
    return arm.get(identities_url, params=MSI_VERSION)


def test_injected_server_errors_use_the_service_error_shape(
    arm: httpx.Client, identities_url: str, sandbox: Sandbox
) -> None:
    sandbox.set_faults("none", services={"arm": {"error_rate": 1.0}})
    responses = [list_identities(arm, identities_url) for _ in range(6)]
    codes = {(r.status_code, r.json()["error"]["code"]) for r in responses}
    assert codes <= {(500, "InternalServerError"), (503, "ServiceUnavailable")}
    assert sandbox.requests[-1].error_code in {"InternalServerError", "ServiceUnavailable"}


def test_injected_throttling_carries_retry_after(
    arm: httpx.Client, identities_url: str, sandbox: Sandbox
) -> None:
    sandbox.set_faults("none", services={"arm": {"throttle_rate": 1.0, "retry_after_seconds": 3}})
    response = list_identities(arm, identities_url)
    assert (response.status_code, response.headers["Retry-After"]) == (429, "3")


def test_injected_reset_drops_the_connection(
    arm: httpx.Client, identities_url: str, sandbox: Sandbox
) -> None:
    sandbox.set_faults("none", services={"arm": {"reset_rate": 1.0}})
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        list_identities(arm, identities_url)
    assert sandbox.requests[-1].error_code == "ConnectionReset"


def test_injected_hang_outlasts_the_client_timeout(sandbox: Sandbox, identities_url: str) -> None:
    sandbox.set_faults("none", hang_seconds=5.0, services={"arm": {"hang_rate": 1.0}})
    with sandbox.client(ARM, base_url=ARM, timeout=0.2) as arm, pytest.raises(httpx.ReadTimeout):
        list_identities(arm, identities_url)


def test_faults_hit_only_the_service_they_name(
    arm: httpx.Client, identities_url: str, sandbox: Sandbox
) -> None:
    sandbox.set_faults("none", services={"graph": {"error_rate": 1.0}})
    assert list_identities(arm, identities_url).status_code == 200


def test_reset_clears_faults(arm: httpx.Client, identities_url: str, sandbox: Sandbox) -> None:
    sandbox.set_faults("none", services={"arm": {"error_rate": 1.0}})
    sandbox.reset()
    assert list_identities(arm, identities_url).status_code == 200


def test_chaos_is_the_same_for_the_same_seed() -> None:
    def outcomes(seed: int) -> list[str]:
        injector = FaultInjector(named_profile("chaos", seed=seed))
        return [injector.outcome("arm") for _ in range(400)]

    assert outcomes(7) == outcomes(7)
    assert outcomes(7) != outcomes(8)


def test_chaos_injects_roughly_the_documented_rates() -> None:
    injector = FaultInjector(named_profile("chaos", seed=1))
    drawn = [injector.outcome("dataverse") for _ in range(20_000)]
    share = {outcome: drawn.count(outcome) / len(drawn) for outcome in set(drawn)}
    assert share["throttle"] == pytest.approx(0.05, abs=0.01)
    assert share["server_error"] + share["service_unavailable"] == pytest.approx(0.05, abs=0.01)
    assert share["reset"] == pytest.approx(0.02, abs=0.005)


def test_unknown_profile_and_service_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault profile"):
        named_profile("gentle")
    with pytest.raises(ValueError, match="unknown service"):
        FaultProfile.from_json({"services": {"mainframe": {"error_rate": 1}}})


def test_faults_can_be_set_through_the_control_api(
    arm: httpx.Client, identities_url: str, sandbox: Sandbox
) -> None:
    with sandbox.client(base_url=sandbox.url) as control:
        control.put("/_sandbox/faults", json={"profile": "none", "services": {"arm": {"error_rate": 1.0}}})
        current = control.get("/_sandbox/faults").json()
    assert current["services"]["arm"]["error_rate"] == 1.0
    assert list_identities(arm, identities_url).status_code >= 500


def test_start_up_fault_overrides_come_back_after_reset() -> None:
    config = SandboxConfig(servicebus=False, fault_overrides={"services": {"graph": {"error_rate": 1.0}}})
    with Sandbox(config) as sandbox:
        sandbox.set_faults("none")
        sandbox.reset()
        assert sandbox.runtime.faults.profile.for_service("graph").error_rate == 1.0
        assert sandbox.runtime.faults.profile.for_service("arm").error_rate == 0.0
