"""Reading the pipeline templates the way their runners would: steps, declared inputs, the usage example."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ALM = Path(__file__).resolve().parents[2] / "alm"
GITHUB = ALM / "github" / "ppmi-plugin.yml"
AZURE_DEVOPS = ALM / "azure-devops" / "ppmi-plugin.yml"

# Template expressions: `${{ inputs.x }}` (GitHub), `${{ parameters.x }}` (Azure DevOps), `${{ runner.temp }}`
EXPRESSION = re.compile(r"\$\{\{\s*([A-Za-z]+)\.([A-Za-z0-9_.-]+)\s*\}\}")
# `$(Agent.TempDirectory)`: Azure DevOps macros; `$(tail -n 1 f)` (shell substitution) has spaces and stays.
MACRO = re.compile(r"\$\(([A-Za-z][A-Za-z0-9_.]*)\)")


@dataclass(frozen=True)
class Step:
    """One step's script, the shell that runs it, its environment and its name as the log shows it."""

    name: str
    script: str
    shell: str
    env: dict[str, str]
    id: str | None


@dataclass(frozen=True)
class Template:
    path: Path
    document: dict[Any, Any]
    inputs: dict[str, dict[str, Any]]
    expression_context: str
    steps: list[Step]
    usage: dict[str, Any]

    @property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")

    def step(self, step_id: str) -> Step:
        return next(step for step in self.steps if step.id == step_id)


def _usage_example(path: Path) -> dict[str, Any]:
    """The last header paragraph indented under '#   ': the YAML a caller pastes."""
    header = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        header.append(line[1:])
    paragraphs = "\n".join(header).split("\n\n")
    usage = [
        text for text in paragraphs if all(line.startswith("   ") for line in text.strip("\n").split("\n"))
    ]
    loaded: dict[str, Any] = yaml.safe_load(textwrap.dedent(usage[-1]))
    return loaded


def load_github(path: Path = GITHUB, job: str = "plugin") -> Template:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as the boolean true.
    inputs = document[True]["workflow_call"]["inputs"]
    steps = [
        Step(
            name=step.get("name", step.get("uses", "")),
            script=step["run"],
            shell=step.get("shell", "bash"),
            env={key: str(value) for key, value in step.get("env", {}).items()},
            id=step.get("id"),
        )
        for step in document["jobs"][job]["steps"]
        if "run" in step
    ]
    usage = _usage_example(path)["jobs"][job]["with"]
    return Template(path, document, inputs, "inputs", steps, usage)


