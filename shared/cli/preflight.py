"""`ppmi preflight`: before turning the automation on, check once, reading only, that the tenant is what ppmi
assumes: tokens, ARM rights, the environments API, Dataverse, FIC room; each finding with its fix."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from shared.cli._arguments import ENVIRONMENT_HELP, environment_id
from shared.cli._exit import ExitCode
from shared.cli._output import Output
from shared.policy import load_policy
from shared.preflight import (
    DEFAULT_RETRY_BUDGET_SECONDS,
    PreflightOptions,
    PreflightReport,
    render_text,
    run_preflight,
)
from shared.settings import Settings

EPILOG = """\
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

exit codes: 0 ready (warnings may be printed; with --strict they count), 1 an error found, 2 a setting or the
  policy is wrong, 6 a service could not be reached and nothing else was found wrong (docs/cli.md).
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
        type=environment_id,
        help=f"{ENVIRONMENT_HELP}; check this one (repeat for more); default: all in the policy's scope",
    )
    parser.add_argument("--record", type=Path, metavar="DIR", help="write the replies seen, redacted, to DIR")
    parser.add_argument(
        "--retry-budget",
        type=float,
        metavar="SECONDS",
        help="how long to retry a service that does not answer before reporting it (default "
        f"{DEFAULT_RETRY_BUDGET_SECONDS:g}, or PPMI_RETRY_BUDGET_SECONDS when that is less)",
    )
    parser.add_argument("--strict", action="store_true", help="count warnings as findings (exit 1)")
    parser.set_defaults(func=_preflight)


def exit_code(report: PreflightReport, *, strict: bool) -> ExitCode:
    """OK unless an error was found (ATTENTION), or only services that could not be reached (UNAVAILABLE)."""
    if report.only_unreachable:
        return ExitCode.UNAVAILABLE
    if report.errors or (strict and report.warnings):
        return ExitCode.ATTENTION
    return ExitCode.OK


def _preflight(args: argparse.Namespace, out: Output) -> int:
    settings = Settings.from_env()
    policy = load_policy(settings.require_policy_file())
    options = PreflightOptions(
        environment_ids=tuple(args.environment_id),
        record_to=args.record,
        retry_budget_seconds=_retry_budget(args.retry_budget, settings),
    )
    out.progress(f"preflight for tenant {policy.tenant_id}: reads only")
    report = asyncio.run(
        run_preflight(
            settings, policy, options, progress=lambda step: out.progress(f"  {step}"), on_retry=out.retry
        )
    )
    out.answer(report.to_json(), lambda: render_text(report))
    code = exit_code(report, strict=args.strict)
    if code is ExitCode.UNAVAILABLE:
        out.note(
            "ppmi preflight: a service could not be reached (the findings name it); nothing else was wrong"
        )
        out.note("run it again once it answers, or give it longer with --retry-budget")
    return code


def _retry_budget(asked: float | None, settings: Settings) -> float:
    """As asked; else the default, or the process's own budget when that is shorter."""
    if asked is not None:
        return max(asked, 0.0)
    return min(DEFAULT_RETRY_BUDGET_SECONDS, settings.retry_budget_seconds)
