"""The connector templates: secretless, their inputs declared and used, and every ppmi call one ppmi accepts,
run under bash with a stand-in `ppmi` that records its arguments and answers with a chosen exit code."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from shared.cli import build_parser
from shared.cli.publish import EXIT_REJECTED, EXIT_SUCCEEDED
from tests.alm.pipelines import (
    ALM,
    Template,
    load_azure_devops,
    load_github,
    needs_bash,
    run_step,
    values_for,
)

LOADERS: dict[str, Callable[[], Template]] = {
    "github": lambda: load_github(ALM / "github" / "ppmi-connector.yml", job="connector"),
    "azure-devops": lambda: load_azure_devops(ALM / "azure-devops" / "ppmi-connector.yml"),
}


@pytest.fixture(params=sorted(LOADERS))
def template(request: pytest.FixtureRequest) -> Template:
    return LOADERS[request.param]()


def named(values: dict[str, object], github: str, azure_devops: str) -> str:
    return github if github in values else azure_devops


def test_templates_sign_in_by_federation(template: Template) -> None:
    text = template.text

    if template.path.parent.name == "github":
        assert template.document["jobs"]["connector"]["permissions"]["id-token"] == "write"
        assert "azure/login@v2" in text
    else:
        assert "task: AzureCLI@2" in text


@needs_bash
@pytest.mark.parametrize("with_redirect", [True, False])
def test_a_registration_publishes_the_connectors_values_and_waits(
    template: Template, tmp_path: Path, *, with_redirect: bool
) -> None:
    values = values_for(template)
    if not with_redirect:
        values[named(values, "redirect-url", "redirectUrl")] = ""

    run = run_step(template, "publish", values, tmp_path, exit_code=EXIT_SUCCEEDED, output="succeeded")

    assert run.returncode == 0, run.log
    [argv] = run.calls
    arguments = build_parser().parse_args(argv)
    assert arguments.type == "ppmi.connector.registered"
    assert arguments.wait
    assert arguments.subject == values[named(values, "subject", "subject")]
    assert arguments.issuer == values["issuer"]
    assert arguments.application_id == values[named(values, "application-id", "applicationId")]
    assert arguments.redirect_url == (values[named(values, "redirect-url", "redirectUrl")] or None)


@needs_bash
def test_a_deletion_publishes_the_connector_and_its_app_only(template: Template, tmp_path: Path) -> None:
    values = values_for(template) | {"action": "deleted"}

    run = run_step(template, "publish", values, tmp_path, exit_code=EXIT_SUCCEEDED, output="succeeded")

    [argv] = run.calls
    arguments = build_parser().parse_args(argv)
    assert arguments.type == "ppmi.connector.deleted"
    assert (arguments.issuer, arguments.subject, arguments.redirect_url) == (None, None, None)


@needs_bash
def test_a_rejection_fails_the_step_with_ppmis_reason(template: Template, tmp_path: Path) -> None:
    reason = "rejected: data.subject the subject belongs to tenant 11111111-2222-4333-8444-555555555555"

    run = run_step(
        template, "publish", values_for(template), tmp_path, exit_code=EXIT_REJECTED, output=reason
    )

    assert run.returncode == EXIT_REJECTED
    error_line = next(
        line for line in run.log.splitlines() if "::error" in line or "logissue type=error" in line
    )
    assert reason in error_line
    assert "outcome=rejected" in run.outputs or "isOutput=true]rejected" in run.log
