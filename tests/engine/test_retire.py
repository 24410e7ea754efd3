"""Signers that left the policy lose their FICs on the next environment reconcile, and nothing else does."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sandbox.server import Sandbox
from shared.cli import main
from shared.clients.arm import IdentityAddress
from shared.engine import Report, Runtime, open_runtime, preview
from shared.fic import FederatedCredential, federated_credential, federated_credential_name
from shared.settings import Settings
from tests.domain.certificates import VALID_FROM, VALID_UNTIL
from tests.engine.conftest import (
    FAST_BACKOFF,
    PolicyWriter,
    certificate_reference,
    event,
    succeed,
    writes,
)

STRATEGIES = ("per-environment", "shared-pool", "app-registration")


def identity_block(sandbox: Sandbox, strategy: str) -> str:
    if strategy == "shared-pool":
        return "strategy: shared-pool\npoolName: pool"
    if strategy == "app-registration":
        application = sandbox.control.create_application("ppmi plug-ins")
        return (
            "strategy: app-registration\n"
            f"applicationObjectId: {application.object_id}\n"
            f"applicationId: {application.app_id}"
        )
    return "strategy: per-environment"


def fic_names(sandbox: Sandbox) -> set[str]:
    """Every FIC name on every identity and application in the sandbox."""
    dump = sandbox.control.dump()
    holders = [*dump["identities"], *dump["applications"]]
    return {fic["name"] for holder in holders for fic in holder["federatedIdentityCredentials"]}


def other_credential(subject: str) -> FederatedCredential:
    return FederatedCredential(
        "https://token.actions.githubusercontent.com", subject, "api://AzureADTokenExchange"
    )


async def add_by_hand(runtime: Runtime, environment_id: str, name: str, subject: str) -> None:
    """A FIC someone else put on the identity ppmi uses for the environment."""
    settings = runtime.policy.identity
    credential = other_credential(subject)
    if settings.strategy == "app-registration":
        await runtime.graph.upsert_federated_credential(str(settings.application_object_id), name, credential)
        return
    identity = "pool-1" if settings.strategy == "shared-pool" else f"ppmi-{environment_id}"
    address = IdentityAddress(str(settings.subscription_id), str(settings.resource_group), identity)
    await runtime.arm.create_or_update_federated_credential(address, name, credential)


def removed(report: Report) -> list[str]:
    return [step.target for step in report.steps if step.outcome == "removed"]


@pytest.mark.parametrize("strategy", STRATEGIES)
async def test_a_signer_removed_from_the_policy_loses_its_fic_in_every_environment_and_nothing_else_goes(
    sandbox: Sandbox, write_policy: PolicyWriter, signers: list[bytes], strategy: str
) -> None:
    identity = identity_block(sandbox, strategy)
    both = write_policy(identity=identity)
    kept, retired = (trusted.signer.key for trusted in both.trusted_signers)
    environments = [sandbox.control.create_environment(display_name=name) for name in ("Sales", "Service")]
    async with open_runtime(Settings.from_env(), both, backoff=FAST_BACKOFF) as runtime:
        for environment in environments:
            await succeed(runtime, event("environment.created", environment.id))
            await add_by_hand(runtime, environment.id, f"deploy-{environment.id}", f"repo:{environment.id}")
            await add_by_hand(runtime, environment.id, f"ppmi-{environment.id}-{retired}-old", environment.id)
            await add_by_hand(runtime, environment.id, f"ppmi-{environment.id}-manual", f"m/{environment.id}")
    before = fic_names(sandbox)

    one = write_policy(identity=identity, trusted=signers[:1])
    async with open_runtime(Settings.from_env(), one, backoff=FAST_BACKOFF) as runtime:
        reports = [
            await succeed(runtime, event("environment.reconcile", environment.id))
            for environment in environments
        ]
        since = len(sandbox.requests)
        for environment in environments:
            await succeed(runtime, event("environment.reconcile", environment.id))

    retired_names = [f"ppmi-{environment.id}-{retired}" for environment in environments]
    assert [removed(report) for report in reports] == [[name] for name in retired_names]
    assert fic_names(sandbox) == before - set(retired_names)
    assert {f"ppmi-{environment.id}-{kept}" for environment in environments} <= fic_names(sandbox)
    assert writes(sandbox, since) == []


async def test_reconciling_one_pooled_environment_leaves_the_others_fics_on_the_shard(
    sandbox: Sandbox, write_policy: PolicyWriter, signers: list[bytes]
) -> None:
    both = write_policy(identity="strategy: shared-pool\npoolName: pool")
    retired = both.trusted_signers[1].signer.key
    first, second = (sandbox.control.create_environment(display_name=name) for name in ("Sales", "Service"))
    async with open_runtime(Settings.from_env(), both, backoff=FAST_BACKOFF) as runtime:
        for environment in (first, second):
            await succeed(runtime, event("environment.created", environment.id))

    one = write_policy(identity="strategy: shared-pool\npoolName: pool", trusted=signers[:1])
    async with open_runtime(Settings.from_env(), one, backoff=FAST_BACKOFF) as runtime:
        await succeed(runtime, event("environment.reconcile", first.id))

    assert f"ppmi-{first.id}-{retired}" not in fic_names(sandbox)
    assert f"ppmi-{second.id}-{retired}" in fic_names(sandbox)


async def test_plug_in_events_never_remove_a_fic(
    sandbox: Sandbox, write_policy: PolicyWriter, signers: list[bytes]
) -> None:
    both = write_policy()
    environment = sandbox.control.create_environment(display_name="Sales")
    assembly = sandbox.control.register_plugin_assembly(environment.id, signers[0])
    async with open_runtime(Settings.from_env(), both, backoff=FAST_BACKOFF) as runtime:
        await succeed(runtime, event("environment.created", environment.id))
    before = fic_names(sandbox)

    one = write_policy(trusted=signers[:1])
    async with open_runtime(Settings.from_env(), one, backoff=FAST_BACKOFF) as runtime:
        since = len(sandbox.requests)
        registered = event(
            "pluginassembly.registered",
            environment.id,
            pluginAssemblyId=assembly,
            certificate=certificate_reference(signers[0]),
        )
        report = await succeed(runtime, registered)

    assert removed(report) == []
    assert fic_names(sandbox) == before
    assert not [write for write in writes(sandbox, since) if write.startswith("DELETE")]


async def test_a_policy_trusting_no_signer_retires_nothing_and_says_why(
    sandbox: Sandbox, write_policy: PolicyWriter
) -> None:
    both = write_policy()
    environment = sandbox.control.create_environment(display_name="Sales")
    async with open_runtime(Settings.from_env(), both, backoff=FAST_BACKOFF) as runtime:
        await succeed(runtime, event("environment.created", environment.id))
    before = fic_names(sandbox)

    emptied = both.model_copy(update={"trusted_signers": []})
    async with open_runtime(Settings.from_env(), emptied, backoff=FAST_BACKOFF) as runtime:
        since = len(sandbox.requests)
        report = await succeed(runtime, event("environment.reconcile", environment.id))

    skipped = [step for step in report.steps if step.step == "federated-credential"]
    assert [step.outcome for step in skipped] == ["skipped", "skipped"]
    assert all("trusts no signer" in (step.detail or "") for step in skipped)
    assert fic_names(sandbox) == before
    assert writes(sandbox, since) == []


async def test_retirement_switched_off_keeps_the_fic_and_reports_it(
    sandbox: Sandbox, write_policy: PolicyWriter, signers: list[bytes]
) -> None:
    both = write_policy()
    retired = both.trusted_signers[1].signer.key
    environment = sandbox.control.create_environment(display_name="Sales")
    async with open_runtime(Settings.from_env(), both, backoff=FAST_BACKOFF) as runtime:
        await succeed(runtime, event("environment.created", environment.id))

    one = write_policy(trusted=signers[:1], extra="retireUntrustedSigners: false")
    async with open_runtime(Settings.from_env(), one, backoff=FAST_BACKOFF) as runtime:
        since = len(sandbox.requests)
        report = await succeed(runtime, event("environment.reconcile", environment.id))

    name = f"ppmi-{environment.id}-{retired}"
    (step,) = [step for step in report.steps if step.target == name]
    assert step.outcome == "unchanged"
    assert "retireUntrustedSigners: false" in (step.detail or "")
    assert name in fic_names(sandbox)
    assert writes(sandbox, since) == []


def ca_issued(common_name: str) -> bytes:
    """A code-signing certificate from a CA: its FIC subject differs between formats 1 and 2 (DER)."""
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Contoso Code Signing CA")]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(VALID_FROM)
        .not_valid_after(VALID_UNTIL)
        .sign(ca_key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.DER)


async def test_an_interrupted_upgrade_keeps_its_new_fic_and_still_completes(
    sandbox: Sandbox, write_policy: PolicyWriter
) -> None:
    signers = [ca_issued("Contoso Plug-ins"), ca_issued("Fabrikam Plug-ins")]
    both = write_policy(extra="formatVersion: 1", trusted=signers)
    kept, retired = (trusted.signer for trusted in both.trusted_signers)
    environment = sandbox.control.create_environment(display_name="Sales")
    upgraded = federated_credential_name(environment.id, kept, format_version=2)
    current = federated_credential_name(environment.id, kept, format_version=1)
    async with open_runtime(Settings.from_env(), both, backoff=FAST_BACKOFF) as runtime:
        await succeed(runtime, event("environment.created", environment.id))
        # The upgrade's first step landed (the v2 FIC), then it stopped before flipping the row.
        await add_v2(runtime, environment.id, upgraded)

    one = write_policy(extra="formatVersion: 1", trusted=signers[:1])
    async with open_runtime(Settings.from_env(), one, backoff=FAST_BACKOFF) as runtime:
        report = await succeed(runtime, event("environment.reconcile", environment.id))
        assert removed(report) == [federated_credential_name(environment.id, retired, format_version=1)]
        assert fic_names(sandbox) == {current, upgraded}
        await succeed(runtime, event("identity.upgrade", environment.id, targetVersion=2))

    (row,) = sandbox.control.rows(environment.id, "managedidentities")
    assert row["version"] == 2
    assert fic_names(sandbox) == {upgraded}


async def add_v2(runtime: Runtime, environment_id: str, name: str) -> None:
    """What `ppmi upgrade` writes first: the trusted signer's FIC in format 2, beside the format 1 one."""
    policy = runtime.policy
    settings = policy.identity
    identity = f"ppmi-{environment_id}"
    address = IdentityAddress(str(settings.subscription_id), str(settings.resource_group), identity)
    credential = federated_credential(
        tenant_id=policy.tenant_id, environment_id=environment_id, signer=policy.trusted_signers[0].signer
    )
    await runtime.arm.create_or_update_federated_credential(address, name, credential)


