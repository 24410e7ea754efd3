"""Intake events: every type parses, and malformed events are refused with a reason that names the fix."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from shared.events import (
    EVENT_TYPES,
    MAX_EVENT_BYTES,
    Event,
    EventValidationError,
    PluginAssemblyRegisteredEvent,
    new_event,
    parse_event,
)
from shared.fic import load_certificate
from tests.domain.event_samples import CA_ISSUED, ENVIRONMENT, SELF_SIGNED_DER, sample

Document = dict[str, Any]
CYRILLIC_A = ENVIRONMENT.replace("a", "\u0430")
FULL_WIDTH_7 = ENVIRONMENT.replace("7", "\uff17", 1)


def assembly() -> Document:
    return sample("ppmi.pluginassembly.registered")


def without(*path: str) -> Callable[[Document], None]:
    def change(document: Document) -> None:
        target = document
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return change


def setting(value: Any, *path: str) -> Callable[[Document], None]:
    def change(document: Document) -> None:
        target = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def certificate(value: Any) -> Callable[[Document], None]:
    return setting(value, "data", "certificate")


MALFORMED: list[tuple[str, Callable[[Document], None], str, str]] = [
    ("no specversion", without("specversion"), "specversion", "specversion is required"),
    ("old specversion", setting("0.3", "specversion"), "specversion", "must be '1.0'"),
    ("numeric specversion", setting(1.0, "specversion"), "specversion", "must be '1.0'"),
    ("no id", without("id"), "id", "id is required"),
    ("empty id", setting("", "id"), "id", "must not be empty"),
    ("id with spaces", setting("my event", "id"), "id", "visible ASCII without spaces"),
    ("id too long", setting("x" * 129, "id"), "id", "limit of 128 characters"),
    ("no source", without("source"), "source", "source is required"),
    ("no type", without("type"), "type", "'type' is required"),
    ("unknown type", setting("ppmi.environment.renamed", "type"), "type", "is unknown; use one of"),
    ("type not a string", setting(["x"], "type"), "type", "'type' must be a JSON string"),
    ("time not a timestamp", setting("yesterday", "time"), "time", "RFC 3339 timestamp"),
    ("time without zone", setting("2026-03-01T08:00:00", "time"), "time", "must carry a time zone"),
    ("wrong content type", setting("text/plain", "datacontenttype"), "datacontenttype", "'application/json'"),
    ("unknown attribute", setting("x", "dataschema"), "dataschema", "not a known field"),
    ("reply session with space", setting("a b", "replysession"), "replysession", "without spaces"),
    ("reply session too long", setting("s" * 129, "replysession"), "replysession", "limit of 128"),
    ("subject with a control character", setting("a\u0007b", "subject"), "subject", "control characters"),
    ("malformed traceparent", setting("00-abc", "traceparent"), "traceparent", "W3C traceparent"),
    ("no data", without("data"), "data", "data is required"),
    ("data not an object", setting("x", "data"), "data", "must be a JSON object"),
    (
        "forged Dataverse URL",
        setting("https://evil.example", "data", "dataverseUrl"),
        "data.dataverseUrl",
        "Dataverse URL is always looked up from the Power Platform API",
    ),
    ("unknown data field", setting(1, "data", "priority"), "data.priority", "not a known field"),
    ("no environment", without("data", "environmentId"), "data.environmentId", "is required"),
    (
        "upper-case environment",
        setting(ENVIRONMENT.upper(), "data", "environmentId"),
        "data.environmentId",
        "lowercase GUID",
    ),
    (
        "lower-case default prefix",
        setting(f"default-{ENVIRONMENT}", "data", "environmentId"),
        "data.environmentId",
        "prefix 'Default-'",
    ),
    (
        "path-like environment",
        setting("../../subscriptions/x", "data", "environmentId"),
        "data.environmentId",
        "must be an environment ID",
    ),
    (
        "environment with whitespace",
        setting(f" {ENVIRONMENT}", "data", "environmentId"),
        "data.environmentId",
        "must not contain whitespace",
    ),
    (
        "Cyrillic look-alike in environment",
        setting(CYRILLIC_A, "data", "environmentId"),
        "data.environmentId",
        "plain ASCII",
    ),
    (
        "full-width digit in environment",
        setting(FULL_WIDTH_7, "data", "environmentId"),
        "data.environmentId",
        "plain ASCII",
    ),
    (
        "braced environment",
        setting("{" + ENVIRONMENT + "}", "data", "environmentId"),
        "data.environmentId",
        "must be an environment ID",
    ),
    (
        "nil environment",
        setting("00000000-0000-0000-0000-000000000000", "data", "environmentId"),
        "data.environmentId",
        "all-zero GUID",
    ),
    ("numeric assembly id", setting(5, "data", "pluginAssemblyId"), "data.pluginAssemblyId", "JSON string"),
    (
        "malformed assembly id",
        setting("a1b2c3d4", "data", "pluginAssemblyId"),
        "data.pluginAssemblyId",
        "must be a GUID",
    ),
    ("no certificate", without("data", "certificate"), "data.certificate", "is required"),
    ("empty certificate", certificate({}), "data.certificate", "exactly one of 'der'"),
    (
        "two certificate forms",
        certificate({"sha256": "ab" * 32, "sha1": "AB" * 20}),
        "data.certificate",
        "exactly one of 'der'",
    ),
    ("der not base64", certificate({"der": "not*base64"}), "data.certificate.der", "standard base64"),
    ("der as PEM", certificate({"der": "-----BEGIN CERTIFICATE-----"}), "data.certificate.der", "PEM"),
    (
        "der not a certificate",
        certificate({"der": "QUJDRA=="}),
        "data.certificate.der",
        "decodes but is not a certificate",
    ),
    ("der too large", certificate({"der": "QUJD" * 4097}), "data.certificate.der", "limit of 16384"),
    ("short sha256", certificate({"sha256": "ab" * 31}), "data.certificate.sha256", "64 hex characters"),
    ("sha1 not hex", certificate({"sha1": "zz" * 20}), "data.certificate.sha1", "40 hex characters"),
    (
        "issuer without subject",
        certificate({"sha256": "ab" * 32, "issuerName": "CN=CA"}),
        "data.certificate",
        "both 'issuerName' and 'subjectName'",
    ),
    (
        "name not a DN",
        certificate({"sha256": "ab" * 32, "issuerName": "Contoso CA", "subjectName": "CN=S"}),
        "data.certificate.issuerName",
        "distinguished name exactly as .NET",
    ),
    (
        "unknown certificate field",
        certificate({"sha256": "ab" * 32, "pfx": "x"}),
        "data.certificate.pfx",
        "not a known field",
    ),
    ("upgrade to version 3", setting(3, "data", "targetVersion"), "data.targetVersion", "must be 2"),
]


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [pytest.param(change, field, reason, id=name) for name, change, field, reason in MALFORMED],
)
def test_malformed_event_is_refused_with_its_own_reason(
    change: Callable[[Document], None], field: str, reason: str
) -> None:
    document = sample("ppmi.identity.upgrade") if field == "data.targetVersion" else assembly()
    change(document)

    with pytest.raises(EventValidationError) as refused:
        parse_event(json.dumps(document))

    assert refused.value.field == field
    assert reason in refused.value.reason


def test_the_malformed_table_covers_at_least_thirty_distinct_reasons() -> None:
    assert len({reason for *_, reason in MALFORMED}) >= 30


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe{}", "not UTF-8"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"id": "a", "id": "b"}', "'id' appears twice"),
        ('{"specversion": NaN}', "NaN"),
        ("[" * 30000 + "]" * 30000, "nests too deeply"),
        ("x" * (MAX_EVENT_BYTES + 1), f"the limit is {MAX_EVENT_BYTES} bytes"),
    ],
)
def test_bytes_that_are_not_one_json_object_are_refused(raw: bytes | str, reason: str) -> None:
    with pytest.raises(EventValidationError, match=reason):
        parse_event(raw)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_valid_example_of_every_type_parses_and_round_trips(event_type: str) -> None:
    event = parse_event(json.dumps(sample(event_type)))

    assert event.type == event_type
    assert event.data.environment_id == ENVIRONMENT
    assert event.reply_session == "pipeline-42"
    assert parse_event(event.to_json()) == event


def test_default_environment_id_is_accepted() -> None:
    document = sample("ppmi.environment.created")
    document["data"]["environmentId"] = "Default-7f2c1900-9fd4-4b89-91d3-79a649996f0a"

    assert parse_event(json.dumps(document)).data.environment_id == document["data"]["environmentId"]


def test_component_ids_are_kept_lowercase_whatever_case_was_sent() -> None:
    document = assembly()
    document["data"]["pluginAssemblyId"] = "A1B2C3D4-0000-4000-8000-00000000000F"

    event = parse_event(json.dumps(document))

    assert isinstance(event, PluginAssemblyRegisteredEvent)
    assert event.data.plugin_assembly_id == "a1b2c3d4-0000-4000-8000-00000000000f"


def test_signer_of_a_der_certificate_is_read_from_the_certificate() -> None:
    signer = parse_event(json.dumps(assembly())).signer()

    assert signer.self_signed
    assert signer.sha256_hex == load_certificate(SELF_SIGNED_DER).sha256_hex


def test_signer_given_by_thumbprint_and_names_is_ca_issued_with_those_names() -> None:
    signer = parse_event(json.dumps(sample("ppmi.pluginpackage.registered"))).signer()

    assert not signer.self_signed
    assert signer.subject_name == "CN=Contoso Signing, O=Contoso, C=US"


def test_names_sent_with_a_der_certificate_override_the_rendered_ones() -> None:
    document = assembly()
    document["data"]["certificate"] = {
        "der": base64.b64encode(CA_ISSUED.leaf_der).decode(),
        "issuerName": "CN=As .NET Printed It",
        "subjectName": "CN=Signer As Printed",
    }

    signer = parse_event(json.dumps(document)).signer()

    assert (signer.issuer_name, signer.subject_name) == ("CN=As .NET Printed It", "CN=Signer As Printed")


def test_bare_sha256_thumbprint_means_a_self_signed_signer() -> None:
    document = assembly()
    document["data"]["certificate"] = {"sha256": "AB" * 32}

    signer = parse_event(json.dumps(document)).signer()

    assert signer.self_signed
    assert signer.sha256_hex == "ab" * 32


def test_environment_events_carry_no_signer() -> None:
    event = parse_event(json.dumps(sample("ppmi.environment.created")))

    with pytest.raises(ValueError, match="carries no certificate"):
        event.signer()


def test_new_event_goes_through_the_same_validation_as_a_received_one() -> None:
    event = new_event(
        "ppmi.environment.created", {"environmentId": ENVIRONMENT}, source="/cli", reply_session="me"
    )

    assert isinstance(event, Event)
    assert event.time is not None
    assert parse_event(event.to_json()).reply_session == "me"
    with pytest.raises(EventValidationError, match="Dataverse URL"):
        new_event(
            "ppmi.environment.created", {"environmentId": ENVIRONMENT, "url": "https://x"}, source="/cli"
        )


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_event_model_exports_a_json_schema(event_type: str) -> None:
    schema = type(parse_event(json.dumps(sample(event_type)))).model_json_schema(by_alias=True)

    assert "replysession" in schema["properties"]
    assert schema["additionalProperties"] is False
