"""`ppmi verify` as an operator meets it: a working format 1 set-up is not called broken, a fix is one that
can help, and a read that fails says why instead of blaming permissions."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from sandbox.server import Sandbox
from shared.cli import main
from shared.cli._exit import ExitCode
from shared.cli.demo import write_demo_policy
from shared.engine import open_runtime, process
from shared.events import new_event
from shared.policy import load_policy
from shared.settings import Settings
from tests.diagnosis.conftest import Provisioned
from tests.domain.certificates import ca_issued_der
from tests.sandbox.certificates import issued


def test_a_format_1_row_with_its_format_1_fics_holds_and_the_upgrade_is_advice(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    leaf = (
        ca_issued_der().leaf_der
    )  # CA-issued: its format 1 subject (names) is not its format 2 one (hashes)
    policy = write_demo_policy(tmp_path, sandbox.env, leaf)
    policy.write_text(policy.read_text(encoding="utf-8") + "formatVersion: 1\n", encoding="utf-8")
    monkeypatch.setenv("PPMI_POLICY_FILE", str(policy))
    environment = sandbox.control.create_environment(display_name="Format 1")

    async def provision() -> None:
        settings = Settings.from_env()
        async with open_runtime(settings, load_policy(policy)) as runtime:
            created = new_event("ppmi.environment.created", {"environmentId": environment.id}, source="/t")
            assert (await process(created, runtime)).outcome == "succeeded"

    asyncio.run(provision())
    capsys.readouterr()

    code = main(["verify", "--environment-id", environment.id, "--output", "json"])

    report = json.loads(capsys.readouterr().out)
    assert code == ExitCode.OK
    assert report["healthy"] is True
    assert [(f["code"], f["severity"]) for f in report["findings"]] == [("row.old_version", "warning")]


def test_a_missing_fic_for_an_untrusted_signer_is_fixed_in_the_policy(
    provisioned: Provisioned, tmp_path: Path
) -> None:
    certificate = tmp_path / "other.cer"
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Fabrikam Signing")])
    certificate.write_bytes(issued(name, x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Fabrikam CA")])))

    verified = provisioned.verify("--certificate", str(certificate))

    fix = verified.finding("fic.missing")["fix"]
    assert fix.startswith("add the signing certificate under trustedSigners in the policy")


def test_a_service_that_keeps_failing_is_named_and_not_blamed_on_permissions(
    provisioned: Provisioned, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PPMI_RETRY_BUDGET_SECONDS", "0.5")
    provisioned.sandbox.set_faults("none", services={"environments": {"error_rate": 1.0}})

    verified = provisioned.verify(output="text")

    assert verified.exit_code == ExitCode.UNAVAILABLE
    message, hint = verified.stderr.strip().splitlines()
    assert message.startswith("ppmi verify: the Power Platform API kept answering HTTP 5")
    assert hint.startswith("try again later")
    assert "permission" not in verified.stderr


def test_an_endpoint_that_does_not_answer_is_named_with_the_setting_that_points_there(
    provisioned: Provisioned, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PPMI_CONNECT_TO", "127.0.0.1:9")  # discard: nothing listens
    monkeypatch.setenv("PPMI_RETRY_BUDGET_SECONDS", "0.5")

    verified = provisioned.verify(output="text")

    assert verified.exit_code == ExitCode.UNAVAILABLE
    message, hint = verified.stderr.strip().splitlines()
    assert message.startswith("ppmi verify: cannot reach the Power Platform API")
    assert "api.powerplatform.com" in message
    assert hint.startswith("PPMI_CONNECT_TO=127.0.0.1:9 sends every request there and nothing answers")
    assert "permission" not in verified.stderr
