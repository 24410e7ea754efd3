"""Resources ppmi does not own, seeded before a run through the same APIs an administrator would use.

Look-alikes are the dangerous ones: identities named like ppmi's but without its tags, FICs carrying
exactly the subject ppmi would compute but on someone else's identity, role assignments on the same scope and
role for another principal, and Dataverse `managedidentity` rows named like ppmi's with a component bound to
them. After any run, each must be byte-identical (see `invariants.Baseline`).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

from sandbox.server import Sandbox
from shared.fic import Signer, load_certificate
from shared.policy import Policy

ARM = "https://management.azure.com"
MSI_API = {"api-version": "2024-11-30"}
ROLES_API = {"api-version": "2022-04-01"}
ODATA = {"OData-MaxVersion": "4.0", "OData-Version": "4.0", "Accept": "application/json"}
FOREIGN_RESOURCE_GROUP = "rg-someone-else"


@dataclass
class ForeignSeed:
    """What was seeded, for messages; the baseline snapshot is what the checks compare."""

    identities: list[str] = field(default_factory=list)
    credentials: list[str] = field(default_factory=list)
    assignments: list[str] = field(default_factory=list)
    rows: list[str] = field(default_factory=list)
    components: list[str] = field(default_factory=list)


def look_alike_names(environment_id: str, prefix: str) -> list[tuple[str, bool]]:
    """(name, in a foreign resource group) pairs a careless prefix or substring match would take for ppmi's.

    ppmi names an environment's identity `{prefix}-{environmentId}`; the first look-alike is exactly that name
    in another resource group.
    """
    compact = environment_id.removeprefix("Default-").replace("-", "").lower()
    return [
        (f"{prefix}-{environment_id.lower()}", True),
        (f"{prefix}-{environment_id.lower()}-manual", False),
        (f"{prefix}{compact}", False),
        (f"x-{prefix}-{environment_id.lower()}", False),
    ]


def look_alike_tags(environment_id: str) -> dict[str, str]:
    """Tags that name the environment as ppmi's do, without ppmi's ownership mark."""
    return {"owner": "someone-else", "ppmi-environment": environment_id.lower(), "ppmi-owned": "no"}


def _identity_path(subscription_id: str, resource_group: str, name: str) -> str:
    return (
        f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
        f"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
    )


def _put_identity(arm: httpx.Client, path: str, location: str, tags: dict[str, str]) -> dict[str, str]:
    response = arm.put(path, params=MSI_API, json={"location": location, "tags": tags})
    response.raise_for_status()
    properties: dict[str, str] = response.json()["properties"]
    return properties


def _put_credential(arm: httpx.Client, identity_path: str, name: str, issuer: str, subject: str) -> str:
    path = f"{identity_path}/federatedIdentityCredentials/{name}"
    body = {"properties": {"issuer": issuer, "subject": subject, "audiences": ["api://AzureADTokenExchange"]}}
    arm.put(path, params=MSI_API, json=body).raise_for_status()
    return path


def seed_foreign(
    sandbox: Sandbox,
    policy: Policy,
    environment_ids: Sequence[str],
    *,
    untrusted_certificate: bytes,
    role_assignment_ids: Sequence[str],
    same_name: Sequence[str] = (),
) -> ForeignSeed:
    """Seed look-alikes around every environment in `environment_ids`; `role_assignment_ids` are new GUIDs.

    Environments in `same_name` (only ever torn down, never provisioned) also get an identity with exactly the
    name ppmi would give theirs, in the policy's resource group, without ppmi's ownership tag.
    """
    seed = ForeignSeed()
    settings = policy.identity
    subscription = settings.subscription_id or sandbox.env["PPMI_SUBSCRIPTION_ID"]
    group = settings.resource_group or "rg-ppmi-identities"
    location = settings.location or "westeurope"
    propagation = sandbox.runtime.config.principal_propagation_seconds
    sandbox.configure(principal_propagation_seconds=0.0)
    assignment_ids = iter(role_assignment_ids)
    trusted = policy.trusted_signers[0].signer if policy.trusted_signers else None
    sandbox.control.create_resource_group(
        FOREIGN_RESOURCE_GROUP, location
    )  # someone else's, in the subscription
    try:
        with sandbox.client(ARM, base_url=ARM) as arm:
            for environment_id in environment_ids:
                principals = []
                names = look_alike_names(environment_id, settings.name_prefix)
                if environment_id in same_name:
                    names.append((f"{settings.name_prefix}-{environment_id.lower()}", False))
                for index, (name, elsewhere) in enumerate(names):
                    group_here = FOREIGN_RESOURCE_GROUP if elsewhere else group
                    path = _identity_path(subscription, group_here, name)
                    properties = _put_identity(arm, path, location, look_alike_tags(environment_id))
                    principals.append(properties["principalId"])
                    seed.identities.append(path)
                    if trusted is not None:
                        credential = policy.credential_for(environment_id, trusted)
                        fic_name = f"ppmi-{environment_id.lower()}-{index}"  # ppmi's FIC name prefix
                        seed.credentials.append(
                            _put_credential(arm, path, fic_name, credential.issuer, credential.subject)
                        )
                for grant in policy.role_grants:
                    scope = grant.scope_for(
                        subscription_id=subscription, resource_group=group, environment_id=environment_id
                    )
                    path = f"{scope}/providers/Microsoft.Authorization/roleAssignments/{next(assignment_ids)}"
                    role = (
                        f"/subscriptions/{subscription}/providers/Microsoft.Authorization/roleDefinitions/"
                        f"{grant.role_definition_id}"
                    )
                    body = {
                        "properties": {
                            "roleDefinitionId": role,
                            "principalId": principals[0],
                            "principalType": "ServicePrincipal",
                        }
                    }
                    arm.put(path, params=ROLES_API, json=body).raise_for_status()
                    seed.assignments.append(path)
                _seed_rows(sandbox, environment_id, principals, untrusted_certificate, seed)
    finally:
        sandbox.configure(principal_propagation_seconds=propagation)
    return seed


def _seed_rows(
    sandbox: Sandbox, environment_id: str, principals: list[str], certificate: bytes, seed: ForeignSeed
) -> None:
    """A look-alike `managedidentity` row and an assembly (signed by someone untrusted) bound to it."""
    info = next(e for e in sandbox.control.environments() if e.id == environment_id)
    if info.host is None:
        return
    org = f"https://{info.host}"
    client_ids = _client_ids(sandbox, principals)
    with sandbox.client(org, base_url=f"{org}/api/data/v9.2", headers=ODATA) as dataverse:
        row = {
            "name": f"ppmi {environment_id}"[:100],
            "applicationid": client_ids[0],
            "tenantid": sandbox.env["PPMI_TENANT_ID"],
            "credentialsource": 2,
            "subjectscope": 1,
            "version": 2,
        }
        response = dataverse.post("/managedidentities", json=row, headers={"Prefer": "return=representation"})
        response.raise_for_status()
        row_id = str(response.json()["managedidentityid"])
        seed.rows.append(row_id)
        assembly = sandbox.control.register_plugin_assembly(
            environment_id, certificate, name="Fabrikam.Plugins"
        )
        bind = {"managedidentityid@odata.bind": f"/managedidentities({row_id})"}
        dataverse.patch(f"/pluginassemblies({assembly})", json=bind).raise_for_status()
        seed.components.append(assembly)


def _client_ids(sandbox: Sandbox, principals: list[str]) -> list[str]:
    identities = sandbox.control.dump()["identities"]
    by_principal = {i["properties"]["principalId"]: i["properties"]["clientId"] for i in identities}
    return [str(by_principal[p]) for p in principals]


def certificate_reference(certificate: bytes) -> dict[str, str]:
    """The `certificate` field of a registration event: base64 DER."""
    return {"der": base64.b64encode(certificate).decode("ascii")}


def signer_of(certificate: bytes) -> Signer:
    return Signer.from_certificate(load_certificate(certificate))
