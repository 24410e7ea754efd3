"""Files a command reads: certificates and events (from a path or stdin), each failure naming the file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import BinaryIO

from shared.cli._exit import ExitCode
from shared.cli._failures import CommandError, Failure, usage
from shared.cli._output import Output
from shared.events import MAX_EVENT_BYTES
from shared.fic import CertificateError, SigningCertificate, load_certificate

STDIN = "-"


def read_certificate(path: Path, out: Output) -> SigningCertificate:
    """The signing certificate in `path`; which one, when the file is a bundle, is said on stderr."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise usage(
            f"cannot read {path}: {error.strerror}", "give the signing certificate as a .cer or .pem file"
        ) from None
    try:
        certificate = load_certificate(data)
    except CertificateError as error:
        raise CommandError(
            Failure(
                "certificate",
                f"{path} is not a certificate ppmi can use: {error}",
                error.advice,
                ExitCode.USAGE,
            )
        ) from None
    if certificate.certificates_in_file > 1:
        out.note(
            f"note: {path} holds {certificate.certificates_in_file} certificates; using the one that is no "
            f"certificate authority: {certificate.subject_name}"
        )
    return certificate


def read_event(name: str, *, stdin: BinaryIO | None = None) -> bytes:
    """An event file's bytes (or stdin's, for `-`), reading no more than one byte past the size limit.

    A larger input is cut there: the parser then refuses it for its size without anything reading the rest.
    Raises `OSError` for a file that cannot be read.
    """
    if name == STDIN:
        source = stdin or sys.stdin.buffer
        return source.read(MAX_EVENT_BYTES + 1)
    with Path(name).open("rb") as file:
        return file.read(MAX_EVENT_BYTES + 1)
