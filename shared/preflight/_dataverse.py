"""Dataverse as ppmi uses it, per environment: a token, `WhoAmI`, the `managedidentity` table's definition
and `GetComponentManagedIdentityFIC` for one plug-in component, whose subject shows which `e/` segment and
tenant encoding this Dataverse really uses (the values ppmi's FICs must match)."""

from __future__ import annotations

from shared.auth import TokenSource
from shared.clients.dataverse import NOT_A_MEMBER, Component, DataverseClient, TableDefinition
from shared.clients.environments import EnvironmentInfo
from shared.diagnosis import Evidence, Finding, Severity, parse_subject
from shared.errors import PermanentServiceError, PpmiError
from shared.fic import SubjectEnvironmentSegment, encode_guid
from shared.policy import Policy
from shared.preflight._problems import failed_call
from shared.preflight._report import Findings, Outcome
from shared.preflight._tokens import Audience, check_token

AREA = "dataverse"
TABLE = "managedidentity"
# The values ppmi writes (shared/clients/dataverse.py), with their labels in the table reference
# (contracts/dataverse/entity_managedidentity.trimmed.md).
NEEDED_CHOICES = {"credentialsource": (2, "IsManaged"), "subjectscope": (1, "EnviornmentScope")}
ASSIGN_USER = (
    "make ppmi's identity an application user with a security role there: `pac admin assign-user "
    '--environment <environment-id> --user <AZURE_CLIENT_ID> --role "System Administrator" '
    "--application-user` (or a narrower role; docs/deploy.md, prerequisite 6)"
)


async def check_dataverse(
    tokens: TokenSource,
    client: DataverseClient,
    environment: EnvironmentInfo,
    policy: Policy,
    client_id: str | None,
) -> Findings:
    found = Findings()
    audience = Audience("Dataverse", f"{client.origin}/.default", f"read and write rows in {environment.id}")
    if not await check_token(tokens, audience, policy, client_id, found, area=AREA, judge_identity=False):
        return found
    target = f"{environment.id} ({client.origin})"
    try:
        if not await _member(found, client, target, policy):
            return found
        await _table(found, client, target)
        await _subject(found, client, environment, policy, target)
    except PpmiError as error:
        found.add(
            failed_call(
                error, what=f"read Dataverse of {environment.id}", resource=target, refused_fix=ASSIGN_USER
            )
        )
        found.check(AREA, target, Outcome.ERROR, "could not be read")
    return found


async def _member(found: Findings, client: DataverseClient, target: str, policy: Policy) -> bool:
    if await client.signed_in_as_application_user():
        found.check(AREA, target, Outcome.OK, "WhoAmI answers: ppmi is an application user", call="WhoAmI")
        return True
    severity = Severity.WARNING if policy.manage_application_user else Severity.ERROR
    found.add(
        Finding(
            code="dataverse.not_application_user",
            severity=severity,
            message="ppmi's identity is no user of this organisation (0x80072560)",
            fix="nothing to do: the policy says manageApplicationUser, so ppmi adds itself through the "
            "admin API on the first event"
            if policy.manage_application_user
            else ASSIGN_USER,
            resource=target,
        )
    )
    outcome = Outcome.WARNING if policy.manage_application_user else Outcome.ERROR
    found.check(AREA, target, outcome, "WhoAmI refused: not a member of the organisation", call="WhoAmI")
    return False


async def _table(found: Findings, client: DataverseClient, target: str) -> None:
    definition = await client.table_definition(TABLE)
    if definition is None:
        found.add(
            Finding(
                code="dataverse.table_missing",
                severity=Severity.ERROR,
                message=f"this Dataverse has no {TABLE} table, which managed identity for plug-ins needs",
                fix="managed identity for Dataverse plug-ins is not available in this environment yet: check "
                "that its region and cloud offer it (Learn: 'Set up managed identity for Power Platform') "
                "and that its Dataverse version is current, then run `ppmi preflight` again",
                resource=target,
            )
        )
        found.check(AREA, target, Outcome.ERROR, f"no {TABLE} table", table=TABLE)
        return
    problems = _definition_problems(definition)
    for problem in problems:
        found.add(
            Finding(
                code="dataverse.table_unexpected",
                severity=Severity.ERROR,
                message=problem,
                fix="send the recording (--record) with a report: ppmi writes the values the table "
                "reference documents",
                resource=target,
            )
        )
    choices = "; ".join(
        f"{column}: {', '.join(f'{value} {label}' for value, label in sorted(options.items()))}"
        for column, options in sorted(definition.choices.items())
    )
    found.check(
        AREA,
        target,
        Outcome.ERROR if problems else Outcome.OK,
        "the table ppmi writes is there" if not problems else "the table differs from what ppmi writes",
        table=definition.logical_name,
        entity_set=definition.entity_set,
        choices=choices or "not reported",
    )


