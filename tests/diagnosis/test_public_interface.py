"""The diagnosis package's public names are what `ppmi verify` and other callers import."""

import shared.diagnosis


def test_the_public_interface_is_pinned() -> None:
    assert set(shared.diagnosis.__all__) == {
        "Checked",
        "ComponentTarget",
        "DataverseRefusal",
        "EnvironmentStatus",
        "Evidence",
        "ExpectedGrant",
        "ExpectedSigner",
        "GrantStatus",
        "Expectation",
        "Finding",
        "FindingTally",
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
    }
    assert all(hasattr(shared.diagnosis, name) for name in shared.diagnosis.__all__)