def _azure_devops_steps(raw_steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Flattens `${{ if ... }}:` blocks, as template expansion would when the condition holds."""
    flat: list[dict[str, Any]] = []
    for step in raw_steps:
        key = next(iter(step))
        if key.startswith("${{"):
            flat.extend(_azure_devops_steps(step[key]))
        else:
            flat.append(step)
    return flat


def _azure_devops_step(step: dict[str, Any]) -> Step | None:
    env = {key: str(value) for key, value in step.get("env", {}).items()}
    name = step.get("displayName", step.get("task", ""))
    for shell in ("pwsh", "bash", "script"):
        if shell in step:
            return Step(name, step[shell], "pwsh" if shell == "pwsh" else "bash", env, step.get("name"))
    inputs = step.get("inputs", {})
    if "inlineScript" in inputs:
        shell = "bash" if inputs["scriptType"] == "bash" else "pwsh"
        return Step(name, inputs["inlineScript"], shell, env, step.get("name"))
    return None


def load_azure_devops(path: Path = AZURE_DEVOPS) -> Template:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    inputs = {parameter["name"]: parameter for parameter in document["parameters"]}
    job = document["jobs"][0]
    steps = [
        parsed
        for step in _azure_devops_steps(job["steps"])
        if (parsed := _azure_devops_step(step)) is not None
    ]
    usage = _usage_example(path)["jobs"][0]["parameters"]
    return Template(path, document, inputs, "parameters", steps, usage)


def used_inputs(template: Template) -> set[str]:
    return {
        name for context, name in EXPRESSION.findall(template.text) if context == template.expression_context
    }


def expand(text: str, template: Template, values: dict[str, Any], macros: dict[str, str]) -> str:
    """Replace template expressions and macros the way the runner does before the shell sees the script."""

    def expression(match: re.Match[str]) -> str:
        context, name = match.groups()
        if context == template.expression_context:
            return str(values[name])
        return macros[f"{context}.{name}"]

    expanded = EXPRESSION.sub(expression, text)
    return MACRO.sub(lambda match: macros.get(match.group(1), match.group(0)), expanded)


_ASSIGNMENT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)=\"([^\"]*)\"\s*$")
_SHELL_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_CONTINUATION = re.compile(r"\s*[\\`]\n\s*")


def command_lines(script: str, program: str) -> list[str]:
    """Lines that run `program`, with bash (`\\`) and PowerShell (backtick) continuations joined."""
    joined = _CONTINUATION.sub(" ", script)
    return [line.strip() for line in joined.splitlines() if line.strip().startswith(f"{program} ")]


def substitute_shell_variables(line: str, script: str, variables: dict[str, str]) -> str:
    """`${NAME}` from the given variables and from `name="..."` assignments earlier in the script."""
    known = dict(variables)
    for raw in script.splitlines():
        match = _ASSIGNMENT.match(raw)
        if match:
            name, value = match.groups()
            known[name] = _SHELL_VARIABLE.sub(lambda found: known[found.group(1)], value)
    return _SHELL_VARIABLE.sub(lambda found: known[found.group(1)], line)


BASH = shutil.which("bash")
needs_bash = pytest.mark.skipif(BASH is None, reason="bash runs the pipeline scripts")

RUNNER_VARIABLES = {
    "GITHUB_RUN_ID": "9876543210",
    "GITHUB_RUN_ATTEMPT": "2",
    "GITHUB_REPOSITORY": "contoso/plugins",
    "BUILD_BUILDID": "4321",
    "SYSTEM_JOBATTEMPT": "1",
    "SYSTEM_TEAMPROJECTID": "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e",
}

FAKE_PPMI = """\
#!{python}
import json, os, sys
with open(os.environ["FAKE_PPMI_CALLS"], "a") as calls:
    calls.write(json.dumps(sys.argv[1:]) + "\\n")
print(os.environ["FAKE_PPMI_OUTPUT"])
sys.exit(int(os.environ["FAKE_PPMI_EXIT"]))
"""


def values_for(template: Template) -> dict[str, Any]:
    """What a caller would pass: the declared defaults, then the usage example in the template's header."""
    defaults = {name: spec["default"] for name, spec in template.inputs.items() if "default" in spec}
    return defaults | template.usage


@dataclass(frozen=True)
class StepRun:
    returncode: int
    log: str
    calls: list[list[str]]
    outputs: str


def run_step(
    template: Template,
    step_id: str,
    values: dict[str, Any],
    tmp_path: Path,
    *,
    exit_code: int,
    output: str,
    environment: dict[str, str] | None = None,
) -> StepRun:
    """A step's script, expanded as the runner would, under bash, with a stand-in `ppmi` on the PATH."""
    assert BASH is not None
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "ppmi"
    fake.write_text(FAKE_PPMI.format(python=sys.executable))
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    calls, outputs = tmp_path / "calls.jsonl", tmp_path / "github-output"
    calls.write_text("")
    outputs.write_text("")
    macros = {"runner.temp": str(tmp_path), "Agent.TempDirectory": str(tmp_path)}
    step = template.step(step_id)
    env = {name: expand(value, template, values, macros) for name, value in step.env.items()}
    completed = subprocess.run(  # noqa: S603 - a fixed interpreter running the template's own script
        [BASH, "-c", expand(step.script, template, values, macros)],
        cwd=tmp_path,
        env={
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "GITHUB_OUTPUT": str(outputs),
            "FAKE_PPMI_CALLS": str(calls),
            "FAKE_PPMI_OUTPUT": output,
            "FAKE_PPMI_EXIT": str(exit_code),
            **RUNNER_VARIABLES,
            **(environment or {}),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return StepRun(
        returncode=completed.returncode,
        log=completed.stdout + completed.stderr,
        calls=[json.loads(line) for line in calls.read_text().splitlines()],
        outputs=outputs.read_text(),
    )
