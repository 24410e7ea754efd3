"""Federated identity credentials on user-assigned identities (ARM), and the rules Entra applies to every FIC.

Rules and messages: "Important considerations and restrictions for federated identity credentials"
(https://learn.microsoft.com/en-us/entra/workload-id/workload-identity-federation-considerations, its Errors
table and limits): 20 per identity or application, one audience, unique issuer+subject, 3-120 character names,
405 "Support for federated identity credentials not enabled" in Malaysia South and New Zealand North, 409 for
concurrent writes under one identity (verbatim body: contracts/errors/verbatim-error-bodies.from-issues.md
§1). The 600-character limit: contracts/graph/resources_federatedidentitycredential.md. Codes the page does
not give (`BadRequest` for the 400s, after §3 of the verbatim bodies; `BadRequest` for the 405) are
UNCONFIRMED.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from aiohttp import web

from sandbox.errors import error_response
from sandbox.routing import Call
from sandbox.runtime import Runtime
from sandbox.state import FederatedCredential, Identity

FIC_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{2,119}$")
FIC_MAX = 20
FIC_VALUE_MAX = 600
FIC_UNSUPPORTED_REGIONS = frozenset({"malaysiasouth", "newzealandnorth"})
IDENTITY_TYPE = "Microsoft.ManagedIdentity/userAssignedIdentities"


class InvalidCredential(ValueError):
    """A federated credential that Azure would refuse with 400."""


def check_credential(name: str, properties: Any, existing: dict[str, FederatedCredential]) -> None:
    """Raise `InvalidCredential` for what ARM and Graph refuse: name, shape, length, duplicates, cap."""
    if not FIC_NAME.match(name):
        raise InvalidCredential(f"Federated Identity Credential name '{name}' is invalid.")
    if not isinstance(properties, dict) or not properties:
        raise InvalidCredential("Federated Identity Credential from HTTP body has empty properties")
    issuer, subject, audiences = (properties.get(k) for k in ("issuer", "subject", "audiences"))
    if not issuer or not subject or not audiences:
        raise InvalidCredential(
            "The request format was unexpected. Federated Identity Credential must specify 'issuer', "
            "'subject' and 'audience'."
        )
    if not isinstance(issuer, str) or not issuer.startswith("https://") or not isinstance(subject, str):
        raise InvalidCredential("The issuer must be an https URL and the subject a string.")  # UNCONFIRMED
    if not isinstance(audiences, list) or len(audiences) != 1 or not isinstance(audiences[0], str):
        raise InvalidCredential("Federated identity credentials must have exactly one audience.")
    for label, value in (("issuer", issuer), ("subject", subject), ("audience", audiences[0])):
        if len(value) > FIC_VALUE_MAX:
            raise InvalidCredential(f"The {label} cannot be longer than {FIC_VALUE_MAX} characters.")
        if "*" in value:
            raise InvalidCredential(f"The {label} cannot contain wildcards.")
    for key, other in existing.items():
        if key != name.lower() and other.issuer == issuer and other.subject == subject:
            raise InvalidCredential(
                "Issuer and subject combination already exists for this Managed Identity."
            )
    if name.lower() not in existing and len(existing) >= FIC_MAX:
        raise InvalidCredential(  # the limit is documented, the wording is UNCONFIRMED
            f"Too many Federated Identity Credentials. The maximum of {FIC_MAX} federated identity "
            "credentials per managed identity or application has been reached."
        )


def fic_json(identity: Identity, fic: FederatedCredential) -> dict[str, Any]:
    return {
        "id": f"{identity.resource_id}/federatedIdentityCredentials/{fic.name}",
        "name": fic.name,
        "type": f"{IDENTITY_TYPE}/federatedIdentityCredentials",
        "properties": {"issuer": fic.issuer, "subject": fic.subject, "audiences": list(fic.audiences)},
    }


def parent_missing() -> web.Response:
    """The Errors table's 404; its code is UNCONFIRMED (ARM's generic one for a missing parent)."""
    return error_response(
        "arm", 404, "ParentResourceNotFound", "The parent user-assigned identity doesn't exist."
    )


def credential_missing(identity: Identity, name: str) -> web.Response:
    return error_response(
        "arm",
        404,
        "ResourceNotFound",
        f"The Resource '{IDENTITY_TYPE}/{identity.name}/federatedIdentityCredentials/{name}' under resource "
        f"group '{identity.resource_group}' was not found.",
    )


class CredentialWrites:
    """PUT and DELETE of FICs, serialised per identity the way Azure does: an overlapping write gets 409."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def _hold(self, identity: Identity) -> web.Response | None:
        now = time.monotonic()
        if now < identity.busy_until:
            return error_response(
                "arm",
                409,
                "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity",
                "Too many Federated Identity Credentials are written concurrently for the managed identity "
                f"'{identity.resource_id.lower()}'. Concurrent Federated Identity Credentials writes under "
                "the same managed identity are not supported.",
            )
        hold = self.runtime.config.fic_write_hold_seconds / self.runtime.faults.profile.time_scale
        identity.busy_until = now + hold
        await asyncio.sleep(hold)
        return None

    async def put(self, identity: Identity, call: Call) -> web.StreamResponse:
        name = call.params["fic"]
        if identity.location in FIC_UNSUPPORTED_REGIONS:
            return error_response(
                "arm",
                405,
                "BadRequest",
                "The request format was unexpected: Support for federated identity credentials not enabled.",
            )
        properties = (await call.json_object()).get("properties")
        try:
            check_credential(name, properties, identity.fics)
        except InvalidCredential as invalid:
            return error_response("arm", 400, "BadRequest", str(invalid))
        busy = await self._hold(identity)
        if busy is not None:
            return busy
        assert isinstance(properties, dict)
        fic = FederatedCredential(
            name=name,
            issuer=properties["issuer"],
            subject=properties["subject"],
            audiences=list(properties["audiences"]),
        )
        created = name.lower() not in identity.fics
        identity.fics[name.lower()] = fic
        return web.json_response(fic_json(identity, fic), status=201 if created else 200)

    async def delete(self, identity: Identity, call: Call) -> web.StreamResponse:
        """200 with an empty body when it existed, 204 when not (FederatedIdentityCredentialDelete.json and
        recordings/azure-cli.identity.test_federated_identity_credential.yaml)."""
        if call.params["fic"].lower() not in identity.fics:
            return web.Response(status=204)
        busy = await self._hold(identity)
        if busy is not None:
            return busy
        identity.fics.pop(call.params["fic"].lower(), None)
        return web.Response(status=200)
