"""`verify`: the expectation from the policy and the engine's naming, the services' state, the checks."""

from __future__ import annotations

from dataclasses import replace

from shared.clients.dataverse import dataverse_origin
from shared.clients.environments import EnvironmentInfo
from shared.diagnosis import _fixes
from shared.diagnosis._checks import diagnose
from shared.diagnosis._findings import Evidence, Finding, Report, Severity
from shared.diagnosis._reads import DataverseState, observed_identity, read_dataverse, read_grants
from shared.diagnosis._state import (
    ComponentTarget,
    Expectation,
    ExpectedGrant,
    ExpectedSigner,
    Observation,
    ObservedGrant,
)
from shared.diagnosis._vaults import check_vaults
from shared.engine import Runtime, find_existing, grants_for, row_id_for
from shared.errors import InvalidInputError
from shared.fic import Signer

GIVEN_SIGNER = "the certificate given"


async def verify(
    runtime: Runtime,
    environment_id: str,
    *,
    component: ComponentTarget | None = None,
    signer: Signer | None = None,
) -> Report:
    """Check every link for plug-ins in `environment_id` (and `component`, signed by `signer` if given)."""
    label = component.label if component is not None else None
    environment = await runtime.environments.get_environment(environment_id)
    if environment is None:
        return Report(environment_id, label, (_environment_missing(environment_id),))
    expectation, early = _expectation(runtime, environment, component, signer)
    placement = await find_existing(runtime, environment_id)
    identity, credentials = observed_identity(placement)
    if placement is not None:
        expectation = replace(
            expectation,
            identity=placement.target.address.path if placement.target.address else placement.target.label,
            row_id=row_id_for(environment_id, placement.target),
        )
    if identity is None or identity.principal_id is not None:  # the engine grants app registrations nothing
        expectation = _with_grants(expectation, runtime, identity.principal_id if identity else None)
    grants: tuple[ObservedGrant, ...] = ()
    if identity is not None and identity.principal_id is not None and expectation.grants:
        grants = await read_grants(runtime.arm, expectation.grants, identity.principal_id)
    state, dataverse_findings = await _read_dataverse(runtime, environment, expectation)
    observation = Observation(
        organization_id=environment.organization_id,
        dataverse_read=not dataverse_findings,
        identity=identity,
        credentials=credentials,
        refusal=state.refusal,
        row=state.row,
        component=state.component,
        bound_row=state.bound_row,
        grants=grants,
        service_client_id=runtime.service_application_id,
    )
    report = diagnose(expectation, observation)
    principal = identity.principal_id if identity is not None else None
    scopes = tuple(grant.scope for grant in expectation.grants)
    vault_findings, vaults_checked = await check_vaults(runtime, environment_id, principal, scopes)
    findings = (*early, *dataverse_findings, *report.findings, *vault_findings)
    ordered = tuple(sorted(findings, key=lambda finding: finding.severity is not Severity.ERROR))
    return replace(report, findings=ordered, checked=(*report.checked, *vaults_checked))


def _expectation(
    runtime: Runtime, environment: EnvironmentInfo, component: ComponentTarget | None, signer: Signer | None
) -> tuple[Expectation, list[Finding]]:
    policy = runtime.policy
    findings = []
    if not policy.environment_in_scope(environment.id, environment.type, environment.display_name):
        findings.append(_out_of_scope(environment))
    trusted = tuple(ExpectedSigner(each.name, each.signer) for each in policy.trusted_signers)
    signers = trusted
    if signer is not None:
        signers = (ExpectedSigner(GIVEN_SIGNER, signer),)
        if policy.trusted_signer_for(signer) is None:
            findings.append(_untrusted(environment.id, component))
    placeholder = f"no {policy.identity.strategy} identity holds its FICs"
    expectation = Expectation(
        environment_id=environment.id,
        tenant_id=policy.tenant_id,
        identity=placeholder,
        row_id=None,
        signers=signers,
        grants=(),
        cloud=policy.cloud,
        format_version=policy.format_version,
        environment_segment=policy.subject_environment_segment,
        headroom=policy.identity.headroom,
        component=component,
        signer_given=signer is not None,
        trusted=trusted,
    )
    return expectation, findings


def _with_grants(expectation: Expectation, runtime: Runtime, principal_id: str | None) -> Expectation:
    grants = grants_for(runtime.policy, expectation.environment_id, principal_id)
    expected = tuple(ExpectedGrant(g.scope, g.role_definition_id) for g in grants)
    return replace(expectation, grants=expected)


async def _read_dataverse(
    runtime: Runtime, environment: EnvironmentInfo, expectation: Expectation
) -> tuple[DataverseState, list[Finding]]:
    if not environment.ready:
        return DataverseState(), [_no_dataverse(environment)]
    try:
        origin = dataverse_origin(environment.dataverse_url, runtime.policy)
    except InvalidInputError as error:
        return DataverseState(), [_url_refused(environment, error.reason)]
    state = await read_dataverse(runtime.dataverse(origin), expectation.row_id, expectation.component)
    return state, []


def _environment_missing(environment_id: str) -> Finding:
    return Finding(
        code="environment.missing",
        severity=Severity.ERROR,
        message=f"the Power Platform API knows no environment {environment_id}",
        fix="check the environment ID (Power Platform admin center → Environments → the environment's "
        "details, or `pac admin list`) and that ppmi's identity may read it",
        evidence=Evidence(expected=environment_id, actual="not found"),
        resource=environment_id,
    )


def _no_dataverse(environment: EnvironmentInfo) -> Finding:
    return Finding(
        code="environment.no_dataverse",
        severity=Severity.ERROR,
        message=environment.readiness_reason(),
        fix="add a Dataverse database to the environment (or enable it, or wait while it is provisioned), "
        "then verify again",
        evidence=Evidence(
            expected="a live environment with a Dataverse URL",
            actual=f"{environment.readiness} (state {environment.state or 'not reported'})",
        ),
        resource=environment.id,
    )


def _url_refused(environment: EnvironmentInfo, reason: str) -> Finding:
    return Finding(
        code="environment.dataverse_url_refused",
        severity=Severity.ERROR,
        message=f"{reason}, so ppmi sends it no token and cannot read the row or binding",
        fix="if the URL is genuine, add its host suffix under dataverseHostSuffixes in the policy",
        evidence=Evidence(expected="a host under an allowed suffix", actual=environment.dataverse_url),
        resource=environment.id,
    )


def _out_of_scope(environment: EnvironmentInfo) -> Finding:
    return Finding(
        code="environment.out_of_scope",
        severity=Severity.WARNING,
        message=f"environment {environment.id} ({environment.display_name}, {environment.type}) is "
        "outside the policy's environments, so ppmi's sweeps leave it alone",
        fix=f"add {environment.id} under environments.include in the policy if ppmi should provision it",
        evidence=Evidence(expected="in scope", actual="out of scope"),
        resource=environment.id,
    )


def _untrusted(environment_id: str, component: ComponentTarget | None) -> Finding:
    register = f", then run `{_fixes.register(environment_id, component)}`" if component is not None else ""
    return Finding(
        code="component.signer_untrusted",
        severity=Severity.ERROR,
        message="the certificate given matches no trusted signer in the policy, so ppmi makes no FIC for it",
        fix=f"add the certificate under trustedSigners in the policy{register}",
        evidence=Evidence(expected="a trusted signer", actual=GIVEN_SIGNER),
        resource=GIVEN_SIGNER,
    )
