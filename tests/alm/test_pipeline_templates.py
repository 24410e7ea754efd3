"""Pipeline templates: parameterised, secretless, in order; every ppmi command in them is one ppmi accepts.

The publish step's own script runs under bash with a stand-in `ppmi` that records its arguments and answers
with a chosen exit code, so what a pipeline user sees (the step fails, the reason is in the log) is real.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from pathlib import Path

import pytest

from shared.cli import build_parser
from shared.cli.publish import EXIT_FAILED, EXIT_REJECTED, EXIT_SUCCEEDED, EXIT_TIMEOUT
from shared.events import EVENT_TYPES
from tests.alm.pipelines import (
    RUNNER_VARIABLES,
    StepRun,
    Template,
    command_lines,
    expand,
    load_azure_devops,
    load_github,
    needs_bash,
    run_step,
    substitute_shell_variables,
    values_for,
)

LOADERS: dict[str, Callable[[], Template]] = {"github": load_github, "azure-devops": load_azure_devops}


@pytest.fixture(params=sorted(LOADERS))
def template(request: pytest.FixtureRequest) -> Template:
    loader: Callable[[], Template] = LOADERS[request.param]
    return loader()


def run_publish_step(
    template: Template, tmp_path: Path, *, component_type: str, exit_code: int, output: str
) -> StepRun:
    """The publish step's script, expanded as the runner would, under bash, with the stand-in ppmi."""
    (tmp_path / "signing").mkdir(exist_ok=True)
    values = values_for(template)
    key = "component-type" if "component-type" in values else "componentType"
    values[key] = component_type
    return run_step(
        template,
        "publish",
        values,
        tmp_path,
        exit_code=exit_code,
        output=output,
        environment={"CERTIFICATE_DIR": str(tmp_path / "signing")},
    )


def test_github_template_is_a_reusable_workflow_with_described_typed_inputs() -> None:
    template = load_github()

    assert set(template.document[True]) == {"workflow_call"}
    for name, spec in template.inputs.items():
        assert spec["type"] in {"string", "number", "boolean"}, name
        assert spec["description"], name


def test_azure_devops_template_is_a_job_template_with_typed_parameters() -> None:
    template = load_azure_devops()

    assert set(template.document) == {"parameters", "jobs"}
    assert all(spec["type"] in {"string", "number", "boolean"} for spec in template.inputs.values())


def test_templates_sign_in_by_federation(template: Template) -> None:
    text = template.text

    if template.path.parent.name == "github":
        job = template.document["jobs"]["plugin"]
        assert job["permissions"]["id-token"] == "write"
        assert "--githubFederated" in text
    else:
        assert "--azureDevOpsFederated" in text
        assert "$(System.OidcRequestUri)" in text


def test_steps_build_then_sign_then_register_then_publish(template: Template) -> None:
    scripts = [step.script for step in template.steps]

    def first(pattern: str) -> int:
        return next(index for index, script in enumerate(scripts) if re.search(pattern, script))

    build, sign, pack_sign = (
        first(r"dotnet build"),
        first(r"signtool.*sign /fd SHA256"),
        first(r"dotnet nuget sign"),
    )
    fetch, push, publish = (
        first(r"az keyvault secret download"),
        first(r"pac plugin push"),
        first(r"ppmi publish"),
    )
    assert build < fetch < sign < pack_sign < push < publish
    assert "--timestamper" in scripts[pack_sign]
    assert "/tr " in scripts[sign]


@needs_bash
@pytest.mark.parametrize("component_type", ["package", "assembly"])
def test_every_ppmi_invocation_is_one_the_cli_accepts(
    template: Template, component_type: str, tmp_path: Path
) -> None:
    run = run_publish_step(
        template, tmp_path, component_type=component_type, exit_code=EXIT_SUCCEEDED, output="succeeded"
    )

    assert run.returncode == 0, run.log
    [argv] = run.calls
    arguments = build_parser().parse_args(argv)
    assert arguments.type == f"ppmi.plugin{component_type}.registered"
    assert arguments.type in EVENT_TYPES
    assert arguments.wait
    assert arguments.environment_id == template.usage.get(
        "environment-id", template.usage.get("environmentId")
    )
    assert arguments.certificate == tmp_path / "signing" / "signing.cer"
    assert (
        RUNNER_VARIABLES["BUILD_BUILDID" if "azure" in str(template.path) else "GITHUB_RUN_ID"]
        in arguments.id
    )


def test_every_ppmi_command_line_read_as_text_is_one_the_cli_accepts(template: Template) -> None:
    values = values_for(template)
    macros = {"runner.temp": "/runner/temp", "Agent.TempDirectory": "/agent/temp"}
    parser = build_parser()
    parsed = []
    for step in template.steps:
        variables = {name: expand(value, template, values, macros) for name, value in step.env.items()}
        variables |= RUNNER_VARIABLES | {"CERTIFICATE_DIR": "/agent/temp/signing"}
        for line in command_lines(step.script, "ppmi"):
            command = substitute_shell_variables(
                expand(line, template, values, macros), step.script, variables
            )
            words = shlex.split(command.split(" > ")[0])  # the output redirection is the shell's, not ppmi's
            parsed.append(parser.parse_args(words[1:]))

    assert {arguments.type for arguments in parsed} == {
        "ppmi.pluginpackage.registered",
        "ppmi.pluginassembly.registered",
    }
    assert all(arguments.wait for arguments in parsed)


def test_every_ppmi_command_line_in_the_templates_is_covered(template: Template) -> None:
    command_lines = [
        line
        for step in template.steps
        for line in step.script.splitlines()
        if line.strip().startswith("ppmi ")
    ]

    # One per component type, both run by the test above; nothing else calls ppmi.
    assert len(command_lines) == 2
    assert all(step.id == "publish" for step in template.steps if "ppmi publish" in step.script)


@needs_bash
@pytest.mark.parametrize(
    ("exit_code", "outcome", "last_line"),
    [
        (EXIT_FAILED, "failed", "failed: the identity holds 20 federated credentials, the most Entra allows"),
        (EXIT_REJECTED, "rejected", "rejected: the signer 'CN=Unknown' is not in trustedSigners"),
        (
            EXIT_TIMEOUT,
            "timeout",
            "ppmi publish: no result within 600s; the event is queued and may still finish",
        ),
    ],
)
def test_an_outcome_other_than_succeeded_fails_the_step_with_the_reason_in_the_log(
    template: Template, tmp_path: Path, exit_code: int, outcome: str, last_line: str
) -> None:
    run = run_publish_step(
        template, tmp_path, component_type="package", exit_code=exit_code, output=last_line
    )

    assert run.returncode == exit_code
    error_line = next(
        line for line in run.log.splitlines() if "::error" in line or "logissue type=error" in line
    )
    assert last_line in error_line
    assert f"ppmi {outcome}" in error_line
    assert f"outcome={outcome}" in run.outputs or f"isOutput=true]{outcome}" in run.log


@needs_bash
def test_a_succeeded_outcome_passes_and_is_reported_as_the_step_output(
    template: Template, tmp_path: Path
) -> None:
    run = run_publish_step(
        template, tmp_path, component_type="assembly", exit_code=EXIT_SUCCEEDED, output="succeeded"
    )

    assert run.returncode == 0
    assert "succeeded" in run.log
    assert "outcome=succeeded" in run.outputs or "isOutput=true]succeeded" in run.log
