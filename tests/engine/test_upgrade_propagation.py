"""An upgrade that creates FICs waits for Entra to propagate them before the row asks for them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sandbox.server import Sandbox
from shared.cli import main
from shared.engine import open_runtime, process
from shared.engine._naming import propagation_tag
from shared.errors import PropagationPending, TransientError
from shared.events import Event, parse_event
from shared.messaging.config import MessagingSettings
from shared.messaging.disposition import Outcome
from shared.messaging.envelope import WORK_QUEUE, IncomingMessage
from shared.messaging.processing import provision
from shared.settings import Settings
from tests.domain.certificates import ca_issued_der
from tests.engine.conftest import FAST_BACKOFF, PolicyWriter, event, succeed

PROPAGATION = "PPMI_FIC_PROPAGATION_SECONDS"


def _row_version(sandbox: Sandbox, environment_id: str) -> int:
    (row,) = sandbox.control.rows(environment_id, "managedidentities")
    return int(row["version"])


def _tags(sandbox: Sandbox) -> dict[str, str]:
    (identity,) = sandbox.control.dump()["identities"]
    return dict(identity.get("tags") or {})


def _retag(sandbox: Sandbox, tags: dict[str, str]) -> None:
    """Set the identity's tags through ARM, as the portal or `az tag` would."""
    (identity,) = sandbox.control.dump()["identities"]
    arm_url = "https://management.azure.com"
    with sandbox.client(arm_url, base_url=arm_url) as arm:
        reply = arm.put(
            str(identity["id"]),
            params={"api-version": "2024-11-30"},
            json={"location": identity["location"], "tags": tags},
        )
        reply.raise_for_status()


def backdate_record(sandbox: Sandbox, environment_id: str, *, seconds: float) -> None:
    """The record of when the new FICs were made, moved `seconds` into the past: time passing, quickly."""
    moment = datetime.now(UTC) - timedelta(seconds=seconds)
    _retag(sandbox, {**_tags(sandbox), propagation_tag(environment_id): moment.isoformat()})


def _drop_record(sandbox: Sandbox, environment_id: str) -> None:
    _retag(sandbox, {k: v for k, v in _tags(sandbox).items() if k != propagation_tag(environment_id)})


def _subjects(sandbox: Sandbox) -> list[str]:
    (identity,) = sandbox.control.dump()["identities"]
    return sorted(fic["properties"]["subject"] for fic in identity["federatedIdentityCredentials"])


async def format_1_environment(sandbox: Sandbox, write_policy: PolicyWriter, signer: bytes) -> str:
    environment = sandbox.control.create_environment(display_name="Format 1")
    async with open_runtime(
        Settings.from_env(), write_policy(trusted=[signer], extra="formatVersion: 1"), backoff=FAST_BACKOFF
    ) as runtime:
        await succeed(runtime, event("environment.created", environment.id))
    return environment.id


async def upgrade_of_format_1(
    sandbox: Sandbox, write_policy: PolicyWriter, monkeypatch: pytest.MonkeyPatch
) -> tuple[bytes, str, Event]:
    """A CA-issued signer's format 1 environment (its format 2 subject differs), the wait at 300 s, and
    the upgrade event: (signer, environment ID, event)."""
    leaf = ca_issued_der().leaf_der
    environment_id = await format_1_environment(sandbox, write_policy, leaf)
    monkeypatch.setenv(PROPAGATION, "300")
    return leaf, environment_id, event("identity.upgrade", environment_id, targetVersion=2)


