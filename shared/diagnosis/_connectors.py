"""`ppmi verify --connector-id`: is a custom connector's chain whole? The app registration the policy allows
exists, holds ppmi's FIC for the connector with the connector's issuer, subject and the cloud's audience, and
lists its redirect URI. Reads only."""

from __future__ import annotations

from shared.clients.arm import StoredCredential
from shared.connector_credentials import (
    ConnectorCredentialError,
    ConnectorNote,
    check_issuer,
    check_subject,
    connector_credential_name,
)
from shared.diagnosis._findings import Checked, Evidence, Finding, Report, Severity
from shared.engine import Runtime
from shared.fic import audience_for

HOLDER = "the connector's connections"


def _error(code: str, message: str, fix: str, evidence: Evidence, resource: str) -> Finding:
    return Finding(
        code=code, severity=Severity.ERROR, message=message, fix=fix, evidence=evidence, resource=resource
    )


def _register(environment_id: str, connector_id: str, application_id: str) -> str:
    return (
        f"ppmi publish ppmi.connector.registered --environment-id {environment_id} --connector-id "
        f"{connector_id} --application-id {application_id} --issuer <issuer> --subject <subject> --wait"
    )


async def verify_connector(
    runtime: Runtime,
    environment_id: str,
    connector_id: str,
    application_id: str,
    *,
    issuer: str | None = None,
    subject: str | None = None,
    redirect_url: str | None = None,
) -> Report:
    label = f"connector {connector_id}"
    name = connector_credential_name(environment_id, connector_id)
    application = runtime.policy.connectors.application(application_id)
    checked = [Checked("app registration", application_id), Checked("federated credential", name)]
    if application is None:
        finding = _error(
            "connector.application_not_allowed",
            f"the policy does not let connectors use the app registration {application_id}, so ppmi "
            "refuses its connector events",
            "add it (application ID and object ID) under connectors.applications in the policy",
            Evidence(expected="an app under connectors.applications", actual=application_id),
            application_id,
        )
        return Report(environment_id, label, (finding,), tuple(checked), HOLDER)
    uris = await runtime.graph.get_web_redirect_uris(application.object_id)
    if uris is None:
        finding = _error(
            "connector.application_missing",
            f"the app registration {application.label} (object {application.object_id}) does not exist, "
            "or ppmi may not read it",
            "correct connectors.applications, or make ppmi's identity an owner of the app",
            Evidence(expected=application.object_id, actual="not found"),
            application.object_id,
        )
        return Report(environment_id, label, (finding,), tuple(checked), HOLDER)
    credentials = {
        c.name.lower(): c for c in await runtime.graph.list_federated_credentials(application.object_id)
    }
    stored = credentials.get(name)
    register = _register(environment_id, connector_id, application_id)
    findings = _credential_findings(runtime, stored, name, register, issuer=issuer, subject=subject)
    note = ConnectorNote.read(stored.description) if stored is not None else None
    wanted_uri = redirect_url or (note.redirect_uri if note is not None else None)
    if wanted_uri is not None:
        checked.append(Checked("redirect URI", wanted_uri))
        if wanted_uri not in uris:
            findings.append(
                _error(
                    "connector.redirect_missing",
                    "the app's web redirect URIs lack the connector's redirect URL, so signing in to create "
                    "a connection fails",
                    f"run `{register}` with --redirect-url",
                    Evidence(expected=wanted_uri, actual=f"{len(uris)} other redirect URI(s)"),
                    application.object_id,
                )
            )
    return Report(environment_id, label, tuple(findings), tuple(checked), HOLDER)


def _credential_findings(
    runtime: Runtime,
    stored: StoredCredential | None,
    name: str,
    register: str,
    *,
    issuer: str | None,
    subject: str | None,
) -> list[Finding]:
    if stored is None:
        return [
            _error(
                "connector.fic_missing",
                "the app holds no FIC of ppmi's for this connector, so its token exchange fails "
                "(AADSTS700213)",
                f"run `{register}`",
                Evidence(expected=name, actual="not found"),
                name,
            )
        ]
    findings = []
    audience = audience_for(runtime.policy.cloud)
    expected = (issuer or stored.issuer, subject or stored.subject, (audience,))
    if (stored.issuer, stored.subject, stored.audiences) != expected:
        findings.append(
            _error(
                "connector.fic_different",
                "the FIC's values differ from what the connector presents, so Entra finds no match",
                f"run `{register}` with the issuer and subject the connector shows",
                Evidence(
                    expected=" | ".join(map(str, expected)),
                    actual=" | ".join(map(str, (stored.issuer, stored.subject, stored.audiences))),
                ),
                name,
            )
        )
    try:
        check_issuer(runtime.policy, stored.issuer)
        check_subject(runtime.policy, stored.subject)
    except ConnectorCredentialError as error:
        findings.append(
            _error(
                "connector.fic_invalid",
                f"the FIC breaks the policy's connector rules: {error.reason}",
                f"copy the issuer and subject from the connector again and run `{register}`",
                Evidence(expected="values that pass the policy", actual=stored.subject),
                name,
            )
        )
    if ConnectorNote.read(stored.description) is None:
        findings.append(
            Finding(
                code="connector.fic_not_ppmis",
                severity=Severity.WARNING,
                message="a FIC has ppmi's name for this connector but not ppmi's note: ppmi leaves it alone",
                fix="rename or delete it in the app registration, then register the connector again",
                evidence=Evidence(
                    expected="ppmi's note in the description", actual=stored.description or "none"
                ),
                resource=name,
            )
        )
    return findings
