"""`ppmi event schema` through the real command line entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.cli import main
from shared.schemas import SCHEMA_TYPES, schema_files, schema_for


def test_naming_a_type_prints_its_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["event", "schema", "ppmi.pluginpackage.registered"])

    assert code == 0
    assert json.loads(capsys.readouterr().out) == schema_for("ppmi.pluginpackage.registered")


def test_write_puts_every_schema_in_the_folder_and_lists_the_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "schemas"

    code = main(["event", "schema", "--write", str(target)])

    assert code == 0
    assert {path.name: path.read_text(encoding="utf-8") for path in target.iterdir()} == schema_files()
    assert len(capsys.readouterr().out.splitlines()) == len(SCHEMA_TYPES)


def test_without_a_type_or_a_folder_the_user_is_told_what_to_give(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["event", "schema"])

    assert code == 2
    assert "name a TYPE" in capsys.readouterr().err


def test_a_folder_that_cannot_be_written_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")

    code = main(["event", "schema", "--write", str(blocker / "schemas")])

    assert code == 2  # USAGE: the folder given cannot be written
    assert "cannot write into" in capsys.readouterr().err


def test_unknown_type_is_a_usage_error_listing_the_types(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["event", "schema", "ppmi.environment.renamed"])

    assert exited.value.code == 2
    assert "ppmi.result" in capsys.readouterr().err


def test_a_type_and_a_folder_together_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["event", "schema", "ppmi.result", "--write", str(tmp_path)])

    assert code == 2
    assert "not both" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
