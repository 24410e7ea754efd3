"""`ppmi policy`: check a policy before it ships, and derive the deployment parameters that must match it."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from shared.cli._exit import ExitCode
from shared.cli._failures import CommandError, Failure
from shared.cli._output import Output
from shared.cli.policy_vaults import vault_mode_warnings
from shared.deployment import DeploymentParameters, ScopeError, deployment_parameters, drift, summary
from shared.policy import PolicyError, load_policy

EXIT_VALID = ExitCode.OK
EXIT_INVALID = ExitCode.ATTENTION
EXIT_NO_FILE = ExitCode.USAGE
DEFAULT_POLICY_FILE = "policy.yaml"
SAMPLE_POLICY = "docs/policy.sample.yaml"

VALIDATE_EPILOG = f"""\
examples:
  # the policy azd ships (policy.yaml at the repository root, or $PPMI_POLICY_FILE)
  ppmi policy validate
  # another file, as JSON for a pipeline
  ppmi policy validate policies/prod.yaml --output json
  # also read the key vaults it names (Azure sign-in needed) and warn where a vault ignores what it grants
  ppmi policy validate --check-vaults

The policy is loaded exactly as the service loads it at start-up, certificates included.
exit codes: {EXIT_VALID} valid, {EXIT_INVALID} invalid (the offending key is named),
  {EXIT_NO_FILE} no such file.
"""

PARAMETERS_EPILOG = f"""\
examples:
  # set the values in the current azd environment, then deploy
  eval "$(ppmi policy deployment-parameters)"
  azd up
  # the same values as JSON
  ppmi policy deployment-parameters policies/prod.yaml --output json
  # does the azd environment (as hooks see it) match the policy?
  ppmi policy deployment-parameters --check

Prints PPMI_IDENTITY_RESOURCE_GROUP, PPMI_GRANTED_ROLE_IDS, PPMI_GRANT_SCOPES and PPMI_KEY_VAULT_IDS
(see docs/deploy.md).
A grant scope lies in a resource group or a subscription; where {{environmentId}} is part of the
resource group name, the subscription is used (noted on stderr).
exit codes: {EXIT_VALID} printed (or in step), {EXIT_INVALID} invalid policy, a scope outside any
  subscription, or (--check) a mismatch; {EXIT_NO_FILE} no such file.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = subparsers.add_parser(
        "policy",
        help="check the provisioning policy and derive the deployment parameters from it",
        description="Check the provisioning policy before it ships; derive what deployment needs from it.",
    )
    commands = group.add_subparsers(dest="policy_command", metavar="COMMAND", required=True)
    file_help = f"the policy file; default: $PPMI_POLICY_FILE, else {DEFAULT_POLICY_FILE}"

    validate = commands.add_parser(
        "validate",
        help="load the policy as the service does and say whether it is valid",
        description="Load and validate the policy exactly as the service does; print `valid` with a summary, "
        "or `invalid: <field>: <reason>`.",
        epilog=VALIDATE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    validate.add_argument("file", nargs="?", type=Path, metavar="FILE", help=file_help)
    validate.add_argument(
        "--check-vaults",
        action="store_true",
        help="read the key vaults the policy names: warn when a role grant targets a vault that uses access "
        "policies, or an access policy one that uses Azure RBAC",
    )
    validate.set_defaults(func=_validate)

    parameters = commands.add_parser(
        "deployment-parameters",
        help="print the azd environment values the template needs from the policy",
        description="Print, as `azd env set` commands or JSON, the identity resource group, granted roles "
        "and grant scopes that infra/main.bicep needs from the policy.",
        epilog=PARAMETERS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parameters.add_argument("file", nargs="?", type=Path, metavar="FILE", help=file_help)
    parameters.add_argument(
        "--check",
        action="store_true",
        help="compare with the values in this environment (as azd hooks see them) instead of printing them",
    )
    parameters.set_defaults(func=_deployment_parameters)


def _policy_path(args: argparse.Namespace) -> Path:
    file: Path | None = args.file
    return file or Path(os.environ.get("PPMI_POLICY_FILE") or DEFAULT_POLICY_FILE)


def _missing(command: str, path: Path) -> CommandError:
    return CommandError(
        Failure(
            "file",
            f"no policy file at {path}",
            f"create one from {SAMPLE_POLICY} (cp {SAMPLE_POLICY} {DEFAULT_POLICY_FILE}, then set tenantId, "
            f"identity and trustedSigners), or name the file: ppmi policy {command} FILE",
            EXIT_NO_FILE,
        )
    )


def _reason(error: PolicyError) -> str:
    return str(error).removeprefix(f"{error.field}: ")


def _validate(args: argparse.Namespace, out: Output) -> int:
    path = _policy_path(args)
    if not path.is_file():
        raise _missing("validate", path)
    try:
        policy = load_policy(path)
    except PolicyError as error:
        invalid = {"valid": False, "file": str(path), "field": error.field, "reason": _reason(error)}
        out.answer(invalid, f"invalid: {error}")
        return EXIT_INVALID
    warnings = policy.warnings() + (vault_mode_warnings(policy) if args.check_vaults else [])
    valid = {
        "valid": True,
        "file": str(path),
        "strategy": policy.identity.strategy,
        "trustedSigners": len(policy.trusted_signers),
        "roleGrants": len(policy.role_grants),
        "cloud": policy.cloud.value,
        "warnings": warnings,
    }
    out.answer(valid, f"valid: {path}: {summary(policy)}")
    if not out.json_output:
        for warning in warnings:
            out.note(f"warning: {warning}")
    return EXIT_VALID


def _deployment_parameters(args: argparse.Namespace, out: Output) -> int:
    path = _policy_path(args)
    if not path.is_file():
        raise _missing("deployment-parameters", path)
    try:
        parameters = deployment_parameters(load_policy(path))
    except PolicyError as error:
        # stderr only in text mode: stdout is meant for eval and stays empty when there is nothing to set.
        raise CommandError(
            Failure(
                "policy",
                f"invalid: {error}",
                "fix the policy first; ppmi policy validate shows the same error",
                EXIT_INVALID,
            )
        ) from None
    except ScopeError as error:
        raise CommandError(
            Failure("policy", str(error), "fix the grant's scope in the policy", EXIT_INVALID)
        ) from None
    for note in parameters.notes:
        out.note(f"note: {note}")
    if args.check:
        return _check(parameters, out)
    out.answer(parameters.as_json(), lambda: "\n".join(parameters.as_azd_commands()))
    return EXIT_VALID


def _check(parameters: DeploymentParameters, out: Output) -> int:
    findings = drift(parameters, os.environ)
    if out.json_output or not findings:
        out.answer(
            {"match": not findings, "mismatches": list(findings)}, "deployment parameters match the policy"
        )
    if not findings:
        return EXIT_VALID
    for finding in findings:
        out.note(f"mismatch: {finding}")
    out.note('set them from the policy: eval "$(ppmi policy deployment-parameters)", then azd provision')
    return EXIT_INVALID
