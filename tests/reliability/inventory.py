"""The sandbox's state as flat, typed records: what exists, keyed so two snapshots can be compared.

Every identity, federated credential, role assignment, app registration and Dataverse row becomes one
`Resource` with a stable key and its canonical JSON, so "byte-identical after the run" is a string compare.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["identity", "fic", "assignment", "application", "application-fic", "row"]


@dataclass(frozen=True)
class Resource:
    """One thing the sandbox holds; `body` is its canonical JSON (sorted keys)."""

    kind: Kind
    key: str
    body: str
    value: Mapping[str, Any]

    @property
    def label(self) -> str:
        return f"{self.kind} {self.key}"


def _canonical(value: Mapping[str, Any]) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _resource(kind: Kind, key: str, value: Mapping[str, Any]) -> Resource:
    return Resource(kind=kind, key=key.lower(), body=_canonical(value), value=value)


def _identity_resources(dump: Mapping[str, Any]) -> Iterator[Resource]:
    for identity in dump["identities"]:
        credentials = identity.get("federatedIdentityCredentials", [])
        bare = {k: v for k, v in identity.items() if k != "federatedIdentityCredentials"}
        yield _resource("identity", str(identity["id"]), bare)
        for credential in credentials:
            yield _resource("fic", str(credential["id"]), credential)


def _application_resources(dump: Mapping[str, Any]) -> Iterator[Resource]:
    for application in dump["applications"]:
        credentials = application.get("federatedIdentityCredentials", [])
        bare = {k: v for k, v in application.items() if k != "federatedIdentityCredentials"}
        yield _resource("application", str(application["objectId"]), bare)
        for credential in credentials:
            key = f"{application['objectId']}/{credential['name']}"
            yield _resource("application-fic", key, credential)


def _row_resources(dump: Mapping[str, Any]) -> Iterator[Resource]:
    for environment in dump["environments"]:
        for table, rows in environment.get("tables", {}).items():
            for row_id, row in rows.items():
                yield _resource("row", f"{environment['id']}/{table}/{row_id}", row)


def inventory(dump: Mapping[str, Any]) -> dict[str, Resource]:
    """Every resource in a `SandboxControl.dump()`, by `Resource.label`."""
    resources = [
        *_identity_resources(dump),
        *(_resource("assignment", str(a["id"]), a) for a in dump["roleAssignments"]),
        *_application_resources(dump),
        *_row_resources(dump),
    ]
    return {resource.label: resource for resource in resources}


def row_key(environment_id: str, table: str, row_id: str) -> str:
    return f"row {environment_id}/{table}/{row_id}".lower()
