"""`ppmi publish` refuses hostile IDs locally, with the reason the service would give, sending nothing."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from shared.cli import main
from shared.cli.publish import EXIT_INVALID
from tests.security.canary import Canary
from tests.security.conftest import Signers
from tests.security.corpus import EVENT_CASES, PACKAGE_ID, CorpusContext, HostileEvent

CLI_CASES = [
    case
    for case in EVENT_CASES
    if case.cli_field is not None
    and isinstance(
        json.loads(case.build(CorpusContext("", "")))["data"].get(case.cli_field),
        str,
    )
]


@pytest.mark.parametrize("case", CLI_CASES, ids=[case.name for case in CLI_CASES])
def test_ppmi_publish_refuses_a_hostile_id_before_connecting(
    *,
    case: HostileEvent,
    signers: Signers,
    canary: Canary,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ServiceBusConnection__fullyQualifiedNamespace", canary.address)
    monkeypatch.setenv("PPMI_SERVICEBUS_TLS", "false")
    certificate = tmp_path / "signing.cer"
    certificate.write_bytes(signers.trusted)
    context = CorpusContext(base64.b64encode(signers.trusted).decode(), canary.address)
    data = json.loads(case.build(context))["data"]

    code = main(
        [
            "publish",
            "ppmi.pluginpackage.registered",
            "--environment-id",
            data["environmentId"],
            "--plugin-package-id",
            data.get("pluginPackageId", PACKAGE_ID),
            "--certificate",
            str(certificate),
        ]
    )

    assert code == EXIT_INVALID
    error = capsys.readouterr().err
    assert error.startswith("ppmi publish: invalid event: ")
    assert case.reason in error
    assert canary.hits == []


def test_the_publish_corpus_covers_environment_and_package_ids() -> None:
    assert {case.cli_field for case in CLI_CASES} == {"environmentId", "pluginPackageId"}
    assert len(CLI_CASES) >= 25
