"""FIC checks: the credential Entra must hold for each signer, compared with the ones the identity has.

The row's `version` decides which subject Dataverse presents at runtime, so credentials are expected in the
row's format; when Dataverse computes the component's subject itself, that subject is the one to match.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.diagnosis import _fixes
from shared.diagnosis._findings import Evidence, Finding, Severity
from shared.diagnosis._state import (
    Expectation,
    ExpectedSigner,
    Observation,
    ObservedCredential,
    ObservedRow,
)
from shared.diagnosis._subjects import SegmentDifference, SubjectFacts, parse_subject, subject_differences
from shared.fic import (
    FORMAT_VERSIONS,
    FederatedCredential,
    FederatedCredentialError,
    federated_credential,
    federated_credential_name,
    legacy_issuer,
)
from shared.telemetry import FIC_CAP  # Entra's hard cap per identity

SIGNER_SEGMENTS = frozenset({"h", "i", "s", "h vs i/s"})


@dataclass(frozen=True)
class WantedCredential:
    """One FIC that must exist: its values, the name ppmi gives it, and what its subject was built from."""

    label: str
    credential: FederatedCredential
    names: tuple[str, ...]  # names ppmi uses for this signer (any format), most likely first
    facts: SubjectFacts
    trusted: bool = True  # False: the policy does not trust the signer, so no reconcile makes its FIC


def runtime_row(observation: Observation) -> ObservedRow | None:
    """The row Dataverse uses for the component: the one it is bound to, else ppmi's row."""
    return observation.bound_row or observation.row


def effective_version(expectation: Expectation, observation: Observation) -> int:
    """The FIC format Dataverse presents: the row's version (null counts as 0), else the policy's."""
    row = runtime_row(observation)
    if row is None:
        return expectation.format_version
    version = row.version or 0
    return version if version in FORMAT_VERSIONS else expectation.format_version


def _credential_for(
    expectation: Expectation, observation: Observation, signer: ExpectedSigner, version: int
) -> FederatedCredential:
    component = expectation.component.table if expectation.component is not None else "pluginassembly"
    return federated_credential(
        tenant_id=expectation.tenant_id,
        environment_id=expectation.environment_id,
        signer=signer.signer,
        format_version=version,
        cloud=expectation.cloud,
        component=component,
        organization_id=observation.organization_id,
        environment_segment=expectation.environment_segment,
    )


def _facts(expectation: Expectation, observation: Observation, signer: ExpectedSigner) -> SubjectFacts:
    return SubjectFacts(
        tenant_id=expectation.tenant_id,
        environment_id=expectation.environment_id,
        signer=signer.signer,
        organization_id=observation.organization_id,
        identity_client_id=observation.identity.client_id if observation.identity else None,
    )


def _names(expectation: Expectation, signer: ExpectedSigner, version: int) -> tuple[str, ...]:
    ordered = (version, *(v for v in FORMAT_VERSIONS if v != version))
    names = []
    for each in ordered:
        try:
            names.append(
                federated_credential_name(expectation.environment_id, signer.signer, format_version=each)
            )
        except FederatedCredentialError:
            continue
    return tuple(names)


def differing(differences: tuple[SegmentDifference, ...]) -> str:
    """'environment differs', 'tenant encoding and hash differ': the labels of the segments that differ."""
    labels = list(dict.fromkeys(difference.label for difference in differences))
    if len(labels) == 1:
        return f"{labels[0]} differs"
    return f"{', '.join(labels[:-1])} and {labels[-1]} differ"


def wanted_credentials(
    expectation: Expectation, observation: Observation
) -> tuple[list[WantedCredential], list[Finding]]:
    """The FICs that must exist, plus findings when Dataverse's own subject disagrees with ppmi's."""
    version = effective_version(expectation, observation)
    wanted: list[WantedCredential] = []
    findings: list[Finding] = []
    for signer in expectation.signers:
        try:
            credential = _credential_for(expectation, observation, signer, version)
        except FederatedCredentialError as error:
            findings.append(_unrepresentable(expectation, signer, version, str(error)))
            continue
        facts = _facts(expectation, observation, signer)
        trusted = any(each.signer.matches(signer.signer) for each in expectation.trusted)
        names = _names(expectation, signer, version)
        wanted.append(WantedCredential(signer.name, credential, names, facts, trusted=trusted))
    component = observation.component
    if component is not None and component.server_subject and version == 2 and wanted:
        return _cross_checked(expectation, wanted, component.server_subject)
    if not wanted and not findings:
        findings.append(_no_signers(expectation))
    return wanted, findings


