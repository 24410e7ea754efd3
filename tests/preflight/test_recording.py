"""`--record`: the replies preflight saw, as cassettes like contracts/recordings/, nothing of the tenant."""

from __future__ import annotations

import asyncio
import hashlib
import re
from pathlib import Path

import pytest

from shared.auth import CachedTokens
from shared.fic import encode_guid
from tests.contracts.cassettes import interactions
from tests.diagnosis.conftest import provision_environment
from tests.preflight.conftest import Tenant

GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


@pytest.fixture
def issued(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every bearer token the run is given (the real credential still fetches them)."""
    tokens: list[str] = []
    fetch = CachedTokens.token

    async def keep(self: CachedTokens, scope: str) -> str:
        token = await fetch(self, scope)
        tokens.append(token)
        return token

    monkeypatch.setattr(CachedTokens, "token", keep)
    return tokens


def _used_by_the_sandbox(tenant: Tenant) -> set[str]:
    """Every ID and name the sandbox's state holds for this tenant, with the IDs' other spellings."""
    state = tenant.sandbox.control.dump()
    values = {state["tenantId"], state["subscriptionId"], tenant.sandbox.env["AZURE_CLIENT_ID"]}
    values |= {"rg-ppmi-identities", "rg-kv", "kv-demo", "ppmi-demo"}
    for identity in state["identities"]:
        values |= {
            identity["name"],
            identity["properties"]["clientId"],
            identity["properties"]["principalId"],
        }
        values |= {fic["name"] for fic in identity["federatedIdentityCredentials"]}
    for environment in tenant.sandbox.runtime.state.environments.values():
        values |= {environment.id, environment.display_name}
        if environment.organization is not None:
            organization = environment.organization
            values |= {organization.id, organization.host, organization.unique_name}
            for table in organization.tables.values():
                for row in table.values():
                    values |= {str(v) for v in row.values() if isinstance(v, str) and len(v) > 3}
    values |= {hashlib.sha256(tenant.certificate).hexdigest()}
    guids = {v for v in values if GUID.fullmatch(v)}
    values |= {encode_guid(g) for g in guids} | {g.replace("-", "") for g in guids}
    return {v for v in values if v and v not in {"true", "false"} and not v.startswith("20")}


def test_the_recording_holds_no_id_name_or_token_the_sandbox_used(
    tenant: Tenant, tmp_path: Path, issued: list[str]
) -> None:
    asyncio.run(provision_environment(tenant.environment_id, tenant.package_id, tenant.certificate))
    recording = tmp_path / "recording"

    tenant.run(record_to=recording)

    text = "\n".join(path.read_text(encoding="utf-8") for path in sorted(recording.iterdir())).lower()
    secrets = _used_by_the_sandbox(tenant) | set(issued)
    assert issued
    assert len(secrets) > 30
    leaked = sorted(value for value in secrets if value.lower() in text)
    assert leaked == []


def test_the_cassettes_read_as_the_contract_recordings_do_and_the_manifest_lists_them(
    tenant: Tenant, tmp_path: Path
) -> None:
    recording = tmp_path / "recording"

    report = tenant.run(tenant.environment_id, record_to=recording)

    cassettes = sorted(recording.glob("*.yaml"))
    assert [path.name for path in cassettes] == [
        "preflight.arm.yaml",
        "preflight.dataverse.yaml",
        "preflight.environments.yaml",
    ]
    replies = [interaction for path in cassettes for interaction in interactions(path)]
    assert {reply.method for reply in replies} == {"GET"}
    assert all(reply.status == 200 for reply in replies)
    assert any(
        reply.url.endswith("/providers/Microsoft.Authorization/permissions?api-version=2022-04-01")
        and reply.body["value"]
        for reply in replies
    )
    manifest = (recording / "MANIFEST.md").read_text(encoding="utf-8")
    assert "| File | Kind | Source (repo / path@commit or URL) | Licence | What it is / notes |" in manifest
    assert all(f"| `{path.name}` | real capture (redacted) |" in manifest for path in cassettes)
    assert report.recorded_to == str(recording)


def test_the_same_value_gets_the_same_placeholder_everywhere(tenant: Tenant, tmp_path: Path) -> None:
    recording = tmp_path / "recording"

    tenant.run(tenant.environment_id, record_to=recording)

    arm = (recording / "preflight.arm.yaml").read_text(encoding="utf-8")
    subscription = re.findall(r"/subscriptions/([0-9a-f-]{36})/", arm)
    assert subscription
    assert set(subscription) == {subscription[0]}
    assert subscription[0].startswith("00000000-0000-0000-0000-")
