"""What a verification reports: findings with a stable code, the evidence, and the fix, plus their report."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """`error`: plug-ins get no token (or the wrong one); `warning`: works now, breaks soon."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Evidence:
    """What was expected and what was found; `details` explain the difference (e.g. which segment)."""

    expected: str | None = None
    actual: str | None = None
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    """One broken link in the chain: a code scripts can match on, and a fix a person can act on."""

    code: str
    severity: Severity
    message: str
    fix: str
    evidence: Evidence = field(default_factory=Evidence)
    resource: str | None = None  # what the finding is about: a resource ID, row or FIC name

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "resource": self.resource,
            "expected": self.evidence.expected,
            "actual": self.evidence.actual,
            "details": list(self.evidence.details),
            "fix": self.fix,
        }


@dataclass(frozen=True)
class Checked:
    """One link of the chain that was looked at, and what it was (so a clean report says what it covered)."""

    link: str
    target: str

    def to_json(self) -> dict[str, str]:
        return {"link": self.link, "target": self.target}


class FindingTally:
    """What any report of findings can say of them (`ppmi verify`'s, `ppmi preflight`'s)."""

    findings: tuple[Finding, ...]

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.WARNING)

    def codes(self) -> list[str]:
        return [finding.code for finding in self.findings]


@dataclass(frozen=True)
class Report(FindingTally):
    """The outcome of verifying one environment (and optionally one plug-in component)."""

    environment_id: str
    component: str | None
    findings: tuple[Finding, ...]
    checked: tuple[Checked, ...] = ()
    holder: str = "plug-ins"  # who gets the token: plug-ins, or a custom connector

    @property
    def healthy(self) -> bool:
        """True when nothing stops a plug-in from getting its token (warnings may remain)."""
        return not self.errors

    def to_json(self) -> dict[str, Any]:
        return {
            "environmentId": self.environment_id,
            "component": self.component,
            "healthy": self.healthy,
            "summary": {"errors": len(self.errors), "warnings": len(self.warnings)},
            "checked": [item.to_json() for item in self.checked],
            "findings": [finding.to_json() for finding in self.findings],
        }
