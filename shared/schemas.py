"""JSON Schemas (draft 2020-12) for every event type and the result event, generated from the event models.

The models are the source of truth. pydantic already writes types, lengths, literals and required keys;
rules that live in validator functions are added here, keyed by the validator's qualified name. A validator
without an entry stops generation, so a new rule in the models can never be silently missing from the schemas.
Rules JSON Schema cannot state (certificate parsing, unpaired surrogates, calendar ranges, the 64 KiB size
limit, duplicate keys) stay with the models; docs/events/README.md lists them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from shared.events import EVENT_MODELS, EVENT_TYPES, RESULT_TYPE, ResultEvent

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_TYPES: tuple[str, ...] = (*EVENT_TYPES, RESULT_TYPE)

_GUID_LOWER = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_GUID_ANY_CASE = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_NIL_GUID = "00000000-0000-0000-0000-000000000000"
# Also guards every anchored pattern: Python's `$` matches before a final line break, ECMA-262's does not.
_CONTROL_CHARACTER = "[\\u0000-\\u001f\\u007f]"
_NO_CONTROL: JsonSchemaValue = {"not": {"pattern": _CONTROL_CHARACTER}}
_BASE64 = "^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
_RFC3339 = (
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?"
    "(?:[Zz]|[+-][0-9]{2}:?[0-9]{2})$"
)


def _present(*names: str) -> JsonSchemaValue:
    """Keys given with a value; `null` counts as absent, as it does for the models."""
    return {"required": list(names), "properties": {name: {"not": {"type": "null"}} for name in names}}


_CERTIFICATE_FORMS: JsonSchemaValue = {
    "oneOf": [_present("der"), _present("sha256"), _present("sha1")],
    "if": _present("der"),
    "else": {
        "anyOf": [
            _present("issuerName", "subjectName"),
            {"properties": {"issuerName": {"type": "null"}, "subjectName": {"type": "null"}}},
        ]
    },
}

# Validator (module.qualname) → the keywords that state its rule.
_VALIDATOR_RULES: dict[str, JsonSchemaValue] = {
    "shared.events._fields.check_environment_id": {
        "description": "A Power Platform environment ID as Power Platform writes it: a lowercase GUID, "
        "or 'Default-' and the lowercase tenant GUID. Copied into the case-sensitive FIC subject.",
        "pattern": f"^(?:Default-)?{_GUID_LOWER}$",
        "not": {"anyOf": [{"enum": [_NIL_GUID, f"Default-{_NIL_GUID}"]}, {"pattern": _CONTROL_CHARACTER}]},
    },
    "shared.events._fields.check_guid": {
        "description": "A GUID in any case (kept lowercase); not the all-zero GUID.",
        "pattern": f"^{_GUID_ANY_CASE}$",
        "not": {"anyOf": [{"const": _NIL_GUID}, {"pattern": _CONTROL_CHARACTER}]},
    },
    "shared.events._fields.check_visible_ascii": {"pattern": "^[!-~]+$", **_NO_CONTROL},
    "shared.events._fields.check_no_control_characters": _NO_CONTROL,
    "shared.events._fields.check_sha256": {
        "description": "SHA-256 of the certificate's DER bytes, 64 hex characters in any case.",
        "pattern": "^[0-9a-fA-F]{64}$",
        **_NO_CONTROL,
    },
    "shared.events._fields.check_sha1": {
        "description": "SHA-1 thumbprint, 40 hex characters in any case.",
        "pattern": "^[0-9a-fA-F]{40}$",
        **_NO_CONTROL,
    },
    "shared.events._fields.check_dotnet_name": {
        "description": "A distinguished name exactly as .NET X509Certificate2.Issuer / .Subject print it, "
        "e.g. 'CN=Contoso Signing, O=Contoso, C=US'.",
        "pattern": "^(?:[A-Za-z][A-Za-z0-9]*|OID\\.[0-9]+(?:\\.[0-9]+)+)=",
        **_NO_CONTROL,
    },
    "shared.events._fields.check_base64_der": {
        "description": "The signing certificate's DER bytes in standard base64: no PEM armour, no line "
        "breaks. The service also checks that it parses as an X.509 certificate.",
        "contentEncoding": "base64",
        "contentMediaType": "application/pkix-cert",
        "pattern": _BASE64,
        **_NO_CONTROL,
    },
    "shared.events._fields.check_traceparent": {
        "description": "W3C Trace Context traceparent.",
        "pattern": "^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
        **_NO_CONTROL,
    },
    "shared.events._fields.check_connector_id": {
        "description": "The custom connector's name or ID as Power Platform shows it.",
        "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        **_NO_CONTROL,
    },
    "shared.events._fields.check_https_url": {
        "description": "An https:// URL of visible ASCII, without spaces.",
        "pattern": "^https://[!-~]+$",
        **_NO_CONTROL,
    },
    "shared.events._models.CertificateReference._one_form": _CERTIFICATE_FORMS,
}


class UnmappedValidatorError(RuntimeError):
    """An event model gained a validator whose rule this module cannot yet state as JSON Schema."""


class EventSchemaGenerator(GenerateJsonSchema):
    """pydantic's generator, plus the rules of the event validators and RFC 3339 for aware timestamps."""

    def function_after_schema(self, schema: core_schema.AfterValidatorFunctionSchema) -> JsonSchemaValue:
        generated = super().function_after_schema(schema)
        validator = schema["function"]["function"]
        name = f"{validator.__module__}.{validator.__qualname__}"
        if name not in _VALIDATOR_RULES:
            raise UnmappedValidatorError(
                f"{name} has no JSON Schema rule; add one to shared.schemas._VALIDATOR_RULES "
                "(or list it as model-only in docs/events/README.md)"
            )
        return {**generated, **_VALIDATOR_RULES[name]}

    def datetime_schema(self, schema: core_schema.DatetimeSchema) -> JsonSchemaValue:
        generated = super().datetime_schema(schema)
        if schema.get("tz_constraint") == "aware":
            generated["pattern"] = _RFC3339
            generated["description"] = "RFC 3339 timestamp with a time zone, e.g. 2026-03-01T08:00:00Z."
        return generated

    def field_title_should_be_set(self, schema: Any) -> bool:
        """Property names speak for themselves; generated titles ("Environmentid") only add noise."""
        return False