def _cross_checked(
    expectation: Expectation, local: list[WantedCredential], server_subject: str
) -> tuple[list[WantedCredential], list[Finding]]:
    """Keep the signer whose subject Dataverse presents; if none, expect Dataverse's subject and say why."""
    matching = [w for w in local if w.credential.subject == server_subject]
    if matching:
        return matching[:1], []
    nearest = min(
        local, key=lambda w: len(subject_differences(server_subject, w.credential.subject, w.facts))
    )
    differences = subject_differences(server_subject, nearest.credential.subject, nearest.facts)
    presented = FederatedCredential(
        issuer=nearest.credential.issuer, subject=server_subject, audience=nearest.credential.audience
    )
    assert expectation.component is not None
    label = expectation.component.label
    another_signer = all(d.segment in SIGNER_SEGMENTS for d in differences)
    # ppmi's FIC for the nearest signer is right for that signer, so it is no near miss for another one.
    names = () if another_signer else nearest.names
    wanted = WantedCredential(label, presented, names, nearest.facts, trusted=not another_signer)
    details = tuple(d.explanation for d in differences)
    if another_signer and not expectation.signer_given:
        finding = Finding(
            code="component.signer_untrusted",
            severity=Severity.ERROR,
            message=f"{label} is signed by a certificate that no trusted signer in the policy matches, so "
            "ppmi creates no FIC for it",
            fix="add the component's signing certificate to trustedSigners in the policy (or re-sign the "
            "component with a trusted certificate), then run "
            f"`{_fixes.register(expectation.environment_id, expectation.component)}`",
            evidence=Evidence(expected=server_subject, actual=nearest.credential.subject, details=details),
            resource=label,
        )
    else:
        finding = Finding(
            code="component.subject_differs",
            severity=Severity.ERROR,
            message=f"Dataverse presents another subject for {label} than ppmi computes "
            f"({differing(differences)})",
            fix=_cross_check_fix(differences, expectation),
            evidence=Evidence(expected=server_subject, actual=nearest.credential.subject, details=details),
            resource=label,
        )
    return [wanted], [finding]


def _cross_check_fix(differences: tuple[SegmentDifference, ...], expectation: Expectation) -> str:
    environment_only = all(difference.segment == "e" for difference in differences)
    if environment_only:
        return (
            "set subjectEnvironmentSegment in the policy to the ID Dataverse uses in e/ "
            f"(see the details), then run `{_fixes.reconcile(expectation.environment_id)}`"
        )
    reconcile = _fixes.reconcile(expectation.environment_id)
    if expectation.signer_given and all(d.segment in SIGNER_SEGMENTS for d in differences):
        return "give the certificate the component was actually signed with (see the hash in the details)"
    return f"set the policy's tenantId or cloud to what Dataverse uses (see details), then run `{reconcile}`"


def _unrepresentable(expectation: Expectation, signer: ExpectedSigner, version: int, reason: str) -> Finding:
    return Finding(
        code="fic.unrepresentable",
        severity=Severity.ERROR,
        message=f"signer {signer.name} cannot have a format {version} FIC: {reason}",
        fix=f"run `{_fixes.upgrade(expectation.environment_id)}` to move the row to version 2",
        evidence=Evidence(expected=f"a format {version} subject", actual=reason),
        resource=signer.name,
    )


