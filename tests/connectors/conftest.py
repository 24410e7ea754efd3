"""A policy that lets connectors use one sandbox app registration, and events as Power Platform would send."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from sandbox.control import ApplicationInfo
from sandbox.server import Sandbox
from shared.engine import Runtime, open_runtime
from shared.events import Event, new_event
from shared.fic import encode_guid
from shared.policy import Policy
from shared.settings import Settings
from tests.engine.conftest import FAST_BACKOFF, PolicyWriter, signers, write_policy

__all__ = ["signers", "write_policy"]  # the engine's fixtures, shared with these tests

REDIRECT = "https://global.consent.azure-apim.net/redirect/cr7f1-5fcontoso-20weather-5fe0d1c2b3a4"
# The shape of a connector subject as the maker copies it; only its opening is checked (UNCONFIRMED).
CONNECTOR_APP = "7a2d4c1e-9b3f-4e6a-8d5c-2f1e0b9a8c7d"


def connector_subject(
    tenant_id: str, connector_id: str, *, environment_id: str = "", cloud_code: str = "pub"
) -> str:
    """Each connector in each environment has its own subject; only the opening is checked (UNCONFIRMED)."""
    return (
        f"/eid1/c/{cloud_code}/t/{encode_guid(tenant_id)}/a/{encode_guid(CONNECTOR_APP)}"
        f"/weu-001_{connector_id}-{environment_id[:6]}-81d0e3"
    )


def connector_event(
    sandbox: Sandbox,
    application: ApplicationInfo,
    environment_id: str,
    connector_id: str,
    *,
    kind: str = "registered",
    reply_session: str | None = None,
    **overrides: Any,
) -> Event:
    tenant = sandbox.env["PPMI_TENANT_ID"]
    data: dict[str, Any] = {
        "environmentId": environment_id,
        "connectorId": connector_id,
        "applicationId": application.app_id,
    }
    if kind == "registered":
        data |= {
            "issuer": f"https://login.microsoftonline.com/{tenant}/v2.0",
            "subject": connector_subject(tenant, connector_id, environment_id=environment_id),
            "redirectUrl": REDIRECT,
        }
    data |= overrides
    data = {key: value for key, value in data.items() if value is not None}
    return new_event(f"ppmi.connector.{kind}", data, source="/tests/connectors", reply_session=reply_session)


@pytest.fixture
def connector_app(sandbox: Sandbox) -> ApplicationInfo:
    return sandbox.control.create_application("Contoso connectors", app_id=str(uuid.uuid4()))


@pytest.fixture
def connector_policy(write_policy: PolicyWriter, connector_app: ApplicationInfo) -> Policy:
    return write_policy(extra=connectors_section(connector_app))


def connectors_section(application: ApplicationInfo) -> str:
    return (
        "connectors:\n"
        "  applications:\n"
        f"    - applicationId: {application.app_id}\n"
        f"      objectId: {application.object_id}\n"
        "      name: Contoso connectors\n"
    )


@pytest.fixture
async def connector_runtime(sandbox: Sandbox, connector_policy: Policy) -> AsyncIterator[Runtime]:
    sandbox.configure(fic_write_hold_seconds=0.0)
    async with open_runtime(Settings.from_env(), connector_policy, backoff=FAST_BACKOFF) as opened:
        yield opened


async def add_hand_made_fics(sandbox: Sandbox, application: ApplicationInfo, count: int) -> None:
    """FICs someone else put on the app (a deployment pipeline's), straight through Graph."""
    graph = "https://graph.microsoft.com"
    async with sandbox.async_client(graph, base_url=graph) as client:
        for number in range(count):
            body = {
                "name": f"github-deploy-{number}",
                "issuer": "https://token.actions.githubusercontent.com",
                "subject": f"repo:contoso/connectors:environment:stage-{number}",
                "audiences": ["api://AzureADTokenExchange"],
            }
            reply = await client.post(
                f"/v1.0/applications/{application.object_id}/federatedIdentityCredentials", json=body
            )
            reply.raise_for_status()


def application_state(sandbox: Sandbox, application: ApplicationInfo) -> dict[str, Any]:
    (found,) = [a for a in sandbox.control.dump()["applications"] if a["objectId"] == application.object_id]
    return dict(found)
