"""What a run declares it should leave behind: environments provisioned (with components) or torn down."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from shared.fic import FederatedCredential, Signer, load_certificate
from shared.policy import Policy

ComponentTable = Literal["pluginassemblies", "pluginpackages"]
_COMPONENT_NAMES: dict[ComponentTable, str] = {
    "pluginassemblies": "pluginassembly",
    "pluginpackages": "pluginpackage",
}


@dataclass(frozen=True)
class Component:
    """A plug-in assembly or package a registration event named, with the certificate it was signed with."""

    table: ComponentTable
    component_id: str
    certificate: bytes

    def signer(self) -> Signer:
        return Signer.from_certificate(load_certificate(self.certificate))


@dataclass
class EnvironmentExpectation:
    """One environment of the run: provisioned with these components, or torn down (`deleted`).

    `announced`: an environment event (created or reconcile) succeeded, so every trusted signer gets a FIC
    and the policy's grants are given; a registration event alone brings only its component's signer.
    """

    environment_id: str
    components: list[Component] = field(default_factory=list)
    deleted: bool = False
    announced: bool = True


@dataclass
class Expectation:
    policy: Policy
    environments: dict[str, EnvironmentExpectation] = field(default_factory=dict)

    def provisioned(self, environment_id: str) -> EnvironmentExpectation:
        return self.environments.setdefault(environment_id, EnvironmentExpectation(environment_id))

    def live(self) -> list[EnvironmentExpectation]:
        return [e for e in self.environments.values() if not e.deleted]

    def credentials_for(self, environment: EnvironmentExpectation) -> set[FederatedCredential]:
        """Trusted signers x environment, plus each trusted component signer (by its own component name)."""
        policy = self.policy
        wanted = set()
        if environment.announced:
            wanted = {
                policy.credential_for(environment.environment_id, t.signer) for t in policy.trusted_signers
            }
        for component in environment.components:
            signer = component.signer()
            if policy.trusted_signer_for(signer) is not None:
                wanted.add(
                    policy.credential_for(
                        environment.environment_id, signer, component=_COMPONENT_NAMES[component.table]
                    )
                )
        return wanted
