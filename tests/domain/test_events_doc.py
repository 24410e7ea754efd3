"""The worked examples in docs/events.md are valid events."""

from __future__ import annotations

import json
import re
from pathlib import Path

from shared.events import EVENT_TYPES, parse_event, parse_result

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def examples() -> list[str]:
    return re.findall(r"```json\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_every_event_example_in_the_documentation_parses() -> None:
    documented_types = set()
    for example in examples():
        if json.loads(example)["type"] == "ppmi.result":
            assert parse_result(example).data.outcome == "succeeded"
        else:
            documented_types.add(parse_event(example).type)

    assert documented_types >= {"ppmi.environment.created", "ppmi.pluginassembly.registered"}
    assert documented_types <= set(EVENT_TYPES)
