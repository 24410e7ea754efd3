"""The control plane: what `pac`, the admin centre and Entra would do by hand, plus inspection for tests.

`ControlOperations` runs on the sandbox loop; the HTTP API under `/_sandbox/` (`sandbox.control_api`) and
the synchronous `SandboxControl` facade both call it.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from sandbox.arm import Arm
from sandbox.arm_credentials import fic_json
from sandbox.dataverse_tables import dataverse_now
from sandbox.keyvault import add_vault, vault_json
from sandbox.roles import RoleAssignments
from sandbox.runtime import Runtime
from sandbox.state import Application, Environment, ResourceGroup, Row, VaultEntry

if TYPE_CHECKING:
    from sandbox.server import Sandbox

COMPONENT_TABLES = {"pluginassemblies": "pluginassemblyid", "pluginpackages": "pluginpackageid"}


@dataclass(frozen=True)
class EnvironmentInfo:
    id: str
    dataverse_url: str
    organization_id: str | None
    host: str | None


@dataclass(frozen=True)
class ApplicationInfo:
    object_id: str
    app_id: str
    service_principal_id: str


class ControlOperations:
    """State changes and views shared by the control API and the facade."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def _environment(self, environment_id: str) -> Environment:
        environment = self.runtime.state.environments.get(environment_id)
        if environment is None:
            raise LookupError(f"environment {environment_id} does not exist")
        return environment

    @staticmethod
    def environment_info(environment: Environment) -> EnvironmentInfo:
        org = environment.organization
        return EnvironmentInfo(
            id=environment.id,
            dataverse_url=org.url + "/" if org is not None else "",
            organization_id=org.id if org is not None else None,
            host=org.host if org is not None else None,
        )

    def create_environment(
        self,
        environment_id: str | None = None,
        *,
        display_name: str = "",
        env_type: str = "Sandbox",
        region: str = "unitedstates",
        dataverse: bool = True,
        provisioning_seconds: float | None = None,
        app_users: tuple[str, ...] | None = None,
    ) -> EnvironmentInfo:
        environment = self.runtime.state.add_environment(
            environment_id,
            display_name=display_name,
            env_type=env_type,
            region=region,
            dataverse=dataverse,
            provisioning_seconds=provisioning_seconds,
            app_user_ids=app_users,
        )
        return self.environment_info(environment)

    def delete_environment(self, environment_id: str) -> None:
        self._environment(environment_id)
        del self.runtime.state.environments[environment_id]

    def environments(self) -> list[EnvironmentInfo]:
        return [self.environment_info(e) for e in self.runtime.state.environments.values()]

    def register_component(
        self,
        environment_id: str,
        table: str,
        certificate_der: bytes | None,
        *,
        name: str,
        component_id: str | None,
    ) -> str:
        """What `pac plugin push` does: a plug-in assembly/package row signed with `certificate_der`."""
        org = self._environment(environment_id).organization
        if org is None:
            raise LookupError(f"environment {environment_id} has no Dataverse organization")
        row_id = (component_id or self.runtime.state.new_id()).lower()
        row: Row = {
            COMPONENT_TABLES[table]: row_id,
            "name": name,
            "_managedidentityid_value": None,
            "modifiedon": dataverse_now(),
            "versionnumber": 1,
        }
        if table == "pluginpackages":
            row["uniquename"] = name
        else:  # a customer's assembly: its own strong-name key, customization level 1
            row |= {"customizationlevel": 1, "publickeytoken": self.runtime.state.new_hex(16)}
        org.table(table)[row_id] = row
        if certificate_der is not None:  # None: an unsigned assembly, as the registration tool allows
            org.signers[row_id] = certificate_der
        return row_id

    def register_system_assembly(self, environment_id: str, name: str = "Microsoft.Crm.ObjectModel") -> str:
        """One of the platform's own assemblies, as every organisation holds hundreds: unsigned for FICs."""
        org = self._environment(environment_id).organization
        if org is None:
            raise LookupError(f"environment {environment_id} has no Dataverse organization")
        row_id = self.runtime.state.new_id()
        org.table("pluginassemblies")[row_id] = {
            "pluginassemblyid": row_id,
            "name": name,
            "_managedidentityid_value": None,
            "modifiedon": dataverse_now(),
            "customizationlevel": 0,
            "publickeytoken": "31bf3856ad364e35",
            "versionnumber": 1,
        }
        return row_id

    def add_application_user(self, environment_id: str, app_id: str, *, privileged: bool = True) -> str:
        org = self._environment(environment_id).organization
        if org is None:
            raise LookupError(f"environment {environment_id} has no Dataverse organization")
        return str(
            self.runtime.state.add_application_user(org, app_id, privileged=privileged)["systemuserid"]
        )

    def create_resource_group(self, name: str, location: str = "westeurope") -> None:
        """What `az group create` or a deployment does: ARM refuses resources in groups nobody created."""
        self.runtime.state.resource_groups.setdefault(name.lower(), ResourceGroup(name, location))

    def create_application(self, display_name: str, *, app_id: str | None = None) -> ApplicationInfo:
        state = self.runtime.state
        application = Application(
            object_id=state.new_id(),
            app_id=(app_id or state.new_id()).lower(),
            display_name=display_name,
            service_principal_id=state.new_id(),
        )
        state.applications[application.object_id] = application
        return ApplicationInfo(application.object_id, application.app_id, application.service_principal_id)

    def create_vault(
        self, name: str, *, resource_group: str, rbac: bool | None, access_policies: list[dict[str, Any]]
    ) -> str:
        """A key vault an administrator made (with its resource group when that does not exist yet).

        `rbac` None leaves `enableRbacAuthorization` out of replies.
        """
        self.create_resource_group(resource_group)
        entries = [
            VaultEntry(
                object_id=str(item["objectId"]),
                tenant_id=str(item.get("tenantId") or self.runtime.state.tenant_id),
                permissions={str(k): [str(v) for v in vs] for k, vs in dict(item["permissions"]).items()},
                application_id=item.get("applicationId"),
            )
            for item in access_policies
        ]
        return add_vault(
            self.runtime, name, resource_group=resource_group, rbac=rbac, entries=entries
        ).resource_id

    def mint_token(
        self,
        resource: str,
        *,
        app_id: str | None = None,
        object_id: str | None = None,
        lifetime_seconds: int = 3600,
    ) -> str:
        """A token as Entra would issue it to any application, e.g. one that is not a Dataverse user."""
        state = self.runtime.state
        token, _ = self.runtime.authority.mint(
            resource=resource,
            app_id=app_id or state.service_identity.client_id,
            object_id=object_id or state.service_identity.principal_id,
            tenant_id=state.tenant_id,
            lifetime_seconds=lifetime_seconds,
        )
        return token

    def dump(self) -> dict[str, Any]:
        """Everything the stand-ins hold, as JSON-ready copies."""
        state = self.runtime.state
        return {
            "tenantId": state.tenant_id,
            "subscriptionId": state.subscription_id,
            "identities": [
                {
                    **Arm.identity_json(i),
                    "federatedIdentityCredentials": [fic_json(i, f) for f in i.fics.values()],
                }
                for i in state.identities.values()
            ],
            "roleAssignments": [
                RoleAssignments(self.runtime).assignment_json(a) for a in state.role_assignments.values()
            ],
            "applications": [
                {
                    "objectId": a.object_id,
                    "appId": a.app_id,
                    "displayName": a.display_name,
                    "servicePrincipalId": a.service_principal_id,
                    "federatedIdentityCredentials": [asdict(f) for f in a.fics.values()],
                    "redirectUris": list(a.redirect_uris),
                }
                for a in state.applications.values()
            ],
            "vaults": [vault_json(v) for v in state.vaults.values()],
            "environments": [
                {
                    **asdict(self.environment_info(e)),
                    "ready": e.ready,
                    "tables": copy.deepcopy(e.organization.tables) if e.organization is not None else {},
                }
                for e in state.environments.values()
            ],
        }

    def rows(self, environment_id: str, table: str) -> list[Row]:
        org = self._environment(environment_id).organization
        return [dict(row) for row in org.table(table).values()] if org is not None else []

    def import_solution(self, environment_id: str) -> int:
        """A solution import dropping plug-in package bindings, as practitioners report; how many."""
        org = self._environment(environment_id).organization
        if org is None:
            return 0
        bound = [p for p in org.table("pluginpackages").values() if p.get("_managedidentityid_value")]
        for package in bound:
            package["_managedidentityid_value"] = None
            package["modifiedon"] = dataverse_now()
        return len(bound)


