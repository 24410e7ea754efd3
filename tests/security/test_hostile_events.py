"""Hostile events through the message processor: each refused with its own reason, and nothing sent anywhere.

"Nothing sent" is checked three ways: the sandbox's request log, every URL the product's HTTP layer tried to
reach (recorded before connecting), and a canary listener whose address the hostile URLs name.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import unquote

import pytest

from sandbox.server import Sandbox
from shared.engine import Runtime
from shared.messaging import KEPT_QUEUE, KEPT_REASON, RESULTS_QUEUE, Outcome
from shared.messaging.disposition import Disposition
from tests.reliability.processing import through_processor
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
    assert only_environment_lookups(sandbox) == []
    assert {url.split("/")[2] for url in outbound} <= ENVIRONMENTS_API_HOSTS
    assert sandbox.control.dump()["identities"] == []
