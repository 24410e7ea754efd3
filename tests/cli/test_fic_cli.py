"""`ppmi fic show` through the real command line entry point."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from shared.cli import main
from tests.domain.certificates import ca_issued_der, self_signed_der

TENANT = "7f2c1900-9fd4-4b89-91d3-79a649996f0a"
ENVIRONMENT = "7efcc31a-c410-e20e-9b95-dd448cedf653"
PREFIX = f"/eid1/c/pub/t/ABksf9SfiUuR03mmSZlvCg/a/qzXoWDkuqUa3l6zM5mM0Rw/n/plugin/e/{ENVIRONMENT}"


def show(certificate: Path, *extra: str) -> list[str]:
    return [
        "fic",
        "show",
        "--tenant-id",
        TENANT,
        "--environment-id",
        ENVIRONMENT,
        "--certificate",
        str(certificate),
        *extra,
    ]


def name_hash(rendered: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(rendered.encode()).digest()).decode().rstrip("=")


def test_json_output_holds_issuer_subject_and_audience(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    der = self_signed_der()
    (tmp_path / "signing.cer").write_bytes(der)

    code = main(show(tmp_path / "signing.cer", "--output", "json"))

    assert code == 0
    assert json.loads(capsys.readouterr().out) == {
        "issuer": f"https://login.microsoftonline.com/{TENANT}/v2.0",
        "subject": f"{PREFIX}/h/{hashlib.sha256(der).hexdigest()}",
        "audience": "api://AzureADTokenExchange",
    }


def test_text_output_reads_a_pem_file_and_labels_each_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    der = ca_issued_der().leaf_der
    pem = "-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(der).decode() + "-----END CERTIFICATE-----\n"
    (tmp_path / "leaf.pem").write_text(pem)

    code = main(show(tmp_path / "leaf.pem", "--cloud", "china"))

    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert lines[0] == f"issuer:    https://login.partner.microsoftonline.cn/{TENANT}/v2.0"
    assert lines[1].startswith("subject:   /eid1/c/chn/")
    assert lines[1].endswith(name_hash("CN=Contoso Signing, O=Contoso, C=US"))
    assert lines[2] == "audience:  api://AzureADTokenExchangeChina"


def test_names_given_on_the_command_line_are_hashed_as_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "leaf.cer").write_bytes(ca_issued_der().leaf_der)

    main(
        show(
            tmp_path / "leaf.cer",
            "--issuer-name",
            "CN=Given CA",
            "--subject-name",
            "CN=Given",
            "--output",
            "json",
        )
    )

    subject = json.loads(capsys.readouterr().out)["subject"]
    assert subject == f"{PREFIX}/i/{name_hash('CN=Given CA')}/s/{name_hash('CN=Given')}"


def test_missing_certificate_file_tells_the_user_what_to_give(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(show(tmp_path / "absent.cer"))

    assert code == 2
    assert "cannot read" in capsys.readouterr().err


def test_file_that_is_not_a_certificate_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes.txt").write_text("hello")

    code = main(show(tmp_path / "notes.txt"))

    assert code == 2
    assert "is not a certificate" in capsys.readouterr().err


def test_tenant_that_is_not_a_guid_is_refused_by_the_parser(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments = show(tmp_path / "x.cer")
    arguments[arguments.index(TENANT)] = "contoso.onmicrosoft.com"

    with pytest.raises(SystemExit) as exited:
        main(arguments)

    assert exited.value.code == 2
    assert "is not a GUID" in capsys.readouterr().err


def test_help_shows_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["fic", "show", "--help"])

    assert "examples:" in capsys.readouterr().out