def _no_signers(expectation: Expectation) -> Finding:
    return Finding(
        code="policy.no_trusted_signers",
        severity=Severity.ERROR,
        message="the policy trusts no signer, so no plug-in in this environment can have a FIC",
        fix="add the plug-ins' signing certificates under trustedSigners in the policy (PPMI_POLICY_FILE), "
        f"then run `{_fixes.reconcile(expectation.environment_id)}`",
        resource="trustedSigners",
    )


def check_credentials(expectation: Expectation, observation: Observation) -> list[Finding]:
    """Each wanted FIC exists with the exact issuer, subject and audience; the identity is under its cap."""
    wanted, findings = wanted_credentials(expectation, observation)
    if observation.identity is None:
        return findings  # identity.missing says the rest
    version = effective_version(expectation, observation)
    claimed = {(w.credential.issuer, w.credential.subject) for w in wanted}
    claimed.update(_trusted_values(expectation, observation, version))
    unclaimed = [c for c in observation.credentials if (c.issuer, c.subject) not in claimed]
    for each in wanted:
        findings.extend(_check_one(expectation, observation, each, unclaimed, version))
    findings.extend(_capacity(expectation, observation))
    return findings


def _trusted_values(expectation: Expectation, observation: Observation, version: int) -> set[tuple[str, str]]:
    """(issuer, subject) of every trusted signer's FIC: correct for its own signer, so never a near miss."""
    values = set()
    for signer in expectation.trusted:
        try:
            credential = _credential_for(expectation, observation, signer, version)
        except FederatedCredentialError:
            continue
        values.add((credential.issuer, credential.subject))
    return values


def _check_one(
    expectation: Expectation,
    observation: Observation,
    wanted: WantedCredential,
    unclaimed: list[ObservedCredential],
    version: int,
) -> list[Finding]:
    value = wanted.credential
    found = next(
        (c for c in observation.credentials if (c.issuer, c.subject) == (value.issuer, value.subject)), None
    )
    if found is not None:
        return _audience(expectation, wanted, found)
    same_subject = next((c for c in observation.credentials if c.subject == value.subject), None)
    if same_subject is not None:
        return [
            _wrong_issuer(expectation, wanted, same_subject, version),
            *_audience(expectation, wanted, same_subject),
        ]
    candidate = _candidate(wanted, observation.credentials, unclaimed)
    if candidate is None:
        return [_missing(expectation, observation, wanted)]
    findings = [_subject_mismatch(expectation, wanted, candidate, version)]
    if candidate.issuer != value.issuer:
        findings.append(_wrong_issuer(expectation, wanted, candidate, version))
    return findings + _audience(expectation, wanted, candidate)


def _candidate(
    wanted: WantedCredential,
    credentials: tuple[ObservedCredential, ...],
    unclaimed: list[ObservedCredential],
) -> ObservedCredential | None:
    """The FIC meant for this signer: ppmi's name for it, else the nearest unclaimed one nearby."""
    by_name = {c.name.lower(): c for c in credentials}
    for name in wanted.names:
        if name.lower() in by_name:
            return by_name[name.lower()]
    wanted_segments = parse_subject(wanted.credential.subject) or {}
    environment = wanted_segments.get("e", wanted.facts.environment_id)
    same_environment = [
        c
        for c in unclaimed
        if (parse_subject(c.subject) or {}).get("e", "").lower() == environment.lower()
        or c.subject.endswith(f"environment:{wanted.facts.environment_id}")
    ]
    return min(
        same_environment,
        key=lambda c: len(subject_differences(wanted.credential.subject, c.subject, wanted.facts)),
        default=None,
    )


def _missing(expectation: Expectation, observation: Observation, wanted: WantedCredential) -> Finding:
    count = len(observation.credentials)
    full = (
        f" The identity already holds {count} of {FIC_CAP} FICs: remove unused ones first."
        if count >= FIC_CAP
        else ""
    )
    assert observation.identity is not None
    reconcile = _fixes.reconcile(expectation.environment_id)
    fix = f"run `{reconcile}`.{full}"
    if not wanted.trusted:  # a reconcile makes FICs for trusted signers only: the policy must change first
        fix = (
            "add the signing certificate under trustedSigners in the policy (PPMI_POLICY_FILE) and deploy "
            f"it; ppmi then makes the FIC (`{reconcile}` does it at once).{full}"
        )
    return Finding(
        code="fic.missing",
        severity=Severity.ERROR,
        message=f"no FIC on the identity trusts {wanted.label}, so Entra refuses its token exchange",
        fix=fix,
        evidence=Evidence(
            expected=f"issuer {wanted.credential.issuer}, subject {wanted.credential.subject}, audience "
            f"{wanted.credential.audience}",
            actual=f"{count} FIC(s): " + ", ".join(c.name for c in observation.credentials)
            if count
            else "no FICs",
        ),
        resource=observation.identity.resource,
    )


