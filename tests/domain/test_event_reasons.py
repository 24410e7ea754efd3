"""Refusal reasons repeat a sent value only when it is short and harmless; anything else is described."""

from __future__ import annotations

import base64
import json

import pytest

from shared.events import EventValidationError, parse_event, rejected_result, result_for
from tests.domain.event_samples import ENVIRONMENT, sample

CLIENT_SECRET = "kT9" + "8Q~" + "q2Vf.Zx7_Lm3Np0Rs-Tu5Wv8Yb1Cd4Eg6Hj"
PLAIN_KEY = "Zx7Lm3Np0RsTu5Wv8Yb1Cd4Eg6Hj2Kq9"  # no telltale characters, only its shape gives it away
SAS_KEY = base64.b64encode(b"seeded service bus shared access key!").decode()
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQifQ.c2lnbmF0dXJlLXBhcnQtb2YtdGhlLXRva2Vu"
SECRETS = [CLIENT_SECRET, PLAIN_KEY, SAS_KEY, JWT, "x" * 65]


def refusal(document: dict[str, object] | str) -> EventValidationError:
    with pytest.raises(EventValidationError) as refused:
        parse_event(document if isinstance(document, str) else json.dumps(document))
    return refused.value


def with_data(**data: object) -> dict[str, object]:
    document = sample("ppmi.environment.created")
    document["data"] = {"environmentId": ENVIRONMENT, **data}
    return document


@pytest.mark.parametrize("secret", SECRETS)
def test_a_secret_sent_as_the_environment_id_is_described_not_repeated(secret: str) -> None:
    error = refusal(with_data(environmentId=secret))

    assert secret not in error.reason
    assert error.field == "data.environmentId"
    assert f"a {len(secret)}-character value" in error.reason or "longer than the limit" in error.reason


@pytest.mark.parametrize("secret", SECRETS)
def test_a_secret_sent_as_the_event_type_is_neither_in_the_reason_nor_in_the_rejected_result(
    secret: str,
) -> None:
    document = sample("ppmi.environment.created")
    document["type"] = secret
    raw = json.dumps(document)

    error = refusal(raw)
    result = rejected_result(raw, error).to_json().decode()

    assert secret not in error.reason
    assert secret not in result
    assert "is unknown; use one of" in error.reason


@pytest.mark.parametrize("secret", SECRETS)
def test_a_secret_used_as_a_field_name_never_reaches_the_field_path(secret: str) -> None:
    error = refusal(with_data(**{secret: 1}))

    assert secret not in error.reason
    assert secret not in error.field
    assert error.field.startswith("data.<a ")
    assert "not a known field" in error.reason


def test_a_secret_used_as_a_repeated_key_is_not_repeated_back() -> None:
    error = refusal('{"' + PLAIN_KEY + '": 1, "' + PLAIN_KEY + '": 2}')

    assert PLAIN_KEY not in error.reason
    assert "appears twice" in error.reason


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("../../subscriptions/x", "'../../subscriptions/x'"),
        (ENVIRONMENT.upper(), repr(ENVIRONMENT.upper())),
        (f"{{{ENVIRONMENT}}}", repr(f"{{{ENVIRONMENT}}}")),
    ],
)
def test_a_short_plain_wrong_value_is_quoted_so_the_sender_sees_the_mistake(value: str, quoted: str) -> None:
    assert quoted in refusal(with_data(environmentId=value)).reason


def test_a_look_alike_character_is_named_by_position_and_code_point() -> None:
    position = ENVIRONMENT.index("a") + 1

    reason = refusal(with_data(environmentId=ENVIRONMENT.replace("a", "\u0430"))).reason

    assert f"character {position} is U+0430 CYRILLIC SMALL LETTER A" in reason


def test_an_unknown_but_harmless_event_type_is_repeated_in_the_reason_and_the_result() -> None:
    document = sample("ppmi.environment.created")
    document["type"] = "ppmi.environment.renamed"
    raw = json.dumps(document)

    error = refusal(raw)

    assert "'ppmi.environment.renamed' is unknown" in error.reason
    assert rejected_result(raw, error).data.event_type == "ppmi.environment.renamed"


def test_a_failure_reason_longer_than_a_result_holds_is_shortened_not_refused() -> None:
    event = parse_event(json.dumps(sample("ppmi.environment.created")))

    result = result_for(event, "failed", "dataverse PATCH: HTTP 500: " + "stack frame\n" * 2000)

    assert result.data.reason is not None
    assert len(result.data.reason) <= 4096
    assert result.data.reason.endswith("characters in all)")
