"""`ppmi publish`: send an event to ppmi-events for ALM pipelines; `--wait` makes its result the exit code."""

from __future__ import annotations

import argparse
import asyncio
import base64
from pathlib import Path
from typing import Any

from shared.cli._exit import ExitCode
from shared.cli._failures import usage
from shared.cli._files import read_certificate, read_event
from shared.cli._output import STEP_MARKS, Output
from shared.events import EVENT_TYPES, Event, ResultEvent, new_event, parse_event
from shared.messaging.connection import open_servicebus
from shared.messaging.publishing import publish, reply_session_for, result_of
from shared.settings import Settings

OUTCOME_EXIT = {"succeeded": ExitCode.OK, "failed": ExitCode.FAILED, "rejected": ExitCode.REJECTED}
# The codes pipelines branch on, by the names the templates' tests use (values from `ExitCode`).
EXIT_SUCCEEDED = ExitCode.OK
EXIT_INVALID = ExitCode.USAGE
EXIT_FAILED = ExitCode.FAILED
EXIT_REJECTED = ExitCode.REJECTED
EXIT_TIMEOUT = ExitCode.TIMEOUT

# What builds an event from options; --file sends one as written, so none of them may come with it.
DATA_OPTIONS = (
    "type",
    "environment_id",
    "plugin_assembly_id",
    "plugin_package_id",
    "certificate",
    "issuer_name",
    "subject_name",
    "revert",
    "connector_id",
    "application_id",
    "issuer",
    "subject",
    "redirect_url",
)

