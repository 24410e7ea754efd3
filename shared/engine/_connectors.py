"""Custom connectors: a FIC named per connector on an app registration the policy allows, and the connector's
redirect URI on that app; deletion takes away only what ppmi put there.

Whose a FIC is, and whether ppmi added the redirect URI, is written in the FIC's description
(`ConnectorNote`): the app registration is shared with people and other tools, so nothing without ppmi's
note is ever changed or deleted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from shared.clients.arm import StoredCredential
from shared.connector_credentials import (
    ConnectorCredentialError,
    ConnectorNote,
    check_redirect_url,
    connector_credential,
    connector_credential_name,
)
from shared.engine._model import (
    Action,
    AddRedirectUri,
    DeleteCredential,
    Enrichment,
    IdentityTarget,
    PutCredential,
    RemoveRedirectUri,
    Skip,
    Unchanged,
)
from shared.engine._runtime import Runtime
from shared.errors import InvalidInputError, PermanentError
from shared.events import ConnectorData, ConnectorDeletedData, ConnectorRegisteredEvent, Event
from shared.policy import Policy
from shared.policy_checks import MAX_FICS_PER_IDENTITY
from shared.policy_connectors import ConnectorApplication

STEP = "federated-credential"


def allowed_application(policy: Policy, data: ConnectorDeletedData) -> ConnectorApplication:
    application = policy.connectors.application(data.application_id)
    if application is None:
        raise InvalidInputError(
            f"the app registration {data.application_id} is not one the policy lets custom connectors use; "
            "add it under connectors.applications (with its object ID) if it should be",
            field="data.applicationId",
        )
    return application


def check_connector(policy: Policy, data: ConnectorData) -> None:
    """Every rule on what the event asks ppmi to write, before anything is read or written."""
    try:
        connector_credential(policy, data.issuer, data.subject)
        if data.redirect_url is not None:
            check_redirect_url(policy, data.redirect_url)
    except ConnectorCredentialError as error:
        raise InvalidInputError(error.reason, field=error.field) from None


async def enrich_connector(event: Event, runtime: Runtime) -> Enrichment:
    """The app registration from the policy, the values checked, the environment known and in scope.

    A connector event's session is the app registration's: every FIC write to one app is serialised.
    """
    policy = runtime.policy
    data = event.data
    if not isinstance(data, ConnectorDeletedData):  # pragma: no cover - only connector events come here
        raise TypeError(f"{event.type} is not a connector event")
    application = allowed_application(policy, data)
    if isinstance(data, ConnectorData):
        check_connector(policy, data)
    environment = await runtime.environments.get_environment(data.environment_id)
    if isinstance(event, ConnectorRegisteredEvent):
        if environment is None:
            raise InvalidInputError(
                f"environment {data.environment_id} does not exist in the tenant", field="data.environmentId"
            )
        if not policy.environment_in_scope(environment.id, environment.type, environment.display_name):
            raise InvalidInputError(
                f"environment {data.environment_id} is outside the policy's environments scope",
                field="data.environmentId",
            )
    return Enrichment(data.environment_id, environment, None, application.object_id)


async def converge_connector(event: Event, runtime: Runtime) -> list[Action]:
    """The steps for a connector event; reads the app's FICs and redirect URIs, writes nothing itself."""
    data = event.data
    if not isinstance(data, ConnectorDeletedData):  # pragma: no cover - only connector events come here
        raise TypeError(f"{event.type} is not a connector event")
    application = allowed_application(runtime.policy, data)
    target = IdentityTarget(
        key=application.object_id,
        application_object_id=application.object_id,
        application_id=application.application_id,
    )
    uris = await runtime.graph.get_web_redirect_uris(application.object_id)
    if uris is None:
        raise PermanentError(
            f"the app registration {application.label} (object {application.object_id}) does not exist, or "
            "ppmi may not read it: check connectors.applications, and that ppmi's identity owns the app"
        )
    present = {
        c.name.lower(): c for c in await runtime.graph.list_federated_credentials(application.object_id)
    }
    name = connector_credential_name(data.environment_id, data.connector_id)
    if isinstance(data, ConnectorData):
        return _registration(runtime.policy, data, target, name, present=present, uris=uris)
    return _removal(data, target, name, present)


