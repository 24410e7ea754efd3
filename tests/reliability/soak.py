"""`make soak`: the fault run of tests/reliability at scale, with a summary; exit 1 on any loss or violation.

    python -m tests.reliability.soak --environments 60 --packages 3 --kills 3 --faults chaos

Starts its own sandbox and Service Bus broker on loopback, so it needs nothing running.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from sandbox.server import Sandbox
from sandbox.servicebus import ServiceBusBroker
from shared.cli.demo import signing_certificate, write_demo_policy
from tests.reliability.faulty_run import RunOptions, RunReport, RunSetup, run_queues, run_under_faults
from tests.reliability.policies import STRATEGIES, policy_with_strategy


def parse_options(argv: list[str] | None = None) -> tuple[RunOptions, str, float]:
    defaults = RunOptions()
    parser = argparse.ArgumentParser(
        prog="soak",
        description="Publish hundreds of events through `ppmi worker` under faults and worker kills.",
        epilog="example: make soak SOAK_ARGS='--environments 100 --packages 2 --within 600'",
    )
    parser.add_argument("--environments", type=int, default=60, help="environments to provision (60)")
    parser.add_argument("--packages", type=int, default=3, help="plug-in packages per environment (3)")
    parser.add_argument("--torn-down", type=int, default=5, help="environments torn down at the end (5)")
    parser.add_argument(
        "--duplicate-every", type=int, default=defaults.duplicate_every, help="n: every n-th event twice (3)"
    )
    parser.add_argument("--kills", type=int, default=defaults.kills, help="worker kills mid-run (3)")
    parser.add_argument("--faults", default=defaults.faults, help="sandbox fault profile: none, chaos, azure")
    parser.add_argument("--strategy", choices=STRATEGIES, default="per-environment", help="identity strategy")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="fault seed, to replay a run")
    parser.add_argument(
        "--lock-seconds", type=float, default=10.0, help="queue lock duration; a killed worker's wait (10)"
    )
    parser.add_argument("--within", type=float, default=600.0, help="seconds to wait for results per phase")
    args = parser.parse_args(argv)
    options = RunOptions(
        environments=args.environments,
        packages_per_environment=args.packages,
        torn_down=args.torn_down,
        duplicate_every=args.duplicate_every,
        kills=args.kills,
        faults=args.faults,
        seed=args.seed,
        within_seconds=args.within,
    )
    return options, args.strategy, args.lock_seconds


def soak(options: RunOptions, strategy: str, lock_seconds: float) -> RunReport:
    with tempfile.TemporaryDirectory(prefix="ppmi-soak-") as directory:
        workdir = Path(directory)
        trusted = signing_certificate("Contoso Plug-ins")
        untrusted = signing_certificate("Fabrikam Plug-ins")
        with (
            Sandbox(state_dir=workdir / "sandbox") as sandbox,
            ServiceBusBroker(queues=run_queues(lock_seconds)) as broker,
        ):
            policy_file = write_demo_policy(workdir, sandbox.env, trusted)
            policy = policy_with_strategy(sandbox, policy_file, strategy)
            setup = RunSetup(sandbox, broker, policy, policy_file, trusted, untrusted, workdir)
            return asyncio.run(run_under_faults(setup, options))


def main(argv: list[str] | None = None) -> int:
    options, strategy, lock_seconds = parse_options(argv)
    events = options.environments * (options.packages_per_environment + 1) + options.torn_down
    print(
        f"soak: {events} events, {strategy}, faults {options.faults}, {options.kills} worker kills",
        file=sys.stderr,
    )
    report = soak(options, strategy, lock_seconds)
    print(report.summary())
    lost = report.missing or report.unexplained or report.violations
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
