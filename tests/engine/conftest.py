"""The engine against the sandbox over real HTTPS: a policy for the sandbox's tenant, a runtime, helpers."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sandbox.server import Sandbox
from shared.engine import Report, Runtime, open_runtime, process
from shared.events import Event, new_event
from shared.http import Backoff
from shared.policy import Policy, load_policy
from shared.settings import Settings
from tests.domain.certificates import VALID_FROM, VALID_UNTIL

# Quick retries: the sandbox's races (principal replication, FIC write holds) settle in tenths of a second.
FAST_BACKOFF = Backoff(base_seconds=0.02, cap_seconds=0.3, slow_floor_seconds=0.05)
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
VAULT_SCOPE = (
    "/subscriptions/{subscriptionId}/resourceGroups/rg-kv"
    "/providers/Microsoft.KeyVault/vaults/kv-{environmentId}"
)

PolicyWriter = Callable[..., Policy]


def self_signed(common_name: str) -> bytes:
    """A code-signing certificate signed with its own key, as `pac` or `makecert` would make one (DER)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(VALID_FROM)
        .not_valid_after(VALID_UNTIL)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.DER)


@pytest.fixture
def signers() -> list[bytes]:
    """Two trusted self-signed signers."""
    return [self_signed("Contoso Plug-ins"), self_signed("Fabrikam Plug-ins")]


@pytest.fixture
def write_policy(sandbox: Sandbox, tmp_path: Path, signers: list[bytes]) -> PolicyWriter:
    """Write a policy for the sandbox's tenant trusting `signers`; `identity` replaces the strategy line."""

    def write(
        *, identity: str = "strategy: per-environment", extra: str = "", trusted: Sequence[bytes] = ()
    ) -> Policy:
        env = sandbox.env
        chosen = list(trusted) or signers
        lines = "\n".join(
            f"  - name: signer-{index}\n    certificate: {base64.b64encode(der).decode()}"
            for index, der in enumerate(chosen)
        )
        identity_block = "\n".join(f"  {line}" for line in identity.splitlines())
        path = tmp_path / "policy.yaml"
        path.write_text(
            f"""\
version: 1
tenantId: {env["PPMI_TENANT_ID"]}
identity:
{identity_block}
  subscriptionId: {env["PPMI_SUBSCRIPTION_ID"]}
  resourceGroup: rg-ppmi
  location: westeurope
  tags: {{team: platform}}
trustedSigners:
{lines}
roleGrants:
  - roleDefinitionId: {KEY_VAULT_SECRETS_USER}
    scope: {VAULT_SCOPE}
pacing:
  managedIdentityWritesPerIdentityPerSecond: 50
  managedIdentityWritesPerSubscriptionPerSecond: 100
{extra}
""",
            encoding="utf-8",
        )
        return load_policy(path)

    return write


@pytest.fixture
def policy(write_policy: PolicyWriter) -> Policy:
    return write_policy()


@pytest.fixture
async def runtime(sandbox: Sandbox, policy: Policy) -> AsyncIterator[Runtime]:
    async with open_runtime(Settings.from_env(), policy, backoff=FAST_BACKOFF) as opened:
        yield opened


def event(kind: str, environment_id: str, **data: Any) -> Event:
    return new_event(f"ppmi.{kind}", {"environmentId": environment_id, **data}, source="/tests/engine")


def certificate_reference(der: bytes) -> dict[str, str]:
    return {"der": base64.b64encode(der).decode("ascii")}


async def succeed(runtime: Runtime, incoming: Event) -> Report:
    report = await process(incoming, runtime)
    assert report.outcome == "succeeded", report.reason
    return report


def writes(sandbox: Sandbox, since: int = 0) -> list[str]:
    """Every write the services received after the `since`-th logged request, as 'METHOD path'."""
    return [f"{r.method} {r.path}" for r in sandbox.requests[since:] if r.write]