async def test_plan_shows_the_removal_without_writing(
    sandbox: Sandbox, write_policy: PolicyWriter, signers: list[bytes]
) -> None:
    both = write_policy()
    retired = both.trusted_signers[1].signer.key
    environment = sandbox.control.create_environment(display_name="Sales")
    async with open_runtime(Settings.from_env(), both, backoff=FAST_BACKOFF) as runtime:
        await succeed(runtime, event("environment.created", environment.id))

    one = write_policy(trusted=signers[:1])
    async with open_runtime(Settings.from_env(), one, backoff=FAST_BACKOFF) as runtime:
        since = len(sandbox.requests)
        planned = await preview(environment.id, runtime)

    deletions = [change for change in planned.changes if change.change == "delete"]
    assert [(change.step, change.target) for change in deletions] == [
        ("federated-credential", f"ppmi-{environment.id}-{retired}")
    ]
    assert "no longer trusted" in (deletions[0].detail or "")
    assert planned.pending
    assert writes(sandbox, since) == []


@pytest.fixture
def policy_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where `write_policy` writes, as the CLI finds it."""
    path = tmp_path / "policy.yaml"
    monkeypatch.setenv("PPMI_POLICY_FILE", str(path))
    return path


@pytest.mark.usefixtures("policy_file")
def test_ppmi_plan_lists_the_removal_and_ppmi_apply_makes_it(
    sandbox: Sandbox, write_policy: PolicyWriter, signers: list[bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    retired = write_policy().trusted_signers[1].signer.key
    environment = sandbox.control.create_environment(display_name="Sales")
    assert main(["apply", "--environment-id", environment.id]) == 0
    write_policy(trusted=signers[:1])
    capsys.readouterr()

    assert main(["plan", "--environment-id", environment.id]) == 1  # a change is pending
    planned = capsys.readouterr().out
    assert main(["apply", "--environment-id", environment.id, "--yes"]) == 0  # removals need --yes

    line = next(line for line in planned.splitlines() if f"ppmi-{environment.id}-{retired}" in line)
    assert line.lstrip().startswith("- federated-credential")
    assert f"ppmi-{environment.id}-{retired}" not in fic_names(sandbox)