def _definition_problems(definition: TableDefinition) -> list[str]:
    problems = []
    if definition.entity_set and definition.entity_set != "managedidentities":
        problems.append(
            f"the table's entity set is {definition.entity_set!r}, ppmi writes to 'managedidentities'"
        )
    for column, (value, label) in NEEDED_CHOICES.items():
        options = definition.choices.get(column)
        if options is not None and value not in options:
            problems.append(
                f"the choice column {column} offers no value {value} ({label}), which ppmi writes"
            )
    return problems


async def _subject(
    found: Findings, client: DataverseClient, environment: EnvironmentInfo, policy: Policy, target: str
) -> None:
    component = await _one_component(found, client, target)
    if component is None:
        return
    subject = await _component_subject(found, client, component, target)
    if subject is None:
        return
    segments = parse_subject(subject) or {}
    seen = {"component": f"{component.kind} {component.id}", "subject": subject}
    problems = subject_problems(segments, environment, policy)
    for problem in problems:
        found.add(problem)
    conclusion = "Dataverse computes the subject ppmi computes (tenant and e/ segment)"
    found.check(
        AREA,
        target,
        Outcome.ERROR if problems else Outcome.OK,
        conclusion if not problems else "Dataverse's subject differs from ppmi's",
        **seen,
    )


async def _one_component(found: Findings, client: DataverseClient, target: str) -> Component | None:
    try:
        components = [c for c in await client.list_components("pluginpackage") if not c.microsoft]
        components += [c for c in await client.list_components("pluginassembly") if not c.microsoft]
    except PermanentServiceError as error:
        if error.status == 403 and error.code.lower() != NOT_A_MEMBER:
            found.add(
                Finding(
                    code="dataverse.no_privilege",
                    severity=Severity.ERROR,
                    message="ppmi's application user may not read plug-in components: it has no security "
                    "role",
                    fix=ASSIGN_USER,
                    evidence=Evidence(actual=error.service_message),
                    resource=target,
                )
            )
            found.check(AREA, target, Outcome.ERROR, "reading plug-in components refused")
            return None
        raise
    if not components:
        found.check(
            AREA,
            target,
            Outcome.SKIPPED,
            "no custom plug-in component to ask GetComponentManagedIdentityFIC about",
        )
        return None
    return components[0]


async def _component_subject(
    found: Findings, client: DataverseClient, component: Component, target: str
) -> str | None:
    try:
        subject = await client.component_fic_subject(component.kind, component.id)
    except PermanentServiceError as error:
        found.check(
            AREA,
            target,
            Outcome.SKIPPED,
            f"GetComponentManagedIdentityFIC answers, but not for this component: {error.service_message}",
            component=f"{component.kind} {component.id}",
        )
        return None
    if subject is None:
        found.add(
            Finding(
                code="subject.function_not_offered",
                severity=Severity.WARNING,
                message="this Dataverse does not offer GetComponentManagedIdentityFIC for plug-ins, so "
                "ppmi's subjects cannot be cross-checked with Dataverse's own",
                fix="nothing blocks provisioning: ppmi computes subjects itself (policy "
                "subjectEnvironmentSegment); `ppmi verify` then checks FICs against ppmi's values only",
                resource=target,
            )
        )
        found.check(
            AREA,
            target,
            Outcome.WARNING,
            "GetComponentManagedIdentityFIC is not offered",
            component=f"{component.kind} {component.id}",
        )
    return subject


def subject_problems(segments: dict[str, str], environment: EnvironmentInfo, policy: Policy) -> list[Finding]:
    problems = []
    tenant = encode_guid(policy.tenant_id)
    if segments.get("t") not in (None, tenant):
        problems.append(
            Finding(
                code="subject.tenant_mismatch",
                severity=Severity.ERROR,
                message="Dataverse encodes another tenant in the subject than the policy's",
                fix="correct the policy's tenantId",
                evidence=Evidence(expected=tenant, actual=segments.get("t")),
                resource=environment.id,
            )
        )
    used = segments.get("e", "").lower()
    wanted = policy.subject_environment_segment
    other = {
        environment.id.lower(): SubjectEnvironmentSegment.ENVIRONMENT_ID,
        (environment.organization_id or "").lower(): SubjectEnvironmentSegment.ORGANIZATION_ID,
    }.get(used)
    if other is not None and other is not wanted:
        problems.append(
            Finding(
                code="subject.environment_segment",
                severity=Severity.ERROR,
                message=f"Dataverse puts the {other.value.replace('-', ' ')} in the subject's e/ segment; "
                f"the policy says {wanted.value}, so ppmi's FICs would not match",
                fix=f"set subjectEnvironmentSegment: {other.value} in the policy",
                evidence=Evidence(expected=wanted.value, actual=other.value),
                resource=environment.id,
            )
        )
    return problems
