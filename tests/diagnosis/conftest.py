"""An environment provisioned by the engine against the sandbox, and ways to break it over real HTTP."""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.server import Sandbox
from shared.cli import main
from shared.cli.demo import signing_certificate, write_demo_policy
from shared.engine import open_runtime, process
from shared.events import new_event
from shared.policy import load_policy
from shared.settings import Settings

MSI_VERSION = {"api-version": "2024-11-30"}
ROLES_VERSION = {"api-version": "2022-04-01"}
ODATA = {"OData-MaxVersion": "4.0", "OData-Version": "4.0", "Accept": "application/json"}
ARM = "https://management.azure.com"


@dataclass(frozen=True)
class Verified:
    """What `ppmi verify` printed and returned."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def report(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.stdout)
        return loaded

    def finding(self, code: str) -> dict[str, Any]:
        """The one finding with `code` from a JSON report."""
        matching = [f for f in self.report["findings"] if f["code"] == code]
        assert len(matching) == 1, f"{code} not found once in {[f['code'] for f in self.report['findings']]}"
        return dict(matching[0])


@dataclass
class Provisioned:
    """An environment with a plug-in package, provisioned end to end; helpers break it like a person would."""

    sandbox: Sandbox
    certificate: bytes
    environment_id: str
    package_id: str
    tenant_id: str
    subscription_id: str
    capsys: pytest.CaptureFixture[str]

    # -- reading the state the engine made ----------------------------------------------------------------

    @property
    def identity_path(self) -> str:
        state = self.sandbox.control.dump()
        (identity,) = [i for i in state["identities"] if self.environment_id in i["name"]]
        path: str = identity["id"]
        return path

    @property
    def identity(self) -> dict[str, Any]:
        with self.sandbox.client(ARM) as arm:
            body: dict[str, Any] = arm.get(ARM + self.identity_path, params=MSI_VERSION).json()
        return body

    def fics(self) -> list[dict[str, Any]]:
        state = self.sandbox.control.dump()
        (identity,) = [i for i in state["identities"] if self.environment_id in i["name"]]
        return list(identity["federatedIdentityCredentials"])

    def row(self) -> dict[str, Any]:
        (row,) = self.sandbox.control.rows(self.environment_id, "managedidentities")
        return dict(row)

    @property
    def organization(self) -> str:
        (environment,) = [e for e in self.sandbox.control.environments() if e.id == self.environment_id]
        assert environment.host is not None
        return f"https://{environment.host}"

    # -- breaking it over the services' own APIs -----------------------------------------------------------

    def arm(self, method: str, path: str, body: object = None, params: dict[str, str] = MSI_VERSION) -> None:
        with self.sandbox.client(ARM) as client:
            response = client.request(method, ARM + path, params=params, json=body)
        response.raise_for_status()

    def put_fic(self, name: str, *, issuer: str, subject: str, audience: str) -> None:
        body = {"properties": {"issuer": issuer, "subject": subject, "audiences": [audience]}}
        self.arm("PUT", f"{self.identity_path}/federatedIdentityCredentials/{name}", body)

    def dataverse(self, method: str, path: str, body: object = None) -> httpx.Response:
        with self.sandbox.client(self.organization) as client:
            response = client.request(
                method, f"{self.organization}/api/data/v9.2/{path}", json=body, headers=ODATA
            )
        response.raise_for_status()
        return response

    def remove_application_user(self) -> None:
        """What an admin does in the admin center: the service's application user is deleted."""
        environment = self.sandbox.runtime.state.environments[self.environment_id]
        organization = environment.organization
        assert organization is not None

        def remove() -> None:
            organization.table("systemusers").clear()
            organization.privileged_app_ids.clear()

        self.sandbox.call_in_loop(remove)

    # -- running the command -------------------------------------------------------------------------------

    def verify(self, *extra: str, output: str = "json") -> Verified:
        self.capsys.readouterr()
        code = main(["verify", "--environment-id", self.environment_id, "--output", output, *extra])
        captured = self.capsys.readouterr()
        return Verified(code, captured.out, captured.err)

    def verify_package(self, *extra: str, output: str = "json") -> Verified:
        return self.verify("--plugin-package-id", self.package_id, *extra, output=output)


async def provision_environment(environment_id: str, package_id: str, certificate: bytes) -> None:
    """What the service does for a new environment and its package, under this process's settings."""
    settings = Settings.from_env()
    policy = load_policy(settings.require_policy_file())
    data = {"environmentId": environment_id}
    reference = {"der": base64.b64encode(certificate).decode("ascii")}
    events = (
        new_event("ppmi.environment.created", data, source="/ppmi/tests"),
        new_event(
            "ppmi.pluginpackage.registered",
            {**data, "pluginPackageId": package_id, "certificate": reference},
            source="/ppmi/tests",
        ),
    )
    async with open_runtime(settings, policy) as runtime:
        for event in events:
            report = await process(event, runtime)
            assert report.outcome == "succeeded", report.reason


@pytest.fixture
def provisioned(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Provisioned:
    sandbox.configure(principal_propagation_seconds=0.0)
    certificate = signing_certificate()
    policy = write_demo_policy(tmp_path, sandbox.env, certificate)
    monkeypatch.setenv("PPMI_POLICY_FILE", str(policy))
    monkeypatch.delenv("APPLICATIONINSIGHTS_CONNECTION_STRING", raising=False)
    environment = sandbox.control.create_environment(display_name="Contoso Sales")
    package_id = sandbox.control.register_plugin_package(environment.id, certificate)
    asyncio.run(provision_environment(environment.id, package_id, certificate))
    return Provisioned(
        sandbox=sandbox,
        certificate=certificate,
        environment_id=environment.id,
        package_id=package_id,
        tenant_id=sandbox.env["PPMI_TENANT_ID"],
        subscription_id=sandbox.env["PPMI_SUBSCRIPTION_ID"],
        capsys=capsys,
    )
