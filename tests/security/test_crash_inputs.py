"""Inputs that used to raise inside a handler now end as answers: a result with the reason, the message kept
where it belongs, other environments unaffected."""

from __future__ import annotations

import base64
import datetime
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from sandbox.server import Sandbox
from shared.engine import Runtime
from shared.events import parse_result
from shared.messaging import KEPT_QUEUE, RESULTS_QUEUE, Outcome
from shared.messaging.envelope import MAX_MESSAGE_ID_LENGTH
from shared.messaging.sweeps import discovery_events, reconcile_events
from tests.reliability.processing import event_body, through_processor
from tests.security.conftest import Signers, report_dataverse_url

NOW = datetime.datetime.now(datetime.UTC)


def certificate(key: object, *, curve_oid_swap: bytes | None = None) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Contoso Plug-ins")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())  # type: ignore[attr-defined]
        .serial_number(1)
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=365))
    )
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    der = builder.sign(key, algorithm).public_bytes(serialization.Encoding.DER)  # type: ignore[arg-type]
    if curve_oid_swap is not None:  # P-256's OID replaced by another named curve the library cannot use
        der = der.replace(bytes.fromhex("06082a8648ce3d030107"), curve_oid_swap, 1)
    return der


def package_event(environment_id: str, der: bytes, event_id: str = "e-1") -> bytes:
    data = {
        "environmentId": environment_id,
        "pluginPackageId": "a1b2c3d4-0000-4000-8000-000000000001",
        "certificate": {"der": base64.b64encode(der).decode()},
    }
    return event_body("ppmi.pluginpackage.registered", data, event_id)


def kept_and_answered(disposition: object, outcome: str, fragment: str) -> dict[str, object]:
    messages = disposition.messages  # type: ignore[attr-defined]
    (kept,) = [m for m in messages if m.queue == KEPT_QUEUE]
    (result,) = [m for m in messages if m.queue == RESULTS_QUEUE]
    assert all(len(m.message_id) <= MAX_MESSAGE_ID_LENGTH for m in messages)
    data = parse_result(result.body).data
    assert data.outcome == outcome
    assert fragment in (data.reason or "")
    assert kept.message_id != result.message_id
    return {"kept": kept, "result": data}


