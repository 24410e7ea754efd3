"""The checks on their own: observed state in, findings out, no network."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from shared.diagnosis import (
    ComponentTarget,
    Expectation,
    ExpectedSigner,
    Observation,
    ObservedComponent,
    ObservedCredential,
    ObservedIdentity,
    ObservedRow,
    Severity,
    diagnose,
)
from shared.fic import Signer, federated_credential, federated_credential_name

TENANT = "7f2c1900-9fd4-4b89-91d3-79a649996f0a"
ENVIRONMENT = "7efcc31a-c410-e20e-9b95-dd448cedf653"
CLIENT = "11111111-2222-4333-8444-555555555555"
ROW = "22222222-3333-4444-8555-666666666666"
SIGNER = ExpectedSigner("contoso", Signer(self_signed=True, sha256_hex=hashlib.sha256(b"c").hexdigest()))
CREDENTIAL = federated_credential(tenant_id=TENANT, environment_id=ENVIRONMENT, signer=SIGNER.signer)
PACKAGE = ComponentTarget("pluginpackage", "33333333-4444-4555-8666-777777777777")

EXPECTATION = Expectation(
    environment_id=ENVIRONMENT,
    tenant_id=TENANT,
    identity="/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/i",
    row_id=ROW,
    signers=(SIGNER,),
    grants=(),
    trusted=(SIGNER,),
)
HEALTHY = Observation(
    identity=ObservedIdentity(EXPECTATION.identity, CLIENT, "principal"),
    credentials=(
        ObservedCredential(
            federated_credential_name(ENVIRONMENT, SIGNER.signer),
            CREDENTIAL.issuer,
            CREDENTIAL.subject,
            (CREDENTIAL.audience,),
        ),
    ),
    row=ObservedRow(ROW, CLIENT, TENANT, 2, 1, 2),
)


def filler(count: int) -> tuple[ObservedCredential, ...]:
    return tuple(
        ObservedCredential(f"other-{n}", CREDENTIAL.issuer, f"/eid1/other/{n}", (CREDENTIAL.audience,))
        for n in range(count)
    )


def test_the_healthy_chain_has_no_findings() -> None:
    assert diagnose(EXPECTATION, HEALTHY).findings == ()


def test_a_component_bound_to_another_row_of_the_same_identity_is_only_a_warning() -> None:
    other = ObservedRow("44444444-5555-4666-8777-888888888888", CLIENT, TENANT, 2, 1, 2)
    observation = replace(
        HEALTHY, component=ObservedComponent("Contoso.Package", other.row_id, None), bound_row=other
    )
    report = diagnose(replace(EXPECTATION, component=PACKAGE), observation)
    (finding,) = report.findings
    assert (finding.code, finding.severity) == ("component.bound_elsewhere", Severity.WARNING)
    assert report.healthy


def test_a_full_identity_without_the_fic_says_to_make_room_first() -> None:
    observation = replace(HEALTHY, credentials=filler(20))
    report = diagnose(EXPECTATION, observation)
    assert report.codes() == ["fic.missing", "fic.near_limit"]
    assert "already holds 20 of 20 FICs: remove unused ones first" in report.findings[0].fix


def test_a_policy_without_signers_says_so_once() -> None:
    report = diagnose(replace(EXPECTATION, signers=(), trusted=()), HEALTHY)
    assert report.codes() == ["policy.no_trusted_signers"]


def test_a_missing_identity_hides_fic_row_field_and_grant_findings() -> None:
    observation = replace(HEALTHY, identity=None, credentials=())
    assert diagnose(EXPECTATION, observation).codes() == ["identity.missing"]


def test_an_untrusted_component_is_named_even_without_an_identity() -> None:
    other = Signer(self_signed=True, sha256_hex=hashlib.sha256(b"other").hexdigest())
    presented = federated_credential(tenant_id=TENANT, environment_id=ENVIRONMENT, signer=other).subject
    observation = replace(
        HEALTHY, identity=None, credentials=(), component=ObservedComponent("Fabrikam", ROW, presented)
    )
    report = diagnose(replace(EXPECTATION, component=PACKAGE), observation)
    assert report.codes() == ["identity.missing", "component.signer_untrusted"]
