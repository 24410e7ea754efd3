"""Every official example of the specs ppmi's ARM calls use: the client's request conforms, the reply parses.

Each example's replies are served unchanged by a loopback server; the only change is the placeholder host
`https://serviceRoot` of a `nextLink`, which becomes the server's own (the client follows links only there).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared.clients.arm import ArmClient
from tests.contracts import arm_calls
from tests.contracts.conftest import ARM_SPECS
from tests.contracts.documents import CONTRACTS, load_json
from tests.contracts.openapi import OpenApi, Operation
from tests.contracts.replay import Canned, ReplayServer

PLACEHOLDER_HOST = "https://serviceRoot"


def _examples() -> list[tuple[str, str]]:
    """Each vendored example with the spec that names it; one no spec of its folder names goes with the
    folder's first spec (and shows up as an orphan)."""
    found = []
    for folder in dict.fromkeys((CONTRACTS / spec).parent for spec in ARM_SPECS):
        specs = [spec for spec in ARM_SPECS if (CONTRACTS / spec).parent == folder]
        for example in sorted(folder.glob("examples/*.json")):
            claimed = [spec for spec in specs if f"/{example.name}" in json.dumps(load_json(spec)["paths"])]
            found.append(((claimed or specs)[0], example.name))
    return found


def _operation(spec: OpenApi, example: str) -> Operation:
    return next(op for op in spec.operations() if example in op.examples)


def _path_values(parameters: dict[str, Any]) -> dict[str, str]:
    return {name: value for name, value in parameters.items() if isinstance(value, str)}


def _pages(body: Any, base_url: str) -> list[Canned]:
    """The example's reply, then an empty last page for a `nextLink` it carries (host made the server's)."""
    link = body.get("nextLink") if isinstance(body, dict) else None
    if not link:
        return [Canned(200, body)]
    return [
        Canned(200, body | {"nextLink": link.replace(PLACEHOLDER_HOST, base_url)}),
        Canned(200, {"value": []}),
    ]


def test_every_vendored_example_belongs_to_an_operation(arm_specs: tuple[OpenApi, ...]) -> None:
    by_spec = dict(zip(ARM_SPECS, arm_specs, strict=True))
    orphans = [
        name
        for spec, name in _examples()
        if not any(name in op.examples for op in by_spec[spec].operations())
    ]
    assert orphans == []


@pytest.mark.parametrize(("spec_file", "example"), _examples(), ids=[name for _, name in _examples()])
async def test_the_arm_client_makes_the_examples_call_and_reads_each_of_its_replies(
    spec_file: str, example: str, arm_specs: tuple[OpenApi, ...], arm: ArmClient, replay: ReplayServer
) -> None:
    spec = arm_specs[ARM_SPECS.index(spec_file)]
    operation = _operation(spec, example)
    document = load_json(f"{Path(spec_file).parent}/examples/{example}")
    parameters = document["parameters"]
    request_body = next((value for value in parameters.values() if isinstance(value, dict)), None)
    for status, reply in document["responses"].items():
        body = reply.get("body")
        replay.replies[:] = (
            _pages(body, replay.base_url) if status == "200" and body else [Canned(int(status), body)]
        )
        replay.received.clear()

        result = await arm_calls.call(arm, operation.operation_id, _path_values(parameters), request_body)

        bodies = [canned.body for canned in replay.replies]
        assert arm_calls.read(result) == arm_calls.expected(operation.operation_id, int(status), bodies), (
            status
        )
        for index, request in enumerate(replay.received):
            sent = spec.operation(request.method, request.url)
            assert sent is not None, f"{request.method} {request.url} is no operation of {spec_file}"
            problems = sent.request_problems(request.url, request.body, request.headers, next_link=index > 0)
            assert problems == []
        assert operation.response_problems(int(status), body) == []
        if (
            len(replay.received) > 1
        ):  # the link was followed exactly as ARM wrote it, $skipToken or $skiptoken
            assert replay.received[1].url == replay.replies[0].body["nextLink"]
