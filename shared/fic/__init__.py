"""FIC values for Dataverse plug-ins: issuer, subject and audience, signer facts and .NET-rendered names."""

from shared.fic._certificate_files import CertificateError
from shared.fic._certificates import Signer, SigningCertificate, load_certificate
from shared.fic._names import common_name, render_name
from shared.fic._values import (
    FORMAT_VERSIONS,
    MAX_VALUE_LENGTH,
    PPMI_APP_ID,
    Cloud,
    FederatedCredential,
    FederatedCredentialError,
    SubjectEnvironmentSegment,
    audience_for,
    encode_guid,
    federated_credential,
    federated_credential_name,
    issuer_for,
    legacy_issuer,
    subject_prefix_for,
)

__all__ = [
    "FORMAT_VERSIONS",
    "MAX_VALUE_LENGTH",
    "PPMI_APP_ID",
    "CertificateError",
    "Cloud",
    "FederatedCredential",
    "FederatedCredentialError",
    "Signer",
    "SigningCertificate",
    "SubjectEnvironmentSegment",
    "audience_for",
    "common_name",
    "encode_guid",
    "federated_credential",
    "federated_credential_name",
    "issuer_for",
    "legacy_issuer",
    "load_certificate",
    "render_name",
    "subject_prefix_for",
]
