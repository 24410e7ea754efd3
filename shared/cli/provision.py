"""`ppmi plan`, `ppmi apply`, `ppmi upgrade`: the engine for one environment, from a terminal or pipeline.

`apply` plans first, reading everything it depends on (the environments API, ARM, Dataverse), so a refusal
stops it before its first write; removals are shown and need `--yes`. `upgrade` waits out the FICs'
propagation in place; the wait is recorded on the identity, so stopping and running it again waits only
what is left.
"""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import asdict

from shared.cli._arguments import add_environment_id
from shared.cli._engine import with_runtime
from shared.cli._exit import ExitCode
from shared.cli._failures import usage
from shared.cli._output import Output, ReportedSteps, clock
from shared.engine import WRITES, Change, Preview, Report, Runtime, preview, process
from shared.errors import PropagationPending
from shared.events import StepResult, new_event

SOURCE = "/ppmi/cli"
PROPAGATION = "Entra propagating the new FICs"

CONFIGURATION = """\
configuration (environment variables):
  PPMI_POLICY_FILE   the provisioning policy (YAML); required
  AZURE_CLIENT_ID    the identity to act as (managed identity on Azure; else DefaultAzureCredential)
  PPMI_CONNECT_TO, PPMI_CA_BUNDLE   send every request to a local sandbox (see `ppmi sandbox --print-env`)
exit codes: 0 done (plan: apply would change nothing), 1 plan: apply would change something, 2 settings,
  policy or arguments invalid (nothing written), 3 failed, 4 rejected (environment unknown, out of scope,
  Dataverse URL not allowed), 6 a service could not be reached, 130 interrupted; docs/cli.md has the table
"""

PLAN_EPILOG = f"""\
examples:
  ppmi plan --environment-id 7efcc31a-c410-e20e-9b95-dd448cedf653
  ppmi plan --environment-id 7efcc31a-c410-e20e-9b95-dd448cedf653 --output json

Reads the environments API, ARM and Dataverse once and prints what `ppmi apply` would change, and what
`ppmi upgrade` would change when the Dataverse row uses an old subject format (an offer: it does not
change the exit code). Nothing is written.

{CONFIGURATION}"""

APPLY_EPILOG = f"""\
examples:
  ppmi apply --environment-id 7efcc31a-c410-e20e-9b95-dd448cedf653
  ppmi apply --environment-id 7efcc31a-c410-e20e-9b95-dd448cedf653 --yes --output json

Converges the environment exactly as the service does for a ppmi.environment.reconcile event: identity,
one FIC per trusted signer, the Dataverse managedidentity row, bindings and the policy's role grants.
It reads everything first and writes nothing when a read is refused. Removals (FICs of signers that left
the policy, grants) are listed and need --yes, or a yes at the prompt on a terminal.

{CONFIGURATION}"""