def _schema(model: type[BaseModel], schema_type: str) -> dict[str, Any]:
    generated = model.model_json_schema(by_alias=True, schema_generator=EventSchemaGenerator)
    return {
        "$schema": DIALECT,
        "$id": schema_file_name(schema_type),
        "title": schema_type,
        **{key: value for key, value in generated.items() if key != "title"},
    }


def schema_file_name(schema_type: str) -> str:
    return f"{schema_type}.schema.json"


def schema_for(schema_type: str) -> dict[str, Any]:
    """The JSON Schema of one event type, or of the result event (`ppmi.result`)."""
    if schema_type == RESULT_TYPE:
        return _schema(ResultEvent, RESULT_TYPE)
    try:
        model = EVENT_MODELS[schema_type]
    except KeyError:
        raise ValueError(f"no schema for {schema_type!r}; choose one of: {', '.join(SCHEMA_TYPES)}") from None
    return _schema(model, schema_type)


def render(schema: Mapping[str, Any]) -> str:
    """The committed form: two-space indent, non-ASCII kept, one final line break."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def schema_files() -> dict[str, str]:
    """File name → rendered schema, for every event type and the result event."""
    return {schema_file_name(name): render(schema_for(name)) for name in SCHEMA_TYPES}


def write_schemas(directory: Path) -> list[Path]:
    """Write every schema into `directory` (created if needed); returns the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in schema_files().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