@pytest.mark.parametrize(
    ("key", "swap", "fragment"),
    [
        pytest.param(
            rsa.generate_private_key(65537, 1024),  # noqa: S505 - the weak key under test
            None,
            "RSA key has 1024 bits",
            id="rsa-1024",
        ),
        pytest.param(ec.generate_private_key(ec.SECP192R1()), None, "secp192r1", id="p-192"),
        pytest.param(ec.generate_private_key(ec.SECP224R1()), None, "secp224r1", id="p-224"),
        pytest.param(dsa.generate_private_key(2048), None, "its key is DSA", id="dsa"),
        pytest.param(ed25519.Ed25519PrivateKey.generate(), None, "Ed25519", id="ed25519"),
        pytest.param(
            ec.generate_private_key(ec.SECP256R1()),
            bytes.fromhex("06082a8648ce3d030102"),
            "cannot be read",
            id="unsupported-curve",
        ),
    ],
)
async def test_a_certificate_with_a_weak_or_unreadable_key_is_rejected_with_the_reason(
    runtime: Runtime, sandbox: Sandbox, key: object, swap: bytes | None, fragment: str
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")

    disposition = await through_processor(
        runtime, package_event(environment.id, certificate(key, curve_oid_swap=swap))
    )

    assert disposition.outcome is Outcome.REJECTED
    kept_and_answered(disposition, "rejected", fragment)


@pytest.mark.parametrize("length", [MAX_MESSAGE_ID_LENGTH - 5, MAX_MESSAGE_ID_LENGTH])
async def test_an_event_id_at_the_limit_is_answered_under_message_ids_the_broker_takes(
    runtime: Runtime, sandbox: Sandbox, signers: Signers, length: int
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    untrusted = package_event(environment.id, signers.untrusted, event_id="x" * length)

    rejected = await through_processor(runtime, untrusted, message_id="m" * length)
    created = await through_processor(
        runtime,
        event_body("ppmi.environment.created", {"environmentId": environment.id}, "c" * length),
        message_id="c" * length,
    )

    kept_and_answered(rejected, "rejected", "not trusted")
    assert created.outcome is Outcome.SUCCEEDED, created.reason
    assert all(len(m.message_id) <= MAX_MESSAGE_ID_LENGTH for m in created.messages)


@pytest.mark.parametrize(
    "body",
    [
        b'{"specversion": "1.0", "id": "e", "source": "/s", "type": "ppmi.identity.upgrade", "data": '
        b'{"environmentId": "5f1c3a2e-7a11-4f3e-9d55-0b6a3f3e9c01", "targetVersion": 2' + b"0" * 5000 + b"}}",
        b'{"a": -' + b"9" * 4301 + b"}",
        b"[" + b"1" * 10_000 + b"]",
    ],
    ids=["target-version", "negative", "array"],
)
async def test_a_number_python_refuses_to_read_is_a_rejection(runtime: Runtime, body: bytes) -> None:
    disposition = await through_processor(runtime, body)

    assert disposition.outcome is Outcome.REJECTED
    assert "4300 digits" in disposition.reason


@pytest.mark.parametrize(
    "url",
    [
        "https://[contoso.crm.dynamics.com",
        "https://contoso.crm.dynamics.com]",
        "https://contoso.crm.dynamics.com:abc",
        "https://contoso.crm.dynamics.com:99999",
        "https://contoso.crm.dynamics.com:-1",
        "https://[::1]:443",
        "https://[v1.x]/",
    ],
)
async def test_an_unparsable_dataverse_url_from_the_environments_api_is_a_rejection(
    runtime: Runtime, sandbox: Sandbox, url: str
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    report_dataverse_url(sandbox, environment.id, url)

    disposition = await through_processor(
        runtime, event_body("ppmi.environment.created", {"environmentId": environment.id}, "e-1")
    )

    assert disposition.outcome is Outcome.REJECTED
    kept_and_answered(disposition, "rejected", "Dataverse URL")


async def test_an_organisation_with_hundreds_of_components_gets_a_result_within_its_limit(
    runtime: Runtime, sandbox: Sandbox, signers: Signers
) -> None:
    environment = sandbox.control.create_environment(display_name="Sales")
    for _ in range(320):
        sandbox.control.register_plugin_package(environment.id, signers.untrusted)
    for _ in range(300):
        sandbox.control.register_plugin_assembly(environment.id, signers.untrusted)

    disposition = await through_processor(
        runtime, event_body("ppmi.environment.created", {"environmentId": environment.id}, "e-1")
    )

    assert disposition.outcome is Outcome.SUCCEEDED, disposition.reason
    (result,) = [m for m in disposition.messages if m.queue == RESULTS_QUEUE]
    data = parse_result(result.body).data  # the receiver's own size and step limits hold
    (summary,) = [
        step for step in data.steps if step.step == "bind-component" and step.target.endswith(" more")
    ]
    listed = [step for step in data.steps if step.step == "bind-component" and step is not summary]
    assert len(listed) + int(summary.target.split()[0]) == 620
    assert "counted rather than listed" in (summary.detail or "")


class Listed:
    def __init__(self, id: str) -> None:
        self.id = id
        self.created_time = NOW


@pytest.mark.parametrize(
    "odd", ["", "NOT-A-GUID", "5F1C3A2E-7A11-4F3E-9D55-0B6A3F3E9C01", "../../x", "a" * 5000, "\u202e" + "x"]
)
def test_one_environment_id_no_event_may_carry_does_not_stop_either_sweep(odd: str) -> None:
    good = ["5f1c3a2e-7a11-4f3e-9d55-0b6a3f3e9c01", "6f1c3a2e-7a11-4f3e-9d55-0b6a3f3e9c02"]
    listed = [Listed(good[0]), Listed(odd), Listed(good[1])]

    discovered = discovery_events(listed, now=NOW, lookback=datetime.timedelta(hours=1))
    reconciled = reconcile_events(listed, now=NOW)

    assert [e.data.environment_id for e in discovered] == good
    assert [e.data.environment_id for e in reconciled] == good
    assert json.dumps([e.id for e in discovered])
