"""`ppmi fic show`: the issuer, subject and audience a plug-in signer needs, computed locally."""

from __future__ import annotations

import argparse
from pathlib import Path

from shared.cli._arguments import environment_id, guid
from shared.cli._exit import ExitCode
from shared.cli._failures import usage
from shared.cli._files import read_certificate
from shared.cli._output import Output
from shared.fic import (
    FORMAT_VERSIONS,
    Cloud,
    FederatedCredentialError,
    Signer,
    SubjectEnvironmentSegment,
    federated_credential,
)

EPILOG = """\
examples:
  ppmi fic show --tenant-id 7f2c1900-9fd4-4b89-91d3-79a649996f0a \\
      --environment-id 7efcc31a-c410-e20e-9b95-dd448cedf653 --certificate signing.cer
  ppmi fic show ... --certificate signing.pem --output json
  ppmi fic show ... --certificate leaf.cer \\
      --issuer-name "CN=Contoso CA, O=Contoso, C=US" --subject-name "CN=Contoso Signing, O=Contoso, C=US"
  ppmi fic show ... --certificate signing.cer --cloud gcchigh --format-version 1

The certificate may be DER, PEM or base64 DER. For a CA-issued certificate, pass the names exactly as
.NET's X509Certificate2.Issuer / .Subject print them if they differ from what ppmi renders.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    fic = subparsers.add_parser(
        "fic",
        help="compute federated identity credential values",
        epilog="examples:\n  ppmi fic show --tenant-id T --environment-id E --certificate signing.cer\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = fic.add_subparsers(dest="fic_command", metavar="COMMAND", required=True)
    show = commands.add_parser(
        "show",
        help="print the issuer, subject and audience for a signer in an environment",
        description="Compute the FIC values Entra must hold so plug-ins signed with this certificate can get "
        "tokens in this environment. Nothing is sent anywhere.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    show.add_argument("--tenant-id", required=True, type=guid, help="the Entra tenant ID")
    show.add_argument(
        "--environment-id",
        required=True,
        type=environment_id,
        help="the Power Platform environment ID (lowercase GUID or Default-<tenant>)",
    )
    show.add_argument("--certificate", required=True, type=Path, help="the signing certificate file")
    show.add_argument("--issuer-name", help="the issuer DN as .NET prints it (overrides the rendered one)")
    show.add_argument("--subject-name", help="the subject DN as .NET prints it (overrides the rendered one)")
    show.add_argument("--format-version", type=int, choices=FORMAT_VERSIONS, default=2, help="default 2")
    show.add_argument("--cloud", choices=[cloud.value for cloud in Cloud], default=Cloud.PUBLIC.value)
    show.add_argument(
        "--component",
        choices=("pluginassembly", "pluginpackage"),
        default="pluginassembly",
        help="format 0 only",
    )
    show.add_argument(
        "--environment-segment",
        choices=[segment.value for segment in SubjectEnvironmentSegment],
        default=SubjectEnvironmentSegment.ENVIRONMENT_ID.value,
        help="which ID fills the subject's e/ segment (organization-id is unconfirmed)",
    )
    show.add_argument(
        "--organization-id", type=guid, help="the Dataverse organization ID, for organization-id"
    )
    show.set_defaults(func=_show)


def _show(args: argparse.Namespace, out: Output) -> int:
    signer = Signer.from_certificate(
        read_certificate(args.certificate, out), args.issuer_name, args.subject_name
    )
    try:
        credential = federated_credential(
            tenant_id=args.tenant_id,
            environment_id=args.environment_id,
            signer=signer,
            format_version=args.format_version,
            cloud=Cloud(args.cloud),
            component=args.component,
            organization_id=args.organization_id,
            environment_segment=SubjectEnvironmentSegment(args.environment_segment),
        )
    except FederatedCredentialError as error:
        raise usage(str(error), "choose another --format-version, or give the names .NET prints") from None
    values = {"issuer": credential.issuer, "subject": credential.subject, "audience": credential.audience}
    out.answer(values, lambda: "\n".join(f"{label + ':':<10} {value}" for label, value in values.items()))
    return ExitCode.OK
