"""The azd hooks stop a deployment whose policy does not validate or whose parameters do not match it."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.cli import build_parser
from tests.infra.templates import REPO

PLATFORMS = ("posix", "windows")
CHECKED_HOOKS = ("preprovision", "predeploy")
SAMPLE_PARAMETERS = {
    "PPMI_IDENTITY_RESOURCE_GROUP": "rg-ppmi-identities",
    "PPMI_GRANTED_ROLE_IDS": '["4633458b-17de-408a-b874-0445c86b69e6"]',
    "PPMI_GRANT_SCOPES": json.dumps(
        ["/subscriptions/3b1f0c2e-5d4a-4e8b-9c7d-2a1b0c9d8e7f/resourceGroups/rg-plugin-secrets"]
    ),
}
# A simple command starts a line or follows `;`, `&&`, `||` or `|`.
COMMAND_SEPARATOR = re.compile(r"\s*(?:;|&&|\|\||\|)\s*")


def hooks() -> dict[str, Any]:
    project = yaml.safe_load((REPO / "azure.yaml").read_text())
    found: dict[str, Any] = project["hooks"]
    return found


def ppmi_invocations(script: str) -> list[list[str]]:
    commands = (part for line in script.splitlines() for part in COMMAND_SEPARATOR.split(line.strip()))
    return [shlex.split(command)[1:] for command in commands if command.startswith("ppmi ")]


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("name", CHECKED_HOOKS)
def test_provision_and_deploy_check_the_policy_on_every_platform(name: str, platform: str) -> None:
    hook = hooks()[name][platform]

    assert hook["shell"] == ("sh" if platform == "posix" else "pwsh")
    assert hook.get("continueOnError", False) is False
    assert [argv[:2] for argv in ppmi_invocations(hook["run"])] == [
        ["policy", "validate"],
        ["policy", "deployment-parameters"],
    ]
    assert "--check" in ppmi_invocations(hook["run"])[1]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_ppmi_command_in_the_hooks_is_one_the_cli_accepts(platform: str) -> None:
    for hook in hooks().values():
        for argv in ppmi_invocations(hook[platform]["run"]):
            arguments = build_parser().parse_args(argv)
            assert callable(arguments.func)


def run_posix_hook(workdir: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    shell = shutil.which("sh")
    assert shell is not None
    bin_dir = str(Path(sys.executable).parent)  # where the virtual environment installed `ppmi`
    return subprocess.run(  # noqa: S603 - runs the repository's own hook script
        [shell, "-c", hooks()["preprovision"]["posix"]["run"]],
        cwd=workdir,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_posix_hook_passes_a_valid_policy_and_stops_on_a_broken_one(tmp_path: Path) -> None:
    shutil.copy(REPO / "docs" / "policy.sample.yaml", tmp_path / "policy.yaml")
    (tmp_path / "broken.yaml").write_text("version: 1\ntenantId: nope\n")

    passed = run_posix_hook(tmp_path, SAMPLE_PARAMETERS)
    stopped = run_posix_hook(tmp_path, {**SAMPLE_PARAMETERS, "PPMI_POLICY_FILE_NAME": "broken.yaml"})

    assert passed.returncode == 0, passed.stderr
    assert passed.stdout.startswith("valid")
    assert stopped.returncode == 1
    assert stopped.stdout.startswith("invalid: tenantId: ")


def test_the_posix_hook_stops_when_the_granted_roles_differ_from_the_policy(tmp_path: Path) -> None:
    shutil.copy(REPO / "docs" / "policy.sample.yaml", tmp_path / "policy.yaml")

    stopped = run_posix_hook(tmp_path, {**SAMPLE_PARAMETERS, "PPMI_GRANTED_ROLE_IDS": "[]"})

    assert stopped.returncode == 1
    assert "PPMI_GRANTED_ROLE_IDS lacks 4633458b-17de-408a-b874-0445c86b69e6" in stopped.stderr
    assert 'eval "$(ppmi policy deployment-parameters)"' in stopped.stderr
