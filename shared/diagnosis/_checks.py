"""The whole chain, link by link: observed state in, findings out. No I/O here.

Identity → FICs → Dataverse access → `managedidentity` row → component binding → role grants. A link that
is missing hides the links behind it (no FIC findings without an identity), so every finding is actionable.
"""

from __future__ import annotations

from shared.diagnosis import _fixes
from shared.diagnosis._credentials import check_credentials, effective_version
from shared.diagnosis._findings import Checked, Evidence, Finding, Report, Severity
from shared.diagnosis._state import Expectation, Observation, ObservedRow

CREDENTIAL_SOURCE_MANAGED = 2  # credentialsource IsManaged
SUBJECT_SCOPE_ENVIRONMENT = 1  # subjectscope EnvironmentScope
CURRENT_ROW_VERSION = 2
NOT_A_USER_CODE = "0x80072560"


def diagnose(expectation: Expectation, observation: Observation) -> Report:
    """Every finding for one environment (and component), errors before warnings, in chain order."""
    findings = [
        *check_identity(expectation, observation),
        *check_credentials(expectation, observation),
        *check_dataverse_access(expectation, observation),
        *check_row(expectation, observation),
        *check_component(expectation, observation),
        *check_grants(expectation, observation),
    ]
    findings.sort(key=lambda finding: finding.severity is not Severity.ERROR)
    component = expectation.component.label if expectation.component is not None else None
    return Report(expectation.environment_id, component, tuple(findings), _checked(expectation, observation))


def _checked(expectation: Expectation, observation: Observation) -> tuple[Checked, ...]:
    checked = [
        Checked("identity", observation.identity.resource if observation.identity else expectation.identity)
    ]
    checked.extend(Checked("signer", signer.name) for signer in expectation.signers)
    checked.append(Checked("managedidentity row", expectation.row_id or "none expected without an identity"))
    if expectation.component is not None:
        server = observation.component.server_subject if observation.component else None
        checked.append(Checked("component", expectation.component.label))
        checked.append(
            Checked(
                "subject cross-check",
                "GetComponentManagedIdentityFIC" if server else "not offered by Dataverse; computed locally",
            )
        )
    checked.extend(Checked("role grant", f"{g.role_definition_id} at {g.scope}") for g in expectation.grants)
    return tuple(checked)


def check_identity(expectation: Expectation, observation: Observation) -> list[Finding]:
    if observation.identity is not None:
        return []
    return [
        Finding(
            code="identity.missing",
            severity=Severity.ERROR,
            message=f"no identity for environment {expectation.environment_id} exists "
            f"({expectation.identity}), so no plug-in there can get a token",
            fix=f"run `{_fixes.reconcile(expectation.environment_id)}` to create it with its FICs, row "
            "and grants",
            evidence=Evidence(expected=expectation.identity, actual="not found"),
            resource=expectation.identity,
        )
    ]


def check_dataverse_access(expectation: Expectation, observation: Observation) -> list[Finding]:
    refusal = observation.refusal
    if refusal is None:
        return []
    client = observation.service_client_id or "ppmi's identity"
    if refusal.code == NOT_A_USER_CODE:
        code = "dataverse.not_application_user"
        message = (
            f"ppmi's identity ({client}) is not an application user in environment "
            f"{expectation.environment_id}: Dataverse answers 403, so the row and binding cannot be read "
            "or written"
        )
    else:
        code = "dataverse.missing_privilege"
        message = (
            f"ppmi's application user ({client}) lacks privileges in environment "
            f"{expectation.environment_id}: Dataverse answers 403"
        )
    return [
        Finding(
            code=code,
            severity=Severity.ERROR,
            message=message,
            fix="in the Power Platform admin center, open the environment → Settings → Users + "
            f"permissions → Application users, add the app {client} with a security role that can read "
            "and write managedidentity, pluginassembly and pluginpackage (or set manageApplicationUser: "
            f"true in the policy), then run `{_fixes.reconcile(expectation.environment_id)}`",
            evidence=Evidence(expected="an application user with a security role", actual=refusal.message),
            resource=expectation.environment_id,
        )
    ]


def check_row(expectation: Expectation, observation: Observation) -> list[Finding]:
    if observation.refusal is not None or not observation.dataverse_read or expectation.row_id is None:
        return []
    row = observation.row
    if row is None:
        return [
            Finding(
                code="row.missing",
                severity=Severity.ERROR,
                message=f"Dataverse has no managedidentity row {expectation.row_id}, so plug-ins have no "
                "identity to ask for",
                fix=f"run `{_fixes.reconcile(expectation.environment_id)}` to create and bind it",
                evidence=Evidence(expected=expectation.row_id, actual="not found"),
                resource=f"managedidentities({expectation.row_id})",
            )
        ]
    return row_field_findings(expectation, observation, row)


