"""The azd hooks stop a deployment whose policy does not validate, with commands the CLI accepts."""

from __future__ import annotations

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
def test_preprovision_validates_the_policy_on_every_platform(platform: str) -> None:
    hook = hooks()["preprovision"][platform]

    assert hook["shell"] == ("sh" if platform == "posix" else "pwsh")
    assert hook.get("continueOnError", False) is False
    assert [argv[:2] for argv in ppmi_invocations(hook["run"])] == [["policy", "validate"]]


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

    passed = run_posix_hook(tmp_path, {})
    stopped = run_posix_hook(tmp_path, {"PPMI_POLICY_FILE_NAME": "broken.yaml"})

    assert passed.returncode == 0, passed.stderr
    assert passed.stdout.startswith("valid")
    assert stopped.returncode == 1
    assert stopped.stdout.startswith("invalid: tenantId: ")
