"""`ppmi verify`: why does my plug-in get no token? Every link of the chain, each finding with its fix."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from uuid import UUID

from shared.cli.verify_connector import (
    CONNECTOR_EXAMPLE,
    add_connector_arguments,
    connector_requested,
    missing_connector_option,
    print_report,
    run_connector_verify,
)
from shared.diagnosis import ComponentTarget, Report, verify
from shared.engine import open_runtime
from shared.errors import PpmiError
from shared.fic import CertificateError, Signer, load_certificate
from shared.policy import Policy, PolicyError, load_policy
from shared.settings import Settings

EXIT_HOLDS = 0
EXIT_FINDINGS = 1
EXIT_CANNOT_VERIFY = 2

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

exit codes: {EXIT_HOLDS} every link holds (warnings may be printed), {EXIT_FINDINGS} at least one error found,
  {EXIT_CANNOT_VERIFY} could not verify (settings, policy, certificate, or a service refused to answer).
needs: PPMI_POLICY_FILE, and an identity that may read the identities, role assignments, the environments
  API and the environment's Dataverse (the same identity the service runs as).
"""


def _guid(value: str) -> str:
    try:
        return str(UUID(value))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a GUID") from None


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "verify",
        help="find out why a plug-in gets no token, with a fix for each problem",
        description="Check the whole chain a plug-in's token depends on (identity, FICs, Dataverse row, "
        "binding, role grants) and print each finding with its evidence and fix. Reads only.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--environment-id", required=True, help="the Power Platform environment ID")
    component = parser.add_mutually_exclusive_group()
    component.add_argument("--plugin-package-id", type=_guid, help="check this plug-in package too")
    component.add_argument("--plugin-assembly-id", type=_guid, help="check this plug-in assembly too")
    parser.add_argument(
        "--certificate",
        type=Path,
        help="the component's signing certificate (DER, PEM or base64); default: the trusted signers",
    )
    parser.add_argument("--issuer-name", help="the issuer DN as .NET prints it (CA-issued certificates)")
    parser.add_argument("--subject-name", help="the subject DN as .NET prints it (CA-issued certificates)")
    parser.add_argument("--output", choices=("text", "json"), default="text")
    add_connector_arguments(parser)
    parser.set_defaults(func=_verify)


def _component(args: argparse.Namespace) -> ComponentTarget | None:
    if args.plugin_package_id:
        return ComponentTarget("pluginpackage", args.plugin_package_id)
    if args.plugin_assembly_id:
        return ComponentTarget("pluginassembly", args.plugin_assembly_id)
    return None


def _signer(args: argparse.Namespace) -> Signer | None:
    if args.certificate is None:
        return None
    try:
        certificate = load_certificate(args.certificate.read_bytes())
    except OSError as error:
        raise ValueError(
            f"cannot read {args.certificate}: {error.strerror}; give a .cer or .pem file"
        ) from None
    except CertificateError as error:
        raise ValueError(f"{args.certificate} is not a certificate: {error}") from None
    return Signer.from_certificate(certificate, args.issuer_name, args.subject_name)


def _verify(args: argparse.Namespace) -> int:
    problem = missing_connector_option(args) if connector_requested(args) else None
    if problem is not None:
        print(f"ppmi verify: {problem}", file=sys.stderr)
        return EXIT_CANNOT_VERIFY
    try:
        settings = Settings.from_env()
        policy = load_policy(settings.require_policy_file())
        signer = _signer(args)
    except (PpmiError, PolicyError, ValueError) as error:
        print(f"ppmi verify: {error}", file=sys.stderr)
        return EXIT_CANNOT_VERIFY
    try:
        if connector_requested(args):
            report = run_connector_verify(settings, policy, args)
        else:
            report = asyncio.run(_run(settings, policy, args.environment_id, _component(args), signer))
    except PpmiError as error:
        print(
            f"ppmi verify: could not read what to verify: {error}\n"
            "Check that this identity may read the managed identities, role assignments, the environments "
            "API and Dataverse, then run it again.",
            file=sys.stderr,
        )
        return EXIT_CANNOT_VERIFY
    print_report(report, args.output)
    return EXIT_HOLDS if report.healthy else EXIT_FINDINGS


async def _run(
    settings: Settings,
    policy: Policy,
    environment_id: str,
    component: ComponentTarget | None,
    signer: Signer | None,
) -> Report:
    async with open_runtime(settings, policy) as runtime:
        return await verify(runtime, environment_id, component=component, signer=signer)
