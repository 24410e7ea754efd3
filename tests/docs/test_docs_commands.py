"""The user documentation keeps up with the CLI: every `ppmi` command it shows parses, every link resolves."""

from __future__ import annotations

import argparse
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from shared.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = sorted(
    {ROOT / "README.md", ROOT / "alm" / "README.md", *(ROOT / "docs").rglob("*.md")},
    key=lambda path: path.relative_to(ROOT).as_posix(),
)
# Fenced blocks in these languages hold data or code, not shell commands.
NOT_SHELL = {"json", "jsonc", "python", "py", "yaml", "yml", "kql", "kusto", "bicep", "xml", "csharp", "cs"}
FENCE = re.compile(r"^\s*(?P<fence>`{3,}|~{3,})\s*(?P<language>[\w+-]*)")
PROMPT = re.compile(r"^\s*(?:\$|PS>|>)\s+")
# `ppmi` at the start of a simple command: line start, after `;`, `&&`, `|`, or inside `$(`.
COMMAND_START = re.compile(r"(?:^|[;&|]\s*|\$\(\s*)ppmi\s")
SUBSTITUTION = re.compile(r"^\$\((?P<inner>.*)\)$", re.DOTALL)
ANGLE_PLACEHOLDER = re.compile(r"<(?P<name>[A-Za-z][\w-]*)>")
SHELL_VARIABLE = re.compile(r"\$\{?(?P<name>[A-Za-z_][A-Za-z0-9_]*)\}?")
SEPARATORS = {"&&", "||", ";", "|", "&"}
REDIRECTIONS = {">", ">>", "<", ">&", "&>", "2>"}
LINK = re.compile(r"(?<!!)\[[^\]]*\]\((?P<target>[^)\s]+)(?:\s+\"[^\"]*\")?\)|^\s*\[[^\]]+\]:\s*(?P<ref>\S+)")
INLINE_CODE = re.compile(r"`[^`]*`")

# Plausible values for the guides' placeholders (`<environment-id>`, `$ENV_ID`, `E`), by what they name.
PLACEHOLDER_VALUES = (
    ("tenant", "7f2c1900-9fd4-4b89-91d3-79a649996f0a"),
    ("env", "7efcc31a-c410-e20e-9b95-dd448cedf653"),
    ("cert", "signing.cer"),
    ("file", "signing.cer"),
    ("dir", "schemas"),
    ("timeout", "600"),
    ("seconds", "600"),
    ("queue", "ppmi-work"),
)
DEFAULT_PLACEHOLDER = "3f0c2a5e-8d7b-4c1e-9a0b-1c2d3e4f5a6b"
BARE_PLACEHOLDERS = {"E": "7efcc31a-c410-e20e-9b95-dd448cedf653"}


@dataclass(frozen=True)
class DocumentedCommand:
    """One `ppmi` command line from a fenced block, as a shell would pass it to the program."""

    document: str
    line: int
    text: str
    argv: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.document}:{self.line}: {self.text}"


def placeholder_value(name: str) -> str:
    lowered = name.lower()
    return next((value for key, value in PLACEHOLDER_VALUES if key in lowered), DEFAULT_PLACEHOLDER)


def filled_in(line: str) -> str:
    """Placeholders replaced by values of the right form; `$(...)` substitutions stay for `shell_words`."""
    line = ANGLE_PLACEHOLDER.sub(lambda match: placeholder_value(match["name"]), line)
    return SHELL_VARIABLE.sub(lambda match: placeholder_value(match["name"]), line)


def shell_blocks(text: str) -> Iterator[tuple[int, list[str]]]:
    """(first line number, lines) of each fenced block that may hold shell commands."""
    fence: str | None = None
    language = ""
    start = 0
    lines: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = FENCE.match(line)
        if fence is None and match:
            fence, language, start, lines = match["fence"], match["language"].lower(), number + 1, []
        elif fence is not None and line.strip().startswith(fence) and not line.strip().strip(fence[0]):
            if language not in NOT_SHELL:
                yield start, lines
            fence = None
        elif fence is not None:
            lines.append(line)


def logical_lines(start: int, lines: list[str]) -> Iterator[tuple[int, str]]:
    """Lines with backslash continuations joined and prompts stripped, each with its first line number."""
    pending: list[str] = []
    first = start
    for offset, line in enumerate(lines):
        text = line
        if not pending:
            first = start + offset
            text = PROMPT.sub("", line, count=1)
        if text.rstrip().endswith("\\"):
            pending.append(text.rstrip()[:-1])
            continue
        pending.append(text)
        yield first, " ".join(part.strip() for part in pending)
        pending = []
    if pending:
        yield first, " ".join(part.strip() for part in pending)


