"""`ppmi plan`, `ppmi apply` and `ppmi upgrade` against the sandbox, as an operator runs them."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

from sandbox.server import Sandbox
from shared.cli import main
from shared.cli._exit import ExitCode
from shared.cli._output import Output
from shared.clients.arm import IdentityAddress
from shared.engine import open_runtime
from shared.fic import federated_credential
from shared.policy import Policy
from shared.settings import Settings
from tests.engine.conftest import PolicyWriter, self_signed

LEGACY_FIC = "contoso-legacy"  # made by hand before ppmi, under a name ppmi would never choose


@pytest.fixture
def single_signer_policy(
    write_policy: PolicyWriter, signers: list[bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Policy:
    policy = write_policy(trusted=signers[:1])
    monkeypatch.setenv("PPMI_POLICY_FILE", str(tmp_path / "policy.yaml"))
    return policy


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def fic_names(sandbox: Sandbox, environment_id: str) -> set[str]:
    (identity,) = sandbox.control.dump()["identities"]
    assert identity["name"] == f"ppmi-{environment_id}"
    return {fic["name"] for fic in identity["federatedIdentityCredentials"]}


async def _make_legacy(policy: Policy, environment_id: str, host: str, row_id: str) -> None:
    """Turn ppmi's v2 set-up into what older tooling left behind: a v0 FIC and a version 0 row."""
    settings = policy.identity
    address = IdentityAddress(
        str(settings.subscription_id), str(settings.resource_group), f"ppmi-{environment_id}"
    )
    legacy = federated_credential(
        tenant_id=policy.tenant_id,
        environment_id=environment_id,
        signer=policy.trusted_signers[0].signer,
        format_version=0,
    )
    async with open_runtime(Settings.from_env(), policy) as runtime:
        for stored in await runtime.arm.list_federated_credentials(address):
            await runtime.arm.delete_federated_credential(address, stored.name)
        await runtime.arm.create_or_update_federated_credential(address, LEGACY_FIC, legacy)
        await runtime.dataverse(f"https://{host}").update_managed_identity(row_id, {"version": 0})


