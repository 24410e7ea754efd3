"""The JSON Schemas in docs/schemas/ that `--output json` documents must match, one per command."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"

# Each command's document; any command's failure is an `error` document.
COMMAND_SCHEMAS = {
    "fic show": "fic-show",
    "event validate": "event-validate",
    "event schema": "event-schema",
    "policy validate": "policy-validate",
    "policy deployment-parameters": "policy-deployment-parameters",
    "plan": "plan",
    "apply": "report",
    "upgrade": "report",
    "verify": "verify",
    "preflight": "preflight",
    "publish": "publish",
    "requeue": "requeue",
    "worker": "worker",
    "status": "status",
    "sandbox": "sandbox",
    "demo": "demo",
}


@cache
def validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def documented(command: str, stdout: str) -> dict[str, Any]:
    """`stdout` as the one JSON document it must be, checked against the command's schema (or `error`)."""
    document: dict[str, Any] = json.loads(stdout)
    name = "error" if set(document) == {"error"} else COMMAND_SCHEMAS[command]
    errors = sorted(validator(name).iter_errors(document), key=str)
    assert not errors, (
        f"`ppmi {command} --output json` does not match docs/schemas/{name}.schema.json: {errors[0]}"
    )
    return document
