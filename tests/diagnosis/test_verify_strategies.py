"""The other identity strategies: FICs on an app registration through Graph, and a shared pool."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sandbox.server import Sandbox
from shared.cli.demo import signing_certificate
from tests.diagnosis.conftest import Provisioned, provision_environment

GRAPH = "https://graph.microsoft.com"


def write_policy(tmp_path: Path, sandbox: Sandbox, certificate: bytes, identity: str) -> Path:
    (tmp_path / "signing.cer").write_bytes(certificate)
    path = tmp_path / "policy.yaml"
    path.write_text(
        f"version: 1\ntenantId: {sandbox.env['PPMI_TENANT_ID']}\nidentity:\n{identity}\n"
        "trustedSigners:\n  - name: contoso\n    certificate: signing.cer\n",
        encoding="utf-8",
    )
    return path


def scene(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    identity: str,
) -> Provisioned:
    certificate = signing_certificate()
    monkeypatch.setenv("PPMI_POLICY_FILE", str(write_policy(tmp_path, sandbox, certificate, identity)))
    monkeypatch.delenv("APPLICATIONINSIGHTS_CONNECTION_STRING", raising=False)
    environment = sandbox.control.create_environment(display_name="Contoso Service")
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


def test_app_registration_verifies_clean_and_misses_a_deleted_fic(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    application = sandbox.control.create_application("ppmi plug-ins")
    identity = (
        "  strategy: app-registration\n"
        f"  applicationObjectId: {application.object_id}\n"
        f"  applicationId: {application.app_id}"
    )
    provisioned = scene(sandbox, tmp_path, monkeypatch, capsys, identity)
    healthy = provisioned.verify_package()
    assert healthy.exit_code == 0, healthy.stdout

    (app,) = sandbox.control.dump()["applications"]
    (fic,) = app["federatedIdentityCredentials"]
    fics = f"{GRAPH}/v1.0/applications/{application.object_id}/federatedIdentityCredentials"
    with sandbox.client(GRAPH) as graph:
        graph.delete(f"{fics}/{fic['name']}").raise_for_status()
    broken = provisioned.verify_package()
    assert broken.exit_code == 1
    assert broken.finding("fic.missing")["resource"] == f"application {application.object_id}"


def test_pool_environment_verifies_clean_and_an_unplaced_one_lacks_only_its_identity(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    identity = (
        "  strategy: shared-pool\n  poolName: pool\n"
        f"  subscriptionId: {sandbox.env['PPMI_SUBSCRIPTION_ID']}\n"
        "  resourceGroup: rg-ppmi-identities\n  location: westeurope"
    )
    provisioned = scene(sandbox, tmp_path, monkeypatch, capsys, identity)
    healthy = provisioned.verify_package()
    assert healthy.exit_code == 0, healthy.stdout
    identity_link = next(item for item in healthy.report["checked"] if item["link"] == "identity")
    assert identity_link["target"].endswith("/userAssignedIdentities/pool-1")

    provisioned.environment_id = sandbox.control.create_environment(display_name="Contoso New").id
    unplaced = provisioned.verify()
    assert unplaced.exit_code == 1
    assert [f["code"] for f in unplaced.report["findings"]] == ["identity.missing"]
