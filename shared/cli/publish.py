"""`ppmi publish`: send an event to ppmi-events for ALM pipelines; `--wait` makes its result the exit code."""

from __future__ import annotations

import argparse
import asyncio
import base64
import sys
from pathlib import Path
from typing import Any

from shared.errors import PpmiError
from shared.events import EVENT_TYPES, Event, EventValidationError, ResultEvent, new_event
from shared.fic import CertificateError, load_certificate
from shared.messaging.connection import open_servicebus
from shared.messaging.publishing import publish, unique_reply_session, wait_for_results
from shared.settings import Settings

EXIT_SUCCEEDED = 0
EXIT_INVALID = 2
EXIT_FAILED = 3
EXIT_REJECTED = 4
EXIT_TIMEOUT = 5

EPILOG = f"""\
examples:
  # a new environment: provision its identity and FICs
  ppmi publish ppmi.environment.created --environment-id 5f1c3a2e-7a11-4f3e-9d55-0b6a3f3e9c01 --wait
  # after importing a solution: bind the package, FIC for its signer
  ppmi publish ppmi.pluginpackage.registered --environment-id 5f1c3a2e-... \\
      --plugin-package-id 0d2e... --certificate build/signing.cer --wait --timeout 600
  # a custom connector with managed identity: the issuer, subject and redirect URL its details page shows
  ppmi publish ppmi.connector.registered --environment-id 5f1c3a2e-... \
      --connector-id shared_contoso-5fweather --application-id 3b676527-... \
      --issuer https://login.microsoftonline.com/<tenant>/v2.0 --subject "/eid1/c/pub/t/.../a/.../..." \
      --redirect-url https://global.consent.azure-apim.net/redirect/... --wait

exit codes: {EXIT_SUCCEEDED} sent (with --wait: succeeded), {EXIT_INVALID} invalid event or settings,
  {EXIT_FAILED} failed, {EXIT_REJECTED} rejected, {EXIT_TIMEOUT} no result within --timeout.
needs: ServiceBusConnection__fullyQualifiedNamespace and an identity allowed to send to ppmi-events
  (and receive from ppmi-results with --wait).
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "publish",
        help="send an event to ppmi-events (for ALM pipelines)",
        description="Build the event, validate it locally, send it to ppmi-events; with --wait, wait for its "
        "result and exit 0 only when it succeeded.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("type", choices=EVENT_TYPES, metavar="TYPE", help=", ".join(EVENT_TYPES))
    parser.add_argument("--environment-id", required=True, help="Power Platform environment ID")
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
        "--id", help="event ID (default: a new UUID); re-using one makes re-publishing a no-op"
    )
    parser.add_argument("--wait", action="store_true", help="wait for the result; exit code says how it went")
    parser.add_argument("--timeout", type=float, default=300.0, metavar="S", help="seconds to wait (300)")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    reply_session = unique_reply_session() if args.wait else None
    try:
        event = new_event(args.type, _data(args), source=args.source, id=args.id, reply_session=reply_session)
    except (EventValidationError, CertificateError, OSError) as error:
        print(f"ppmi publish: invalid event: {_reason(error)}", file=sys.stderr)
        return EXIT_INVALID
    try:
        result = asyncio.run(_publish(event, args.timeout if args.wait else None))
    except PpmiError as error:
        print(f"ppmi publish: {error}", file=sys.stderr)
        return EXIT_INVALID
    print(f"published {event.type} {event.id}")
    if not args.wait:
        return EXIT_SUCCEEDED
    if result is None:
        print(
            f"ppmi publish: no result within {args.timeout:.0f}s; the event is queued and may still finish "
            "(raise --timeout, or check the ppmi-results / ppmi-kept queues)",
            file=sys.stderr,
        )
        return EXIT_TIMEOUT
    outcome, reason = result.data.outcome, result.data.reason or ""
    print(f"{outcome}{': ' + reason if reason else ''}")
    return {"succeeded": EXIT_SUCCEEDED, "failed": EXIT_FAILED, "rejected": EXIT_REJECTED}[outcome]


def _data(args: argparse.Namespace) -> dict[str, Any]:
    data: dict[str, Any] = {"environmentId": args.environment_id}
    if args.plugin_assembly_id:
        data["pluginAssemblyId"] = args.plugin_assembly_id
    if args.plugin_package_id:
        data["pluginPackageId"] = args.plugin_package_id
    if args.certificate is not None:
        certificate = load_certificate(args.certificate.read_bytes())
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


def _reason(error: Exception) -> str:
    if isinstance(error, EventValidationError):
        located = error.field and error.field not in error.reason
        return error.reason + (f" (at {error.field})" if located else "")
    if isinstance(error, OSError):
        return f"cannot read {error.filename}: {error.strerror}"
    return str(error)


async def _publish(event: Event, wait_seconds: float | None) -> ResultEvent | None:
    async with open_servicebus(Settings.from_env()) as client:
        await publish(client, [event])
        if wait_seconds is None or event.reply_session is None:
            return None
        results = await wait_for_results(
            client, event_ids={event.id}, reply_session=event.reply_session, within=wait_seconds
        )
        received = results.get(event.id)
        return None if received is None else received.result
