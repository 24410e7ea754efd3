"""`ppmi verify`: why does my plug-in get no token? Every link of the chain, each finding with its fix."""

from __future__ import annotations

import argparse
from pathlib import Path

from shared.cli._arguments import add_environment_id, guid
from shared.cli._engine import with_runtime
from shared.cli._exit import ExitCode
from shared.cli._failures import usage
from shared.cli._files import read_certificate
from shared.cli._output import Output
from shared.cli.verify_connector import (
    CONNECTOR_EXAMPLE,
    add_connector_arguments,
    connector_requested,
    missing_connector_option,
)
from shared.diagnosis import ComponentTarget, Report, render_text, verify, verify_connector
from shared.engine import Runtime
from shared.fic import Signer

EPILOG = f"""\
examples:
  # the whole environment: identity, a FIC per trusted signer, Dataverse row, role grants
  ppmi verify --environment-id 5f1c3a2e-7a11-4f3e-9d55-0b6a3f3e9c01
  # one plug-in package, its binding and Dataverse's own subject for it
  ppmi verify --environment-id 5f1c3a2e-... --plugin-package-id 0d2e6f7a-...
  # an assembly signed with a given certificate, as JSON for a pipeline
  ppmi verify --environment-id 5f1c3a2e-... --plugin-assembly-id 9a1b... \\
      --certificate signing.cer --output json
{CONNECTOR_EXAMPLE}

Checks: identity exists; a FIC with the exact issuer, subject (segment by segment) and audience; FIC count
under Entra's cap of 20; ppmi is an application user in Dataverse; the managedidentity row (applicationid,
tenantid, credentialsource 2, subjectscope 1, version 2); the component bound to that row; role grants; the
identity's entry in each access-policy vault of the policy, and vaults that ignore what ppmi gives there.
A connector: its app registration is allowed and exists, ppmi's FIC holds its issuer, subject and the cloud's
audience and passes the policy's connector rules, and its redirect URI is on the app.

exit codes: 0 every link holds (warnings may be printed), 1 at least one error found; could not verify:
  2 settings, policy or certificate, 3 a service refused (permissions), 6 a service could not be reached
  (docs/cli.md has the whole table).
needs: PPMI_POLICY_FILE, and an identity that may read the identities, role assignments, the environments
  API and the environment's Dataverse (the same identity the service runs as).
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="find out why a plug-in gets no token, with a fix for each problem",
        description="Check the whole chain a plug-in's token depends on (identity, FICs, Dataverse row, "
        "binding, role grants) and print each finding with its evidence and fix. Reads only.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_environment_id(parser)
    component = parser.add_mutually_exclusive_group()
    component.add_argument("--plugin-package-id", type=guid, help="check this plug-in package too")
    component.add_argument("--plugin-assembly-id", type=guid, help="check this plug-in assembly too")
    parser.add_argument(
        "--certificate",
        type=Path,
        help="the component's signing certificate (DER, PEM or base64); default: the trusted signers",
    )
    parser.add_argument("--issuer-name", help="the issuer DN as .NET prints it (CA-issued certificates)")
    parser.add_argument("--subject-name", help="the subject DN as .NET prints it (CA-issued certificates)")
    add_connector_arguments(parser)
    parser.set_defaults(func=_verify)


def _component(args: argparse.Namespace) -> ComponentTarget | None:
    if args.plugin_package_id:
        return ComponentTarget("pluginpackage", args.plugin_package_id)
    if args.plugin_assembly_id:
        return ComponentTarget("pluginassembly", args.plugin_assembly_id)
    return None


def _signer(args: argparse.Namespace, out: Output) -> Signer | None:
    if args.certificate is None:
        return None
    certificate = read_certificate(args.certificate, out)
    return Signer.from_certificate(certificate, args.issuer_name, args.subject_name)


def _verify(args: argparse.Namespace, out: Output) -> int:
    if connector_requested(args):
        problem = missing_connector_option(args)
        if problem is not None:
            raise usage(problem, "see the connector example in `ppmi verify --help`")
        return _verify_connector(args, out)
    signer = _signer(args, out)
    component = _component(args)
    out.progress(
        f"verifying environment {args.environment_id}: identity, FICs, Dataverse row, binding, grants"
    )

    async def run(runtime: Runtime) -> Report:
        return await verify(runtime, args.environment_id, component=component, signer=signer)

    return _answer(with_runtime(out, run), out)


def _verify_connector(args: argparse.Namespace, out: Output) -> int:
    out.progress(f"verifying connector {args.connector_id}: its app registration, ppmi's FIC, redirect URI")

    async def run(runtime: Runtime) -> Report:
        return await verify_connector(
            runtime,
            args.environment_id,
            args.connector_id,
            args.application_id,
            issuer=args.issuer,
            subject=args.subject,
            redirect_url=args.redirect_url,
        )

    return _answer(with_runtime(out, run), out)


def _answer(report: Report, out: Output) -> int:
    out.answer(report.to_json(), lambda: render_text(report))
    return ExitCode.OK if report.healthy else ExitCode.ATTENTION