EPILOG = """\
examples:
  # a new environment: provision its identity and FICs
  ppmi publish ppmi.environment.created --environment-id 5f1c3a2e-7a11-4f3e-9d55-0b6a3f3e9c01 --wait
  # after importing a solution: bind the package, FIC for its signer
  ppmi publish ppmi.pluginpackage.registered --environment-id 5f1c3a2e-... \\
      --plugin-package-id 0d2e... --certificate build/signing.cer --wait --timeout 600
  # a custom connector with managed identity: the issuer, subject and redirect URL its details page shows
  ppmi publish ppmi.connector.registered --environment-id 5f1c3a2e-... \\
      --connector-id shared_contoso-5fweather --application-id 3b676527-... \\
      --issuer https://login.microsoftonline.com/<tenant>/v2.0 --subject "/eid1/c/pub/t/.../a/.../..." \\
      --redirect-url https://global.consent.azure-apim.net/redirect/... --wait
  # a prepared event file (ppmi event validate checks it first), as JSON for a pipeline
  ppmi publish --file event.json --wait --output json
  # a retried pipeline step: the same --id is not sent twice, and --wait gets the first run's result
  ppmi publish ppmi.environment.reconcile --environment-id 5f1c3a2e-... --id build-4711-reconcile --wait

exit codes: 0 sent (with --wait: succeeded), 2 invalid event or settings (nothing sent), 3 failed,
  4 rejected, 5 no result within --timeout (run the same command again to keep waiting), 6 Service Bus
  could not be reached, 130 interrupted; docs/cli.md has the table.
needs: ServiceBusConnection__fullyQualifiedNamespace and an identity allowed to send to ppmi-events
  (and receive from ppmi-results with --wait).
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "publish",
        help="send an event to ppmi-events (for ALM pipelines)",
        description="Build the event (or read it with --file), validate it locally, send it to ppmi-events; "
        "with --wait, wait for its result, print its steps and exit 0 only when it succeeded.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("type", nargs="?", choices=EVENT_TYPES, metavar="TYPE", help=", ".join(EVENT_TYPES))
    parser.add_argument("--file", metavar="EVENT.json", help="send this event file instead (- for stdin)")
    # Checked with the event, which names what is wrong with it (an upper-case ID included).
    parser.add_argument("--environment-id", help="Power Platform environment ID")
    parser.add_argument("--plugin-assembly-id", help="for ppmi.pluginassembly.registered")
    parser.add_argument("--plugin-package-id", help="for ppmi.pluginpackage.registered")
    parser.add_argument("--certificate", type=Path, help="the plug-in's signing certificate (DER or PEM)")
    parser.add_argument("--issuer-name", help=".NET-rendered issuer DN (CA-issued signer by name)")
    parser.add_argument("--subject-name", help=".NET-rendered subject DN (CA-issued signer by name)")
    parser.add_argument("--revert", action="store_true", help="for ppmi.identity.upgrade: go back")
    parser.add_argument("--connector-id", help="for ppmi.connector.*: the custom connector's name or ID")
    parser.add_argument(
        "--application-id", help="for ppmi.connector.*: its app registration's application ID"
    )
    parser.add_argument("--issuer", help="for ppmi.connector.registered: the issuer the connector shows")
    parser.add_argument("--subject", help="for ppmi.connector.registered: the subject the connector shows")
    parser.add_argument("--redirect-url", help="for ppmi.connector.registered: its redirect URL (optional)")
    parser.add_argument("--source", default="/ppmi/cli", help="CloudEvents source (default /ppmi/cli)")
    parser.add_argument(
        "--id",
        help="event ID (default: a new UUID); re-using one makes re-publishing a no-op that, with "
        "--wait, gets the first run's result",
    )
    parser.add_argument("--wait", action="store_true", help="wait for the result; exit code says how it went")
    parser.add_argument("--timeout", type=float, default=300.0, metavar="S", help="seconds to wait (300)")
    parser.set_defaults(func=_run, interrupted="stopped")


def _run(args: argparse.Namespace, out: Output) -> int:
    event = _event(args, out)
    if args.wait:
        event = event.model_copy(update={"reply_session": reply_session_for(event.id)})
    settings = Settings.from_env()
    args.interrupted = (
        f"stopped; event {event.id} may have been sent and may still finish: run the same command with "
        f"--id {event.id} --wait to get its result (a second send of that ID is dropped as a duplicate)"
    )
    sent, result = asyncio.run(_publish(settings, event, args, out))
    payload: dict[str, Any] = {
        "event": {"id": event.id, "type": event.type, "environmentId": event.data.environment_id},
        "sent": sent,
        "result": None if result is None else _result_json(result),
    }
    if not args.wait:
        out.answer(payload, f"published {event.type} {event.id}")
        return ExitCode.OK
    if result is None:
        out.answer(payload, f"published {event.type} {event.id}\nno result yet")
        out.note(
            f"ppmi publish: no result within {args.timeout:.0f}s; the event is queued and may still finish: "
            "run the same "
            f"command again (with --id {event.id}) to keep waiting, or look in ppmi-kept "
            "(`ppmi requeue --dry-run`)"
        )
        return ExitCode.TIMEOUT
    out.answer(payload, lambda: _result_text(event, sent, result))
    return OUTCOME_EXIT[result.data.outcome]


def _event(args: argparse.Namespace, out: Output) -> Event:
    if args.file is not None:
        given = [name for name in DATA_OPTIONS if getattr(args, name)]
        if given:
            raise usage(
                "--file sends the event as written: leave out TYPE and the data options",
                "drop "
                + ", ".join("TYPE" if name == "type" else "--" + name.replace("_", "-") for name in given),
            )
        event = parse_event(read_event(args.file))
        return event if args.id is None else parse_event(event.model_copy(update={"id": args.id}).to_json())
    if args.type is None or args.environment_id is None:
        raise usage(
            "say what to send: TYPE and --environment-id, or --file EVENT.json", "see ppmi publish --help"
        )
    return new_event(args.type, _data(args, out), source=args.source, id=args.id)


def _data(args: argparse.Namespace, out: Output) -> dict[str, Any]:
    data: dict[str, Any] = {"environmentId": args.environment_id}
    if args.plugin_assembly_id:
        data["pluginAssemblyId"] = args.plugin_assembly_id
    if args.plugin_package_id:
        data["pluginPackageId"] = args.plugin_package_id
    if args.certificate is not None:
        certificate = read_certificate(args.certificate, out)
        reference: dict[str, str] = {"der": base64.b64encode(certificate.der).decode("ascii")}
        if args.issuer_name and args.subject_name:
            reference.update(issuerName=args.issuer_name, subjectName=args.subject_name)
        data["certificate"] = reference
    if args.type == "ppmi.identity.upgrade":
        data.update(targetVersion=2, revert=args.revert)
    connector = {
        "connectorId": args.connector_id,
        "applicationId": args.application_id,
        "issuer": args.issuer,
        "subject": args.subject,
        "redirectUrl": args.redirect_url,
    }
    data.update({key: value for key, value in connector.items() if value is not None})
    return data


async def _publish(
    settings: Settings, event: Event, args: argparse.Namespace, out: Output
) -> tuple[bool, ResultEvent | None]:
    """(whether it was sent, its result): an event that already has a result is not sent again."""
    async with open_servicebus(settings) as client:
        if args.wait and event.reply_session is not None:
            earlier = await result_of(client, event.id, reply_session=event.reply_session, within=0)
            if earlier is not None:
                out.progress(f"event {event.id} already has a result; not sending it again")
                return False, earlier
        await publish(client, [event])
        out.progress(f"published {event.type} {event.id}")
        if not args.wait or event.reply_session is None:
            return True, None
        out.progress(f"waiting up to {args.timeout:.0f} s for its result")
        return True, await result_of(client, event.id, reply_session=event.reply_session, within=args.timeout)


def _result_json(result: ResultEvent) -> dict[str, Any]:
    data = result.data
    return {
        "outcome": data.outcome,
        "reason": data.reason,
        "time": result.time.isoformat() if result.time else None,
        "steps": [step.model_dump(exclude_none=True) for step in data.steps],
    }


def _result_text(event: Event, sent: bool, result: ResultEvent) -> str:
    data = result.data
    lines = [f"{'published' if sent else 'already published'} {event.type} {event.id}"]
    for step in data.steps:
        detail = f"  ({step.detail})" if step.detail and step.outcome not in ("unchanged",) else ""
        lines.append(
            f"  {STEP_MARKS.get(step.outcome, '?')} {step.outcome:<9} {step.step:<22} {step.target}{detail}"
        )
    lines.append(f"{data.outcome}{': ' + data.reason if data.reason else ''}")
    return "\n".join(lines)
