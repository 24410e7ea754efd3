"""Why a plug-in gets no token: the chain identity → FIC → row → binding → grants, checked link by link."""

from shared.diagnosis._checks import diagnose
from shared.diagnosis._connectors import verify_connector
from shared.diagnosis._findings import Checked, Evidence, Finding, FindingTally, Report, Severity
from shared.diagnosis._rendering import finding_lines, render_text
from shared.diagnosis._state import (
    ComponentTarget,
    DataverseRefusal,
    Expectation,
    ExpectedGrant,
    ExpectedSigner,
    Observation,
    ObservedComponent,
    ObservedCredential,
    ObservedGrant,
    ObservedIdentity,
    ObservedRow,
)
from shared.diagnosis._status import EnvironmentStatus, GrantStatus, RowStatus, survey
from shared.diagnosis._subjects import SegmentDifference, SubjectFacts, parse_subject, subject_differences
from shared.diagnosis._vaults import policy_vault_warnings
from shared.diagnosis._verify import verify

__all__ = [
    "Checked",
    "ComponentTarget",
    "DataverseRefusal",
    "EnvironmentStatus",
    "Evidence",
    "Expectation",
    "ExpectedGrant",
    "ExpectedSigner",
    "Finding",
    "FindingTally",
    "GrantStatus",
    "Observation",
    "ObservedComponent",
    "ObservedCredential",
    "ObservedGrant",
    "ObservedIdentity",
    "ObservedRow",
    "Report",
    "RowStatus",
    "SegmentDifference",
    "Severity",
    "SubjectFacts",
    "diagnose",
    "finding_lines",
    "parse_subject",
    "policy_vault_warnings",
    "render_text",
    "subject_differences",
    "survey",
    "verify",
    "verify_connector",
]
