"""The hostile corpus: events no sender should be able to act through, each with the reason it must get.

`EVENT_CASES` are refused by validation alone (no outbound request at all); `ENVIRONMENT_CASES` are valid
events about environments whose Dataverse URL, as the environments API reports it, is hostile (one lookup,
nothing else). Every builder takes the `CorpusContext` of the running test, so URLs can name the canary.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ENVIRONMENT_ID = "3f0e6a52-8c1d-4b7e-9f2a-6d5c4b3a2e10"
PACKAGE_ID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
NIL = "00000000-0000-0000-0000-000000000000"
ABSENT = object()  # an attribute value meaning "leave the attribute out"


@dataclass(frozen=True)
class CorpusContext:
    """Values of the running test the cases are built from."""

    certificate: str  # base64 DER of a well-formed certificate
    canary: str  # host:port of the canary listener


@dataclass(frozen=True)
class HostileEvent:
    name: str
    build: Callable[[CorpusContext], bytes]
    reason: str  # a fragment the refusal's reason must contain
    cli_field: str | None = (
        None  # the `data` field `ppmi publish` takes as an option, when that is the attack
    )


def _document(data: dict[str, Any] | None = None, **attributes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "specversion": "1.0",
        "id": "evt-hostile-1",
        "source": "/tests/hostile",
        "type": "ppmi.environment.created",
        "data": {"environmentId": ENVIRONMENT_ID} if data is None else data,
    }
    document.update(attributes)
    return {key: value for key, value in document.items() if value is not ABSENT}


def _json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def attributes(reason: str, name: str, **changes: Any) -> HostileEvent:
    """An environment.created event with some CloudEvents attributes replaced."""
    return HostileEvent(name, lambda _: _json(_document(**changes)), reason)


def environment(reason: str, name: str, environment_id: Any) -> HostileEvent:
    document = _document({"environmentId": environment_id})
    return HostileEvent(name, lambda _: _json(document), reason, "environmentId")


def package(reason: str, name: str, **changes: Any) -> HostileEvent:
    """A pluginpackage.registered event with fields of `data` replaced (`certificate` merged)."""

    extra_certificate_fields = changes.pop("certificate_fields", {})

    def build(context: CorpusContext) -> bytes:
        certificate = {"der": context.certificate, **extra_certificate_fields}
        data = {"environmentId": ENVIRONMENT_ID, "pluginPackageId": PACKAGE_ID, "certificate": certificate}
        data.update(changes)
        return _json(_document(data, type="ppmi.pluginpackage.registered"))

    return HostileEvent(name, build, reason, "pluginPackageId" if "pluginPackageId" in changes else None)


def certificate(reason: str, name: str, **fields: Any) -> HostileEvent:
    def build(context: CorpusContext) -> bytes:
        data = {"environmentId": ENVIRONMENT_ID, "pluginPackageId": PACKAGE_ID, "certificate": fields}
        return _json(_document(data, type="ppmi.pluginpackage.registered"))

    return HostileEvent(name, build, reason)


def extra_url(name: str, key: str, url: str) -> HostileEvent:
    """A forged Dataverse URL smuggled in as an extra field of `data`; `{canary}` names the canary."""

    def build(context: CorpusContext) -> bytes:
        data = {"environmentId": ENVIRONMENT_ID, key: url.format(canary=context.canary)}
        return _json(_document(data))

    return HostileEvent(name, build, "never taken from an event")


def raw(reason: str, name: str, body: bytes) -> HostileEvent:
    return HostileEvent(name, lambda _: body, reason)


_DEEP = b'{"specversion": "1.0", "data": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
_PADDING = "A" * (64 * 1024)
_NOT_JSON = "is not valid JSON"
_ENV_FORM = "must be an environment ID"
_ASCII = "must be plain ASCII"
_SPACES = "must not contain whitespace"
_GUID = "must be a GUID"
_VISIBLE = "must be visible ASCII"
_UNKNOWN_TYPE = "is unknown"
_CONTROL = "must not contain control characters"

EVENT_CASES: tuple[HostileEvent, ...] = (
    # malformed JSON
    raw(_NOT_JSON, "empty body", b""),
    raw(_NOT_JSON, "truncated object", b'{"specversion": "1.0", "id": "x"'),
    raw(_NOT_JSON, "trailing comma", b'{"specversion": "1.0",}'),
    raw(_NOT_JSON, "single quotes", b"{'specversion': '1.0'}"),
    raw("must be a JSON object", "top-level array", b"[]"),
    raw("must be a JSON object", "top-level string", b'"ppmi.environment.created"'),
    raw("which is not JSON", "NaN number", b'{"specversion": "1.0", "x": NaN}'),
    raw("which is not JSON", "Infinity number", b'{"specversion": "1.0", "x": -Infinity}'),
    raw("appears twice", "duplicate id key", b'{"id": "a", "id": "b", "type": "ppmi.environment.created"}'),
    raw("not UTF-8", "latin-1 bytes", b'{"id": "caf\xe9"}'),
    raw("not UTF-8", "UTF-16 with BOM", '{"id": "x"}'.encode("utf-16")),
    raw("nests too deeply", "ten thousand nested arrays", _DEEP),
    # huge payloads
    raw("the limit is 65536 bytes", "65 KB body", _json(_document(padding=_PADDING))),
    raw("the limit is 65536 bytes", "10 MB body", b" " * (10 * 1024 * 1024)),
    attributes("longer than the limit of 128", "200-character event id", id="e" * 200),
    certificate("longer than the limit of 16384", "17 KB certificate", der="A" * 17_000),
    # wrong types
    attributes("must be '1.0'", "specversion as a number", specversion=1.0),
    attributes("'type' must be a JSON string", "type as a number", type=7),
    attributes("'type' is required", "missing type", type=ABSENT),
    attributes("must be a JSON object", "data as a string", data="3f0e6a52"),
    attributes("must be a JSON object", "data as a list", data=[ENVIRONMENT_ID]),
    environment("must be a JSON string", "environment ID as a number", 3),
    environment("must be a JSON string", "environment ID as null", None),
    attributes("is required", "environment ID missing", data={}),
    attributes("is not a known field", "unknown top-level attribute", extension="x"),
    attributes("must carry a time zone", "time without zone", time="2026-01-31T08:00:00"),
    HostileEvent(
        "revert as a string",
        lambda _: _json(
            _document({"environmentId": ENVIRONMENT_ID, "revert": "true"}, type="ppmi.identity.upgrade")
        ),
        "must be JSON true or false",
    ),
    HostileEvent(
        "target version 3",
        lambda _: _json(
            _document({"environmentId": ENVIRONMENT_ID, "targetVersion": 3}, type="ppmi.identity.upgrade")
        ),
        "must be 2",
    ),
    # bad GUIDs
    package(_GUID, "package ID not a GUID", pluginPackageId="not-a-guid"),
    package("all-zero GUID", "package ID all zeros", pluginPackageId=NIL),
    package(_GUID, "package ID in braces", pluginPackageId="{" + PACKAGE_ID + "}"),
    package(_GUID, "package ID with trailing newline", pluginPackageId=PACKAGE_ID + "\n"),
    package(_GUID, "package ID with 33 hex digits", pluginPackageId=PACKAGE_ID + "0"),
    environment("all-zero GUID", "environment ID all zeros", NIL),
    # odd environment IDs
    environment("as Power Platform writes it", "environment ID upper case", ENVIRONMENT_ID.upper()),
    environment("as Power Platform writes it", "default prefix lower case", f"default-{ENVIRONMENT_ID}"),
    environment(_ENV_FORM, "default prefix without a GUID", "Default-contoso"),
    environment(_SPACES, "environment ID with a leading space", " " + ENVIRONMENT_ID),
    environment(_SPACES, "environment ID with a tab inside", ENVIRONMENT_ID[:8] + "\t" + ENVIRONMENT_ID[8:]),
    environment(_ENV_FORM, "environment ID wildcard", "*"),
    environment("must not be empty", "environment ID empty", ""),
    # Unicode tricks
    environment(_ASCII, "Cyrillic a homoglyph", ENVIRONMENT_ID.replace("a", "\u0430", 1)),
    environment(_ASCII, "right-to-left override", "\u202e" + ENVIRONMENT_ID),
    environment(_ASCII, "zero-width space", ENVIRONMENT_ID[:8] + "\u200b" + ENVIRONMENT_ID[8:]),
    environment(_ASCII, "fullwidth digits (NFKC-equivalent)", ENVIRONMENT_ID.replace("3", "\uff13")),
    environment(_ASCII, "combining acute accent", ENVIRONMENT_ID + "\u0301"),
    package(
        _GUID, "zero-width joiner in package ID", pluginPackageId=PACKAGE_ID[:4] + "\u200d" + PACKAGE_ID[4:]
    ),
    attributes(_UNKNOWN_TYPE, "Ukrainian i in the type", type="ppm\u0456.environment.created"),
    attributes(_UNKNOWN_TYPE, "fullwidth type (NFKC-equivalent)", type="\uff50pmi.environment.created"),
    attributes(_VISIBLE, "right-to-left override in source", source="/tests/\u202eevil"),
    attributes(_VISIBLE, "zero-width space in id", id="evt\u200b1"),
    # path-like IDs
    environment(_ENV_FORM, "parent directory", "../../subscriptions"),
    environment(_ENV_FORM, "percent-encoded parent directory", "%2e%2e%2f%2e%2e%2f"),
    environment(_ENV_FORM, "slash inside", f"{ENVIRONMENT_ID[:8]}/{ENVIRONMENT_ID[9:]}"),
    environment(_ENV_FORM, "absolute path", "/providers/Microsoft.BusinessAppPlatform"),
    package(
        _GUID, "package ID climbing to another table", pluginPackageId=f"../managedidentities({PACKAGE_ID})"
    ),
    package(_GUID, "package ID with encoded slash", pluginPackageId=PACKAGE_ID[:8] + "%2F" + PACKAGE_ID[9:]),
    # forged Dataverse URLs as extra fields
    extra_url("look-alike host suffix", "dataverseUrl", "https://org.crm.dynamics.com.evil.net/"),
    extra_url("look-alike host prefix", "url", "https://evil-crm.dynamics.com/"),
    extra_url("userinfo before the host", "instanceUrl", "https://org.crm.dynamics.com@{canary}/"),
    extra_url("IP literal of the canary", "orgUrl", "https://{canary}/"),
    extra_url("plain http", "dataverseUrl", "http://org.crm.dynamics.com/"),
    extra_url("explicit port", "dataverseUrl", "https://org.crm.dynamics.com:8443/"),
    extra_url("open redirect", "redirectUrl", "https://org.crm.dynamics.com/redirect?to=https://{canary}/"),
    attributes("never taken from an event", "URL as a top-level attribute", dataverseurl="https://evil.net/"),
    # untrusted-looking and malformed certificates, oversized names
    certificate("is not a certificate", "random bytes as DER", der="c2VlZGVkIG5vbnNlbnNl"),
    certificate(
        "without the PEM", "PEM armour", der="-----BEGIN CERTIFICATE-----MIIB-----END CERTIFICATE-----"
    ),
    certificate("must be standard base64", "base64url alphabet", der="MIIB_-_-"),
    certificate("must be standard base64", "line breaks in base64", der="MIIB\nMIIB"),
    certificate("exactly one of", "no certificate form", issuerName="CN=Contoso"),
    package("exactly one of", "two certificate forms", certificate_fields={"sha256": "ab" * 32}),
    certificate("must be the SHA-256", "short SHA-256", sha256="ab" * 31),
    certificate(
        "both 'issuerName' and 'subjectName'", "issuer name alone", sha256="ab" * 32, issuerName="CN=A"
    ),
    certificate(
        "longer than the limit of 1024",
        "oversized issuer DN",
        sha256="ab" * 32,
        issuerName="CN=" + "A" * 1100,
        subjectName="CN=B",
    ),
    certificate(
        "must be a distinguished name",
        "issuer not a DN",
        sha256="ab" * 32,
        issuerName="Contoso Signing",
        subjectName="CN=B",
    ),
    # injection attempts
    package(_GUID, "OData quote injection", pluginPackageId=f"{PACKAGE_ID}' or name ne '"),
    package(_GUID, "OData $filter injection", pluginPackageId=f"{PACKAGE_ID})?$filter=true"),
    environment(_SPACES, "OData injection in environment ID", f"{ENVIRONMENT_ID}' or 1 eq 1 or id eq '"),
    environment(_SPACES, "KQL pipe in environment ID", f"{ENVIRONMENT_ID} | where 1 == 1"),
    attributes(_VISIBLE, "KQL in source", source="/x | union *"),
    attributes(_VISIBLE, "CRLF header injection in id", id="evt-1\r\nX-Injected: 1"),
    attributes(_VISIBLE, "CRLF in reply session", replysession="reply\r\nSessionId: other"),
    attributes("W3C traceparent", "CRLF in traceparent", traceparent="00-" + "a" * 32 + "\r\nX: 1"),
    attributes(_CONTROL, "CRLF in subject", subject="line\r\nSet-Cookie: a=b"),
    certificate(
        _CONTROL, "CRLF in subject DN", sha256="ab" * 32, issuerName="CN=A", subjectName="CN=B\r\nX: y"
    ),
)


@dataclass(frozen=True)
class HostileEnvironment:
    """An environment the environments API reports with this Dataverse URL (`{canary}` = the canary)."""

    name: str
    url: str


ENVIRONMENT_CASES: tuple[HostileEnvironment, ...] = (
    HostileEnvironment("look-alike host suffix", "https://org.crm.dynamics.com.evil.net/"),
    HostileEnvironment("look-alike host prefix", "https://evil-crm.dynamics.com/"),
    HostileEnvironment("userinfo naming the canary", "https://org.crm.dynamics.com@{canary}/"),
    HostileEnvironment("userinfo with port", "https://org.crm.dynamics.com:443@{canary}/"),
    HostileEnvironment("backslash before userinfo", "https://org.crm.dynamics.com\\@{canary}/"),
    HostileEnvironment("IP literal of the canary", "https://{canary}/"),
    HostileEnvironment("plain http", "http://org.crm.dynamics.com/"),
    HostileEnvironment("plain http to the canary", "http://{canary}/"),
    HostileEnvironment("explicit port", "https://org.crm.dynamics.com:8443/"),
    HostileEnvironment("encoded dot", "https://org.crm.dynamics.com%2eevil.net/"),
    HostileEnvironment("Cyrillic o homoglyph", "https://\u043erg.crm.dynamics.com/"),
    HostileEnvironment("two labels before the suffix", "https://evil.org.crm.dynamics.com/"),
    HostileEnvironment(
        "redirect through another host", "https://evil.net/?next=https://org.crm.dynamics.com/"
    ),
    HostileEnvironment("javascript scheme", "javascript:alert(1)//org.crm.dynamics.com"),
)
