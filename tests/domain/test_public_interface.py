"""The names other modules import from the domain core stay where they are."""

from __future__ import annotations

import shared.events
import shared.fic
import shared.policy


def test_fic_exports_the_documented_names() -> None:
    assert {
        "PPMI_APP_ID",
        "Cloud",
        "encode_guid",
        "SigningCertificate",
        "load_certificate",
        "CertificateError",
        "Signer",
        "FederatedCredential",
        "federated_credential",
        "federated_credential_name",
        "legacy_issuer",
    } <= set(shared.fic.__all__)


def test_events_export_the_documented_names() -> None:
    assert {
        "parse_event",
        "Event",
        "new_event",
        "ResultEvent",
        "result_for",
        "EVENT_TYPES",
        "EventValidationError",
    } <= set(shared.events.__all__)


def test_policy_exports_the_documented_names() -> None:
    for name in ("load_policy", "parse_policy", "Policy", "PolicyError", "TrustedSigner"):
        assert hasattr(shared.policy, name)
    assert {"ppmi.environment.created", "ppmi.identity.upgrade"} <= set(shared.events.EVENT_TYPES)
