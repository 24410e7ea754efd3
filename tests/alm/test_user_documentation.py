"""The configuration and troubleshooting guides keep up with the code they describe."""

from __future__ import annotations

import re
import shlex
import typing
from enum import Enum
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from shared.cli import build_parser
from shared.policy import Policy

ROOT = Path(__file__).resolve().parents[2]
CONFIGURATION = ROOT / "docs" / "configuration.md"
TROUBLESHOOTING = ROOT / "docs" / "troubleshooting.md"
# Modules that read environment variables; every name they read must be documented.
SETTINGS_SOURCES = ("shared/settings.py", "shared/messaging/config.py", "shared/telemetry/_setup.py")
REQUIRED = object()
VARIABLE = re.compile(r"\"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Za-z]+__[A-Za-z]+)\"")


def environment_variables() -> set[str]:
    return {
        name for source in SETTINGS_SOURCES for name in VARIABLE.findall((ROOT / source).read_text("utf-8"))
    }


def _models_in(annotation: Any) -> list[tuple[type[BaseModel], bool]]:
    """Policy sections inside a field's type, and whether they sit in a list."""
    found: list[tuple[type[BaseModel], bool]] = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        found.append((annotation, False))
    for argument in typing.get_args(annotation):
        if typing.get_origin(annotation) is list and isinstance(argument, type):
            found.extend((model, True) for model, _ in _models_in(argument))
        else:
            found.extend(_models_in(argument))
    return found


def policy_fields(model: type[BaseModel] = Policy, prefix: str = "") -> dict[str, Any]:
    """Each policy key as the guide writes it (`identity.location`, `trustedSigners[].name`) → its default."""
    fields: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        path = prefix + (field.alias or name)
        fields[path] = REQUIRED if field.is_required() else field.get_default(call_default_factory=True)
        for section, listed in _models_in(field.annotation):
            fields |= policy_fields(section, path + ("[]." if listed else "."))
    return fields


def rendered(default: Any) -> str | None:
    """A default as the guide shows it; None for defaults a row cannot show as one value."""
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, Enum):
        return str(default.value)
    if isinstance(default, float) and default.is_integer():
        return str(int(default))
    if isinstance(default, int | float) or (isinstance(default, str) and default):
        return str(default)
    return None


def table_row(document: str, key: str) -> str:
    rows = [line for line in document.splitlines() if line.startswith(f"| `{key}` |")]
    assert len(rows) == 1, f"{key} needs exactly one table row in {CONFIGURATION.name}"
    return rows[0]


def test_every_environment_variable_ppmi_reads_is_documented() -> None:
    document = CONFIGURATION.read_text("utf-8")
    variables = environment_variables()

    assert {"PPMI_POLICY_FILE", "ServiceBusConnection__fullyQualifiedNamespace"} <= variables
    assert sorted(name for name in variables if f"`{name}`" not in document) == []


def test_every_policy_key_has_a_row_with_its_default_or_required() -> None:
    document = CONFIGURATION.read_text("utf-8")
    fields = policy_fields()

    assert {"identity.location", "trustedSigners[].issuerName", "pacing.armWriteBurst"} <= set(fields)
    for key, default in fields.items():
        row = table_row(document, key)
        shown = rendered(default)
        if default is REQUIRED:
            assert "required" in row, key
        elif shown is not None:
            assert f"`{shown}`" in row, f"{key}: default {shown} not in its row"


AADSTS_CODES = ("AADSTS700213", "AADSTS70021", "AADSTS700211", "AADSTS700024", "AADSTS7000215")
SERVICE_ERRORS = (
    "20 federated credentials",
    "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity",
    "PrincipalNotFound",
    "RoleAssignmentExists",
    "application user",
    "0x80072326",
    "0x80072322",
    "0x80072321",
    "Allow-list",
    "Untrusted signer",
)


@pytest.mark.parametrize("heading", AADSTS_CODES + SERVICE_ERRORS)
def test_troubleshooting_has_a_section_for_each_error_users_meet(heading: str) -> None:
    headings = [line for line in TROUBLESHOOTING.read_text("utf-8").splitlines() if line.startswith("### ")]

    assert any(heading in line for line in headings)


def finding_codes() -> set[str]:
    source = "\n".join(path.read_text("utf-8") for path in (ROOT / "shared" / "diagnosis").glob("*.py"))
    return set(re.findall(r"\"([a-z]+\.[a-z_]+)\"", source))


def test_every_finding_the_guide_names_is_one_ppmi_verify_reports() -> None:
    spans = set(re.findall(r"`([a-z]+\.[a-z_]+)`", TROUBLESHOOTING.read_text("utf-8")))
    named = {span for span in spans if not span.startswith("ppmi.")}  # event types, not findings

    assert len(named) >= 10
    assert sorted(named - finding_codes()) == []


# Placeholders the guides may use in commands, and values of the right form to check them with.
PLACEHOLDERS = {
    "<tenant-id>": "7f2c1900-9fd4-4b89-91d3-79a649996f0a",
    "<environment-id>": "7efcc31a-c410-e20e-9b95-dd448cedf653",
    "<certificate-file>": "signing.cer",
    "<message-id>": "3f0c2a5e-8d7b-4c1e-9a0b-1c2d3e4f5a6b",
    "<plugin-package-id>": "a1b2c3d4-0000-4000-8000-000000000002",
}


def documented_commands(path: Path) -> list[list[str]]:
    """Commands shown with options, placeholders filled in; bare names (`ppmi fic show`) are mentions."""
    commands = []
    for span in re.findall(r"`(ppmi [^`]+)`", path.read_text("utf-8")):
        words = [PLACEHOLDERS.get(word, word) for word in shlex.split(span)]
        if any(word.startswith("--") for word in words):
            assert not [word for word in words if word.startswith("<")], f"unknown placeholder in {span!r}"
            commands.append(words[1:])
    return commands


@pytest.mark.parametrize("path", [CONFIGURATION, TROUBLESHOOTING], ids=lambda path: path.name)
def test_every_ppmi_command_in_the_guides_is_one_the_cli_accepts(path: Path) -> None:
    commands = documented_commands(path)
    parser = build_parser()

    for words in commands:
        parser.parse_args(words)
    assert commands
