"""Helpers for the sandbox's own tests: authenticated clients for each stand-in over real HTTPS."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sandbox.server import Sandbox

ARM = "https://management.azure.com"
MSI_VERSION = {"api-version": "2024-11-30"}
ODATA_HEADERS = {"OData-MaxVersion": "4.0", "OData-Version": "4.0", "Accept": "application/json"}


@pytest.fixture
def arm(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with sandbox.client(ARM, base_url=ARM) as client:
        yield client


@pytest.fixture
def identities_url(sandbox: Sandbox) -> str:
    subscription = sandbox.env["PPMI_SUBSCRIPTION_ID"]
    return (
        f"/subscriptions/{subscription}/resourceGroups/rg-ppmi/providers/"
        "Microsoft.ManagedIdentity/userAssignedIdentities"
    )


def fic_body(subject: str, issuer: str = "https://login.microsoftonline.com/t/v2.0") -> dict[str, object]:
    return {"properties": {"issuer": issuer, "subject": subject, "audiences": ["api://AzureADTokenExchange"]}}
