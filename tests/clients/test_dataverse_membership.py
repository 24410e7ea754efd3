"""'Not an application user' is Dataverse's error code 0x80072560, not any 403."""

from __future__ import annotations

import pytest

from shared.clients.dataverse import DataverseClient
from shared.errors import PermanentServiceError
from shared.http import HttpClient
from tests.http.conftest import Reply, ScriptedServer

NOT_A_MEMBER = {"error": {"code": "0x80072560", "message": "The user is not a member of the organization."}}
MISSING_PRIVILEGE = {
    "error": {
        "code": "0x80040220",
        "message": "Principal user is missing prvReadSystemUser privilege.",
    }
}


async def test_not_a_member_of_the_organization_means_an_application_user_is_needed(
    http: HttpClient, server: ScriptedServer
) -> None:
    server.script = [Reply(403, NOT_A_MEMBER)]
    assert await DataverseClient(http, server.base_url).signed_in_as_application_user() is False


async def test_another_403_is_raised_instead_of_adding_the_user_again(
    http: HttpClient, server: ScriptedServer
) -> None:
    server.script = [Reply(403, MISSING_PRIVILEGE)]
    with pytest.raises(PermanentServiceError, match="0x80040220"):
        await DataverseClient(http, server.base_url).signed_in_as_application_user()


async def test_a_member_is_signed_in(http: HttpClient, server: ScriptedServer) -> None:
    server.script = [Reply(200, {"UserId": "00000000-0000-0000-0000-000000000001"})]
    assert await DataverseClient(http, server.base_url).signed_in_as_application_user() is True
