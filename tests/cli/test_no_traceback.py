"""Every command, through every failure an operator meets, ends with a message and a documented exit code:
never a traceback. In-process for the failures of settings, network and credentials; Ctrl-C in a child."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import trustme

from sandbox.server import Sandbox
from shared.cli import main
from shared.cli._exit import ExitCode
from tests.cli.processes import PPMI
from tests.cli.test_help_examples import COMMANDS
from tests.domain.certificates import self_signed_der
from tests.domain.event_samples import sample
from tests.engine.conftest import PolicyWriter
from tests.messaging.conftest import Platform

ENVIRONMENT = "7efcc31a-c410-e20e-9b95-dd448cedf653"
NAMESPACE = "ServiceBusConnection__fullyQualifiedNamespace"
# Long-running commands, and the sandbox and demo (which bring their own stand-ins), have their own tests.
NOT_HERE = {"worker", "demo", "sandbox"}


def arguments(tmp_path: Path, environment: str) -> dict[str, list[str]]:
    """A valid command line for each command."""
    certificate = tmp_path / "signing.cer"
    certificate.write_bytes(self_signed_der())
    event = tmp_path / "event.json"
    event.write_text(json.dumps(sample("ppmi.environment.created")))
    tenant = "7f2c1900-9fd4-4b89-91d3-79a649996f0a"
    at = ["--environment-id", environment]
    return {
        "fic show": ["--tenant-id", tenant, *at, "--certificate", str(certificate)],
        "event validate": [str(event)],
        "event schema": ["ppmi.result"],
        "policy validate": [],
        "policy deployment-parameters": [],
        "plan": at,
        "apply": at,
        "upgrade": at,
        "verify": at,
        "preflight": at,
        "status": at,
        "publish": ["ppmi.environment.created", *at, "--wait", "--timeout", "2"],
        "requeue": ["--dry-run"],
    }


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _typo_policy(tmp_path: Path) -> str:
    broken = tmp_path / "typo.yaml"
    text = Path(os.environ["PPMI_POLICY_FILE"]).read_text(encoding="utf-8")
    broken.write_text(text.replace("trustedSigners:", "trustedSigner:"), encoding="utf-8")
    return str(broken)


def _other_ca(tmp_path: Path) -> str:
    path = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return str(path)


# What each failure does to the settings of a shell pointed at the sandbox (None: the variable is unset).
FAILURES: dict[str, Callable[[Path], dict[str, str | None]]] = {
    "nothing-listens": lambda _: {
        "PPMI_CONNECT_TO": f"127.0.0.1:{_closed_port()}",
        NAMESPACE: f"127.0.0.1:{_closed_port()}",
    },
    "stale-sandbox-settings": lambda _: {"IDENTITY_HEADER": "from-an-earlier-run"},
    "token-endpoint-gone": lambda _: {"IDENTITY_ENDPOINT": f"http://127.0.0.1:{_closed_port()}/msi/token"},
    "policy-typo": lambda tmp: {"PPMI_POLICY_FILE": _typo_policy(tmp)},
    # No managed identity and none of the developer sign-ins; only environment variables are tried, so the
    # chain fails here, without asking IMDS or starting `az`.
    "no-credentials": lambda _: {
        "IDENTITY_ENDPOINT": None,
        "IDENTITY_HEADER": None,
        "AZURE_TOKEN_CREDENTIALS": "EnvironmentCredential",
    },
    "credentials-setting-typo": lambda _: {
        "IDENTITY_ENDPOINT": None,
        "IDENTITY_HEADER": None,
        "AZURE_TOKEN_CREDENTIALS": "EnviromentCredential",
    },
    "settings-missing": lambda _: {"PPMI_POLICY_FILE": None, NAMESPACE: None},
    "trust-the-wrong-ca": lambda tmp: {"PPMI_CA_BUNDLE": _other_ca(tmp)},
}


def _apply(variables: dict[str, str | None], monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in variables.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


@pytest.mark.parametrize("failure", sorted(FAILURES))
@pytest.mark.parametrize("command", sorted(set(COMMANDS) - NOT_HERE))
def test_a_failure_is_a_message_and_an_exit_code(
    command: str,
    failure: str,
    platform: Platform,
    *,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PPMI_RETRY_BUDGET_SECONDS", "0.5")
    argv = [*command.split(), *arguments(tmp_path, ENVIRONMENT)[command]]
    _apply(FAILURES[failure](tmp_path), monkeypatch)

    code = main(argv)

    captured = capsys.readouterr()
    assert code in set(ExitCode), code
    assert "Traceback" not in captured.out + captured.err
    if code not in (ExitCode.OK, ExitCode.ATTENTION):
        message, *rest = captured.err.strip().splitlines()[-2:]
        assert message.startswith(f"ppmi {command}: ") or rest, captured.err
        assert len(captured.err.strip().splitlines()) <= 3, captured.err


@pytest.mark.parametrize("command", ["plan", "apply", "upgrade", "verify", "status"])
def test_a_bad_environment_id_is_a_usage_error(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--environment-id", "not-an-environment"])
    assert exited.value.code == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "'not-an-environment' must be an environment ID" in err
    assert "Traceback" not in err


def test_the_worker_names_a_policy_typo_at_start(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PPMI_POLICY_FILE", _typo_policy(tmp_path))

    assert main(["worker"]) == ExitCode.USAGE

    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "ppmi worker: the policy" in err
    assert "trustedSigner" in err


def _interrupted(argv: list[str], env: dict[str, str], ready: str) -> tuple[int, str]:
    """Run a command in a child, press Ctrl-C once it printed `ready` on stderr; exit code and stderr."""
    process = subprocess.Popen(  # noqa: S603 - our own console script
        [PPMI, *argv, "--progress"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if ready in line:
            break
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=60)
    return process.returncode, "".join(seen) + rest


def test_ctrl_c_stops_each_long_command_with_what_was_done_and_how_to_finish(
    platform: Platform, write_policy: PolicyWriter, tmp_path: Path
) -> None:
    sandbox: Sandbox = platform.sandbox
    environment = sandbox.control.create_environment(display_name="Slow").id
    sandbox.set_faults("none", services={"arm": {"latency_ms": 3000}})  # every ARM call takes three seconds
    env = {**os.environ, **platform.env}
    cases = [
        (["apply", "--environment-id", environment], "before any write", "run `ppmi apply` again to finish"),
        (["upgrade", "--environment-id", environment], "managedidentity row", "run `ppmi upgrade` again"),
        (["requeue", "--all"], "reading ppmi-kept", "stopped before any message was re-driven"),
        (
            [
                "publish",
                "ppmi.environment.created",
                "--environment-id",
                environment,
                "--id",
                "evt-1",
                "--wait",
            ],
            "waiting up to",
            "run the same command with --id evt-1 --wait to get its result",
        ),
    ]
    for argv, ready, says in cases:
        code, err = _interrupted(argv, env, ready)
        assert code == ExitCode.INTERRUPTED, err
        assert "Traceback" not in err
        assert says in err