def _registration(
    policy: Policy,
    data: ConnectorData,
    target: IdentityTarget,
    name: str,
    *,
    present: Mapping[str, StoredCredential],
    uris: list[str],
) -> list[Action]:
    credential = connector_credential(policy, data.issuer, data.subject)
    have = present.get(name)
    before = ConnectorNote.read(have.description) if have is not None else None
    if have is not None and before is None:
        raise PermanentError(
            f"the app already holds a FIC named {name} that ppmi did not write; ppmi leaves it alone: rename "
            "or delete it, then send the event again"
        )
    twin = next((c for c in present.values() if c.holds(credential) and c.name.lower() != name), None)
    if twin is not None:
        return [Unchanged(STEP, name, f"the connector's issuer and subject are already held by {twin.name}")]
    if have is None and len(present) >= MAX_FICS_PER_IDENTITY:
        raise PermanentError(
            f"the app registration {target.application_id} holds {len(present)} of the "
            f"{MAX_FICS_PER_IDENTITY} FICs Entra allows, and this connector needs 1 more: delete the FICs of "
            "connectors that are gone (ppmi.connector.deleted), or give new connectors another app "
            "registration under connectors.applications"
        )
    uri = data.redirect_url or (before.redirect_uri if before is not None else None)
    # ppmi's if ppmi adds it now, or added it for this or another connector (then the last one removes it)
    added = uri is not None and (uri not in uris or uri in _added_by_ppmi(present.values()))
    note = ConnectorNote(data.environment_id, data.connector_id, uri, added)
    actions: list[Action] = []
    if before is not None and before.redirect_added and before.redirect_uri not in (None, uri):
        actions.extend(
            _release(target, str(before.redirect_uri), name, present, "the connector's URL changed")
        )
    if have is None or not have.holds(credential) or have.description != note.render():
        actions.append(
            PutCredential(target, name, credential, create=have is None, description=note.render())
        )
    else:
        actions.append(Unchanged(STEP, name, f"connector {data.connector_id}"))
    if uri is not None and uri not in uris:
        actions.append(AddRedirectUri(str(target.application_object_id), uri))
    return actions


def _removal(
    data: ConnectorDeletedData, target: IdentityTarget, name: str, present: Mapping[str, StoredCredential]
) -> list[Action]:
    have = present.get(name)
    if have is None:
        return [Unchanged(STEP, name, f"ppmi holds no FIC for connector {data.connector_id}")]
    note = ConnectorNote.read(have.description)
    if note is None or (note.environment_id, note.connector_id) != (data.environment_id, data.connector_id):
        return [Skip(STEP, name, "its description is not ppmi's note for this connector; it is left alone")]
    actions: list[Action] = []
    if note.redirect_added and note.redirect_uri is not None:
        actions.extend(_release(target, note.redirect_uri, name, present, "the connector was deleted"))
    actions.append(DeleteCredential(target, name, "the connector was deleted"))
    return actions


def _added_by_ppmi(credentials: Iterable[StoredCredential]) -> set[str]:
    notes = (ConnectorNote.read(credential.description) for credential in credentials)
    return {
        note.redirect_uri for note in notes if note is not None and note.redirect_added and note.redirect_uri
    }


def _release(
    target: IdentityTarget, uri: str, name: str, present: Mapping[str, StoredCredential], reason: str
) -> list[Action]:
    """Remove a redirect URI ppmi added, unless another connector's FIC still uses it."""
    for other in present.values():
        note = ConnectorNote.read(other.description)
        if other.name.lower() != name and note is not None and note.redirect_uri == uri:
            return [Unchanged("redirect-uri", uri, f"still used by {note.connector_id}")]
    return [RemoveRedirectUri(str(target.application_object_id), uri, reason)]
