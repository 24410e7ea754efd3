"""Valid sample events for every type, as JSON documents a sender would post."""

from __future__ import annotations

import base64
import copy
from typing import Any

from tests.domain.certificates import ca_issued_der, self_signed_der

ENVIRONMENT = "7efcc31a-c410-e20e-9b95-dd448cedf653"
SELF_SIGNED_DER = self_signed_der()
CA_ISSUED = ca_issued_der()


def envelope(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": "3f1c2a5e-8d7b-4c1e-9a0b-1c2d3e4f5a6b",
        "source": "/alm/contoso/release-42",
        "type": event_type,
        "time": "2026-03-01T08:00:00Z",
        "datacontenttype": "application/json",
        "replysession": "pipeline-42",
        "data": data,
    }


def sample(event_type: str) -> dict[str, Any]:
    der = base64.b64encode(SELF_SIGNED_DER).decode()
    data: dict[str, dict[str, Any]] = {
        "ppmi.environment.created": {"environmentId": ENVIRONMENT},
        "ppmi.environment.reconcile": {"environmentId": ENVIRONMENT},
        "ppmi.environment.deleted": {"environmentId": ENVIRONMENT},
        "ppmi.pluginassembly.registered": {
            "environmentId": ENVIRONMENT,
            "pluginAssemblyId": "a1b2c3d4-0000-4000-8000-000000000001",
            "certificate": {"der": der},
        },
        "ppmi.pluginpackage.registered": {
            "environmentId": ENVIRONMENT,
            "pluginPackageId": "a1b2c3d4-0000-4000-8000-000000000002",
            "certificate": {
                "sha256": "ab" * 32,
                "issuerName": "CN=Contoso Code Signing CA, O=Contoso, C=US",
                "subjectName": "CN=Contoso Signing, O=Contoso, C=US",
            },
        },
        "ppmi.identity.upgrade": {"environmentId": ENVIRONMENT, "targetVersion": 2, "revert": False},
        "ppmi.connector.registered": {
            "environmentId": ENVIRONMENT,
            "connectorId": "shared_contoso-5fweather",
            "applicationId": "3b676527-d646-4775-971c-3df4e00b251b",
            "issuer": "https://login.microsoftonline.com/7f2c1900-9fd4-4b89-91d3-79a649996f0a/v2.0",
            "subject": "/eid1/c/pub/t/ABksf9SfiUuR03mmSZlvCg/a/Hkwtej-bak6NXC8eC5qMfQ/weu-001_weather",
            "redirectUrl": "https://global.consent.azure-apim.net/redirect/weather",
        },
        "ppmi.connector.deleted": {
            "environmentId": ENVIRONMENT,
            "connectorId": "shared_contoso-5fweather",
            "applicationId": "3b676527-d646-4775-971c-3df4e00b251b",
        },
    }
    return copy.deepcopy(envelope(event_type, data[event_type]))
