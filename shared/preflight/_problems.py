"""A service call that failed, said as a finding: unreachable (try again), or refused (fix a right)."""

from __future__ import annotations

from shared.diagnosis import Evidence, Finding, Severity
from shared.errors import PpmiError, ServiceError, TransientError
from shared.preflight._report import UNREACHABLE

SERVICE_NAMES = {
    "arm": "Azure Resource Manager",
    "graph": "Microsoft Graph",
    "dataverse": "Dataverse",
    "environments": "the Power Platform API",
    "bap": "the BAP admin API",
}


def failed_call(error: PpmiError, *, what: str, resource: str, refused_fix: str) -> Finding:
    """`what` could not be read: unreachable when the service never answered usefully, else refused."""
    service = SERVICE_NAMES.get(error.service, error.service) if isinstance(error, ServiceError) else ""
    if isinstance(error, TransientError):
        return Finding(
            code=UNREACHABLE,
            severity=Severity.ERROR,
            message=f"could not {what}: {service or 'a service'} did not answer within the retry budget",
            fix="check the network path and the endpoint settings (PPMI_*_ENDPOINT, PPMI_CONNECT_TO, "
            "proxies), then run `ppmi preflight` again; give more time with --retry-budget",
            evidence=Evidence(actual=str(error)),
            resource=resource,
        )
    return Finding(
        code="service.refused",
        severity=Severity.ERROR,
        message=f"could not {what}: {service or 'a service'} refused",
        fix=refused_fix,
        evidence=Evidence(actual=str(error)),
        resource=resource,
    )
