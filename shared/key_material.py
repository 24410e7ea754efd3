"""Recognise private key material where only public things belong, and say what it is without showing it.

ppmi needs certificates (public), never keys. A private key pasted into a policy or an event is refused
with the kind of thing found ("a PEM private key", "a PKCS#12 (PFX) bundle"), never with its text, so no
error message, log line or command output can carry it further.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import load_der_private_key

_PEM_PRIVATE = re.compile(r"-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY(?: BLOCK)?-----")
_BASE64_TEXT = re.compile(r"[A-Za-z0-9+/=\s]{64,}")
# PKCS#12 (RFC 7292): PFX ::= SEQUENCE { version INTEGER (3), authSafe ContentInfo (data or signedData) }
_PFX_VERSION = b"\x02\x01\x03\x30"
_PKCS7_DATA = bytes.fromhex("06092a864886f70d010701")
_PKCS7_SIGNED = bytes.fromhex("06092a864886f70d010702")
_MIN_KEY_BYTES = 32


def key_material_kind(value: str | bytes) -> str | None:
    """What private key material `value` holds (text, base64 text or DER bytes), or None."""
    if isinstance(value, str):
        pem = _PEM_PRIVATE.search(value)
        if pem is not None:
            label = pem.group(1).strip()
            return f"a PEM private key ('{label + ' ' if label else ''}PRIVATE KEY' block)"
        if not _BASE64_TEXT.fullmatch(value.strip()):
            return None
        try:
            value = base64.b64decode("".join(value.split()), validate=True)
        except (binascii.Error, ValueError):
            return None
    return _der_kind(value)


def _der_kind(der: bytes) -> str | None:
    if len(der) < _MIN_KEY_BYTES or der[:1] != b"\x30":
        return None
    head = der[:32]
    if _PFX_VERSION in head[:8] and (_PKCS7_DATA in head or _PKCS7_SIGNED in head):
        return "a PKCS#12 (PFX) bundle, which holds a private key"
    try:
        load_der_private_key(der, password=None)
    except TypeError:  # encrypted: a password would be needed, so it is a key
        return "an encrypted private key (PKCS#8)"
    except (ValueError, UnsupportedAlgorithm):
        return None
    return "a private key in DER (PKCS#8 or PKCS#1)"


def find_key_material(document: Any, path: str = "$") -> tuple[str, str] | None:
    """The first (field path, kind) in a parsed YAML or JSON document whose string holds key material."""
    for where, text in _strings(document, path):
        kind = key_material_kind(text)
        if kind is not None:
            return where, kind
    return None


def _strings(node: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(key, path)
            yield from _strings(value, f"{path}.{key}" if path != "$" else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, f"{path}[{index}]")
