"""A report as a person reads it in a terminal: each finding with its evidence and its fix."""

from __future__ import annotations

from shared.diagnosis._findings import Finding, Report


def render_text(report: Report) -> str:
    subject = f"environment {report.environment_id}"
    if report.component is not None:
        subject += f", {report.component}"
    lines = [f"verified {subject}"]
    lines.extend(f"  {item.link}: {item.target}" for item in report.checked)
    for finding in report.findings:
        lines.append("")
        lines.extend(finding_lines(finding))
    lines.append("")
    lines.append(_summary(report))
    return "\n".join(lines)


def finding_lines(finding: Finding) -> list[str]:
    """A finding as the terminal shows it: severity and code, evidence, the fix (also `ppmi preflight`)."""
    lines = [f"{finding.severity.value.upper():<8}{finding.code}: {finding.message}"]
    evidence = finding.evidence
    if finding.resource:
        lines.append(f"{'':<8}at:       {finding.resource}")
    if evidence.expected is not None:
        lines.append(f"{'':<8}expected: {evidence.expected}")
    if evidence.actual is not None:
        lines.append(f"{'':<8}actual:   {evidence.actual}")
    lines.extend(f"{'':<8}- {detail}" for detail in evidence.details)
    lines.append(f"{'':<8}fix:      {finding.fix}")
    return lines


def _summary(report: Report) -> str:
    errors, warnings = len(report.errors), len(report.warnings)
    if not report.findings:
        return f"every link holds: {report.holder} here can get their token"
    counts = f"{errors} error(s), {warnings} warning(s)"
    if report.healthy:
        return f"{counts}: {report.holder} here can get their token; act on the warnings before they break it"
    return f"{counts}: {report.holder} here get no token until the errors are fixed"
