"""`ppmi demo` (what `make demo` runs) provisions three environments end to end; `ppmi verify` agrees."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.cli.schemas import documented

ROOT = Path(__file__).resolve().parents[2]
DEMO = ["demo", "--output", "json"]


def test_demo_provisions_three_environments_and_every_link_verifies(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PPMI_", "IDENTITY_", "AZURE_"))}
    finished = subprocess.run(
        [
            sys.executable,
            "-c",
            "from shared.cli import main; raise SystemExit(main(['demo', '--output', 'json']))",
        ],
        cwd=tmp_path,
        env={**environment, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )

    assert finished.returncode == 0, finished.stderr
    summary = documented("demo", finished.stdout)  # with --output json the text summary goes to stderr
    assert (summary["succeeded"], summary["expected"], summary["verified"]) == (6, 6, True)
    out = finished.stderr
    assert "6/6 events succeeded" in out
    for name in ("Contoso Sales", "Contoso Service", "Contoso Finance"):
        assert f"{name}  " in out
    assert out.count("every link holds") == 3
    assert "credentialsource=2, subjectscope=1, version=2" in out
    assert "audience api://AzureADTokenExchange" in out
    assert "/n/plugin/e/" in out
