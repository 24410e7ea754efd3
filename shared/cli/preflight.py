"""`ppmi preflight`: before turning the automation on, check once, reading only, that the tenant is what ppmi
assumes: tokens, ARM rights, the environments API, Dataverse, FIC room; each finding with its fix."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from shared.errors import PpmiError
from shared.policy import PolicyError, load_policy
from shared.preflight import (
    DEFAULT_RETRY_BUDGET_SECONDS,
    PreflightOptions,
    PreflightReport,
    render_text,
    run_preflight,
)
from shared.settings import Settings

EXIT_READY = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 6

EPILOG = f"""\
examples:
  # every environment in the policy's scope, as ppmi's own identity
  AZURE_CLIENT_ID=<ppmi's client ID> ppmi preflight
  # one environment, as JSON for a pipeline step
  ppmi preflight --environment-id 5f1c3a2e-7a11-4f3e-9d55-0b6a3f3e9c01 --output json
  # keep the replies it saw, redacted, to add to contracts/
  ppmi preflight --record preflight-replies/

Checks: a token for every audience the policy needs (and its tenant); the Power Platform API and each
environment's state, tenant and Dataverse host; ppmi's own ARM rights where it acts (the permissions API),
action by action; Dataverse WhoAmI, the managedidentity table, GetComponentManagedIdentityFIC for one
component; FIC room on every identity in scope. Reads only.

exit codes: {EXIT_READY} ready (warnings may be printed; with --strict they count), {EXIT_FINDINGS} an error
  found, {EXIT_USAGE} settings or policy wrong, {EXIT_UNAVAILABLE} a service could not be reached (and
  nothing else was found wrong).
needs: PPMI_POLICY_FILE; run as ppmi's identity (AZURE_CLIENT_ID), with PPMI_GRANT_SCOPES as the deployment
  sets it (docs/deploy.md, "Before turning automation on").
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "preflight",
        help="check a tenant before turning the automation on (reads only)",
        description="Check once, reading only, that the tenant is set up as ppmi assumes: tokens, ARM "
        "rights, the environments API, Dataverse and FIC room, each finding with its fix.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--environment-id",
        action="append",
        default=[],
        help="check this environment (repeat for more); default: every environment in the policy's scope",
    )
    parser.add_argument("--record", type=Path, metavar="DIR", help="write the replies seen, redacted, to DIR")
    parser.add_argument(
        "--retry-budget",
        type=float,
        default=DEFAULT_RETRY_BUDGET_SECONDS,
        metavar="SECONDS",
        help="how long to retry a service that does not answer before reporting it (default %(default)s)",
    )
    parser.add_argument("--strict", action="store_true", help="count warnings as findings (exit 1)")
    parser.add_argument("--output", choices=("text", "json"), default="text")
    parser.set_defaults(func=_preflight)


def exit_code(report: PreflightReport, *, strict: bool) -> int:
    """Ready (0) unless an error was found (1), or only services that could not be reached (6)."""
    if report.only_unreachable:
        return EXIT_UNAVAILABLE
    if report.errors or (strict and report.warnings):
        return EXIT_FINDINGS
    return EXIT_READY


def _preflight(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env()
        policy = load_policy(settings.require_policy_file())
    except (PpmiError, PolicyError) as error:
        print(f"ppmi preflight: {error}", file=sys.stderr)
        return EXIT_USAGE
    options = PreflightOptions(
        environment_ids=tuple(args.environment_id),
        record_to=args.record,
        retry_budget_seconds=max(args.retry_budget, 0.0),
    )
    progress = _progress if sys.stderr.isatty() else _silent
    report = asyncio.run(run_preflight(settings, policy, options, progress=progress))
    if args.output == "json":
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(render_text(report))
    return exit_code(report, strict=args.strict)


def _progress(line: str) -> None:
    print(f"  {line}", file=sys.stderr)


def _silent(line: str) -> None:
    """Off a terminal the steps are not announced: stderr stays for what must be read."""
