"""Distinguished names rendered exactly as .NET `X509Certificate2.Subject` / `.Issuer` render them.

The CA-issued FIC subject hashes these strings, so one character of difference fails at runtime with
AADSTS700213. .NET (`X500NameEncoder`, `X500DistinguishedNameFlags.Reversed`) matches Windows `CertNameToStr`.
"""

from __future__ import annotations

from cryptography import x509

# Windows' RDN attribute names (CRYPT_RDN_ATTR_OID_GROUP_ID, first name per OID). Anything else, including
# businessCategory (2.5.4.15) and the EV jurisdiction OIDs, is written `OID.<dotted>`.
ATTRIBUTE_NAMES: dict[str, str] = {
    "2.5.4.3": "CN",
    "2.5.4.4": "SN",
    "2.5.4.5": "SERIALNUMBER",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "S",
    "2.5.4.9": "STREET",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.12": "T",
    "2.5.4.13": "Description",
    "2.5.4.17": "PostalCode",
    "2.5.4.18": "POBox",
    "2.5.4.20": "Phone",
    "2.5.4.24": "X21Address",
    "2.5.4.42": "G",
    "2.5.4.43": "I",
    "2.5.4.46": "dnQualifier",
    "1.2.840.113549.1.9.1": "E",
    "0.9.2342.19200300.100.1.25": "DC",
}

_QUOTABLE_WHITESPACE = frozenset(" \t\r\n\v\f")
_CHARACTERS_NEEDING_QUOTES = frozenset(',+="\n<>#;')


def attribute_name(dotted_oid: str) -> str:
    """The attribute label .NET prints for an OID."""
    return ATTRIBUTE_NAMES.get(dotted_oid, f"OID.{dotted_oid}")


def render_value(value: str) -> str:
    """Quote a value the way .NET does: double quotes, inner quotes doubled, never backslashes."""
    needs_quotes = (
        value == ""
        or value[0] in _QUOTABLE_WHITESPACE
        or value[-1] in _QUOTABLE_WHITESPACE
        or any(character in _CHARACTERS_NEEDING_QUOTES for character in value)
    )
    if not needs_quotes:
        return value
    return '"' + value.replace('"', '""') + '"'


def _render_attribute(attribute: x509.NameAttribute[str | bytes]) -> str:
    value = attribute.value
    # Non-text values (a BIT STRING unique identifier) are printed by .NET as '#' and hex.
    text = "#" + value.hex().upper() if isinstance(value, bytes) else render_value(value)
    return f"{attribute_name(attribute.oid.dotted_string)}={text}"


def render_name(name: x509.Name) -> str:
    """Most specific RDN first, `", "` between RDNs, `" + "` inside a multi-valued RDN (in encoded order)."""
    rdns = [" + ".join(_render_attribute(attribute) for attribute in rdn) for rdn in name.rdns]
    return ", ".join(reversed(rdns))


def common_name(rendered: str) -> str | None:
    """The first CN value of a .NET-rendered DN (most specific first), unquoted; None without a CN."""
    for attribute in _split_attributes(rendered):
        label, _, value = attribute.partition("=")
        if label == "CN":
            return _unquote(value)
    return None


def _split_attributes(rendered: str) -> list[str]:
    """Split on the `, ` and ` + ` separators that lie outside quoted values."""
    parts: list[str] = []
    current: list[str] = []
    in_quotes = False
    index = 0
    while index < len(rendered):
        character = rendered[index]
        if character == '"':
            in_quotes = not in_quotes
        elif not in_quotes and rendered.startswith((", ", " + "), index):
            parts.append("".join(current))
            current = []
            index += 3 if rendered[index] == " " else 2
            continue
        current.append(character)
        index += 1
    parts.append("".join(current))
    return parts


def _unquote(value: str) -> str:
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        return value[1:-1].replace('""', '"')
    return value
