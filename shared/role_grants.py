"""What a policy's role grant may be: a canonical ARM scope, and a role that cannot hand out access.

A grant's scope is written into a URL (`{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`)
and into the deployment's role-assignment delegation. A scope that reads narrower than it resolves (`..`,
an empty segment, a percent-encoded `/`, a query after it, a keyword in another case) could make ppmi assign
a role far wider than the policy's reader believes, so a scope is parsed as an ARM resource ID and refused
unless it is written exactly in its canonical form. Nothing here quotes what it refuses beyond single
characters and positions: a policy value may be anything, a pasted key included.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

# The placeholders a scope template may use, and where each may stand.
SUBSCRIPTION_PLACEHOLDER: Final = "{subscriptionId}"
RESOURCE_GROUP_PLACEHOLDER: Final = "{resourceGroup}"
ENVIRONMENT_PLACEHOLDER: Final = "{environmentId}"
MAX_SCOPE_LENGTH: Final = 1024

# ARM's own spelling of the keywords in resource IDs (azure-rest-api-specs common-types `resourceGroupName`
# paths; Learn "Resource ID": /subscriptions/{id}/resourceGroups/{name}/providers/{namespace}/{type}/{name}).
_KEYWORDS: Final = ("subscriptions", "resourceGroups", "providers")
_MANAGEMENT_GROUPS: Final = ("Microsoft.Management", "managementGroups")
_ANY_CASE_GUID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.ASCII | re.IGNORECASE
)
# Resource group names: letters, digits, '-', '_', '.', '(' and ')', 1-90 characters, not ending in '.'
# (Learn "Naming rules and restrictions for Azure resources", Microsoft.Resources/resourcegroups). ASCII only
# here: ARM also takes Unicode letters, which is where look-alike names come from.
_NAME = re.compile(r"[-\w.()]*[-\w()]", re.ASCII)
_NAMESPACE = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z][A-Za-z0-9]*)+", re.ASCII)
_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9]*", re.ASCII)
_ALLOWED_CHARACTER = re.compile(r"[-\w.(){}/]", re.ASCII)
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")

# Roles ppmi never grants: they give administrative access, or let the holder assign roles itself, so a
# plug-in's identity holding one could widen its own access (or anyone's). IDs from Learn "Azure built-in
# roles" (learn.microsoft.com/azure/role-based-access-control/built-in-roles): the "Privileged" category
# (built-in-roles/privileged), plus the built-in roles whose actions include
# Microsoft.Authorization/roleAssignments/write or `*`, which Learn's examples of delegating role assignment
# management exclude as privileged (learn.microsoft.com/azure/role-based-access-control/
# delegate-role-assignments-examples). Custom roles are not known offline: see docs/configuration.md.
REFUSED_ROLES: Final[dict[str, str]] = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": "Role Based Access Control Administrator",
    "a8889054-8d42-49c9-bc1c-52486c10e7cd": "Reservations Administrator",
    "76cc9ee4-d5d3-4a45-a930-26add3d73475": "Access Review Operator Service Role",
    "92b92042-07d9-4307-87f7-36a593fc5850": "Azure File Sync Administrator",
    "8b54135c-b56d-4d72-a534-26097cfdc8d8": "Key Vault Data Access Administrator",
    "4e50c84c-c78e-4e37-b47e-e60ffea0a775": "Service Group Administrator",
    "32e6a4ec-6095-4e37-b54b-12aa350ba81f": "Service Group Contributor",
}


class ScopeError(ValueError):
    """A grant scope that is not a canonical ARM resource ID; the message says what to fix."""


def refused_role_reason(role_definition_id: str) -> str | None:
    """Why ppmi will not grant this role, or None when it may."""
    name = REFUSED_ROLES.get(role_definition_id.lower())
    if name is None:
        return None
    return (
        f"is {name}, a privileged role (administrative access, or the right to assign roles): a plug-in's "
        "identity must never hold it; grant a narrower data role such as Key Vault Secrets User"
    )


def check_scope(scope: str, *, template: bool) -> str:
    """`scope` in canonical form (keywords as ARM writes them, the subscription ID in lower case), or
    `ScopeError` saying why it cannot be one. Only spelling ARM itself ignores is normalised; anything that
    would change which resource ARM resolves (dot or empty segments, encodings, suffixes) is refused.

    A template may hold `{subscriptionId}` and `{resourceGroup}` as whole segments in their places and
    `{environmentId}` inside names; a filled-in scope (`template=False`) holds none.
    """
    if not scope.startswith("/"):
        raise ScopeError(
            "must be an Azure resource ID starting with '/', e.g. /subscriptions/{subscriptionId}"
        )
    if len(scope) > MAX_SCOPE_LENGTH:
        raise ScopeError(f"is {len(scope)} characters; an ARM scope here is at most {MAX_SCOPE_LENGTH}")
    _check_characters(scope)
    if scope.endswith("/"):
        raise ScopeError("ends with '/': ARM resource IDs do not; remove it")
    segments = scope[1:].split("/")
    for position, segment in enumerate(segments, start=1):
        _check_segment(segment, position, template=template)
    _check_structure(segments, template=template)
    return "/" + "/".join(segments)


def _check_characters(scope: str) -> None:
    for position, character in enumerate(scope, start=1):
        if _ALLOWED_CHARACTER.fullmatch(character):
            continue
        if character == "%":
            why = "percent-encoding: an encoded '/' or '.' would make ARM read another path than written"
        elif character in "?#":
            why = "a query or fragment after the scope, which ARM would not treat as part of it"
        elif character == "\\":
            why = "a backslash, which some layers read as '/'"
        elif character.isspace():
            why = "whitespace"
        elif not character.isascii():
            why = (
                f"a non-ASCII character ({unicodedata.name(character, 'without a name')}), a look-alike risk"
            )
        else:
            why = "a character ARM resource IDs do not use here"
        shown = (
            f"U+{ord(character):04X}"
            if not character.isprintable() or character.isspace()
            else repr(character)
        )
        raise ScopeError(f"character {position} is {shown}: {why}")


def _check_segment(segment: str, position: int, *, template: bool) -> None:
    if segment == "":
        raise ScopeError(f"segment {position} is empty ('//'): write each '/' once")
    if segment in (".", ".."):
        raise ScopeError(
            f"segment {position} is '{segment}': a dot segment would make the scope resolve to its parent"
        )
    for placeholder in _PLACEHOLDER.findall(segment):
        if not template:
            raise ScopeError(f"segment {position} still holds a placeholder")
        if placeholder not in (SUBSCRIPTION_PLACEHOLDER, RESOURCE_GROUP_PLACEHOLDER, ENVIRONMENT_PLACEHOLDER):
            named = placeholder if re.fullmatch(r"\{[A-Za-z]{1,40}\}", placeholder) else "a placeholder"
            raise ScopeError(
                f"segment {position} uses the unknown placeholder {named}; allowed: "
                f"{SUBSCRIPTION_PLACEHOLDER}, {RESOURCE_GROUP_PLACEHOLDER}, {ENVIRONMENT_PLACEHOLDER}"
            )
    if "{" in _PLACEHOLDER.sub("", segment) or "}" in _PLACEHOLDER.sub("", segment):
        raise ScopeError(f"segment {position} has unbalanced braces")


def _keyword(segments: list[str], index: int, wanted: str) -> bool:
    """Whether segment `index` is the keyword `wanted` in any ASCII case (ARM reads them so); normalised."""
    if index >= len(segments) or segments[index].lower() != wanted.lower():
        return False
    segments[index] = wanted
    return True


def _check_structure(segments: list[str], *, template: bool) -> None:
    """/subscriptions/{id}[/resourceGroups/{name}][/providers/{namespace}/{type}/{name}[/{type}/{name}]...]
    or /providers/Microsoft.Management/managementGroups/{id}."""
    if _keyword(segments, 0, "providers"):
        named = [part.lower() for part in segments[1:3]]
        if named != [part.lower() for part in _MANAGEMENT_GROUPS] or len(segments) != 4:
            raise ScopeError(
                "above a subscription only a management group is a scope: "
                "/providers/Microsoft.Management/managementGroups/{id}"
            )
        segments[1:3] = _MANAGEMENT_GROUPS
        _check_name(segments[3], 4, what="management group ID", template=template)
        return
    if not _keyword(segments, 0, "subscriptions") or len(segments) < 2:
        raise ScopeError("must start with /subscriptions/{subscriptionId} (or name a management group)")
    segments[1] = _check_subscription(segments[1], template=template)
    index = 2
    if _keyword(segments, index, "resourceGroups"):
        if len(segments) < 4:
            raise ScopeError("names resourceGroups but no resource group after it")
        group = segments[3]
        if group != RESOURCE_GROUP_PLACEHOLDER:
            _check_name(group, 4, what="resource group name", template=template, max_length=90)
        index = 4
    if index == len(segments):
        return
    if not _keyword(segments, index, "providers"):
        raise ScopeError(
            f"segment {index + 1} must be 'providers' (or the scope must end before it): only "
            "subscriptions, resource groups and resources are scopes"
        )
    _check_resource(segments[index + 1 :], index + 2, template=template)


def _check_subscription(segment: str, *, template: bool) -> str:
    if (template and segment == SUBSCRIPTION_PLACEHOLDER) or _ANY_CASE_GUID.fullmatch(segment):
        return segment.lower() if segment != SUBSCRIPTION_PLACEHOLDER else segment
    raise ScopeError("segment 2 must be a subscription ID (a GUID) or {subscriptionId}")


def _check_resource(rest: list[str], first_position: int, *, template: bool) -> None:
    """{namespace}/{type}/{name}[/{type}/{name}]...: whole resources only, never a bare type."""
    if len(rest) < 3 or len(rest) % 2 == 0:
        raise ScopeError(
            "after 'providers' comes {namespace}/{type}/{name}, with further {type}/{name} pairs for child "
            "resources: a scope ending in a type names every resource of it"
        )
    namespace = rest[0]
    if not _NAMESPACE.fullmatch(namespace):
        raise ScopeError(
            f"segment {first_position} must be a resource provider namespace such as Microsoft.KeyVault"
        )
    if namespace.lower() == "microsoft.authorization":
        raise ScopeError(
            "a role grant's scope cannot be an authorization resource (role assignments or definitions)"
        )
    for offset in range(1, len(rest), 2):
        position = first_position + offset
        if not _TYPE.fullmatch(rest[offset]):
            raise ScopeError(f"segment {position} must be a resource type such as vaults")
        _check_name(rest[offset + 1], position + 1, what="resource name", template=template)


def _check_name(segment: str, position: int, *, what: str, template: bool, max_length: int = 260) -> None:
    bare = segment.replace(ENVIRONMENT_PLACEHOLDER, "x") if template else segment
    if bare in (SUBSCRIPTION_PLACEHOLDER, RESOURCE_GROUP_PLACEHOLDER) or "{" in bare:
        raise ScopeError(f"segment {position} ({what}) may use only {ENVIRONMENT_PLACEHOLDER}")
    if len(bare) > max_length or not _NAME.fullmatch(bare):
        raise ScopeError(
            f"segment {position} must be a {what}: letters, digits, '-', '_', '.', '(' and ')', "
            "not ending in '.'"
        )
