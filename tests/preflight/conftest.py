"""A tenant as a real deployment leaves it, in the sandbox: ppmi's identity holds the rights `azd provision`
grants for the policy, an environment has a signed plug-in package; helpers break it as people do."""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sandbox.config import ArmAccess
from sandbox.server import Sandbox
from shared.auth import TokenSource
from shared.cli.demo import signing_certificate, write_demo_policy
from shared.deployment import deployment_parameters
from shared.diagnosis import Finding
from shared.policy import Policy, load_policy
from shared.preflight import PreflightOptions, PreflightReport, run_preflight
from shared.settings import Settings
from tests.contracts.conftest import arm_specs

__all__ = ["arm_specs"]

# Long enough for a retry after the sandbox's 429s, short enough that an unreachable service fails fast.
RETRY_BUDGET_SECONDS = 0.5


@dataclass
class Tenant:
    sandbox: Sandbox
    monkeypatch: pytest.MonkeyPatch
    policy_path: Path
    certificate: bytes
    environment_id: str
    package_id: str

    @property
    def policy(self) -> Policy:
        return load_policy(self.policy_path)

    def edit_policy(self, **lines: str) -> None:
        """Set top-level policy keys (camelCase), replacing the line when the key is there."""
        text = self.policy_path.read_text(encoding="utf-8")
        for key, value in lines.items():
            line = f"{key}: {value}"
            text, found = re.subn(rf"^{key}:.*$", line, text, flags=re.MULTILINE)
            text = text if found else text.rstrip("\n") + f"\n{line}\n"
        self.policy_path.write_text(text, encoding="utf-8")

    def deploy(self, **overrides: Any) -> None:
        """ppmi's ARM rights as `azd provision` grants them for the policy (`overrides` change its
        parameters), and PPMI_GRANT_SCOPES as infra/ sets it on the Function App."""
        parameters = deployment_parameters(self.policy).as_json() | overrides
        self.sandbox.configure(arm_access=ArmAccess.deployed(parameters))
        self.monkeypatch.setenv("PPMI_GRANT_SCOPES", json.dumps(parameters["PPMI_GRANT_SCOPES"]))

    def run(
        self, *environment_ids: str, record_to: Path | None = None, tokens: TokenSource | None = None
    ) -> PreflightReport:
        options = PreflightOptions(
            environment_ids=environment_ids, record_to=record_to, retry_budget_seconds=RETRY_BUDGET_SECONDS
        )
        return asyncio.run(run_preflight(Settings.from_env(), self.policy, options, tokens=tokens))


def finding(report: PreflightReport, code: str) -> Finding:
    """The one finding with `code`."""
    matching = [f for f in report.findings if f.code == code]
    assert len(matching) == 1, f"{code} not found once in {report.codes()}"
    return matching[0]


@pytest.fixture
def tenant(sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Tenant:
    sandbox.configure(principal_propagation_seconds=0.0)
    certificate = signing_certificate()
    policy_path = write_demo_policy(tmp_path, sandbox.env, certificate)
    monkeypatch.setenv("PPMI_POLICY_FILE", str(policy_path))
    monkeypatch.delenv("APPLICATIONINSIGHTS_CONNECTION_STRING", raising=False)
    environment = sandbox.control.create_environment(display_name="Contoso Sales")
    package_id = sandbox.control.register_plugin_package(
        environment.id, certificate, name="Contoso Sales plug-ins"
    )
    deployed = Tenant(sandbox, monkeypatch, policy_path, certificate, environment.id, package_id)
    deployed.deploy()
    return deployed
