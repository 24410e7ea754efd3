"""`ppmi demo`: FIC values for a self-signed and a CA-issued signer made on the spot, to see the shapes."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from shared.fic import Signer, federated_credential, federated_credential_name, load_certificate

DEMO_TENANT = "7f2c1900-9fd4-4b89-91d3-79a649996f0a"
DEMO_ENVIRONMENT = "7efcc31a-c410-e20e-9b95-dd448cedf653"

EPILOG = """\
examples:
  ppmi demo

Certificates are generated in memory and thrown away; nothing is sent anywhere.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="show FIC values for generated sample signers",
        description="Generate a self-signed and a CA-issued signing certificate in memory and print the FIC "
        "values each needs in a sample environment.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.set_defaults(func=_demo)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Contoso, Ltd."),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _certificate(
    subject: x509.Name,
    issuer: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    signing_key: ec.EllipticCurvePrivateKey,
) -> bytes:
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=365))
        .sign(signing_key, hashes.SHA256())
        .public_bytes(Encoding.DER)
    )


def _sample_signers() -> list[tuple[str, Signer]]:
    own_key = ec.generate_private_key(ec.SECP256R1())
    self_signed = _certificate(_name("Contoso Plug-ins"), _name("Contoso Plug-ins"), own_key, own_key)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = _certificate(_name("Contoso Signing"), _name("Contoso Code Signing CA"), leaf_key, ca_key)
    return [
        ("self-signed", Signer.from_certificate(load_certificate(self_signed))),
        ("CA-issued", Signer.from_certificate(load_certificate(leaf))),
    ]


def _demo(args: argparse.Namespace) -> int:
    print(f"tenant       {DEMO_TENANT}\nenvironment  {DEMO_ENVIRONMENT}")
    for label, signer in _sample_signers():
        credential = federated_credential(
            tenant_id=DEMO_TENANT, environment_id=DEMO_ENVIRONMENT, signer=signer
        )
        print(f"\n{label} signer")
        if signer.self_signed:
            print(f"  certificate  SHA-256 {signer.sha256_hex}")
        else:
            print(f"  issuer DN    {signer.issuer_name}\n  subject DN   {signer.subject_name}")
        print(f"  FIC name     {federated_credential_name(DEMO_ENVIRONMENT, signer)}")
        print(f"  issuer       {credential.issuer}")
        print(f"  subject      {credential.subject}")
        print(f"  audience     {credential.audience}")
    return 0
