"""Recorded traffic in contracts/recordings/, whatever tool recorded it, as one list of interactions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.contracts.documents import CONTRACTS

RECORDINGS = CONTRACTS / "recordings"


@dataclass(frozen=True)
class Interaction:
    method: str
    url: str
    request_body: Any
    status: int
    headers: dict[str, str]
    body: Any  # parsed JSON, or None for an empty body


def _json(text: Any) -> Any:
    if isinstance(text, dict | list):
        return text
    return json.loads(text) if text else None


def _first(value: Any) -> str:
    return str(value[0]) if isinstance(value, list) else str(value)


def interactions(path: Path) -> list[Interaction]:
    """azure-cli's VCR cassettes (YAML) and the .NET SDK's session records (JSON)."""
    if path.suffix == ".yaml":
        cassette = yaml.safe_load(path.read_text(encoding="utf-8"))
        return [
            Interaction(
                method=item["request"]["method"],
                url=item["request"]["uri"],
                request_body=_json(item["request"]["body"]),
                status=int(item["response"]["status"]["code"]),
                headers={k.lower(): _first(v) for k, v in item["response"]["headers"].items()},
                body=_json(item["response"]["body"]["string"]),
            )
            for item in cassette["interactions"]
        ]
    record = json.loads(path.read_text(encoding="utf-8"))
    return [
        Interaction(
            method=entry["RequestMethod"],
            url=entry["RequestUri"],
            request_body=_json(entry.get("RequestBody")),
            status=int(entry["StatusCode"]),
            headers={k.lower(): _first(v) for k, v in entry["ResponseHeaders"].items()},
            body=_json(entry.get("ResponseBody")),
        )
        for entry in record["Entries"]
    ]
