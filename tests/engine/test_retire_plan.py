"""Which FICs retirement plans to delete, decided without I/O from the names and values on the identity."""

from __future__ import annotations

import pytest

from shared.clients.arm import IdentityAddress, StoredCredential
from shared.engine import Desired, Observed, plan
from shared.engine._model import (
    DeleteCredential,
    DesiredCredential,
    IdentityTarget,
    PutCredential,
    ResolvedIdentity,
    Retirement,
    Skip,
    Unchanged,
)
from shared.engine._naming import credential_signer_key
from shared.fic import FederatedCredential

ENVIRONMENT = "0f6b5c1e-6a52-4c2b-9b4e-2d1f3e4a5b6c"
KEPT, GONE = "0123456789abcdef", "fedcba9876543210"
KEPT_NAME, GONE_NAME = f"ppmi-{ENVIRONMENT}-{KEPT}", f"ppmi-{ENVIRONMENT}-{GONE}"
TRUSTING_ONE = Retirement(frozenset({KEPT}))
TARGET = IdentityTarget(key=ENVIRONMENT, address=IdentityAddress("sub", "rg", "ppmi-env"), dedicated=True)
WANTED = FederatedCredential(
    issuer="https://login.microsoftonline.com/t/v2.0",
    subject="/eid1/c/pub/kept",
    audience="api://AzureADTokenExchange",
)


def stored(name: str, subject: str) -> StoredCredential:
    return StoredCredential(name, WANTED.issuer, subject, (WANTED.audience,))


def desired(retirement: Retirement | None, *, credentials: bool = True) -> Desired:
    wanted = (DesiredCredential(KEPT_NAME, WANTED, "kept"),) if credentials else ()
    return Desired(
        environment_id=ENVIRONMENT,
        identity=ResolvedIdentity(TARGET, client_id="client", principal_id="principal"),
        credentials=wanted,
        row_id=None,
        retirement=retirement,
    )


def observed(*credentials: StoredCredential) -> Observed:
    return Observed(credentials={credential.name.lower(): credential for credential in credentials})


@pytest.mark.parametrize(
    ("name", "key"),
    [
        (GONE_NAME, GONE),
        (f"{GONE_NAME}-v1", GONE),
        (f"{GONE_NAME}-v0", GONE),
        (f"PPMI-{ENVIRONMENT.upper()}-{GONE.upper()}", GONE),
        (f"{GONE_NAME}-v2", None),
        (f"{GONE_NAME}-old", None),
        (f"ppmi-{ENVIRONMENT}-manual", None),
        (f"ppmi-{ENVIRONMENT}-{GONE[:15]}", None),
        (f"ppmi-{ENVIRONMENT}-{GONE[:15]}g", None),
        (f"ppmi-1{ENVIRONMENT[1:]}-{GONE}", None),
        (f"x-ppmi-{ENVIRONMENT}-{GONE}", None),
    ],
)
def test_only_ppmis_exact_names_for_the_environment_carry_a_signer_key(name: str, key: str | None) -> None:
    assert credential_signer_key(ENVIRONMENT, name) == key


def test_untrusted_fics_are_deleted_before_the_wanted_one_is_written() -> None:
    steps = plan(
        desired(TRUSTING_ONE),
        observed(stored(GONE_NAME, "/gone"), stored(f"{GONE_NAME}-v1", "/gone-1")),
    )
    assert [type(step) for step in steps] == [DeleteCredential, DeleteCredential, PutCredential]
    assert {step.name for step in steps if isinstance(step, DeleteCredential)} == {
        GONE_NAME,
        f"{GONE_NAME}-v1",
    }


def test_a_retired_name_holding_a_wanted_credential_stays() -> None:
    steps = plan(desired(TRUSTING_ONE), observed(stored(GONE_NAME, WANTED.subject)))
    assert steps == [Unchanged("federated-credential", KEPT_NAME, f"held by {GONE_NAME}")]


def test_trusted_signers_fics_in_another_format_stay() -> None:
    steps = plan(
        desired(TRUSTING_ONE),
        observed(
            stored(KEPT_NAME, WANTED.subject),
            stored(f"{KEPT_NAME}-v1", "/v1"),
        ),
    )
    assert all(isinstance(step, Unchanged) for step in steps)


def test_nothing_is_retired_while_the_policy_trusts_no_signer() -> None:
    (step,) = plan(
        desired(Retirement(frozenset()), credentials=False),
        observed(stored(GONE_NAME, "/gone")),
    )
    assert isinstance(step, Skip)
    assert "trusts no signer" in step.reason


def test_switched_off_retirement_reports_the_fic_as_kept() -> None:
    (step, _) = plan(
        desired(Retirement(frozenset({KEPT}), enabled=False)),
        observed(stored(GONE_NAME, "/gone")),
    )
    assert isinstance(step, Unchanged)
    assert "retireUntrustedSigners: false" in (step.detail or "")


def test_without_a_retirement_no_fic_is_even_looked_at() -> None:
    steps = plan(desired(None), observed(stored(GONE_NAME, "/gone")))
    assert [type(step) for step in steps] == [PutCredential]
