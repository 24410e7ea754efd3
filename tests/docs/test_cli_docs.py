"""The command line's documentation agrees with the program: one exit code table, every code mentioned by
its name, a schema for each JSON answer, and the documented sandbox and result examples as they really are."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import httpx
import pytest

from sandbox.server import Sandbox
from shared.cli import build_parser
from shared.cli._exit import ExitCode, exit_code_table
from shared.events import parse_result
from tests.docs.test_docs_commands import DOCUMENTS, documented_commands

ROOT = Path(__file__).resolve().parents[2]
CLI_GUIDE = ROOT / "docs" / "cli.md"
# "exits 3 (`FAILED`)", "exit code 5 (`TIMEOUT`)": a code in prose always carries its name.
EXIT_MENTION = re.compile(
    r"\bexit(?:s|ed)?(?: code| status)?:?\s+\**(?P<code>\d{1,3})\b(?P<after>[^\n]{0,16})"
)
NAMED_CODE = re.compile(r"\b(?P<code>\d{1,3})\s+\(`(?P<name>[A-Z]+)`\)")


def prose(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_the_guide_carries_the_one_exit_code_table() -> None:
    assert exit_code_table() in prose(CLI_GUIDE)


# The documents that tell operators and pipelines what `ppmi` exits with.
ABOUT_THE_CLI = [
    ROOT / name
    for name in (
        "README.md",
        "alm/README.md",
        "docs/cli.md",
        "docs/deploy.md",
        "docs/operations.md",
        "docs/troubleshooting.md",
        "docs/configuration.md",
    )
]


@pytest.mark.parametrize("document", ABOUT_THE_CLI, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_exit_code_in_the_documents_is_named_and_right(document: Path) -> None:
    text = prose(document)
    for mention in EXIT_MENTION.finditer(text):
        assert mention["after"].startswith(" (`"), (
            f"{document.relative_to(ROOT)}: '{mention.group(0)}': write the code's name beside it, "
            "e.g. 3 (`FAILED`)"
        )
    for named in NAMED_CODE.finditer(text):
        assert named["name"] in ExitCode.__members__, (
            f"{document.relative_to(ROOT)}: no exit code {named['name']}"
        )
        assert ExitCode[named["name"]] == int(named["code"]), (
            f"{document.relative_to(ROOT)}: {named.group(0)}"
        )


def test_every_schema_is_in_the_guide() -> None:
    guide = prose(CLI_GUIDE)
    for schema in sorted((ROOT / "docs" / "schemas").glob("*.schema.json")):
        assert f"](schemas/{schema.name})" in guide, f"docs/cli.md does not list {schema.name}"


def test_every_documented_requeue_says_what_to_redrive() -> None:
    parser = build_parser()
    for document in DOCUMENTS:
        for command in documented_commands(document):
            if command.argv[:1] != ("requeue",):
                continue
            args: argparse.Namespace = parser.parse_args(list(command.argv))
            assert args.dry_run or args.all or args.message_id, f"{command}: it would re-drive nothing"


def test_the_control_api_takes_the_fields_the_readme_names(sandbox: Sandbox) -> None:
    readme = prose(ROOT / "README.md")
    documented = re.search(r"`POST /_sandbox/environments` \(`\{(?P<fields>[^}]*)\}`", readme)
    assert documented is not None
    fields = re.findall(r'"(\w+)"', documented["fields"])
    answer = re.search(r"it answers\s+`\{(?P<fields>[^}]*)\}`", readme)
    assert answer is not None
    body = {"displayName": "Documented", "type": "Sandbox", "dataverse": True, "appUsers": []}
    assert set(fields) == set(body)

    with httpx.Client(verify=sandbox.env["PPMI_CA_BUNDLE"]) as client:
        created = client.post(f"{sandbox.url}/_sandbox/environments", json=body)

    assert created.status_code == 201
    assert set(created.json()) == set(re.findall(r'"(\w+)"', answer["fields"]))
    assert created.json()["id"] in {environment.id for environment in sandbox.control.environments()}


def test_the_shipped_result_example_is_what_the_service_sends(sandbox: Sandbox) -> None:
    example = parse_result((ROOT / "docs" / "events" / "examples" / "ppmi.result.json").read_bytes())
    engine_steps = {
        "application-user",
        "identity",
        "federated-credential",
        "managed-identity-row",
        "verify-subject",
        "bind-component",
        "role-assignment",
        "verify-row",
    }
    assert {step.step for step in example.data.steps} <= engine_steps
    for step in example.data.steps:
        if step.step == "bind-component":
            assert re.fullmatch(r"plugin(assembly|package) [0-9a-f-]{36}", step.target), step.target
        if step.step == "managed-identity-row":
            assert re.fullmatch(r"[0-9a-f-]{36}", step.target), step.target
    assert json.loads((ROOT / "docs" / "events" / "examples" / "ppmi.result.json").read_text())["data"]
