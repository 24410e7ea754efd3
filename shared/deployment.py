"""What a deployment needs from the policy: the parameters infra/main.bicep takes, and whether azd's agree.

The role-assignment condition and the identity resource group are deployed from parameters; deriving them
from the policy (rather than copying by hand) keeps the service's rights exactly what its policy grants.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from shared.policy import Policy, RoleGrant


@dataclass(frozen=True)
class DeploymentParameters:
    """What infra/main.bicep needs from the policy, named as the azd environment variables that carry it."""

    identity_resource_group: str | None
    granted_role_ids: tuple[str, ...]
    grant_scopes: tuple[str, ...]
    notes: tuple[str, ...]
    # Not a parameter: the template puts the identity group in the deployment subscription; they must agree.
    identity_subscription_id: str | None = None
    key_vault_ids: tuple[
        str, ...
    ] = ()  # vaults whose access policies the app writes (keyVaultAccessPolicies)

    def as_json(self) -> dict[str, object]:
        return {
            "PPMI_IDENTITY_RESOURCE_GROUP": self.identity_resource_group,
            "PPMI_GRANTED_ROLE_IDS": list(self.granted_role_ids),
            "PPMI_GRANT_SCOPES": list(self.grant_scopes),
            "PPMI_KEY_VAULT_IDS": list(self.key_vault_ids),
        }

    def as_azd_commands(self) -> list[str]:
        values: list[tuple[str, str]] = []
        if self.identity_resource_group is not None:
            values.append(("PPMI_IDENTITY_RESOURCE_GROUP", self.identity_resource_group))
        values.append(
            ("PPMI_GRANTED_ROLE_IDS", json.dumps(list(self.granted_role_ids), separators=(",", ":")))
        )
        values.append(("PPMI_GRANT_SCOPES", json.dumps(list(self.grant_scopes), separators=(",", ":"))))
        values.append(("PPMI_KEY_VAULT_IDS", json.dumps(list(self.key_vault_ids), separators=(",", ":"))))
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
    vaults = tuple(
        entry.vault_for(subscription_id=identity.subscription_id, resource_group=identity.resource_group)
        for entry in policy.key_vault_access_policies
    )
    return DeploymentParameters(
        identity.resource_group, tuple(roles), tuple(scopes), tuple(notes), identity.subscription_id, vaults
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
    vaults = _json_list(environment, "PPMI_KEY_VAULT_IDS", findings)
    unreachable = [vault for vault in parameters.key_vault_ids if vault.casefold() not in vaults]
    if unreachable:
        findings.append(
            f"PPMI_KEY_VAULT_IDS lacks {', '.join(unreachable)}: access policies there would fail with 403"
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


def summary(policy: Policy) -> str:
    """One line a deployer can check at a glance against what they meant to deploy."""
    signers = len(policy.trusted_signers)
    grants = len(policy.role_grants)
    return (
        f"strategy {policy.identity.strategy}, {signers} trusted signer{'s' * (signers != 1)}, "
        f"{grants} role grant{'s' * (grants != 1)}, cloud {policy.cloud.value}"
    )
