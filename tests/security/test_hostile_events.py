"""Hostile events through the message processor: each refused with its own reason, and nothing sent anywhere.

"Nothing sent" is checked three ways: the sandbox's request log, every URL the product's HTTP layer tried to
reach (recorded before connecting), and a canary listener whose address the hostile URLs name.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from sandbox.server import Sandbox
from shared.cli.demo import write_demo_policy
from shared.engine import Runtime, open_runtime
from shared.messaging import KEPT_QUEUE, KEPT_REASON, RESULTS_QUEUE, Outcome
from shared.messaging.disposition import Disposition
from shared.policy import load_policy
from shared.settings import Settings
from tests.reliability.processing import event_body, through_processor
from tests.security.canary import Canary
from tests.security.conftest import Signers, report_dataverse_url
from tests.security.corpus import (
    ENVIRONMENT_CASES,
    EVENT_CASES,
    CorpusContext,
    HostileEnvironment,
    HostileEvent,
)

ENVIRONMENTS_API_HOSTS = frozenset({"api.powerplatform.com", "api.bap.microsoft.com"})


def only_environment_lookups(sandbox: Sandbox) -> list[str]:
    """Requests other than environments API reads and tokens for it, as readable lines (none expected)."""
    return [
        f"{r.service} {r.method} {r.host}{r.path}?{r.query}"
        for r in sandbox.requests
        if not (r.service in ("environments", "bap") and r.method == "GET")
        and not (r.service == "token" and any(host in unquote(r.query) for host in ENVIRONMENTS_API_HOSTS))
    ]


def context(signers: Signers, canary: Canary) -> CorpusContext:
    return CorpusContext(certificate=base64.b64encode(signers.trusted).decode(), canary=canary.address)


def assert_rejected_with(disposition: Disposition, reason: str) -> None:
    """Rejected, kept with the reason, and answered with a `rejected` result carrying the reason."""
    assert disposition.outcome is Outcome.REJECTED, disposition.reason
    assert reason in disposition.reason
    (kept,) = [m for m in disposition.messages if m.queue == KEPT_QUEUE]
    assert reason in str(kept.properties[KEPT_REASON])
    (result,) = [m for m in disposition.messages if m.queue == RESULTS_QUEUE]
    data = json.loads(result.body)["data"]
    assert data["outcome"] == "rejected"
    assert reason in data["reason"]


@pytest.mark.parametrize("case", EVENT_CASES, ids=[case.name for case in EVENT_CASES])
async def test_a_hostile_event_is_rejected_with_its_reason_before_any_request(
    *,
    case: HostileEvent,
    runtime: Runtime,
    sandbox: Sandbox,
    signers: Signers,
    canary: Canary,
    outbound: list[str],
) -> None:
    disposition = await through_processor(runtime, case.build(context(signers, canary)))

    assert_rejected_with(disposition, case.reason)
    assert outbound == []
    assert sandbox.requests == []
    assert canary.hits == []


def test_the_corpus_holds_at_least_sixty_distinctly_named_cases() -> None:
    for table in (EVENT_CASES, ENVIRONMENT_CASES):
        names = [case.name for case in table]
        assert len(set(names)) == len(names)
    assert len(EVENT_CASES) + len(ENVIRONMENT_CASES) >= 60


@pytest.mark.parametrize("case", ENVIRONMENT_CASES, ids=[case.name for case in ENVIRONMENT_CASES])
async def test_an_environment_with_a_hostile_dataverse_url_is_rejected_after_one_lookup(
    case: HostileEnvironment,
    runtime: Runtime,
    sandbox: Sandbox,
    canary: Canary,
    outbound: list[str],
) -> None:
    environment = sandbox.control.create_environment(display_name="Hostile")
    hostile = case.url.format(canary=canary.address)
    report_dataverse_url(sandbox, environment.id, hostile)
    event = {
        "specversion": "1.0",
        "id": "evt-hostile-url",
        "source": "/tests/hostile",
        "type": "ppmi.environment.created",
        "data": {"environmentId": environment.id},
    }

    disposition = await through_processor(runtime, json.dumps(event).encode())

    assert_rejected_with(disposition, "Dataverse URL")
    assert only_environment_lookups(sandbox) == []
    assert {url.split("/")[2] for url in outbound} <= ENVIRONMENTS_API_HOSTS
    assert canary.hits == []


async def test_an_untrusted_signer_is_rejected_without_touching_azure_or_dataverse(
    runtime: Runtime, sandbox: Sandbox, signers: Signers, outbound: list[str]
) -> None:
    environment = sandbox.control.create_environment(display_name="Untrusted")
    package = sandbox.control.register_plugin_package(environment.id, signers.untrusted)
    event = {
        "specversion": "1.0",
        "id": "evt-untrusted",
        "source": "/tests/hostile",
        "type": "ppmi.pluginpackage.registered",
        "data": {
            "environmentId": environment.id,
            "pluginPackageId": package,
            "certificate": {"der": base64.b64encode(signers.untrusted).decode()},
        },
    }

    disposition = await through_processor(runtime, json.dumps(event).encode())

    assert_rejected_with(disposition, "trusted")
    assert outbound == []  # decided from the event and the policy: not even the environments API is asked
    assert only_environment_lookups(sandbox) == []
    assert sandbox.control.dump()["identities"] == []


def expired_certificate() -> bytes:
    """A self-signed signing certificate whose validity ended yesterday."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Contoso Plug-ins (expired)")])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=400))
        .not_valid_after(now - timedelta(days=1))
    )
    return builder.sign(key, hashes.SHA256()).public_bytes(Encoding.DER)


async def test_an_expired_signing_certificate_is_rejected_as_expired(
    sandbox: Sandbox, tmp_path: Path, outbound: list[str]
) -> None:
    """Even when the policy lists it: a FIC for a certificate past its validity serves nothing new."""
    expired = expired_certificate()
    policy = load_policy(write_demo_policy(tmp_path, sandbox.env, expired))
    environment = sandbox.control.create_environment(display_name="Expired")
    package = sandbox.control.register_plugin_package(environment.id, expired)
    data = {
        "environmentId": environment.id,
        "pluginPackageId": package,
        "certificate": {"der": base64.b64encode(expired).decode()},
    }

    async with open_runtime(Settings.from_env(), policy) as runtime:
        disposition = await through_processor(
            runtime, event_body("ppmi.pluginpackage.registered", data, "evt-expired")
        )

    assert_rejected_with(disposition, "expired")
    assert outbound == []
    assert only_environment_lookups(sandbox) == []
