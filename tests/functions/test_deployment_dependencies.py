"""The deployed app and the CLI install only requirements.txt: everything they import must come from it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEV_ONLY_ROOTS = {"sandbox", "bench", "tests", "aiohttp", "trustme", "proton", "pytest", "matplotlib"}
# The project itself, and the hook setuptools' .pth file installs into every virtual environment.
NOT_DEPENDENCIES = {"ppmi", "setuptools"}


def _loaded_top_level_modules(statement: str = "import function_app") -> set[str]:
    """Top-level modules a fresh interpreter holds after `statement`, as the Functions worker sees them."""
    report = "print(json.dumps(sorted({m.partition('.')[0] for m in sys.modules})))"
    script = f"import json, sys; {statement}; {report}"
    out = subprocess.run(  # noqa: S603 - our own interpreter running a fixed script
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_closure() -> set[str]:
    """requirements.txt's distributions and everything they depend on, as installed."""
    pending = [
        _normalise(re.split(r"[=<>~!;\[ ]", line, maxsplit=1)[0])
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    closure: set[str] = set()
    while pending:
        name = pending.pop()
        if name in closure:
            continue
        closure.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for requirement in requires:
            if "extra ==" in requirement:
                continue
            pending.append(_normalise(re.split(r"[=<>~!;\[ (]", requirement, maxsplit=1)[0]))
    return closure


def test_function_app_imports_nothing_that_is_only_for_development() -> None:
    assert _loaded_top_level_modules() & DEV_ONLY_ROOTS == set()


def test_the_cli_with_every_command_loads_nothing_that_is_only_for_development() -> None:
    loaded = _loaded_top_level_modules("from shared.cli import build_parser; build_parser()")
    assert loaded & DEV_ONLY_ROOTS == set()


def test_every_third_party_module_the_app_imports_is_in_requirements() -> None:
    distributions = metadata.packages_distributions()
    closure = _requirement_closure()
    missing = {
        module: dists
        for module in _loaded_top_level_modules()
        if (dists := [d for d in distributions.get(module, []) if _normalise(d) not in NOT_DEPENDENCIES])
        and not any(_normalise(d) in closure for d in dists)
    }
    assert missing == {}, f"add these to requirements.txt (the deployed app installs only that): {missing}"
