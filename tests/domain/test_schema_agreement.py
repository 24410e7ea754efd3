"""The published JSON Schemas and the parser agree, in both directions, on cases made from the schemas and
their examples: snake_case spellings, missing required keys, unknown keys, nulls and wrong types."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from shared.events import EVENT_TYPES, EventValidationError, parse_event
from shared.schemas import schema_for

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "events" / "examples"


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def variants(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """At every object in the document: each key renamed to snake_case, dropped, nulled, made a number;
    an unknown key added."""
    paths: list[tuple[str, ...]] = []

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, dict):
            paths.append(path)
            for key, value in node.items():
                walk(value, (*path, key))

    walk(document, ())
    for path in paths:
        keys = list(_at(document, path))
        for key in keys:
            for change in ("snake", "drop", "null", "number"):
                if change == "snake" and snake(key) == key:
                    continue
                changed = copy.deepcopy(document)
                target = _at(changed, path)
                value = target.pop(key)
                if change == "snake":
                    target[snake(key)] = value
                elif change == "null":
                    target[key] = None
                elif change == "number":
                    target[key] = 7
                yield f"{'.'.join((*path, key))} {change}", changed
        changed = copy.deepcopy(document)
        _at(changed, path)["unknownField"] = "x"
        yield f"{'.'.join(path) or '$'} unknown key", changed


def _at(document: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    node = document
    for key in path:
        node = node[key]
    return node


def cases() -> list[Any]:
    found = []
    for event_type in EVENT_TYPES:
        example = json.loads((EXAMPLES / f"{event_type}.json").read_text(encoding="utf-8"))
        found.append(pytest.param(event_type, example, id=f"{event_type} example"))
        for name, changed in variants(example):
            found.append(pytest.param(event_type, changed, id=f"{event_type} {name}"))
    return found


@pytest.mark.parametrize(("event_type", "document"), cases())
def test_the_schema_and_the_parser_agree(event_type: str, document: dict[str, Any]) -> None:
    schema_valid = Draft202012Validator(schema_for(event_type)).is_valid(document)
    try:
        parse_event(json.dumps(document))
        parser_valid = True
    except EventValidationError:
        parser_valid = False

    assert schema_valid == parser_valid


def test_snake_case_is_refused_with_the_published_spelling() -> None:
    example = json.loads((EXAMPLES / "ppmi.pluginpackage.registered.json").read_text(encoding="utf-8"))
    example["data"]["plugin_package_id"] = example["data"].pop("pluginPackageId")

    with pytest.raises(EventValidationError, match="spell it pluginPackageId"):
        parse_event(json.dumps(example))
