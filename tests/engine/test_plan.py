"""Planning is pure: the same desired and observed state always give the same steps, without any I/O."""

from __future__ import annotations

from shared.clients.arm import IdentityAddress, RoleAssignment, StoredCredential
from shared.clients.dataverse import ManagedIdentityRow
from shared.engine import Desired, Observed, plan
from shared.engine._model import (
    CreateRow,
    DesiredCredential,
    DesiredGrant,
    Grant,
    IdentityTarget,
    PutCredential,
    ResolvedIdentity,
    Unchanged,
    UpdateRow,
)
from shared.fic import FederatedCredential

TARGET = IdentityTarget(key="env", address=IdentityAddress("sub", "rg", "ppmi-env"), dedicated=True)
IDENTITY = ResolvedIdentity(TARGET, client_id="client", principal_id="principal")
CREDENTIAL = FederatedCredential(
    issuer="https://login.microsoftonline.com/t/v2.0",
    subject="/eid1/c/pub/x",
    audience="api://AzureADTokenExchange",
)
ROW_VALUES = {
    "applicationid": "client",
    "tenantid": "tenant",
    "credentialsource": 2,
    "subjectscope": 1,
    "version": 2,
}
GRANT = DesiredGrant(scope="/subscriptions/sub", role_definition_id="role", name="grant-1")


def desired() -> Desired:
    return Desired(
        environment_id="env",
        identity=IDENTITY,
        credentials=(DesiredCredential("ppmi-env-a", CREDENTIAL, "signer-a"),),
        row_id="row",
        row_values=ROW_VALUES,
        grants=(GRANT,),
    )


def stored(name: str, subject: str = CREDENTIAL.subject) -> StoredCredential:
    return StoredCredential(name, CREDENTIAL.issuer, subject, (CREDENTIAL.audience,))


def row(version: int = 2, application_id: str = "client") -> ManagedIdentityRow:
    return ManagedIdentityRow("row", application_id, "tenant", 2, 1, version, None)


def test_nothing_observed_means_everything_is_created() -> None:
    steps = plan(desired(), Observed(credentials={}))
    assert steps == [
        PutCredential(TARGET, "ppmi-env-a", CREDENTIAL, create=True),
        CreateRow("row", ROW_VALUES),
        Grant(GRANT, "principal"),
    ]


def test_a_converged_environment_plans_only_unchanged_steps() -> None:
    assignment = RoleAssignment("grant-1", "/subscriptions/sub", "role", "principal")
    observed = Observed(
        credentials={"ppmi-env-a": stored("ppmi-env-a")}, row=row(), grants={"grant-1": assignment}
    )
    assert all(isinstance(step, Unchanged) for step in plan(desired(), observed))


def test_a_fic_with_a_drifted_subject_is_rewritten_in_place() -> None:
    observed = Observed(credentials={"ppmi-env-a": stored("ppmi-env-a", subject="/wrong")}, row=row())
    assert plan(desired(), observed)[0] == PutCredential(TARGET, "ppmi-env-a", CREDENTIAL, create=False)


def test_a_fic_holding_the_same_values_under_another_name_is_left_alone() -> None:
    observed = Observed(credentials={"hand-made": stored("hand-made")}, row=row())
    assert plan(desired(), observed)[0] == Unchanged(
        "federated-credential", "ppmi-env-a", "held by hand-made"
    )


def test_only_the_row_columns_that_differ_are_updated() -> None:
    observed = Observed(credentials={}, row=row(application_id="old-client"))
    assert UpdateRow("row", {"applicationid": "client"}) in plan(desired(), observed)