class SandboxControl:
    """Synchronous control of a running sandbox for tests and the demo (calls run on the sandbox loop)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self._sandbox = sandbox

    @property
    def _ops(self) -> ControlOperations:
        return ControlOperations(self._sandbox.runtime)

    def create_environment(
        self,
        environment_id: str | None = None,
        *,
        display_name: str = "",
        env_type: str = "Sandbox",
        region: str = "unitedstates",
        dataverse: bool = True,
        provisioning_seconds: float | None = None,
        app_users: tuple[str, ...] | None = None,
    ) -> EnvironmentInfo:
        """A new environment; by default with Dataverse, ready at once, the service identity an app user."""
        return self._sandbox.call_in_loop(
            lambda: self._ops.create_environment(
                environment_id,
                display_name=display_name,
                env_type=env_type,
                region=region,
                dataverse=dataverse,
                provisioning_seconds=provisioning_seconds,
                app_users=app_users,
            )
        )

    def delete_environment(self, environment_id: str) -> None:
        self._sandbox.call_in_loop(lambda: self._ops.delete_environment(environment_id))

    def environments(self) -> list[EnvironmentInfo]:
        return self._sandbox.call_in_loop(self._ops.environments)

    def register_plugin_assembly(
        self,
        environment_id: str,
        certificate_der: bytes | None,
        *,
        name: str = "Contoso.Plugins",
        assembly_id: str | None = None,
    ) -> str:
        return self._sandbox.call_in_loop(
            lambda: self._ops.register_component(
                environment_id, "pluginassemblies", certificate_der, name=name, component_id=assembly_id
            )
        )

    def register_system_assembly(self, environment_id: str, name: str = "Microsoft.Crm.ObjectModel") -> str:
        return self._sandbox.call_in_loop(lambda: self._ops.register_system_assembly(environment_id, name))

    def register_plugin_package(
        self,
        environment_id: str,
        certificate_der: bytes,
        *,
        name: str = "Contoso.Package",
        package_id: str | None = None,
    ) -> str:
        return self._sandbox.call_in_loop(
            lambda: self._ops.register_component(
                environment_id, "pluginpackages", certificate_der, name=name, component_id=package_id
            )
        )

    def add_application_user(self, environment_id: str, app_id: str, *, privileged: bool = True) -> str:
        return self._sandbox.call_in_loop(
            lambda: self._ops.add_application_user(environment_id, app_id, privileged=privileged)
        )

    def create_resource_group(self, name: str, location: str = "westeurope") -> None:
        self._sandbox.call_in_loop(lambda: self._ops.create_resource_group(name, location))

    def create_application(self, display_name: str, *, app_id: str | None = None) -> ApplicationInfo:
        return self._sandbox.call_in_loop(lambda: self._ops.create_application(display_name, app_id=app_id))

    def create_vault(
        self,
        name: str,
        *,
        resource_group: str = "rg-secrets",
        rbac: bool | None = False,
        access_policies: list[dict[str, Any]] | None = None,
    ) -> str:
        """A key vault in the sandbox subscription; returns its resource ID."""
        return self._sandbox.call_in_loop(
            lambda: self._ops.create_vault(
                name, resource_group=resource_group, rbac=rbac, access_policies=access_policies or []
            )
        )

    def mint_token(
        self,
        resource: str,
        *,
        app_id: str | None = None,
        object_id: str | None = None,
        lifetime_seconds: int = 3600,
    ) -> str:
        return self._sandbox.call_in_loop(
            lambda: self._ops.mint_token(
                resource, app_id=app_id, object_id=object_id, lifetime_seconds=lifetime_seconds
            )
        )

    def dump(self) -> dict[str, Any]:
        return self._sandbox.call_in_loop(self._ops.dump)

    def rows(self, environment_id: str, table: str) -> list[Row]:
        return self._sandbox.call_in_loop(lambda: self._ops.rows(environment_id, table))

    def import_solution(self, environment_id: str) -> int:
        """Drift: unbind every plug-in package of the environment, as a solution import may."""
        return self._sandbox.call_in_loop(lambda: self._ops.import_solution(environment_id))