def shell_words(line: str) -> list[str]:
    lexer = shlex.shlex(filled_in(line), posix=True, punctuation_chars=";&|<>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return list(lexer)


def ppmi_invocations(words: list[str]) -> Iterator[tuple[str, ...]]:
    """Every `ppmi ...` among a line's simple commands, also inside `eval "$(...)"`; redirections dropped."""
    command: list[str] = []
    for word in [*words, ";"]:
        if word not in SEPARATORS:
            command.append(word)
            continue
        yield from _invocation(command)
        command = []


def _invocation(command: list[str]) -> Iterator[tuple[str, ...]]:
    kept: list[str] = []
    skip_next = False
    for word in command:
        if skip_next:
            skip_next = False
        elif word in REDIRECTIONS:
            skip_next = True
            if kept and kept[-1].isdigit():  # `2>&1`: the 2 names a file descriptor, not an argument
                kept.pop()
        else:
            kept.append(word)
    if not kept:
        return
    if kept[0] == "ppmi":
        yield tuple(BARE_PLACEHOLDERS.get(word, word) for word in kept[1:])
    for word in kept:
        substitution = SUBSTITUTION.match(word)
        if substitution:
            yield from ppmi_invocations(shell_words(substitution["inner"]))


def documented_commands(path: Path) -> list[DocumentedCommand]:
    name = path.relative_to(ROOT).as_posix()
    found: list[DocumentedCommand] = []
    for start, lines in shell_blocks(path.read_text("utf-8")):
        for number, line in logical_lines(start, lines):
            if not COMMAND_START.search(line.strip()):
                continue  # prose that mentions ppmi, e.g. a flow diagram
            found.extend(
                DocumentedCommand(name, number, line.strip(), argv)
                for argv in ppmi_invocations(shell_words(line))
            )
    return found


def all_documented_commands() -> list[DocumentedCommand]:
    return [command for path in DOCUMENTS for command in documented_commands(path)]


def relative_links(path: Path) -> Iterator[tuple[int, str]]:
    """(line, target) of each Markdown link outside code that points into the repository."""
    in_fence = False
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        for match in LINK.finditer(INLINE_CODE.sub("", line)):
            target = match["target"] or match["ref"]
            if not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # not a URL with a scheme
                yield number, target


def heading_anchors(path: Path) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces to hyphens."""
    anchors: set[str] = set()
    in_fence = False
    for line in path.read_text("utf-8").splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and (heading := re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)):
            anchors.add(re.sub(r"[^\w\- ]", "", heading[1].lower()).replace(" ", "-"))
    return anchors


def broken(path: Path, target: str) -> bool:
    """Whether a relative link misses its file, or the heading it names in a Markdown file."""
    location, _, anchor = target.partition("#")
    linked = path if not location else path.parent / location.split("?", 1)[0]
    if not linked.exists():
        return True
    return bool(anchor) and linked.suffix == ".md" and anchor not in heading_anchors(linked)


@cache
def parser() -> argparse.ArgumentParser:
    return build_parser()


COMMANDS = all_documented_commands()


def test_the_guides_show_the_commands_operators_run() -> None:
    """The reader finds commands where it should; guards against a reader that silently finds none."""
    shown = {(command.document, command.argv[:2]) for command in COMMANDS}

    assert ("docs/operations.md", ("requeue", "--dry-run")) in shown
    assert ("docs/operations.md", ("upgrade", "--environment-id")) in shown
    assert ("README.md", ("sandbox", "--print-env")) in shown  # from inside eval "$(...)"
    assert any(  # joined across a backslash continuation
        command.argv[0] == "publish" and "--wait" in command.argv and "--certificate" in command.argv
        for command in COMMANDS
        if command.document == "docs/operations.md"
    )


@pytest.mark.parametrize("command", COMMANDS, ids=str)
def test_every_documented_ppmi_command_is_one_the_cli_accepts(
    command: DocumentedCommand, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        arguments = parser().parse_args(list(command.argv))
    except SystemExit as exited:  # argparse exits 2 on a bad command line, 0 after printing --help
        code = exited.code
    else:
        assert callable(arguments.func), f"{command}\n  names a command group, not a command"
        return
    error = capsys.readouterr().err.strip().splitlines()
    assert code == 0, f"{command}\n  ppmi refuses it: {error[-1] if error else code}"


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_every_relative_link_points_at_a_file_and_heading_that_exist(path: Path) -> None:
    missing = [
        f"{path.relative_to(ROOT).as_posix()}:{line}: {target}"
        for line, target in relative_links(path)
        if broken(path, target)
    ]

    assert missing == []
