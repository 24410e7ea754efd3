"""Property-based: whatever bytes arrive, the event parser, the policy loader and the Dataverse URL check end
in a value or their own typed refusal, never another exception."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.clients.dataverse import dataverse_origin
from shared.errors import InvalidInputError
from shared.events import EventValidationError, parse_event
from shared.policy import PolicyError, parse_policy
from tests.domain.test_policy import minimal

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "events" / "examples"
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


def event_documents() -> st.SearchStrategy[dict[str, object]]:
    """Published examples with one value replaced, one key added or one key removed, anywhere in them."""
    examples = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(EXAMPLES.glob("ppmi.*.json"))]

    def mutate(document: dict[str, object], data: st.DataObject) -> dict[str, object]:
        target = document
        if isinstance(document.get("data"), dict) and data.draw(st.booleans()):
            target = document["data"]  # type: ignore[assignment]
        action = data.draw(st.sampled_from(["replace", "add", "remove"]))
        keys = sorted(target)
        if action == "add" or not keys:
            target[data.draw(st.text(max_size=20))] = data.draw(json_values)
        elif action == "replace":
            target[data.draw(st.sampled_from(keys))] = data.draw(json_values)
        else:
            del target[data.draw(st.sampled_from(keys))]
        return document

    return st.builds(
        lambda index, data: mutate(json.loads(json.dumps(examples[index % len(examples)])), data),
        st.integers(min_value=0, max_value=len(examples) - 1),
        st.data(),
    )


def settled[T, E: Exception](call: Callable[[], T], refusal: type[E]) -> T | E:
    """What `call` returns, or the typed refusal it raises; any other exception fails the test."""
    try:
        return call()
    except refusal as error:
        return error


@FAST
@given(st.binary(max_size=512))
def test_any_bytes_parse_to_an_event_or_a_typed_refusal(raw: bytes) -> None:
    result = settled(lambda: parse_event(raw), EventValidationError)

    assert not isinstance(result, EventValidationError) or result.reason


@FAST
@given(event_documents())
def test_any_mutation_of_a_published_example_parses_or_is_refused(document: dict[str, object]) -> None:
    result = settled(lambda: parse_event(json.dumps(document)), EventValidationError)

    assert not isinstance(result, EventValidationError) or result.reason


@FAST
@given(st.text(max_size=300))
def test_any_text_loads_as_a_policy_or_a_typed_refusal(text: str) -> None:
    result = settled(lambda: parse_policy(text, Path()), PolicyError)

    assert not isinstance(result, PolicyError) or str(result)


@FAST
@given(
    st.sampled_from(
        [
            "version",
            "tenantId",
            "identity",
            "trustedSigners",
            "roleGrants",
            "cloud",
            "dataverseHostSuffixes",
            "pacing",
            "environments",
        ]
    ),
    json_values,
)
def test_any_value_at_any_policy_key_loads_or_is_refused(key: str, value: object) -> None:
    document = minimal()
    document[key] = value
    result = settled(lambda: parse_policy(json.dumps(document), Path()), PolicyError)  # JSON is YAML

    assert not isinstance(result, PolicyError) or result.field


url_parts = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)


@FAST
@given(
    st.one_of(
        st.text(max_size=80),
        st.builds(
            lambda scheme, host, port, rest: f"{scheme}://{host}{port}{rest}",
            st.sampled_from(["https", "http", "HTTPS", "", "javascript"]),
            st.one_of(url_parts, st.sampled_from(["contoso.crm.dynamics.com", "[::1]", "[contoso", "a]b"])),
            st.one_of(st.just(""), st.builds(lambda p: f":{p}", url_parts)),
            url_parts,
        ),
    )
)
def test_any_dataverse_url_is_an_origin_or_a_rejection(url: str) -> None:
    policy = parse_policy(json.dumps(minimal()), Path())
    result = settled(lambda: dataverse_origin(url, policy), InvalidInputError)

    if isinstance(result, InvalidInputError):
        assert result.reason
    else:
        assert result.startswith("https://")
        assert policy.dataverse_host_allowed(result.removeprefix("https://"))
