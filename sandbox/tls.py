"""A throwaway certificate authority and one leaf certificate covering every host name the sandbox answers."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme

DATAVERSE_SUFFIXES = (
    "crm.dynamics.com",
    "crm4.dynamics.com",
    *(f"crm{n}.dynamics.com" for n in range(2, 23)),
)
SANDBOX_HOST_NAMES = (
    "management.azure.com",
    "graph.microsoft.com",
    "api.powerplatform.com",
    "api.bap.microsoft.com",
    "dc.applicationinsights.azure.com",
    *(f"*.{suffix}" for suffix in dict.fromkeys(DATAVERSE_SUFFIXES)),
    "127.0.0.1",
    "localhost",
)


@dataclass(frozen=True)
class SandboxTls:
    ca_path: Path
    server_context: ssl.SSLContext


def make_tls(state_dir: Path) -> SandboxTls:
    """Write the CA certificate to `state_dir/ca.pem` and return a server context for the leaf."""
    ca = trustme.CA(organization_name="ppmi sandbox")
    leaf = ca.issue_cert(*SANDBOX_HOST_NAMES, common_name="ppmi sandbox")
    state_dir.mkdir(parents=True, exist_ok=True)
    ca_path = state_dir / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(context)
    return SandboxTls(ca_path=ca_path, server_context=context)