async def test_the_row_keeps_its_version_until_the_new_fic_has_had_time_to_propagate(
    sandbox: Sandbox, write_policy: PolicyWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    leaf, environment_id, upgrade = await upgrade_of_format_1(sandbox, write_policy, monkeypatch)
    (v1_subject,) = _subjects(sandbox)

    async with open_runtime(Settings.from_env(), write_policy(trusted=[leaf]), backoff=FAST_BACKOFF) as rt:
        with pytest.raises(PropagationPending) as pending:
            await process(upgrade, rt)
        assert pending.value.retry_after == 300
        # The new FIC is there; the row still asks for the old one, which is still there too.
        assert len(_subjects(sandbox)) == 2
        assert v1_subject in _subjects(sandbox)
        assert _row_version(sandbox, environment_id) == 1

        # Tried again at once (a restart, another instance): the wait recorded on the identity still holds.
        with pytest.raises(PropagationPending) as again:
            await process(upgrade, rt)
        assert 0 < again.value.retry_after <= 300
        assert _row_version(sandbox, environment_id) == 1

    # Once the whole wait has passed since the FIC was made, the row moves, the old FIC and the record go.
    backdate_record(sandbox, environment_id, seconds=301)
    async with open_runtime(Settings.from_env(), write_policy(trusted=[leaf]), backoff=FAST_BACKOFF) as rt:
        finished = await process(upgrade, rt)
    assert finished.outcome == "succeeded", finished.reason
    assert _row_version(sandbox, environment_id) == 2
    (v2_subject,) = _subjects(sandbox)
    assert v2_subject != v1_subject
    assert propagation_tag(environment_id) not in _tags(sandbox)


async def test_new_fics_found_without_a_record_are_recorded_and_waited_for_in_full(
    sandbox: Sandbox, write_policy: PolicyWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    leaf, environment_id, upgrade = await upgrade_of_format_1(sandbox, write_policy, monkeypatch)
    async with open_runtime(Settings.from_env(), write_policy(trusted=[leaf]), backoff=FAST_BACKOFF) as rt:
        with pytest.raises(PropagationPending):
            await process(upgrade, rt)
    _drop_record(sandbox, environment_id)  # as if the run stopped between creating the FIC and tagging

    async with open_runtime(Settings.from_env(), write_policy(trusted=[leaf]), backoff=FAST_BACKOFF) as rt:
        with pytest.raises(PropagationPending) as pending:
            await process(upgrade, rt)

    assert pending.value.retry_after == 300
    assert propagation_tag(environment_id) in _tags(sandbox)
    assert _row_version(sandbox, environment_id) == 1


async def test_through_service_bus_the_upgrade_is_rescheduled_on_its_session_for_after_the_wait(
    sandbox: Sandbox, write_policy: PolicyWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    leaf, environment_id, upgrade = await upgrade_of_format_1(sandbox, write_policy, monkeypatch)
    message = IncomingMessage(
        queue=WORK_QUEUE,
        body=upgrade.to_json(),
        message_id=upgrade.id,
        properties={},
        session_id=environment_id,
        reply_to_session_id="pipeline",
        correlation_id=upgrade.id,
    )
    now = datetime.now(UTC)

    async with open_runtime(Settings.from_env(), write_policy(trusted=[leaf]), backoff=FAST_BACKOFF) as rt:
        disposition = await provision(message, rt, MessagingSettings(), now)

    assert disposition.outcome is Outcome.RETRY_SCHEDULED
    assert "propagate" in disposition.reason
    (again,) = disposition.messages
    assert again.session_id == environment_id
    assert again.scheduled_enqueue_time is not None
    assert again.scheduled_enqueue_time >= now + timedelta(seconds=300)
    assert parse_event(again.body).id == upgrade.id
    assert _row_version(sandbox, environment_id) == 1


def test_ppmi_upgrade_waits_out_the_propagation_and_finishes(
    sandbox: Sandbox,
    write_policy: PolicyWriter,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    leaf = ca_issued_der().leaf_der
    environment_id = asyncio.run(format_1_environment(sandbox, write_policy, leaf))
    write_policy(trusted=[leaf])
    monkeypatch.setenv("PPMI_POLICY_FILE", str(tmp_path / "policy.yaml"))
    monkeypatch.setenv(PROPAGATION, "0.2")

    code = main(["upgrade", "--environment-id", environment_id])

    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "Entra has had 0 s to propagate it" in printed.err  # said why it waited
    assert "succeeded" in printed.out
    assert _row_version(sandbox, environment_id) == 2
    assert len(_subjects(sandbox)) == 1


def test_the_wait_is_a_setting_that_can_be_turned_off_but_not_negative() -> None:
    assert Settings.from_env({}).fic_propagation_seconds == 300
    assert Settings.from_env({PROPAGATION: "0"}).fic_propagation_seconds == 0
    with pytest.raises(Exception, match=PROPAGATION):
        Settings.from_env({PROPAGATION: "-1"})
    assert issubclass(PropagationPending, TransientError)
