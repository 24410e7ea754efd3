"""`ppmi policy`: check a policy before it ships, and derive the deployment parameters that must match it."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shared.policy import Policy, PolicyError, RoleGrant, load_policy

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_NO_FILE = 2
DEFAULT_POLICY_FILE = "policy.yaml"
SAMPLE_POLICY = "docs/policy.sample.yaml"

VALIDATE_EPILOG = f"""\
examples:
  # the policy azd ships (policy.yaml at the repository root, or $PPMI_POLICY_FILE)
  ppmi policy validate
  # another file, as JSON for a pipeline
  ppmi policy validate policies/prod.yaml --output json

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

Prints PPMI_IDENTITY_RESOURCE_GROUP, PPMI_GRANTED_ROLE_IDS and PPMI_GRANT_SCOPES (see docs/deploy.md).
A grant scope lies in a resource group or a subscription; where {{environmentId}} is part of the
resource group name, the subscription is used (noted on stderr).
exit codes: {EXIT_VALID} printed (or in step), {EXIT_INVALID} invalid policy, a scope outside any
  subscription, or (--check) a mismatch; {EXIT_NO_FILE} no such file.
"""


@dataclass(frozen=True)
class DeploymentParameters:
    """What infra/main.bicep needs from the policy, named as the azd environment variables that carry it."""

    identity_resource_group: str | None
    granted_role_ids: tuple[str, ...]
    grant_scopes: tuple[str, ...]
    notes: tuple[str, ...]
    # Not a parameter: the template puts the identity group in the deployment subscription; they must agree.
    identity_subscription_id: str | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "PPMI_IDENTITY_RESOURCE_GROUP": self.identity_resource_group,
            "PPMI_GRANTED_ROLE_IDS": list(self.granted_role_ids),
            "PPMI_GRANT_SCOPES": list(self.grant_scopes),
        }

    def as_azd_commands(self) -> list[str]:
        values: list[tuple[str, str]] = []
        if self.identity_resource_group is not None:
            values.append(("PPMI_IDENTITY_RESOURCE_GROUP", self.identity_resource_group))
        values.append(
            ("PPMI_GRANTED_ROLE_IDS", json.dumps(list(self.granted_role_ids), separators=(",", ":")))
        )
        values.append(("PPMI_GRANT_SCOPES", json.dumps(list(self.grant_scopes), separators=(",", ":"))))
        return [f"azd env set {name} {shlex.quote(value)}" for name, value in values]


class ScopeError(ValueError):
    """A grant scope that no subscription- or resource-group-level assignment of the template covers."""


def deployment_parameters(policy: Policy) -> DeploymentParameters:
    """The identity group, the distinct granted roles and the subscription or group each scope lies in."""
    identity = policy.identity
    if identity.subscription_id is None or identity.resource_group is None:
        # The service grants no roles without an identity subscription and group (app-registration strategy).
        ignored = (
            f"strategy {identity.strategy} names no identity subscription and resource group, so the service "
            "grants no roles: no role list and no grant scopes"
        )
        return DeploymentParameters(None, (), (), (ignored,) if policy.role_grants else ())
    roles: dict[str, None] = {}
    scopes: dict[str, None] = {}
    notes: list[str] = []
    for index, grant in enumerate(policy.role_grants):
        roles[grant.role_definition_id] = None
        scope, widened = covering_scope(grant, identity.subscription_id, identity.resource_group)
        scopes[scope] = None
        if widened:
            notes.append(f"roleGrants[{index}].scope {grant.scope}: {widened}")
    return DeploymentParameters(
        identity.resource_group, tuple(roles), tuple(scopes), tuple(notes), identity.subscription_id
    )


def covering_scope(grant: RoleGrant, subscription_id: str, resource_group: str) -> tuple[str, str | None]:
    """`/subscriptions/<id>[/resourceGroups/<name>]` holding the grant's scope, and why if it is wider."""
    filled = grant.scope.replace("{subscriptionId}", subscription_id).replace(
        "{resourceGroup}", resource_group
    )
    segments = filled.strip("/").split("/")
    if len(segments) < 2 or segments[0].lower() != "subscriptions":
        raise ScopeError(
            f"{grant.scope} lies in no subscription; the template grants only at a subscription or resource "
            "group, so assign Role Based Access Control Administrator there yourself or narrow the scope"
        )
    subscription = f"/subscriptions/{segments[1]}"
    if "{environmentId}" in segments[1]:
        raise ScopeError(
            f"{grant.scope} puts {{environmentId}} into the subscription, which is unknown before an event"
        )
    if len(segments) < 4 or segments[2].lower() != "resourcegroups":
        return subscription, None
    if "{environmentId}" in segments[3]:
        return subscription, (
            "the resource group depends on {environmentId}, so the whole subscription is used"
        )
    return f"{subscription}/resourceGroups/{segments[3]}", None


