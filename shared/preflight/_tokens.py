"""A token for every audience ppmi's calls need under the policy, and whose token it is.

The claims are read only to say which tenant issued the token and to which application (Entra access token
claims `tid`, `appid` / `azp`: learn.microsoft.com/entra/identity-platform/access-token-claims-reference);
the token itself is never shown, logged or recorded. A token that is no readable JWT is accepted as it is:
Entra does not promise the format to clients.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.auth import TokenSource
from shared.diagnosis import Evidence, Finding, Severity
from shared.errors import PpmiError, TransientError
from shared.policy import Policy
from shared.preflight._report import UNREACHABLE, Findings, Outcome
from shared.settings import Endpoints

AREA = "tokens"
# How azure-identity's credential chain says none of its credentials could sign in (azure/identity/aio/
# _credentials/chained.py): no credential at all, not a service that failed to answer.
CHAIN_EXHAUSTED = "failed to retrieve a token from the included credentials"


@dataclass(frozen=True)
class Audience:
    service: str
    scope: str
    why: str


def audiences(policy: Policy, endpoints: Endpoints) -> list[Audience]:
    """The `.default` scopes ppmi asks for under this policy (Dataverse's, per organisation, come later)."""
    found = [
        Audience("Power Platform API", f"{endpoints.powerplatform}/.default", "list and read environments")
    ]
    if policy.identity.strategy == "app-registration":
        found.append(Audience("Microsoft Graph", f"{endpoints.graph}/.default", "the application's FICs"))
    else:
        found.append(
            Audience("Azure Resource Manager", f"{endpoints.arm}/.default", "identities, FICs, grants")
        )
    if policy.manage_application_user:
        found.append(
            Audience("BAP admin API", f"{endpoints.bap_audience}/.default", "add ppmi as an application user")
        )
    return found


def token_claims(token: str) -> Mapping[str, Any] | None:
    """The payload of a JWT, unverified (only to describe it), or None when it is not one."""
    parts = token.split(".")
    if len(parts) != 3:  # header, payload, signature
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):
        return None
    return claims if isinstance(claims, dict) else None


async def check_token(
    tokens: TokenSource,
    audience: Audience,
    policy: Policy,
    client_id: str | None,
    findings: Findings,
    *,
    area: str = AREA,
    judge_identity: bool = True,
) -> bool:
    """Ask for one token and describe it (under `area`); False when none could be had. `judge_identity`:
    say when it is not ppmi's identity (once per run is enough: every token comes from one credential)."""
    try:
        token = await tokens.token(audience.scope)
    except PpmiError as error:
        findings.add(_unavailable(audience, error))
        findings.check(area, audience.scope, Outcome.ERROR, "no token", service=audience.service)
        return False
    claims = token_claims(token) or {}
    tenant = str(claims.get("tid") or "").lower() or None
    application = str(claims.get("appid") or claims.get("azp") or "").lower() or None
    seen = {"service": audience.service, "tenant (tid)": tenant, "application (appid)": application}
    if tenant is not None and tenant != policy.tenant_id:
        findings.add(_other_tenant(audience, tenant, policy.tenant_id))
        findings.check(area, audience.scope, Outcome.ERROR, "issued by another tenant", **seen)
        return True
    if judge_identity and application and client_id and application != client_id.lower():
        findings.add(_other_application(audience, application, client_id))
        findings.check(area, audience.scope, Outcome.WARNING, "not ppmi's identity", **seen)
        return True
    conclusion = f"a token to {audience.why}"
    if not claims:
        conclusion += "; its claims are not readable, so its tenant is not checked"
    findings.check(area, audience.scope, Outcome.OK, conclusion, **seen)
    return True


def _unavailable(audience: Audience, error: PpmiError) -> Finding:
    no_credential = CHAIN_EXHAUSTED in str(error)
    if (
        isinstance(error, TransientError) and not no_credential
    ):  # the token endpoint failed, or never answered
        return Finding(
            code=UNREACHABLE,
            severity=Severity.ERROR,
            message=f"no token for {audience.service}: the token endpoint did not give one within the retry "
            "budget",
            fix="check IDENTITY_ENDPOINT (and IDENTITY_HEADER) or the credential's network path, then run "
            "`ppmi preflight` again",
            evidence=Evidence(actual=str(error)),
            resource=audience.scope,
        )
    return Finding(
        code="token.unavailable",
        severity=Severity.ERROR,
        message=f"no token for {audience.service} ({audience.why})",
        fix="run it as ppmi's own identity: where its user-assigned identity is attached (IDENTITY_ENDPOINT "
        "with AZURE_CLIENT_ID set to its client ID), or in a pipeline signed in as that identity through a "
        "federated credential (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE); see "
        "docs/deploy.md, 'Before turning automation on'",
        evidence=Evidence(actual=str(error)),
        resource=audience.scope,
    )


def _other_tenant(audience: Audience, tenant: str, wanted: str) -> Finding:
    return Finding(
        code="token.other_tenant",
        severity=Severity.ERROR,
        message=f"the token for {audience.service} comes from another tenant than the policy's",
        fix="sign in to the policy's tenant (AZURE_TENANT_ID), or correct the policy's tenantId: FICs would "
        "trust the wrong issuer",
        evidence=Evidence(expected=wanted, actual=tenant),
        resource=audience.scope,
    )


def _other_application(audience: Audience, application: str, client_id: str) -> Finding:
    return Finding(
        code="token.not_service_identity",
        severity=Severity.WARNING,
        message="the token belongs to another identity than AZURE_CLIENT_ID: the rights checked are its, "
        "not ppmi's",
        fix="run `ppmi preflight` as ppmi's own identity (AZURE_CLIENT_ID is its client ID)",
        evidence=Evidence(expected=client_id.lower(), actual=application),
        resource=audience.scope,
    )
