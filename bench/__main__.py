"""`python -m bench` (and `make bench`): every scenario and the baseline, then the results files."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.functions_path import functions_scenarios
from bench.profile import DEFAULT_TIME_SCALE, AzureModel
from bench.report import judge, write_all
from bench.scenarios import BenchSettings, chaos, naive_baseline, per_environment_and_reconcile, shared_pool

RESULTS = Path(__file__).parent / "results"
README = Path(__file__).parent.parent / "README.md"


async def run(settings: BenchSettings) -> dict[str, Any]:
    started = datetime.now(UTC).isoformat(timespec="seconds")
    baseline = await naive_baseline(settings)
    first, third = await per_environment_and_reconcile(settings)
    second = await shared_pool(settings)
    fourth = await chaos(settings)
    functions = await functions_scenarios(settings)
    scenarios = [first, second, third, fourth, *functions]
    for item in (first, second, fourth, *functions):
        item["over_naive"] = round(
            item["projected_makespan_seconds"] / baseline["projected_makespan_seconds"], 2
        )
    results: dict[str, Any] = {
        "started": started,
        "time_scale": settings.model.time_scale,
        "environments": settings.environments,
        "packages": settings.packages,
        "worker": settings.flags.describe(),
        "model": {
            "latency_ms": settings.model.latency_ms,
            "identity_rates_per_second": vars(settings.model.identity_rates),
            "arm_buckets": vars(settings.model.arm_buckets),
            "dataverse_limits": vars(settings.model.dataverse_limits),
        },
        "scenarios": scenarios,
        "baseline": baseline,
    }
    results["targets"] = judge(results)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--time-scale",
        type=float,
        default=DEFAULT_TIME_SCALE,
        help=f"how much faster than Azure (default {DEFAULT_TIME_SCALE:g})",
    )
    parser.add_argument("--environments", type=int, default=200)
    parser.add_argument("--baseline-environments", type=int, default=10)
    parser.add_argument("--sessions", type=int, default=64, help="worker sessions at once")
    parser.add_argument("--event-receivers", type=int, default=64, help="worker intake events at once")
    parser.add_argument(
        "--instances",
        type=int,
        nargs="+",
        default=[1, 4, 16],
        help="Functions instance counts to run scenarios 1 and 2 at (default 1 4 16)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    parser.add_argument("--no-readme", action="store_true", help="leave README.md alone")
    args = parser.parse_args(argv)
    settings = BenchSettings(
        model=AzureModel.default(args.time_scale),
        environments=args.environments,
        baseline_environments=min(args.baseline_environments, args.environments),
        flags_sessions=args.sessions,
        flags_event_receivers=args.event_receivers,
        instance_counts=tuple(args.instances),
    )
    results = asyncio.run(run(settings))
    write_all(results, args.out, None if args.no_readme else README)
    for target in results["targets"]:
        print(
            f"{'met   ' if target['met'] else 'MISSED'} {target['target']}: {target['value']}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