def drift(parameters: DeploymentParameters, environment: Mapping[str, str]) -> list[str]:
    """How the azd environment's values differ from what the policy needs; empty when they are in step."""
    findings: list[str] = []
    subscription = environment.get("AZURE_SUBSCRIPTION_ID", "")
    wanted_subscription = parameters.identity_subscription_id
    if subscription and wanted_subscription and subscription.casefold() != wanted_subscription.casefold():
        findings.append(
            f"AZURE_SUBSCRIPTION_ID is {subscription}, the policy's identity.subscriptionId is "
            f"{wanted_subscription}: the identity resource group is created in the deployment subscription"
        )
    wanted_group = parameters.identity_resource_group
    group = environment.get("PPMI_IDENTITY_RESOURCE_GROUP", "")
    if wanted_group is not None and group.casefold() != wanted_group.casefold():
        findings.append(
            f"PPMI_IDENTITY_RESOURCE_GROUP is {group or 'not set'}, the policy's identity.resourceGroup is "
            f"{wanted_group}: the app would get no right to create identities there"
        )
    roles = _json_list(environment, "PPMI_GRANTED_ROLE_IDS", findings)
    missing_roles = [role for role in parameters.granted_role_ids if role not in roles]
    extra_roles = sorted(roles - set(parameters.granted_role_ids))
    if missing_roles:
        findings.append(
            f"PPMI_GRANTED_ROLE_IDS lacks {', '.join(missing_roles)}: assigning them would fail with 403"
        )
    if extra_roles:
        findings.append(
            f"PPMI_GRANTED_ROLE_IDS allows {', '.join(extra_roles)}, not granted by the policy: remove them"
        )
    scopes = _json_list(environment, "PPMI_GRANT_SCOPES", findings)
    uncovered = [
        scope
        for scope in parameters.grant_scopes
        if scope.casefold() not in scopes and "/".join(scope.split("/")[:3]).casefold() not in scopes
    ]
    if uncovered:
        findings.append(
            f"PPMI_GRANT_SCOPES lacks {', '.join(uncovered)}: role assignments there would fail with 403"
        )
    return findings


def _json_list(environment: Mapping[str, str], name: str, findings: list[str]) -> set[str]:
    """The variable's JSON array, case-folded; unset means the parameter file's default, an empty list."""
    try:
        values = json.loads(environment.get(name) or "[]")
    except json.JSONDecodeError:
        values = None
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        findings.append(f"{name} is not a JSON array of strings: {environment.get(name)!r}")
        return set()
    return {value.casefold() for value in values}


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
    validate.add_argument("--output", choices=("text", "json"), default="text")
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
    parameters.add_argument("--output", choices=("text", "json"), default="text")
    parameters.add_argument(
        "--check",
        action="store_true",
        help="compare with the values in this environment (as azd hooks see them) instead of printing them",
    )
    parameters.set_defaults(func=_deployment_parameters)


def _policy_path(args: argparse.Namespace) -> Path:
    file: Path | None = args.file
    return file or Path(os.environ.get("PPMI_POLICY_FILE") or DEFAULT_POLICY_FILE)


def _missing(command: str, path: Path) -> int:
    print(
        f"ppmi policy {command}: no policy file at {path}; create one from {SAMPLE_POLICY} "
        f"(cp {SAMPLE_POLICY} {DEFAULT_POLICY_FILE}, then set tenantId, identity and trustedSigners), "
        f"or name the file: ppmi policy {command} FILE",
        file=sys.stderr,
    )
    return EXIT_NO_FILE


def _reason(error: PolicyError) -> str:
    return str(error).removeprefix(f"{error.field}: ")


def summary(policy: Policy) -> str:
    """One line a deployer can check at a glance against what they meant to deploy."""
    signers = len(policy.trusted_signers)
    grants = len(policy.role_grants)
    return (
        f"strategy {policy.identity.strategy}, {signers} trusted signer{'s' * (signers != 1)}, "
        f"{grants} role grant{'s' * (grants != 1)}, cloud {policy.cloud.value}"
    )


def _validate(args: argparse.Namespace) -> int:
    path = _policy_path(args)
    if not path.is_file():
        return _missing("validate", path)
    try:
        policy = load_policy(path)
    except PolicyError as error:
        if args.output == "json":
            print(
                json.dumps(
                    {"valid": False, "file": str(path), "field": error.field, "reason": _reason(error)}
                )
            )
        else:
            print(f"invalid: {error}")
        return EXIT_INVALID
    if args.output == "json":
        print(
            json.dumps(
                {
                    "valid": True,
                    "file": str(path),
                    "strategy": policy.identity.strategy,
                    "trustedSigners": len(policy.trusted_signers),
                    "roleGrants": len(policy.role_grants),
                    "cloud": policy.cloud.value,
                }
            )
        )
    else:
        print(f"valid: {path}: {summary(policy)}")
    return EXIT_VALID


def _deployment_parameters(args: argparse.Namespace) -> int:
    path = _policy_path(args)
    if not path.is_file():
        return _missing("deployment-parameters", path)
    try:
        parameters = deployment_parameters(load_policy(path))
    except PolicyError as error:
        # stderr only: stdout is meant for eval, and must stay empty when there is nothing to set.
        print(
            f"invalid: {error}\nfix the policy first; ppmi policy validate shows the same error",
            file=sys.stderr,
        )
        return EXIT_INVALID
    except ScopeError as error:
        print(f"ppmi policy deployment-parameters: {error}", file=sys.stderr)
        return EXIT_INVALID
    for note in parameters.notes:
        print(f"note: {note}", file=sys.stderr)
    if args.check:
        return _check(parameters)
    if args.output == "json":
        print(json.dumps(parameters.as_json(), indent=2))
    else:
        print("\n".join(parameters.as_azd_commands()))
    return EXIT_VALID


def _check(parameters: DeploymentParameters) -> int:
    findings = drift(parameters, os.environ)
    if not findings:
        print("deployment parameters match the policy")
        return EXIT_VALID
    for finding in findings:
        print(f"mismatch: {finding}", file=sys.stderr)
    print(
        'set them from the policy: eval "$(ppmi policy deployment-parameters)", then azd provision',
        file=sys.stderr,
    )
    return EXIT_INVALID
