"""What a preflight reports: each check with the values it saw and what ppmi concludes, and each finding with
its fix (the same findings `ppmi verify` gives)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from shared.diagnosis import Finding, FindingTally

# Findings about reaching a service rather than about the set-up: only they may make the run "unavailable".
UNREACHABLE = "service.unreachable"


class Outcome(StrEnum):
    OK = "ok"
    WARNING = "warning"
    ERROR = "error"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Check:
    """One thing looked at: the area, what in it, the values seen there and what ppmi concludes from them."""

    area: str  # tokens | environments | rights | dataverse | capacity
    target: str
    outcome: Outcome
    conclusion: str
    seen: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "area": self.area,
            "target": self.target,
            "outcome": self.outcome.value,
            "seen": dict(self.seen),
            "conclusion": self.conclusion,
        }


@dataclass
class Findings:
    """What a step found, checks and findings together; steps append, the run merges."""

    checks: list[Check] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def check(self, area: str, target: str, outcome: Outcome, conclusion: str, **seen: str | None) -> None:
        shown = {name.replace("_", " "): value for name, value in seen.items() if value is not None}
        self.checks.append(Check(area, target, outcome, conclusion, shown))

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    def extend(self, other: Findings) -> None:
        self.checks.extend(other.checks)
        self.findings.extend(other.findings)


@dataclass(frozen=True)
class PreflightReport(FindingTally):
    """The whole run: the policy's essentials, every check and every finding."""

    tenant_id: str
    cloud: str
    strategy: str
    checks: tuple[Check, ...]
    findings: tuple[Finding, ...]
    recorded_to: str | None = None

    @property
    def only_unreachable(self) -> bool:
        """Every error is a service that could not be reached: the set-up itself was not judged wrong."""
        return bool(self.errors) and all(f.code == UNREACHABLE for f in self.errors)

    def to_json(self) -> dict[str, Any]:
        return {
            "tenantId": self.tenant_id,
            "cloud": self.cloud,
            "strategy": self.strategy,
            "ready": not self.errors,
            "summary": {
                "checks": len(self.checks),
                "errors": len(self.errors),
                "warnings": len(self.warnings),
            },
            "checks": [check.to_json() for check in self.checks],
            "findings": [finding.to_json() for finding in self.findings],
            "recordedTo": self.recorded_to,
        }
