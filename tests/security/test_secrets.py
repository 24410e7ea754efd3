"""Secrets that reach ppmi (its own bearer tokens, and ones a careless sender puts in events) never leave it.

Sinks checked: stdout/stderr (the structlog lines), every stdlib log record, the telemetry envelopes the
ingestion stand-in received, the result events and the kept messages' properties. A kept message's *body*
is the sender's own event, kept verbatim for re-drive in the namespace that held it, so it is not a sink.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from sandbox.server import Sandbox
from shared.engine import Runtime
from shared.messaging import Outcome
from shared.messaging.disposition import Disposition
from shared.telemetry.testing import exporting_to
from tests.reliability.processing import event_body, through_processor
from tests.security.conftest import Signers

WINDOW = 20  # any run of this many characters of a secret's secret part counts as a leak
CLIENT_SECRET = "kT9" + "8Q~" + "q2Vf.Zx7_Lm3Np0Rs-Tu5Wv8Yb1Cd4Eg6Hj"
SAS_KEY = base64.b64encode(b"seeded service bus shared access key!").decode()


@dataclass(frozen=True)
class Secret:
    name: str
    value: str  # as seeded
    secret_part: str  # what must never be seen, in any run of WINDOW characters

    def leaks_in(self, text: str) -> bool:
        part = self.secret_part
        return any(part[i : i + WINDOW] in text for i in range(max(1, len(part) - WINDOW + 1)))


def fetched_token(sandbox: Sandbox) -> str:
    """A bearer JWT from the managed-identity endpoint, as the product gets one."""
    env = sandbox.env
    response = httpx.get(
        env["IDENTITY_ENDPOINT"],
        params={"api-version": "2019-08-01", "resource": "https://management.azure.com"},
        headers={"X-IDENTITY-HEADER": env["IDENTITY_HEADER"], "Metadata": "true"},
    )
    return str(response.raise_for_status().json()["access_token"])


def private_key_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()


def seeded(sandbox: Sandbox) -> list[Secret]:
    token = fetched_token(sandbox)
    pem = private_key_pem()
    body = "".join(pem.splitlines()[1:-1])
    return [
        Secret("bearer JWT", token, token.rsplit(".", 1)[1]),
        Secret("client secret", CLIENT_SECRET, CLIENT_SECRET.split("~", 1)[1]),
        Secret(
            "SAS connection string",
            f"Endpoint=sb://contoso.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey={SAS_KEY}",
            SAS_KEY,
        ),
        # P-256 PKCS#8 bodies share a 48-character ASN.1 prefix; what follows is the key.
        Secret("private key PEM", pem, body[48:]),
    ]


def hostile_bodies(environment_id: str, secrets: list[Secret], signers: Signers) -> list[bytes]:
    """Events carrying the secrets: one valid (it is provisioned), the others refused for them."""
    token, client_secret, sas, pem = (s.value for s in secrets)
    created = json.loads(event_body("ppmi.environment.created", {"environmentId": environment_id}, "s-1"))
    created.update(
        subject=f"deployed with Authorization: Bearer {token} client_secret={client_secret}", source=sas
    )
    package = {
        "environmentId": environment_id,
        "pluginPackageId": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
        "certificate": {"der": base64.b64encode(signers.trusted).decode()},
    }
    return [
        json.dumps(created).encode(),
        event_body("ppmi.environment.created", {"environmentId": token}, "s-2"),
        event_body("ppmi.environment.created", {"environmentId": pem}, "s-3"),
        event_body("ppmi.environment.created", {"environmentId": sas}, "s-4"),
        event_body("ppmi.environment.created", {"environmentId": client_secret}, "s-5"),
        event_body(
            "ppmi.environment.created",
            {"environmentId": environment_id, "clientSecret": client_secret},
            "s-6",
        ),
        event_body("ppmi.pluginpackage.registered", {**package, "certificate": {"der": pem}}, "s-7"),
    ]


@pytest.fixture
def minted(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every token the sandbox's authority mints while the test runs (the product's own bearer tokens)."""
    tokens: list[str] = []
    authority = sandbox.runtime.authority
    original = authority.mint

    def recording(**claims: object) -> tuple[str, int]:
        token, expires = original(**claims)  # type: ignore[arg-type]
        tokens.append(token)
        return token, expires

    monkeypatch.setattr(authority, "mint", recording)
    return tokens


def sink_text(
    dispositions: list[Disposition],
    captured: str,
    records: list[logging.LogRecord],
    envelopes: Sequence[object],
) -> dict[str, str]:
    outgoing = [m for d in dispositions for m in d.messages]
    return {
        "stdout/stderr": captured,
        "log records": "\n".join(f"{r.getMessage()} {vars(r)}" for r in records),
        "telemetry": json.dumps(envelopes),
        "result events": "\n".join(m.body.decode() for m in outgoing if m.queue == "ppmi-results"),
        "kept message properties": "\n".join(
            json.dumps(dict(m.properties)) for m in outgoing if m.queue == "ppmi-kept"
        ),
    }


async def test_seeded_secrets_never_reach_logs_telemetry_results_or_kept_reasons(
    *,
    runtime: Runtime,
    sandbox: Sandbox,
    signers: Signers,
    minted: list[str],
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    environment = sandbox.control.create_environment(display_name="Secrets")
    secrets = seeded(sandbox)
    connection_string = sandbox.env["APPLICATIONINSIGHTS_CONNECTION_STRING"].rstrip("/")
    caplog.set_level(logging.DEBUG)

    with exporting_to(connection_string):
        dispositions = [
            await through_processor(runtime, body, f"secret-{n}")
            for n, body in enumerate(hostile_bodies(environment.id, secrets, signers))
        ]

    assert [d.outcome for d in dispositions] == [Outcome.SUCCEEDED] + [Outcome.REJECTED] * 6
    secrets += [Secret(f"product token {n}", t, t.rsplit(".", 1)[1]) for n, t in enumerate(minted)]
    assert len(secrets) > 4, "the product fetched no token of its own"
    captured = capfd.readouterr()
    sinks = sink_text(
        dispositions, captured.out + captured.err, caplog.records, sandbox.telemetry_envelopes()
    )
    assert sinks["telemetry"] != "[]", "nothing reached the ingestion stand-in"
    assert "message.processed" in sinks["stdout/stderr"], "the canonical log lines were not captured"
    leaks = [f"{s.name} in {sink}" for s in secrets for sink, text in sinks.items() if s.leaks_in(text)]
    assert leaks == []