def _subject_mismatch(
    expectation: Expectation, wanted: WantedCredential, found: ObservedCredential, version: int
) -> Finding:
    differences = subject_differences(wanted.credential.subject, found.subject, wanted.facts)
    return Finding(
        code="fic.subject_mismatch",
        severity=Severity.ERROR,
        message=f"FIC {found.name} has the wrong subject for {wanted.label} ({differing(differences)}), "
        "so Entra refuses the token exchange (AADSTS700213)",
        fix=_fixes.upgrade_or_reconcile(expectation.environment_id, version, expectation.format_version),
        evidence=Evidence(
            expected=wanted.credential.subject,
            actual=found.subject,
            details=tuple(d.explanation for d in differences),
        ),
        resource=found.name,
    )


def _wrong_issuer(
    expectation: Expectation, wanted: WantedCredential, found: ObservedCredential, version: int
) -> Finding:
    expected = wanted.credential.issuer
    if found.issuer == legacy_issuer(expectation.environment_id):
        detail = f"the legacy (format 0) issuer, but the row says version {version}"
    elif version == 0:
        detail = "the current (version 1 and 2) issuer, but a version 0 row makes Entra expect the legacy one"
    else:
        detail = "another tenant, cloud or endpoint form than the tenant's Entra v2.0 issuer"
    return Finding(
        code="fic.wrong_issuer",
        severity=Severity.ERROR,
        message=f"FIC {found.name} has the wrong issuer for {wanted.label} ({detail})",
        fix=_fixes.upgrade_or_reconcile(expectation.environment_id, version, expectation.format_version),
        evidence=Evidence(expected=expected, actual=found.issuer, details=(detail,)),
        resource=found.name,
    )


def _audience(expectation: Expectation, wanted: WantedCredential, found: ObservedCredential) -> list[Finding]:
    expected = wanted.credential.audience
    if found.audiences == (expected,):
        return []
    actual = ", ".join(found.audiences) or "(none)"
    casing = len(found.audiences) == 1 and found.audiences[0].lower() == expected.lower()
    if casing:
        code, message = (
            "fic.audience_casing",
            f"FIC {found.name} has the audience {actual}, which differs from {expected} only in letter case; "
            "Entra compares it case-sensitively",
        )
    else:
        code, message = "fic.wrong_audience", f"FIC {found.name} has the audience {actual}, not {expected}"
    return [
        Finding(
            code=code,
            severity=Severity.ERROR,
            message=message,
            fix=f"run `{_fixes.reconcile(expectation.environment_id)}` to write the audience {expected}",
            evidence=Evidence(expected=expected, actual=actual),
            resource=found.name,
        )
    ]


def _capacity(expectation: Expectation, observation: Observation) -> list[Finding]:
    count = len(observation.credentials)
    threshold = FIC_CAP - max(expectation.headroom, 1)
    if count < threshold or observation.identity is None:
        return []
    return [
        Finding(
            code="fic.near_limit",
            severity=Severity.WARNING,
            message=f"the identity holds {count} of the {FIC_CAP} FICs Entra allows; new signers or "
            "environments will not fit",
            fix="remove FICs for retired signers or environments (ppmi names them "
            "ppmi-<environment>-<signer>), or use the shared-pool strategy, which opens a new identity "
            "when one is full",
            evidence=Evidence(expected=f"fewer than {threshold}", actual=str(count)),
            resource=observation.identity.resource,
        )
    ]
