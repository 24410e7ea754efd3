"""A policy trusting one signer, a second (untrusted) signer, and look-alikes of ppmi's resources seeded."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandbox.server import Sandbox
from shared.cli.demo import signing_certificate, write_demo_policy
from shared.engine import Runtime, open_runtime
from shared.policy import Policy, load_policy
from shared.settings import Settings
from tests.reliability.foreign import ForeignSeed, seed_foreign


@dataclass(frozen=True)
class Signers:
    trusted: bytes
    untrusted: bytes


@pytest.fixture(scope="session")
def signers() -> Signers:
    return Signers(
        trusted=signing_certificate("Contoso Plug-ins"), untrusted=signing_certificate("Fabrikam Plug-ins")
    )


@pytest.fixture
def policy_file(sandbox: Sandbox, signers: Signers, tmp_path: Path) -> Path:
    return write_demo_policy(tmp_path, sandbox.env, signers.trusted)


@pytest.fixture
def policy(policy_file: Path) -> Policy:
    return load_policy(policy_file)


def foreign_around(
    sandbox: Sandbox,
    policy: Policy,
    signers: Signers,
    environment_ids: list[str],
    *,
    same_name: tuple[str, ...] = (),
) -> ForeignSeed:
    """Seed look-alikes around `environment_ids` (fresh role assignment GUIDs each time)."""
    return seed_foreign(
        sandbox,
        policy,
        environment_ids,
        untrusted_certificate=signers.untrusted,
        role_assignment_ids=[str(uuid.uuid4()) for _ in range(len(environment_ids) * 4)],
        same_name=same_name,
    )


def without_replication_delay(sandbox: Sandbox) -> None:
    """New principals are known at once: the fault runs cover the delay; here it only adds retry floors."""
    sandbox.configure(principal_propagation_seconds=0.0)


@pytest.fixture
async def runtime(sandbox: Sandbox, policy: Policy) -> AsyncIterator[Runtime]:
    without_replication_delay(sandbox)
    async with open_runtime(Settings.from_env(), policy) as opened:
        yield opened
