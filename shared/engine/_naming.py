"""Deterministic names and ownership marks: re-running any event finds, and never duplicates, what it made."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping

from shared.policy import Policy

# Fixed namespace for every UUIDv5 ppmi derives; changing it would orphan everything already created.
NAMESPACE = uuid.UUID("5b0e8d7e-2f7c-4c41-9a43-6f0f3c2a9e11")

OWNED_TAG = "ppmi-owned"
ENVIRONMENT_TAG = "ppmi-environment"
POOL_TAG = "ppmi-pool"
UPGRADED_FROM_TAG = "ppmi-upgraded-from"  # the row version before the last upgrade, so it can be reverted
PROPAGATION_TAG_PREFIX = "ppmi-fics-created-"  # + environment: when an upgrade's new FICs were created (UTC)


def propagation_tag(environment_id: str) -> str:
    """The tag saying when an upgrade made an environment's new FICs (per environment: shards are shared)."""
    return f"{PROPAGATION_TAG_PREFIX}{environment_id.lower()}"


def identity_key(environment_id: str, policy: Policy) -> str:
    """Which identity an environment's FIC writes go to: the Service Bus session that serialises them."""
    settings = policy.identity
    if settings.strategy == "shared-pool":
        return str(settings.pool_name)
    if settings.strategy == "app-registration":
        return str(settings.application_object_id)
    return environment_id.lower()


def dedicated_identity_name(environment_id: str, policy: Policy) -> str:
    """`{namePrefix}-{environmentId}`: 3-128 characters, letters, digits and hyphens, as ARM requires."""
    return f"{policy.identity.name_prefix}-{environment_id.lower()}"


def pool_shard_number(pool: str, name: str) -> int | None:
    """The `n` of `{pool}-{n}`, or None for any other name."""
    prefix = f"{pool}-"
    if not name.lower().startswith(prefix.lower()):
        return None
    rest = name[len(prefix) :]
    return int(rest) if rest.isdigit() and not rest.startswith("0") else None


def managed_identity_row_id(environment_id: str, identity: str) -> str:
    """The `managedidentityid` of the row linking an environment to an identity (a client-supplied key)."""
    return str(uuid.uuid5(NAMESPACE, f"managedidentity/{environment_id.lower()}/{identity.lower()}"))


def role_assignment_name(scope: str, principal_id: str, role_definition_id: str) -> str:
    """One name per (scope, principal, role), as `guid(scope, principal, role)` in Bicep."""
    key = f"roleassignment/{scope.lower()}/{principal_id.lower()}/{role_definition_id.lower()}"
    return str(uuid.uuid5(NAMESPACE, key))


def credential_prefix(environment_id: str) -> str:
    """Every FIC ppmi names for an environment starts so (see `shared.fic.federated_credential_name`)."""
    return f"ppmi-{environment_id.lower()}-"


# A signer key is 16 lower-case hex characters; formats 0 and 1 add `-v0` / `-v1` to coexist with 2.
_SIGNER_KEY_SUFFIX = re.compile(r"(?P<key>[0-9a-f]{16})(?:-v[01])?", re.ASCII)


def credential_signer_key(environment_id: str, name: str) -> str | None:
    """The signer key in a FIC name ppmi gives this environment, or None for any other name.

    Only exact names count, so a hand-made `ppmi-{environmentId}-old` is never taken for ppmi's.
    """
    prefix = credential_prefix(environment_id)
    lowered = name.lower()  # Entra compares FIC names without case
    if not lowered.startswith(prefix):
        return None
    match = _SIGNER_KEY_SUFFIX.fullmatch(lowered[len(prefix) :])
    return match["key"] if match else None


def dedicated_tags(policy: Policy, environment_id: str) -> dict[str, str]:
    return {**policy.identity.tags, OWNED_TAG: "true", ENVIRONMENT_TAG: environment_id.lower()}


def pool_tags(policy: Policy, pool: str) -> dict[str, str]:
    return {**policy.identity.tags, OWNED_TAG: "true", POOL_TAG: pool}


def owns_dedicated(tags: Mapping[str, str], environment_id: str) -> bool:
    """Whether an identity is ppmi's own, made for this environment alone (the check before any delete)."""
    return tags.get(OWNED_TAG) == "true" and tags.get(ENVIRONMENT_TAG) == environment_id.lower()


def owns_shard(tags: Mapping[str, str], pool: str) -> bool:
    """Whether a `{pool}-{n}` identity is one of ppmi's shards rather than a namesake."""
    return tags.get(OWNED_TAG) == "true" and tags.get(POOL_TAG) == pool
