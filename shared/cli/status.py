"""`ppmi status`: every environment ppmi manages, what it holds there, and the last outcome ppmi recorded."""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import asdict

from shared.cli._arguments import add_environment_id
from shared.cli._engine import with_runtime
from shared.cli._exit import ExitCode
from shared.cli._output import Output
from shared.diagnosis import EnvironmentStatus, survey
from shared.messaging.config import MessagingSettings
from shared.messaging.connection import open_servicebus
from shared.messaging.history import LastOutcome, last_outcomes
from shared.settings import Settings

EPILOG = """\
examples:
  ppmi status                                            # every environment ppmi manages
  ppmi status --environment-id 7efcc31a-c410-e20e-9b95-dd448cedf653
  ppmi status --output json                              # the same for a script

Managed: in the policy's scope, or carried by one of ppmi's identities (its ppmi-environment tag, or FIC
names on a pool shard or app registration). For each: the identity, its FICs for the environment, the
Dataverse managedidentity row (version), the components bound to it, the policy's role grants (held or
not), and the last outcome. Reads only.

The last outcome is read from Service Bus, not inferred: the newest result on the ppmi-results session that
events without a reply session answer on (the hourly reconcile, discovery; PPMI_DEFAULT_REPLY_SESSION), or
the newest message in ppmi-kept for the environment, whichever is newer. Results a pipeline read on its
own reply session (`ppmi publish --wait`) and runs of `ppmi apply` are not seen there. Without
ServiceBusConnection__fullyQualifiedNamespace the outcome is left out.
exit codes: 0 read, 2 settings or policy invalid, 3 a service refused, 6 a service could not be reached.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "status",
        help="every environment ppmi manages: identity, FICs, row, bindings, grants, last outcome",
        description="Show what ppmi holds for each environment it manages, read from the services.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_environment_id(parser, required=False)
    parser.set_defaults(func=_run, interrupted="stopped; nothing was written")


def _run(args: argparse.Namespace, out: Output) -> int:
    out.progress("reading the environments API, ARM and each environment's Dataverse")
    statuses = with_runtime(out, lambda runtime: survey(runtime, args.environment_id))
    outcomes, why_not = _outcomes(statuses, out)
    if why_not:
        out.note(f"note: no last outcomes: {why_not}")
    payload = {
        "environments": [_json(status, outcomes.get(status.environment_id.lower())) for status in statuses],
        "outcomesRead": not why_not,
    }
    out.answer(payload, lambda: _text(statuses, outcomes, detailed=args.environment_id is not None))
    return ExitCode.OK


def _outcomes(statuses: list[EnvironmentStatus], out: Output) -> tuple[dict[str, LastOutcome], str]:
    settings = Settings.from_env()
    if settings.servicebus_namespace is None or not statuses:
        return {}, "ServiceBusConnection__fullyQualifiedNamespace is not set" if statuses else ""
    out.progress("reading the last outcomes from ppmi-results and ppmi-kept")

    async def read() -> dict[str, LastOutcome]:
        async with open_servicebus(settings) as client:
            return await last_outcomes(
                client,
                default_session=MessagingSettings.from_env().default_reply_session,
                environments=[status.environment_id for status in statuses],
            )

    return asyncio.run(read()), ""


def _json(status: EnvironmentStatus, outcome: LastOutcome | None) -> dict[str, object]:
    document = asdict(status)
    return {
        "environmentId": status.environment_id,
        "displayName": status.display_name,
        "state": status.state,
        "inScope": status.in_scope,
        "identity": status.identity,
        "owned": status.owned,
        "credentials": list(status.credentials),
        "row": None
        if status.row is None
        else {
            "rowId": status.row.row_id,
            "exists": status.row.exists,
            "version": status.row.version,
            "applicationId": status.row.application_id,
        },
        "bindings": list(status.bindings),
        "grants": [
            {"roleDefinitionId": g["role_definition_id"], "scope": g["scope"], "present": g["present"]}
            for g in document["grants"]
        ],
        "problems": list(status.problems),
        "lastOutcome": None
        if outcome is None
        else {
            "outcome": outcome.outcome,
            "eventType": outcome.event_type,
            "eventId": outcome.event_id,
            "reason": outcome.reason,
            "time": outcome.time.isoformat() if outcome.time else None,
            "source": outcome.source,
        },
    }


def _text(statuses: list[EnvironmentStatus], outcomes: dict[str, LastOutcome], *, detailed: bool) -> str:
    if not statuses:
        return "ppmi manages no environment yet (none in the policy's scope, no identity of ppmi's)"
    if detailed:
        return "\n\n".join(
            _details(status, outcomes.get(status.environment_id.lower())) for status in statuses
        )
    width = max(len(status.environment_id) for status in statuses) + 2
    header = (
        f"{'environment':<{width}}{'name':<20}{'FICs':>5}  {'row':<8}{'bound':>6}{'grants':>8}  last outcome"
    )
    lines = [header]
    for status in statuses:
        lines.append(
            f"{status.environment_id:<{width}}{(status.display_name or '(gone)')[:19]:<20}"
            f"{len(status.credentials):>5}  "
            f"{_row(status):<8}{len(status.bindings):>6}{_grants(status):>8}  "
            f"{_outcome(outcomes.get(status.environment_id.lower()))}"
        )
    return "\n".join(lines)


def _details(status: EnvironmentStatus, outcome: LastOutcome | None) -> str:
    scope = "in the policy's scope" if status.in_scope else "outside the policy's scope"
    lines = [
        f"environment {status.environment_id} ({status.display_name or 'unknown to the environments API'}, "
        f"{status.state or 'gone'}, {scope})",
        f"  identity     {status.identity or 'none yet'}{'' if status.owned else NOT_OWNED}",
        f"  FICs         {', '.join(status.credentials) or 'none'}",
        f"  row          {_row(status, long=True)}",
        f"  bound        {', '.join(status.bindings) or 'nothing'}",
    ]
    lines += [
        f"  grant        {'held   ' if g.present else 'missing'} {g.role_definition_id} on {g.scope}"
        for g in status.grants
    ]
    lines.append(f"  last outcome {_outcome(outcome, long=True)}")
    lines += [f"  problem      {problem}" for problem in status.problems]
    return "\n".join(lines)


NOT_OWNED = " (not tagged as ppmi's: ppmi leaves it alone)"


def _row(status: EnvironmentStatus, *, long: bool = False) -> str:
    if status.row is None:
        return "-" if not long else "not read" if status.problems else "none (no identity yet)"
    if not status.row.exists:
        return "missing" if not long else f"missing ({status.row.row_id})"
    return f"v{status.row.version}" if not long else f"{status.row.row_id}, version {status.row.version}"


def _grants(status: EnvironmentStatus) -> str:
    return f"{sum(g.present for g in status.grants)}/{len(status.grants)}"


def _outcome(outcome: LastOutcome | None, *, long: bool = False) -> str:
    if outcome is None:
        return "none recorded" if long else "-"
    when = outcome.time.strftime("%Y-%m-%d %H:%M") if outcome.time else "time unknown"
    text = f"{outcome.outcome} {when}"
    if long:
        text += (
            f" ({outcome.event_type}, from {outcome.source}){': ' + outcome.reason if outcome.reason else ''}"
        )
    return text
