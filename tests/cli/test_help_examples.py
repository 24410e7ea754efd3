"""Every command a user can run shows worked examples in its `--help`, laid out as written."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator

import pytest

from shared.cli import build_parser, main

Command = tuple[tuple[str, ...], argparse.ArgumentParser]


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[Command]:
    """Every runnable command (one that sets `func`), however deeply nested under command groups."""
    if parser.get_default("func") is not None:
        yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from commands(child, (*path, name))


COMMANDS = {" ".join(path): parser for path, parser in commands(build_parser())}


def test_every_command_module_contributes_a_command_to_the_walk() -> None:
    top_level = {name.split()[0] for name in COMMANDS}
    expected = {"fic", "event", "demo", "publish", "requeue", "worker", "sandbox", "verify", "plan", "apply"}
    assert expected | {"upgrade", "status", "policy"} <= top_level


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_help_of_each_command_has_examples_of_that_command(name: str) -> None:
    text = COMMANDS[name].format_help()
    assert re.search(r"^examples:$", text, re.MULTILINE), f"`ppmi {name} --help` has no examples: section"
    examples = text.split("\nexamples:\n", 1)[1]
    invocations = re.findall(rf"^ +ppmi {re.escape(name)}\b.*$", examples, re.MULTILINE)
    assert invocations, f"`ppmi {name} --help` shows no example starting with `ppmi {name}`"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_asking_for_help_prints_the_examples_and_exits_cleanly(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*name.split(), "--help"])
    assert exited.value.code == 0
    assert "\nexamples:\n" in capsys.readouterr().out


def test_version_says_which_ppmi_it_is(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert re.fullmatch(r"ppmi \d+\.\d+\.\d+\n", capsys.readouterr().out)
