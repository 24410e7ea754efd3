"""How a refusal reason mentions what was sent: short, harmless values verbatim, anything else described.

Reasons travel to result events, kept-message properties and logs; a value that could be a key, a token or a
certificate must never ride along, so only short values of a plain charset are quoted, and those redacted too.
"""

from __future__ import annotations

import re

from shared.telemetry import redact

MAX_QUOTED_LENGTH = 64
# Identifiers, GUIDs, dotted names and paths; not `~ = + ;` (secrets, base64 padding, connection strings).
_QUOTABLE = re.compile(r"[A-Za-z0-9 ._:/{}()\-]*", re.ASCII)
# A GUID has runs of at most 12; a run this long is more likely a key or a hash than a name.
_KEY_LIKE_RUN = re.compile(r"[A-Za-z0-9]{24,}", re.ASCII)


def is_quotable(value: str) -> bool:
    """True when *value* may be repeated back verbatim: short, plain, and not shaped like a key."""
    return (
        len(value) <= MAX_QUOTED_LENGTH
        and _QUOTABLE.fullmatch(value) is not None
        and _KEY_LIKE_RUN.search(value) is None
    )


def shown(value: str) -> str:
    """The value in quotes when harmless, otherwise a description of it (length and kind), never its text."""
    if is_quotable(value):
        return repr(redact(value))
    return f"a {len(value)}-character value ({_kind(value)}, not shown)"


def shown_key(key: str) -> str:
    """A JSON key as it appears in a field path: verbatim when harmless, otherwise described."""
    return key if is_quotable(key) and " " not in key else f"<{shown(key)}>"


def _kind(value: str) -> str:
    if not value.isascii():
        return "with non-ASCII characters"
    if any(character.isspace() for character in value):
        return "with whitespace"
    if len(value) > MAX_QUOTED_LENGTH:
        return "too long to repeat"
    return "it may hold a secret"