def row_field_findings(expectation: Expectation, observation: Observation, row: ObservedRow) -> list[Finding]:
    """The columns Dataverse reads when a plug-in asks for a token."""
    resource = f"managedidentities({row.row_id})"
    reconcile = f"run `{_fixes.reconcile(expectation.environment_id)}` to correct the row"
    findings: list[Finding] = []

    def wrong(code: str, column: str, expected: str, actual: object, why: str) -> None:
        shown = "null" if actual is None else str(actual)
        findings.append(
            Finding(
                code=code,
                severity=Severity.ERROR,
                message=f"row {row.row_id} has {column} {shown}, not {expected}: {why}",
                fix=reconcile,
                evidence=Evidence(expected=expected, actual=shown),
                resource=resource,
            )
        )

    identity = observation.identity
    if identity is not None and (row.application_id or "").lower() != identity.client_id.lower():
        wrong(
            "row.wrong_application",
            "applicationid",
            identity.client_id,
            row.application_id,
            "Dataverse asks Entra for another identity's token",
        )
    if (row.tenant_id or "").lower() != expectation.tenant_id.lower():
        wrong(
            "row.wrong_tenant",
            "tenantid",
            expectation.tenant_id,
            row.tenant_id,
            "Entra looks in another tenant",
        )
    if row.credential_source != CREDENTIAL_SOURCE_MANAGED:
        wrong(
            "row.wrong_credential_source",
            "credentialsource",
            f"{CREDENTIAL_SOURCE_MANAGED} (IsManaged)",
            row.credential_source,
            "plug-ins need a managed (federated) credential",
        )
    if row.subject_scope != SUBJECT_SCOPE_ENVIRONMENT:
        wrong(
            "row.wrong_subject_scope",
            "subjectscope",
            f"{SUBJECT_SCOPE_ENVIRONMENT} (EnvironmentScope)",
            row.subject_scope,
            "the subject would not carry this environment",
        )
    if (row.version or 0) < CURRENT_ROW_VERSION:
        # Dataverse presents the row's own format, and the FIC checks expect that format: a version 1 row
        # with its version 1 FICs works. Moving on is advice (those checks report what would break).
        version = effective_version(expectation, observation)
        findings.append(
            Finding(
                code="row.old_version",
                severity=Severity.WARNING,
                message=f"row {row.row_id} is version {row.version if row.version is not None else 'null'} "
                f"({'legacy issuer' if version == 0 else 'CN-based subject'}): it works with FICs in its "
                f"format, but current rows are version {CURRENT_ROW_VERSION}, which survive certificate "
                "names with commas or non-ASCII letters",
                fix=f"run `{_fixes.upgrade(expectation.environment_id)}`: it adds the version 2 FIC, "
                "flips the row, verifies, then removes the old FIC (revert with --revert)",
                evidence=Evidence(expected=str(CURRENT_ROW_VERSION), actual=str(row.version)),
                resource=resource,
            )
        )
    return findings


def check_component(expectation: Expectation, observation: Observation) -> list[Finding]:
    target = expectation.component
    if target is None or observation.refusal is not None or not observation.dataverse_read:
        return []
    component = observation.component
    if component is None:
        return [
            Finding(
                code="component.missing",
                severity=Severity.ERROR,
                message=f"{target.label} does not exist in environment {expectation.environment_id}",
                fix="check the ID (pac plugin list, or the plug-in registration tool) and the environment",
                evidence=Evidence(expected=target.component_id, actual="not found"),
                resource=target.label,
            )
        ]
    register = _fixes.register(expectation.environment_id, target)
    if component.bound_row_id is None:
        return [
            Finding(
                code="component.not_bound",
                severity=Severity.ERROR,
                message=f"{target.label} ({component.name}) is bound to no managedidentity row, so Dataverse "
                "has no identity to get its token for (solution imports often drop the binding)",
                fix=f"run `{register}`",
                evidence=Evidence(expected=expectation.row_id, actual="not bound"),
                resource=target.label,
            )
        ]
    if expectation.row_id is None or component.bound_row_id.lower() == expectation.row_id.lower():
        return []
    bound = observation.bound_row
    points_at = bound.application_id if bound is not None else None
    identity = observation.identity
    same_identity = identity is not None and (points_at or "").lower() == identity.client_id.lower()
    details = (
        f"row {component.bound_row_id} has applicationid {points_at}"
        if bound is not None
        else f"row {component.bound_row_id} could not be read",
    )
    findings = [
        Finding(
            code="component.bound_elsewhere",
            severity=Severity.WARNING if same_identity else Severity.ERROR,
            message=f"{target.label} ({component.name}) is bound to managedidentity row "
            f"{component.bound_row_id}, not to ppmi's row {expectation.row_id}"
            + ("" if same_identity else ", which points at another identity"),
            fix=f"run `{register}` to bind it to {expectation.row_id}",
            evidence=Evidence(expected=expectation.row_id, actual=component.bound_row_id, details=details),
            resource=target.label,
        )
    ]
    if bound is not None and same_identity:
        findings.extend(row_field_findings(expectation, observation, bound))
    return findings


def _covers(assignment_scope: str, wanted_scope: str) -> bool:
    """An assignment applies at its own scope and everything beneath it."""
    own, wanted = assignment_scope.rstrip("/").lower(), wanted_scope.rstrip("/").lower()
    return wanted == own or wanted.startswith(own + "/")


def check_grants(expectation: Expectation, observation: Observation) -> list[Finding]:
    identity = observation.identity
    if identity is None or identity.principal_id is None:
        return []
    findings = []
    for grant in expectation.grants:
        held = any(
            observed.role_definition_id.lower() == grant.role_definition_id.lower()
            and _covers(observed.scope, grant.scope)
            for observed in observation.grants
        )
        if held:
            continue
        findings.append(
            Finding(
                code="role.missing",
                severity=Severity.ERROR,
                message=f"the identity lacks role {grant.role_definition_id}"
                + (f" ({grant.description})" if grant.description else "")
                + f" at {grant.scope}, so its token is refused there (403)",
                fix=f"run `{_fixes.reconcile(expectation.environment_id)}`, or: az role assignment create "
                f"--assignee-object-id {identity.principal_id} --assignee-principal-type ServicePrincipal "
                f"--role {grant.role_definition_id} --scope {grant.scope}",
                evidence=Evidence(
                    expected=f"role {grant.role_definition_id} at {grant.scope}",
                    actual=f"{len(observation.grants)} assignment(s) for principal {identity.principal_id} "
                    "at or above that scope",
                ),
                resource=grant.scope,
            )
        )
    return findings