def test_a_v0_row_is_planned_upgraded_and_reverted(
    sandbox: Sandbox, single_signer_policy: Policy, capsys: pytest.CaptureFixture[str]
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    assert environment.host is not None
    assert run(capsys, "apply", "--environment-id", environment.id)[0] == 0
    (row,) = sandbox.control.rows(environment.id, "managedidentities")
    asyncio.run(
        _make_legacy(single_signer_policy, environment.id, environment.host, row["managedidentityid"])
    )

    code, out = run(capsys, "plan", "--environment-id", environment.id, "--output", "json")
    planned: dict[str, Any] = json.loads(out)
    assert code == 0  # apply would change nothing; the upgrade is an offer, not a pending change
    assert (planned["pending"], planned["upgradeAvailable"]) == (False, True)
    assert all(change["change"] in ("none", "check", "skip") for change in planned["apply"])
    upgrade = [(c["step"], c["change"]) for c in planned["upgrade"]]
    assert upgrade == [
        ("federated-credential", "create"),
        ("managed-identity-row", "update"),
        ("verify-row", "check"),
        ("federated-credential", "delete"),
        ("identity", "update"),
    ]

    assert run(capsys, "upgrade", "--environment-id", environment.id)[0] == 0
    (upgraded,) = sandbox.control.rows(environment.id, "managedidentities")
    assert upgraded["version"] == 2
    (current,) = fic_names(sandbox, environment.id)
    assert current != LEGACY_FIC

    code, out = run(capsys, "upgrade", "--environment-id", environment.id, "--revert")
    assert code == 0, out
    (reverted,) = sandbox.control.rows(environment.id, "managedidentities")
    assert reverted["version"] == 0
    (restored,) = fic_names(sandbox, environment.id)
    assert restored.endswith("-v0")

    code, out = run(capsys, "plan", "--environment-id", environment.id)
    assert code == 0  # the upgrade is on offer again, nothing else pending
    assert "ppmi apply: 0 change(s)" in out
    assert "ppmi upgrade: 4 change(s)" in out
    assert "an offer: run `ppmi upgrade`" in out


def test_plan_shows_a_new_environment_and_writes_nothing(
    sandbox: Sandbox, single_signer_policy: Policy, capsys: pytest.CaptureFixture[str]
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    code, out = run(capsys, "plan", "--environment-id", environment.id)
    assert code == 1
    assert f"+ identity               ppmi-{environment.id}" in out
    assert "+ managed-identity-row" in out
    assert all(not record.write for record in sandbox.requests)


def test_an_unknown_environment_is_rejected_with_a_hint(
    sandbox: Sandbox, single_signer_policy: Policy, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["apply", "--environment-id", "00000000-0000-0000-0000-000000000001"])
    captured = capsys.readouterr()
    assert code == ExitCode.REJECTED
    assert "does not exist" in captured.err
    assert "fix the cause" in captured.err
    assert captured.out == ""


def test_a_missing_policy_file_names_the_variable(
    sandbox: Sandbox, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PPMI_POLICY_FILE", raising=False)
    assert main(["plan", "--environment-id", "00000000-0000-0000-0000-000000000001"]) == 2
    assert "PPMI_POLICY_FILE" in capsys.readouterr().err


def _provisioned(sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> str:
    environment = sandbox.control.create_environment(display_name="Sales")
    assert run(capsys, "apply", "--environment-id", environment.id)[0] == 0
    return environment.id


def test_plan_reads_the_identity_and_its_fics_once(
    sandbox: Sandbox, single_signer_policy: Policy, capsys: pytest.CaptureFixture[str]
) -> None:
    environment_id = _provisioned(sandbox, capsys)
    before = len(sandbox.requests)

    assert run(capsys, "plan", "--environment-id", environment_id)[0] == 0

    reads = [r for r in sandbox.requests[before:] if r.service == "arm" and r.method == "GET"]
    identity_reads = [r for r in reads if r.path.lower().endswith(f"/ppmi-{environment_id}")]
    fic_lists = [r for r in reads if r.path.endswith("/federatedIdentityCredentials")]
    assert (len(identity_reads), len(fic_lists)) == (1, 1)


def test_plan_counts_only_writes_and_exits_zero_when_apply_would_change_nothing(
    sandbox: Sandbox, single_signer_policy: Policy, capsys: pytest.CaptureFixture[str]
) -> None:
    environment_id = _provisioned(sandbox, capsys)
    stranger = self_signed("Fabrikam Plug-ins")  # a package whose signer the policy does not trust
    sandbox.control.register_plugin_package(environment_id, stranger, name="Fabrikam")

    code, out = run(capsys, "plan", "--environment-id", environment_id)

    assert code == 0, out
    assert "ppmi apply: 0 change(s)" in out
    assert "! bind-component" in out  # the skip is shown, and not counted


def test_apply_checks_dataverse_before_it_creates_anything(
    sandbox: Sandbox, single_signer_policy: Policy, capsys: pytest.CaptureFixture[str]
) -> None:
    environment = sandbox.control.create_environment(display_name="No app user", app_users=())

    code = main(["apply", "--environment-id", environment.id])

    captured = capsys.readouterr()
    assert code == ExitCode.FAILED
    assert "not an application user" in captured.err
    assert sandbox.control.dump()["identities"] == []  # nothing was left half-made
    assert all(not record.write for record in sandbox.requests)


def test_removals_are_shown_and_need_yes(
    sandbox: Sandbox,
    *,
    write_policy: PolicyWriter,
    signers: list[bytes],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PPMI_POLICY_FILE", str(tmp_path / "policy.yaml"))
    write_policy(trusted=signers)
    environment_id = _provisioned(sandbox, capsys)
    write_policy(trusted=signers[:1])  # the second signer leaves the policy: its FIC is to go
    assert len(fic_names(sandbox, environment_id)) == 2

    code = main(["apply", "--environment-id", environment_id])

    captured = capsys.readouterr()
    assert code == ExitCode.USAGE
    assert "would remove 1 thing(s)" in captured.err
    assert "- federated-credential ppmi-" in captured.err
    assert "--yes" in captured.err
    assert len(fic_names(sandbox, environment_id)) == 2

    monkeypatch.setattr(Output, "interactive", property(lambda self: True))
    monkeypatch.setattr("builtins.input", lambda: "y")
    assert main(["apply", "--environment-id", environment_id]) == 0
    assert len(fic_names(sandbox, environment_id)) == 1


def test_an_upper_case_environment_id_is_named_as_such(
    sandbox: Sandbox, single_signer_policy: Policy, capsys: pytest.CaptureFixture[str]
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    for command in ("plan", "apply", "upgrade", "verify", "status"):
        with pytest.raises(SystemExit) as exited:
            main([command, "--environment-id", environment.id.upper()])
        assert exited.value.code == ExitCode.USAGE
        err = capsys.readouterr().err
        assert "is written in upper case" in err
        assert f"use {environment.id}" in err
    assert sandbox.requests == []


def test_a_write_refused_halfway_says_what_is_not_done_yet(
    sandbox: Sandbox, single_signer_policy: Policy, capsys: pytest.CaptureFixture[str]
) -> None:
    environment = sandbox.control.create_environment(display_name="Full")
    settings = single_signer_policy.identity
    identity = (
        f"/subscriptions/{settings.subscription_id}/resourceGroups/{settings.resource_group}/providers/"
        f"Microsoft.ManagedIdentity/userAssignedIdentities/ppmi-{environment.id}"
    )
    arm_url, version = "https://management.azure.com", {"api-version": "2024-11-30"}
    tags = {"team": "platform", "ppmi-owned": "true", "ppmi-environment": environment.id}
    with sandbox.client(arm_url, base_url=arm_url) as arm:  # ppmi's identity, filled to Entra's cap by hand
        arm.put(identity, params=version, json={"location": "westeurope", "tags": tags}).raise_for_status()
        for number in range(20):
            body = {
                "properties": {
                    "issuer": "https://token.actions.githubusercontent.com",
                    "subject": f"repo:contoso/app-{number}:environment:prod",
                    "audiences": ["api://AzureADTokenExchange"],
                }
            }
            fic = f"{identity}/federatedIdentityCredentials/hand-made-{number}"
            arm.put(fic, params=version, json=body).raise_for_status()

    code = main(["apply", "--environment-id", environment.id])

    err = capsys.readouterr().err
    assert code == ExitCode.FAILED
    not_done = err.split("Not done yet:\n", 1)[1]
    for step in ("federated-credential", "managed-identity-row", "role-assignment"):
        assert f"  {step} " in not_done
    assert "run `ppmi apply` again" in err


def test_progress_shows_each_step_and_each_throttling_wait_on_stderr(
    sandbox: Sandbox, single_signer_policy: Policy, capsys: pytest.CaptureFixture[str]
) -> None:
    environment = sandbox.control.create_environment(display_name="Throttled")
    sandbox.set_faults("none", seed=1, services={"arm": {"throttle_rate": 0.15, "retry_after_seconds": 1.0}})

    code = main(["apply", "--environment-id", environment.id, "--progress"])

    captured = capsys.readouterr()
    assert code == ExitCode.OK, captured.err
    assert f"  + created   identity ppmi-{environment.id}" in captured.err
    assert "  + created   managed-identity-row " in captured.err
    assert re.search(r"  ARM answered 429 \S* ?to \S+ .*; waiting 1 s", captured.err), captured.err
    assert "answered 429" not in captured.out  # the answer stays on stdout, alone

    main(["apply", "--environment-id", environment.id])  # piped, without --progress: quiet
    assert capsys.readouterr().err == ""
