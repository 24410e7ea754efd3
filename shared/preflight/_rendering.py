"""A preflight as an operator reads it: each check with what was seen, then each finding with its fix."""

from __future__ import annotations

from shared.diagnosis import finding_lines
from shared.preflight._report import Check, Outcome, PreflightReport

MARKS = {Outcome.OK: "ok", Outcome.WARNING: "WARN", Outcome.ERROR: "FAIL", Outcome.SKIPPED: "skip"}


def render_text(report: PreflightReport) -> str:
    lines = [f"preflight for tenant {report.tenant_id} ({report.cloud} cloud, strategy {report.strategy})"]
    areas: dict[str, list[Check]] = {}
    for check in report.checks:
        areas.setdefault(check.area, []).append(check)
    for area, checks in areas.items():
        lines.extend(("", f"{area}:"))
        for check in checks:
            lines.extend(_check_lines(check))
    for finding in report.findings:
        lines.append("")
        lines.extend(finding_lines(finding))
    lines.extend(("", _summary(report)))
    if report.recorded_to:
        lines.append(
            f"the redacted replies are in {report.recorded_to} (read MANIFEST.md there before sharing)"
        )
    return "\n".join(lines)


def _check_lines(check: Check) -> list[str]:
    lines = [f"  {MARKS[check.outcome]:<5} {check.target}: {check.conclusion}"]
    lines.extend(f"{'':8}{name}: {value}" for name, value in check.seen.items())
    return lines


def _summary(report: PreflightReport) -> str:
    errors, warnings = len(report.errors), len(report.warnings)
    if not report.findings:
        return f"all {len(report.checks)} checks pass: ppmi can run here"
    counts = f"{errors} error(s), {warnings} warning(s)"
    if not errors:
        return f"{counts}: ppmi can run here; act on the warnings"
    if report.only_unreachable:
        return f"{counts}: a service could not be reached; run it again once it answers"
    return f"{counts}: fix the errors before turning the automation on"
