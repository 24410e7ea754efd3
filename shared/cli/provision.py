"""`ppmi plan`, `ppmi apply`, `ppmi upgrade`: the engine for one environment, from a terminal or pipeline."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict

from shared.engine import Change, Preview, Report, Runtime, open_runtime, preview, process
from shared.errors import InvalidInputError, PpmiError, PropagationPending
from shared.events import Event, new_event
from shared.policy import PolicyError, load_policy
from shared.settings import Settings

EXIT_OK = 0
EXIT_SETTINGS = 2
EXIT_FAILED = 3
EXIT_REJECTED = 4
SOURCE = "/ppmi/cli"

CONFIGURATION = """\
configuration (environment variables):
  PPMI_POLICY_FILE   the provisioning policy (YAML); required
  AZURE_CLIENT_ID    the identity to act as (managed identity on Azure; else DefaultAzureCredential)
  PPMI_CONNECT_TO, PPMI_CA_BUNDLE   send every request to a local sandbox (see `ppmi sandbox --print-env`)
exit codes: 0 done (plan: nothing pending), 1 plan: changes pending (text or json), 2 settings or policy
  invalid, 3 failed, 4 rejected (e.g. environment unknown, out of scope, Dataverse URL not allowed)
"""

PLAN_EPILOG = f"""\
examples:
  ppmi plan --environment-id 7efcc31a-c410-e20e-9b95-dd448cedf653
  ppmi plan --environment-id 7efcc31a-c410-e20e-9b95-dd448cedf653 --output json

Reads the environments API, ARM and Dataverse and prints what `ppmi apply` would change, and what
`ppmi upgrade` would change when the Dataverse row uses an old subject format. Nothing is written.

{CONFIGURATION}"""

APPLY_EPILOG = f"""\
examples:
  ppmi apply --environment-id 7efcc31a-c410-e20e-9b95-dd448cedf653
  ppmi apply --environment-id 7efcc31a-c410-e20e-9b95-dd448cedf653 --output json

Converges the environment exactly as the service does for a ppmi.environment.reconcile event: identity,
one FIC per trusted signer, the Dataverse managedidentity row and the policy's role grants.

{CONFIGURATION}"""

UPGRADE_EPILOG = f"""\
examples:
  ppmi upgrade --environment-id 7efcc31a-c410-e20e-9b95-dd448cedf653
  ppmi upgrade --environment-id 7efcc31a-c410-e20e-9b95-dd448cedf653 --revert

Moves the environment's managedidentity row from subject format 0 or 1 to 2: adds the new FIC, sets the
row's version, reads it back, then deletes the old FIC. --revert goes back to the version before the last
upgrade and keeps it there (reconcile will not undo it) until the next upgrade.

{CONFIGURATION}"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    commands = (
        ("plan", "show what apply or upgrade would change for an environment", PLAN_EPILOG, _plan),
        (
            "apply",
            "converge an environment: identity, FICs, Dataverse row, role grants",
            APPLY_EPILOG,
            _apply,
        ),
        ("upgrade", "move an environment's row to the current FIC subject format", UPGRADE_EPILOG, _upgrade),
    )
    for name, summary, epilog, run in commands:
        parser = subparsers.add_parser(
            name,
            help=summary,
            description=summary,
            epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.add_argument("--environment-id", required=True, help="the Power Platform environment ID")
        parser.add_argument("--output", choices=("text", "json"), default="text", help="output format")
        if name == "upgrade":
            parser.add_argument(
                "--revert", action="store_true", help="go back to the version before the upgrade"
            )
        parser.set_defaults(func=run)


def _plan(args: argparse.Namespace) -> int:
    async def run(runtime: Runtime) -> int:
        planned = await preview(args.environment_id, runtime)
        if args.output == "json":
            print(json.dumps(_preview_json(planned), indent=2))
        else:
            _print_changes("apply", planned.changes)
            if planned.upgrade:
                _print_changes("upgrade", planned.upgrade)
        return 1 if planned.pending else EXIT_OK  # the same in either form, for pipelines that gate on it

    return _with_runtime(run)


def _apply(args: argparse.Namespace) -> int:
    data = {"environmentId": args.environment_id}
    return _with_runtime(
        lambda runtime: _report(new_event("ppmi.environment.reconcile", data, source=SOURCE), runtime, args)
    )


def _upgrade(args: argparse.Namespace) -> int:
    data = {"environmentId": args.environment_id, "revert": args.revert}
    return _with_runtime(
        lambda runtime: _report(new_event("ppmi.identity.upgrade", data, source=SOURCE), runtime, args)
    )


async def _report(event: Event, runtime: Runtime, args: argparse.Namespace) -> int:
    while True:
        try:
            report: Report = await process(event, runtime)
            break
        except PropagationPending as pending:
            print(
                f"ppmi: {pending}; waiting {pending.retry_after:.0f} s (stopping now is safe: run the "
                "command again later to finish)",
                file=sys.stderr,
                flush=True,
            )
            await asyncio.sleep(pending.retry_after)
    if args.output == "json":
        steps = [step.model_dump(exclude_none=True) for step in report.steps]
        print(json.dumps({"outcome": report.outcome, "reason": report.reason, "steps": steps}, indent=2))
    else:
        for step in report.steps:
            detail = f"  ({step.detail})" if step.detail else ""
            print(f"{step.outcome:<9} {step.step:<22} {step.target}{detail}")
        print(f"{report.outcome}{': ' + report.reason if report.reason else ''}")
    if report.outcome == "rejected":
        print(
            "The environment cannot be served as asked; fix the cause above and run again.", file=sys.stderr
        )
        return EXIT_REJECTED
    if report.outcome == "failed":
        print(
            "Fix the cause above (permissions, policy) and run again; completed steps are kept.",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return EXIT_OK


def _with_runtime(run: Callable[[Runtime], Awaitable[int]]) -> int:
    try:
        settings = Settings.from_env()
        policy = load_policy(settings.require_policy_file())
    except (PpmiError, PolicyError) as error:
        print(f"ppmi: {error}", file=sys.stderr)
        return EXIT_SETTINGS

    async def main() -> int:
        async with open_runtime(settings, policy) as runtime:
            return await run(runtime)

    try:
        return asyncio.run(main())
    except InvalidInputError as error:
        print(f"ppmi: {error.reason}", file=sys.stderr)
        return EXIT_REJECTED
    except PpmiError as error:
        print(f"ppmi: {error}", file=sys.stderr)
        print("Nothing more was changed; run the command again once the cause is fixed.", file=sys.stderr)
        return EXIT_FAILED


def _print_changes(command: str, changes: list[Change]) -> None:
    pending = [change for change in changes if change.change not in ("none", "check")]
    print(f"ppmi {command}: {len(pending)} change(s)")
    for change in changes:
        mark = {"create": "+", "update": "~", "delete": "-", "skip": "!", "check": "?"}.get(
            change.change, "="
        )
        detail = f"  ({change.detail})" if change.detail else ""
        print(f"  {mark} {change.step:<22} {change.target}{detail}")


def _preview_json(planned: Preview) -> dict[str, object]:
    return {
        "environmentId": planned.environment_id,
        "pending": planned.pending,
        "apply": [asdict(change) for change in planned.changes],
        "upgrade": [asdict(change) for change in planned.upgrade],
    }
