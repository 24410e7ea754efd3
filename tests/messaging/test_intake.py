"""The HTTP intake: who may post, and what is queued."""

from __future__ import annotations

import pytest

from shared.events import new_event
from shared.messaging.config import MessagingSettings
from shared.messaging.envelope import EVENTS_QUEUE
from shared.messaging.intake import PRINCIPAL_HEADER, accept_event

PIPELINE = "0b7e4a1c-2d3f-4e5a-8b9c-0d1e2f3a4b5c"
EVENT = new_event(
    "ppmi.environment.created",
    {"environmentId": "5f1c3a2e-7a11-4f3e-9d55-0b6a3f3e9c01"},
    source="/tests",
    reply_session="pipeline-9",
)
ENTRA_ONLY = MessagingSettings(intake_principals=frozenset({PIPELINE}), app_service_authentication=True)


def test_a_valid_event_is_queued_under_its_id_with_its_reply_session() -> None:
    reply = accept_event(EVENT.to_json(), {}, MessagingSettings())

    assert reply.status == 202
    assert reply.message is not None
    assert (reply.message.queue, reply.message.message_id) == (EVENTS_QUEUE, EVENT.id)
    assert reply.message.reply_to_session_id == "pipeline-9"


def test_an_invalid_event_is_refused_with_the_field_to_fix() -> None:
    reply = accept_event(b'{"specversion": "1.0"}', {}, MessagingSettings())

    assert reply.status == 400
    assert reply.message is None
    assert reply.body["error"]


def test_with_entra_required_only_listed_principals_may_post() -> None:
    anonymous = accept_event(EVENT.to_json(), {}, ENTRA_ONLY)
    stranger = accept_event(EVENT.to_json(), {"X-MS-CLIENT-PRINCIPAL-ID": "someone-else"}, ENTRA_ONLY)
    listed = accept_event(EVENT.to_json(), {PRINCIPAL_HEADER: PIPELINE.upper()}, ENTRA_ONLY)

    assert (anonymous.status, stranger.status, listed.status) == (401, 403, 202)
    assert anonymous.message is None
    assert stranger.message is None


def test_allowed_principals_are_read_from_the_app_setting() -> None:
    settings = MessagingSettings.from_env({"PPMI_INTAKE_ALLOWED_PRINCIPALS": f" {PIPELINE.upper()} , other "})

    assert settings.intake_principals == {PIPELINE, "other"}


@pytest.mark.parametrize(
    "headers",
    [
        {PRINCIPAL_HEADER: PIPELINE},
        {"X-MS-CLIENT-PRINCIPAL-ID": PIPELINE.upper()},
        {"x-ms-client-principal-id": f" {PIPELINE} ", "X-MS-CLIENT-PRINCIPAL-IDP": "aad"},
        {},
    ],
)
def test_without_app_service_authentication_the_principal_header_is_never_believed(
    headers: dict[str, str],
) -> None:
    """Anyone with the function key could write the header when the platform is not the one setting it."""
    settings = MessagingSettings(intake_principals=frozenset({PIPELINE}), app_service_authentication=False)

    reply = accept_event(EVENT.to_json(), headers, settings)

    assert reply.status == 503
    assert reply.message is None
    assert "WEBSITE_AUTH_ENABLED" in reply.body["error"]


@pytest.mark.parametrize(
    ("value", "enabled"), [("True", True), ("true", True), ("False", False), ("", False)]
)
def test_app_service_authentication_is_read_from_what_the_platform_injects(value: str, enabled: bool) -> None:
    settings = MessagingSettings.from_env({"WEBSITE_AUTH_ENABLED": value})

    assert settings.app_service_authentication is enabled


def test_a_refused_principal_is_not_repeated_unless_it_is_an_object_id() -> None:
    stranger = accept_event(EVENT.to_json(), {PRINCIPAL_HEADER: "<script>x</script>"}, ENTRA_ONLY)

    assert stranger.status == 403
    assert "script" not in stranger.body["error"]