UPGRADE_EPILOG = f"""\
examples:
  ppmi upgrade --environment-id 7efcc31a-c410-e20e-9b95-dd448cedf653
  ppmi upgrade --environment-id 7efcc31a-c410-e20e-9b95-dd448cedf653 --revert

Moves the environment's managedidentity row from subject format 0 or 1 to 2: adds the new FICs, waits
PPMI_FIC_PROPAGATION_SECONDS for Entra to propagate them (the start of the wait is recorded on the
identity: stop any time, run again later, and only what is left is waited), sets the row's version,
reads it back, then deletes the old FICs. --revert goes back to the version before the last upgrade.

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
        add_environment_id(parser)
        if name == "apply":
            parser.add_argument("--yes", action="store_true", help="make the removals the plan lists")
        if name == "upgrade":
            parser.add_argument(
                "--revert", action="store_true", help="go back to the version before the upgrade"
            )
        parser.set_defaults(func=run, interrupted=_interrupted(name))


def _interrupted(name: str) -> str:
    if name == "plan":
        return "stopped; nothing was written"
    return (
        f"stopped; the steps shown were done and are kept: run `ppmi {name}` again to finish (it changes "
        "only "
        "what is left" + ("; a propagation wait already begun counts" if name == "upgrade" else "") + ")"
    )


def _plan(args: argparse.Namespace, out: Output) -> int:
    out.progress(f"reading environment {args.environment_id}: environments API, ARM, Dataverse")
    planned = with_runtime(out, lambda runtime: preview(args.environment_id, runtime))
    out.answer(_preview_json(planned), lambda: _plan_text(planned))
    return ExitCode.ATTENTION if planned.pending else ExitCode.OK


def _apply(args: argparse.Namespace, out: Output) -> int:
    event = new_event("ppmi.environment.reconcile", {"environmentId": args.environment_id}, source=SOURCE)

    async def run(runtime: Runtime) -> tuple[Report, Preview]:
        out.progress(
            f"checking environment {args.environment_id} before any write: environments API, ARM, Dataverse"
        )
        planned = await preview(args.environment_id, runtime)
        _confirm_removals(planned.removals, args, out)
        out.progress("applying:")
        return await process(event, runtime, steps=ReportedSteps(out)), planned

    report, planned = with_runtime(out, run)
    return _finish(report, out, command="apply", planned=planned.changes)


def _upgrade(args: argparse.Namespace, out: Output) -> int:
    data = {"environmentId": args.environment_id, "revert": args.revert}
    event = new_event("ppmi.identity.upgrade", data, source=SOURCE)

    async def run(runtime: Runtime) -> Report:
        steps = ReportedSteps(out)
        direction = "back to its version before the upgrade" if args.revert else "to subject format 2"
        out.progress(f"moving environment {args.environment_id}'s managedidentity row {direction}:")
        while True:
            try:
                return await process(event, runtime, steps=steps)
            except PropagationPending as pending:
                out.note(
                    f"{pending}; waiting {clock(pending.retry_after)} (the wait is recorded on the identity: "
                    "stopping now is safe, and running this again later waits only what is left)"
                )
                await out.countdown(PROPAGATION, pending.retry_after)

    return _finish(with_runtime(out, run), out, command="upgrade", planned=[])


def _confirm_removals(removals: list[Change], args: argparse.Namespace, out: Output) -> None:
    """Removals happen only when asked: `--yes`, or a yes typed at the prompt on a terminal."""
    if not removals or args.yes:
        return
    listed = [
        f"  - {change.step} {change.target}{f'  ({change.detail})' if change.detail else ''}"
        for change in removals
    ]
    out.note(f"ppmi apply would remove {len(removals)} thing(s):\n" + "\n".join(listed))
    if out.interactive and not out.json_output:
        out.stderr.write("remove them? [y/N] ")
        out.stderr.flush()
        if input().strip().lower() in ("y", "yes"):
            return
        raise usage(
            "nothing was changed: the removals were not confirmed", "run again and answer y, or pass --yes"
        )
    raise usage(
        f"{len(removals)} removal(s) need confirmation; nothing was changed",
        "look at them with `ppmi plan`, then run `ppmi apply ... --yes`",
    )


def _finish(report: Report, out: Output, *, command: str, planned: list[Change]) -> int:
    payload = {
        "outcome": report.outcome,
        "reason": report.reason,
        "steps": [step.model_dump(exclude_none=True) for step in report.steps],
    }
    # On a terminal the steps were just shown as they happened: the answer then sums them up.
    shown = out.progress_enabled and out.stdout.isatty()
    out.answer(payload, lambda: _summary_text(report) if shown else _report_text(report))
    if report.outcome == "rejected":
        out.note("The environment cannot be served as asked; fix the cause above and run again.")
        return ExitCode.REJECTED
    if report.outcome == "failed":
        left = _not_done(planned, report.steps)
        if left:
            out.note("Not done yet:\n" + "\n".join(f"  {c.step} {c.target}" for c in left))
        out.note(
            f"Fix the cause above (permissions, policy), then run `ppmi {command}` again: the steps done are "
            "kept and it changes only what is left."
        )
        return ExitCode.FAILED
    return ExitCode.OK


def _not_done(planned: list[Change], done: list[StepResult]) -> list[Change]:
    finished = {(step.step, step.target) for step in done if step.outcome != "failed"}
    return [c for c in planned if c.change in WRITES and (c.step, c.target) not in finished]


def _report_text(report: Report) -> str:
    lines = []
    for step in report.steps:
        detail = f"  ({step.detail})" if step.detail else ""
        lines.append(f"{step.outcome:<9} {step.step:<22} {step.target}{detail}")
    lines.append(f"{report.outcome}{': ' + report.reason if report.reason else ''}")
    return "\n".join(lines)


def _summary_text(report: Report) -> str:
    counts = Counter(step.outcome for step in report.steps)
    done = ", ".join(f"{count} {outcome}" for outcome, count in sorted(counts.items()))
    return f"{report.outcome}{': ' + report.reason if report.reason else ''} ({done or 'no steps'})"


def _plan_text(planned: Preview) -> str:
    lines = _changes_text("apply", planned.changes)
    if planned.upgrade:
        lines += _changes_text("upgrade", planned.upgrade)
        lines.append(
            "  (an offer: run `ppmi upgrade` to take it; it does not change this command's exit code)"
        )
    return "\n".join(lines)


def _changes_text(command: str, changes: list[Change]) -> list[str]:
    writes = [change for change in changes if change.change in WRITES]
    lines = [f"ppmi {command}: {len(writes)} change(s)"]
    for change in changes:
        mark = {"create": "+", "update": "~", "delete": "-", "skip": "!", "check": "?"}.get(
            change.change, "="
        )
        detail = f"  ({change.detail})" if change.detail else ""
        lines.append(f"  {mark} {change.step:<22} {change.target}{detail}")
    return lines


def _preview_json(planned: Preview) -> dict[str, object]:
    return {
        "environmentId": planned.environment_id,
        "pending": planned.pending,
        "upgradeAvailable": planned.upgrade_available,
        "apply": [asdict(change) for change in planned.changes],
        "upgrade": [asdict(change) for change in planned.upgrade],
    }
