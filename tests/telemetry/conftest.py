"""Runs one unit of work through the real exporters into the sandbox's ingestion stand-in."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from azure.identity import ManagedIdentityCredential
from azure.identity.aio import ManagedIdentityCredential as AsyncManagedIdentityCredential

from sandbox.server import Sandbox
from shared.http import build_transport
from shared.settings import ConnectTo
from shared.telemetry import (
    get_logger,
    instrument_http_client,
    message_scope,
    record_fic_capacity,
    record_kept_message,
    record_retry,
    step_span,
)
from shared.telemetry.testing import exporting_to

SEEDED_SAS_SIGNATURE = "c2VlZGVkLXNhcy1zaWduYXR1cmU"
SEEDED_QUERY_TOKEN = "c2VlZGVkLXF1ZXJ5LXRva2Vu"
SEEDED_ACCOUNT_KEY = "c2VlZGVkLWFjY291bnQta2V5"
SEEDED_SERVICE_BUS_KEY = "c2VlZGVkLWJ1cy1rZXk="
SEEDED_CLIENT_SECRET = "abc8Q~c2VlZGVkLWNsaWVudC1zZWNyZXQtdmFsdWU"
PRIVATE_KEY_HEADER = "-----BEGIN PRIVATE KEY-----"
SEEDED_KEY_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDseeded"


@dataclass(frozen=True)
class ProcessedUnit:
    """What one processed message sent to Application Insights, plus the secrets it handled on the way."""

    envelopes: list[dict[str, Any]]
    authenticated: list[bool]
    secrets: list[str]

    def of_type(self, base_type: str) -> list[dict[str, Any]]:
        return [e for e in self.envelopes if e["data"]["baseType"] == base_type]

    def metrics(self, name: str) -> list[dict[str, Any]]:
        return [
            {**metric, "properties": envelope["data"]["baseData"].get("properties", {})}
            for envelope in self.of_type("MetricData")
            for metric in envelope["data"]["baseData"]["metrics"]
            if metric["name"] == name
        ]


async def _process_one_message(sandbox: Sandbox) -> list[str]:
    """A message with two steps and calls to ARM (with a token) and Graph (without), seeded with secrets."""
    env = sandbox.env
    log = get_logger("tests.telemetry")
    host, port = env["PPMI_CONNECT_TO"].rsplit(":", 1)
    transport = build_transport(ConnectTo(host=host, port=int(port)), sandbox.ca_path)
    identities = (
        f"https://management.azure.com/subscriptions/{env['PPMI_SUBSCRIPTION_ID']}/resourceGroups/rg-ppmi"
        "/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
    )
    async with (
        httpx.AsyncClient(transport=transport) as client,
        AsyncManagedIdentityCredential(client_id=env["AZURE_CLIENT_ID"]) as credential,
    ):
        instrument_http_client(client)
        with message_scope(
            event_id="evt-0001",
            event_type="ppmi.environment.created",
            environment_id="7efcc31a-c410-e20e-9b95-dd448cedf653",
            identity_key="ppmi-7efcc31a",
            attempt=2,
            queue="ppmi-work",
            enqueued_time=datetime.now(UTC) - timedelta(seconds=3),
            message_id="msg-0001",
        ) as message:
            with step_span("ensure_identity", "ppmi-7efcc31a") as step:
                token = (await credential.get_token("https://management.azure.com/.default")).token
                log.info("token.acquired", authorization=f"Bearer {token}", detail=f"raw {token}")
                response = await client.get(
                    identities,
                    params={
                        "api-version": "2024-11-30",
                        "sig": SEEDED_SAS_SIGNATURE,
                        "access_token": SEEDED_QUERY_TOKEN,
                    },
                    headers={"Authorization": f"Bearer {token}"},
                )
                record_retry("arm", "429")
                step.set_outcome("unchanged" if response.status_code == 200 else "failed")
            with step_span("ensure_fic", "signer-1") as step:
                await client.get("https://graph.microsoft.com/v1.0/applications")
                log.warning(
                    "connection.seen",
                    connection=f"Endpoint=sb://ns/;SharedAccessKeyName=k;SharedAccessKey={SEEDED_SERVICE_BUS_KEY}",
                    note=f"client_secret={SEEDED_CLIENT_SECRET}, {PRIVATE_KEY_HEADER}\n{SEEDED_KEY_BODY}",
                )
                logging.getLogger("ppmi.legacy").warning("retrying with %s", f"Authorization: Bearer {token}")
                record_fic_capacity("ppmi-7efcc31a", 19)
                step.set_outcome("skipped", f"not needed; key was SharedAccessKey={SEEDED_SERVICE_BUS_KEY}")
            record_kept_message("invalid-input")
            message.set_outcome("succeeded")
    return [
        token,
        SEEDED_SAS_SIGNATURE,
        SEEDED_QUERY_TOKEN,
        SEEDED_SERVICE_BUS_KEY,
        SEEDED_CLIENT_SECRET,
        SEEDED_KEY_BODY,
    ]


def _settle_unhappy_messages() -> None:
    """A rejected message and one that fails with an exception whose text quotes a secret."""
    common: dict[str, Any] = {
        "environment_id": "0c1d2e3f-0000-4000-8000-000000000001",
        "identity_key": "ppmi-0c1d2e3f",
        "attempt": 1,
        "queue": "ppmi-work",
        "enqueued_time": datetime.now(UTC),
        "message_id": None,
    }
    with message_scope(event_id="evt-0002", event_type="ppmi.pluginpackage.registered", **common) as message:
        message.set_outcome("rejected", "untrusted signer")
    with (
        contextlib.suppress(RuntimeError),
        message_scope(event_id="evt-0003", event_type="ppmi.environment.deleted", **common),
        step_span("remove_identity", "ppmi-0c1d2e3f"),
    ):
        raise RuntimeError(f"ARM refused; AccountKey={SEEDED_ACCOUNT_KEY}")


def _export(sandbox: Sandbox, work: Callable[[], list[str]]) -> ProcessedUnit:
    """Run *work* with telemetry exported to the sandbox, Entra-authenticated, and collect what arrived."""
    exporter_credential = ManagedIdentityCredential(client_id=sandbox.env["AZURE_CLIENT_ID"])
    # The exporter joins the endpoint and `/v2.1/track` with a doubled slash when the endpoint ends in `/`;
    # Azure accepts that, the stand-in routes it elsewhere, so the test names the endpoint without it.
    connection_string = sandbox.env["APPLICATIONINSIGHTS_CONNECTION_STRING"].rstrip("/")
    with exporting_to(connection_string, credential=exporter_credential):
        secrets = work()
    telemetry = sandbox.call_in_loop(lambda: list(sandbox.runtime.state.telemetry))
    return ProcessedUnit(
        envelopes=[item.envelope for item in telemetry],
        authenticated=[item.authenticated for item in telemetry],
        secrets=[*secrets, sandbox.env["IDENTITY_HEADER"]],
    )


@pytest.fixture
def processed_unit(sandbox: Sandbox) -> ProcessedUnit:
    """One successful message with two steps and three HTTP calls."""
    return _export(sandbox, lambda: asyncio.run(_process_one_message(sandbox)))


@pytest.fixture(scope="module")
def every_outcome(sandbox_session: Sandbox) -> Iterator[ProcessedUnit]:
    """The successful message plus a rejected one and a failing one: every kind of envelope the code emits."""

    def work() -> list[str]:
        secrets = asyncio.run(_process_one_message(sandbox_session))
        _settle_unhappy_messages()
        return [*secrets, SEEDED_ACCOUNT_KEY]

    with pytest.MonkeyPatch.context() as monkeypatch:
        sandbox_session.reset()
        for name, value in sandbox_session.env.items():
            monkeypatch.setenv(name, value)
        yield _export(sandbox_session, work)
