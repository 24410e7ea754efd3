"""The committed JSON Schemas match the models, accept what the service accepts and refuse what it refuses."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import pytest
from jsonschema import Draft202012Validator
from pydantic import AfterValidator, BaseModel

from shared.events import EVENT_TYPES, EventValidationError, parse_event, parse_result
from shared.schemas import (
    SCHEMA_TYPES,
    EventSchemaGenerator,
    UnmappedValidatorError,
    schema_file_name,
    schema_files,
    schema_for,
)
from tests.domain.event_samples import sample
from tests.domain.test_events import MALFORMED

Document = dict[str, Any]
SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "events"
EXAMPLES = SCHEMAS / "examples"

# Malformed cases whose rule JSON Schema cannot state: only the service refuses them.
MODEL_ONLY = {
    "der not a certificate": "base64 that decodes to bytes which are not an X.509 certificate",
}


def validator(schema_type: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / schema_file_name(schema_type)).read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


def schema_accepts(schema_type: str, document: Document) -> bool:
    return validator(schema_type).is_valid(document)


def model_accepts(document: Document) -> bool:
    try:
        parse_event(json.dumps(document))
    except EventValidationError:
        return False
    return True


def test_committed_schemas_are_exactly_what_the_models_generate() -> None:
    committed = {path.name: path.read_text(encoding="utf-8") for path in SCHEMAS.glob("*.schema.json")}

    assert committed == schema_files(), "regenerate with: ppmi event schema --write docs/events"


@pytest.mark.parametrize("schema_type", SCHEMA_TYPES)
def test_every_schema_is_a_valid_draft_2020_12_schema(schema_type: str) -> None:
    schema = schema_for(schema_type)

    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("schema_type", SCHEMA_TYPES)
def test_worked_example_of_every_type_is_valid_for_its_schema_and_for_the_service(schema_type: str) -> None:
    raw = (EXAMPLES / f"{schema_type}.json").read_text(encoding="utf-8")
    document = json.loads(raw)

    validator(schema_type).validate(document)
    parsed = parse_result(raw) if schema_type == "ppmi.result" else parse_event(raw)
    assert parsed.type == schema_type


def test_examples_folder_holds_one_example_per_type_and_nothing_else() -> None:
    assert sorted(path.stem for path in EXAMPLES.glob("*.json")) == sorted(SCHEMA_TYPES)


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_schema_refuses_an_event_of_another_type(event_type: str) -> None:
    other = next(name for name in EVENT_TYPES if name != event_type)

    assert not schema_accepts(event_type, sample(other) | {"data": sample(event_type)["data"]})


def _malformed(name: str, change: Callable[[Document], None], field: str) -> tuple[str, Document]:
    schema_type = (
        "ppmi.identity.upgrade" if field == "data.targetVersion" else "ppmi.pluginassembly.registered"
    )
    document = sample(schema_type)
    change(document)
    return schema_type, document


SCHEMA_CASES = [
    pytest.param(name, change, field, id=name)
    for name, change, field, _ in MALFORMED
    if name not in MODEL_ONLY
]
MODEL_ONLY_CASES = [
    pytest.param(name, change, field, id=name) for name, change, field, _ in MALFORMED if name in MODEL_ONLY
]


@pytest.mark.parametrize(("name", "change", "field"), SCHEMA_CASES)
def test_schema_refuses_each_malformed_event_the_service_refuses(
    name: str, change: Callable[[Document], None], field: str
) -> None:
    schema_type, document = _malformed(name, change, field)
    parent = field.rpartition(".")[0]

    errors = list(validator(schema_type).iter_errors(document))

    assert not model_accepts(document)
    assert errors
    # The schema points at the same field the service names (a missing or extra key: at its parent).
    assert {f"$.{field}", f"$.{parent}".rstrip(".")} & {error.json_path for error in errors}


@pytest.mark.parametrize(("name", "change", "field"), MODEL_ONLY_CASES)
def test_model_only_cases_pass_the_schema_and_are_refused_by_the_service(
    name: str, change: Callable[[Document], None], field: str
) -> None:
    schema_type, document = _malformed(name, change, field)

    assert schema_accepts(schema_type, document), f"the schema now refuses {name!r}: drop it from MODEL_ONLY"
    assert not model_accepts(document)


def test_every_model_only_case_is_in_the_malformed_table() -> None:
    assert set(MODEL_ONLY) <= {name for name, *_ in MALFORMED}


def _assembly_with(**certificate: Any) -> Document:
    document = sample("ppmi.pluginassembly.registered")
    document["data"]["certificate"] = certificate
    return document


def _with(event_type: str, *path: str, value: Any) -> Document:
    document = sample(event_type)
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return document


DER = sample("ppmi.pluginassembly.registered")["data"]["certificate"]["der"]
VALID_VARIANTS: list[tuple[str, str, Document]] = [
    (
        "default environment",
        "ppmi.environment.created",
        _with(
            "ppmi.environment.created",
            "data",
            "environmentId",
            value="Default-7f2c1900-9fd4-4b89-91d3-79a649996f0a",
        ),
    ),
    (
        "upper-case assembly id",
        "ppmi.pluginassembly.registered",
        _with(
            "ppmi.pluginassembly.registered",
            "data",
            "pluginAssemblyId",
            value="A1B2C3D4-0000-4000-8000-00000000000F",
        ),
    ),
    ("bare sha1", "ppmi.pluginassembly.registered", _assembly_with(sha1="ab" * 20)),
    ("bare upper-case sha256", "ppmi.pluginassembly.registered", _assembly_with(sha256="AB" * 32)),
    (
        "der with .NET names",
        "ppmi.pluginassembly.registered",
        _assembly_with(der=DER, issuerName="CN=Contoso CA, O=Contoso", subjectName="CN=Signer"),
    ),
    (
        "der with a null thumbprint",
        "ppmi.pluginassembly.registered",
        _assembly_with(der=DER, sha256=None),
    ),
    (
        "thumbprint with null names",
        "ppmi.pluginassembly.registered",
        _assembly_with(sha256="ab" * 32, issuerName=None, subjectName=None),
    ),
    (
        "EV signer names",
        "ppmi.pluginpackage.registered",
        _with(
            "ppmi.pluginpackage.registered",
            "data",
            "certificate",
            "subjectName",
            value='OID.1.3.6.1.4.1.311.60.2.1.3=US, O="The ""Best"" Co", CN=Zoë',
        ),
    ),
    (
        "time with an offset",
        "ppmi.environment.created",
        _with("ppmi.environment.created", "time", value="2026-03-01 09:00:00+01:00"),
    ),
    (
        "time in lower case",
        "ppmi.environment.created",
        _with("ppmi.environment.created", "time", value="2026-03-01t08:00:00.25z"),
    ),
    ("null time", "ppmi.environment.created", _with("ppmi.environment.created", "time", value=None)),
    (
        "subject with emoji",
        "ppmi.environment.created",
        _with("ppmi.environment.created", "subject", value="release 🚀"),
    ),
    (
        "upgrade without optional fields",
        "ppmi.identity.upgrade",
        _with(
            "ppmi.identity.upgrade", "data", value={"environmentId": "7efcc31a-c410-e20e-9b95-dd448cedf653"}
        ),
    ),
    ("revert", "ppmi.identity.upgrade", _with("ppmi.identity.upgrade", "data", "revert", value=True)),
]


@pytest.mark.parametrize(
    ("schema_type", "document"),
    [pytest.param(schema_type, document, id=name) for name, schema_type, document in VALID_VARIANTS],
)
def test_schema_accepts_every_form_the_service_accepts(schema_type: str, document: Document) -> None:
    assert model_accepts(copy.deepcopy(document))
    assert schema_accepts(schema_type, document)


def test_result_schema_refuses_an_unknown_outcome() -> None:
    document = json.loads((EXAMPLES / "ppmi.result.json").read_text(encoding="utf-8"))
    document["data"]["outcome"] = "partially-succeeded"

    assert not schema_accepts("ppmi.result", document)


def test_a_validator_without_a_json_schema_rule_stops_generation() -> None:
    def check_even_length(value: str) -> str:
        if len(value) % 2:
            raise ValueError("odd")
        return value

    class Padded(BaseModel):
        value: Annotated[str, AfterValidator(check_even_length)]

    with pytest.raises(UnmappedValidatorError, match="check_even_length has no JSON Schema rule"):
        Padded.model_json_schema(schema_generator=EventSchemaGenerator)


def test_the_folder_guide_links_every_schema_and_example() -> None:
    guide = (SCHEMAS / "README.md").read_text(encoding="utf-8")

    for schema_type in SCHEMA_TYPES:
        assert f"]({schema_file_name(schema_type)})" in guide
        assert f"](examples/{schema_type}.json)" in guide
