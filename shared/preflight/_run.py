"""`ppmi preflight`: every assumption ppmi's automation rests on, checked once in the real tenant; reads only.

Steps, each reported with what it saw: tokens for every audience the policy needs; the Power Platform API
and every environment in scope (or those named); ppmi's own ARM rights where it acts (the permissions API);
Dataverse in each usable environment; FIC room on every identity in scope. A step whose token could not be
had is reported as skipped rather than failed again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from shared.auth import CachedTokens, TokenSource, credential_from
from shared.clients.environments import EnvironmentInfo
from shared.diagnosis import Finding, Severity
from shared.engine import Runtime, open_runtime
from shared.errors import PpmiError
from shared.http import RetryNotice, build_transport
from shared.policy import Policy
from shared.preflight._capacity import check_capacity
from shared.preflight._dataverse import check_dataverse
from shared.preflight._environments import check_environments
from shared.preflight._needs import scopes_to_check
from shared.preflight._recording import Provenance, RecordingTransport, write_recording
from shared.preflight._report import Findings, Outcome, PreflightReport
from shared.preflight._rights import check_rights
from shared.preflight._tokens import audiences, check_token
from shared.settings import Settings

DEFAULT_RETRY_BUDGET_SECONDS = 10.0


@dataclass(frozen=True)
class PreflightOptions:
    environment_ids: tuple[str, ...] = ()
    record_to: Path | None = None
    retry_budget_seconds: float = DEFAULT_RETRY_BUDGET_SECONDS


async def run_preflight(
    settings: Settings,
    policy: Policy,
    options: PreflightOptions,
    *,
    tokens: TokenSource | None = None,
    progress: Callable[[str], None] = lambda _: None,
    on_retry: Callable[[RetryNotice], None] | None = None,
) -> PreflightReport:
    """Run every check; with `record_to`, write the redacted replies there too. `progress` hears each step,
    `on_retry` each wait before a retry."""
    settings = settings.model_copy(update={"retry_budget_seconds": options.retry_budget_seconds})
    owned = CachedTokens(credential_from(settings)) if tokens is None else None
    source: TokenSource = owned if owned is not None else tokens  # type: ignore[assignment]
    recorder = RecordingTransport(build_transport(settings.connect_to, settings.ca_bundle))
    found = Findings()
    try:
        async with open_runtime(settings, policy, tokens=source, transport=recorder) as runtime:
            runtime.http.on_retry = on_retry
            await _steps(runtime, source, options, found, progress)
    finally:
        if owned is not None:
            await owned.close()
    recorded = None
    if options.record_to is not None:
        progress(f"writing the redacted replies to {options.record_to}")
        write_recording(
            options.record_to, recorder.exchanges, _provenance(settings, policy), _sensitive(settings, policy)
        )
        recorded = str(options.record_to)
    return PreflightReport(
        tenant_id=policy.tenant_id,
        cloud=policy.cloud.value,
        strategy=policy.identity.strategy,
        checks=tuple(found.checks),
        findings=tuple(found.findings),
        recorded_to=recorded,
    )


async def _steps(
    runtime: Runtime,
    tokens: TokenSource,
    options: PreflightOptions,
    found: Findings,
    progress: Callable[[str], None],
) -> None:
    policy, settings = runtime.policy, runtime.settings
    client_id = settings.azure_client_id
    progress("tokens: one for every audience the policy needs")
    had: dict[str, bool] = {}
    for index, audience in enumerate(audiences(policy, settings.endpoints(policy.cloud.value))):
        had[audience.service] = await check_token(
            tokens, audience, policy, client_id, found, judge_identity=index == 0
        )
    usable: list[tuple[EnvironmentInfo, str]] = []
    if _have(had, "Power Platform API", found):
        progress("environments: the Power Platform API and each environment in scope")
        listing: list[EnvironmentInfo] | PpmiError
        try:
            listing = await runtime.environments.list_environments()
        except PpmiError as error:
            listing = error
        checked, usable = await check_environments(listing, policy, options.environment_ids)
        found.extend(checked)
    if policy.identity.strategy != "app-registration" and _have(had, "Azure Resource Manager", found):
        progress("rights: ppmi's own ARM permissions where it acts")
        scopes, unfilled = scopes_to_check(policy, [e.id for e, _ in usable], settings.grant_scopes)
        found.extend(await check_rights(runtime.arm, policy, scopes, client_id))
        for template in unfilled:
            found.add(_unfilled(template))
    for environment, origin in usable:
        progress(f"dataverse: {environment.id}")
        found.extend(await check_dataverse(tokens, runtime.dataverse(origin), environment, policy, client_id))
    service = (
        "Microsoft Graph" if policy.identity.strategy == "app-registration" else "Azure Resource Manager"
    )
    if _have(had, service, found):
        progress("capacity: FICs on every identity in scope")
        found.extend(await check_capacity(runtime))


def _have(had: dict[str, bool], service: str, found: Findings) -> bool:
    """Whether the token for `service` came; if not, the steps that need it are reported as skipped."""
    if had.get(service, True):
        return True
    found.check("tokens", service, Outcome.SKIPPED, f"the checks that need a token for {service} are skipped")
    return False


def _unfilled(template: str) -> Finding:
    return Finding(
        code="rights.template_unchecked",
        severity=Severity.WARNING,
        message="this grant scope names {environmentId} and no environment was checked, so the rights at "
        "its scopes were not checked (only the listing at its covering scope)",
        fix="run `ppmi preflight --environment-id <an environment in scope>` to check them there",
        resource=template,
    )


def _provenance(settings: Settings, policy: Policy) -> Provenance:
    endpoints = settings.endpoints(policy.cloud.value)
    services = {
        endpoints.arm: "arm",
        endpoints.powerplatform: "environments",
        endpoints.bap: "bap",
        endpoints.graph: "graph",
    }
    return Provenance(
        cloud=policy.cloud.value,
        services={urlsplit(url).hostname or url: name for url, name in services.items()},
    )


def _sensitive(settings: Settings, policy: Policy) -> Sequence[str]:
    """What the policy and settings name that a recording must not repeat."""
    identity = policy.identity
    values = [
        policy.tenant_id,
        identity.subscription_id,
        identity.resource_group,
        identity.pool_name,
        identity.application_id,
        identity.application_object_id,
        settings.azure_client_id,
        *identity.tags.values(),
    ]
    return [value for value in values if value]
