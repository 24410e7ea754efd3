"""`ppmi event validate` through the real command line entry point."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from shared.cli import main
from shared.events import MAX_EVENT_BYTES
from tests.domain.event_samples import sample


def test_every_valid_file_is_reported_valid_and_exits_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    created = tmp_path / "created.json"
    created.write_text(json.dumps(sample("ppmi.environment.created")))
    package = tmp_path / "package.json"
    package.write_text(json.dumps(sample("ppmi.pluginpackage.registered")))

    code = main(["event", "validate", str(created), str(package)])

    assert code == 0
    assert capsys.readouterr().out.splitlines() == [f"{created}: valid", f"{package}: valid"]


def test_one_invalid_file_is_reported_with_its_reason_and_exits_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(sample("ppmi.environment.created")))
    forged = sample("ppmi.environment.created")
    forged["data"]["dataverseUrl"] = "https://contoso.crm.dynamics.com"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(forged))

    code = main(["event", "validate", str(good), str(bad)])

    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert lines[0] == f"{good}: valid"
    assert lines[1].startswith(f"{bad}: invalid: data.dataverseUrl is not allowed")


def test_unreadable_file_is_reported_invalid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["event", "validate", str(tmp_path / "absent.json")])

    assert code == 1
    assert "invalid: cannot read the file" in capsys.readouterr().out


def test_validate_without_files_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["event", "validate"])

    assert exited.value.code == 2
    assert "FILE" in capsys.readouterr().err


class CountingStdin(io.BytesIO):
    """A pipe that never ends: it says how much was read from it."""

    def read(self, size: int | None = -1) -> bytes:
        assert size is not None, "stdin must be read up to a limit, not to its end"
        assert size >= 0, "stdin must be read up to a limit, not to its end"
        return b"{" + b" " * (size - 1)


def test_stdin_is_read_up_to_the_size_limit_and_no_further(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(CountingStdin()))

    code = main(["event", "validate", "-"])

    assert code == 1
    assert capsys.readouterr().out.startswith(f"(stdin): invalid: the event is {MAX_EVENT_BYTES + 1} bytes")


def test_a_valid_event_on_stdin_is_valid(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    event = json.dumps(sample("ppmi.environment.created")).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(event)))

    assert main(["event", "validate", "-"]) == 0
    assert capsys.readouterr().out == "(stdin): valid\n"
