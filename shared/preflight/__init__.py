"""`ppmi preflight`: check, once and reading only, that a real tenant is set up the way ppmi's automation
assumes (tokens, ARM rights, the environments API, Dataverse, FIC room), each finding with its fix."""

from shared.preflight._recording import Exchange, RecordingTransport, write_recording
from shared.preflight._redaction import Redactor
from shared.preflight._rendering import render_text
from shared.preflight._report import UNREACHABLE, Check, Outcome, PreflightReport
from shared.preflight._run import DEFAULT_RETRY_BUDGET_SECONDS, PreflightOptions, run_preflight

__all__ = [
    "DEFAULT_RETRY_BUDGET_SECONDS",
    "UNREACHABLE",
    "Check",
    "Exchange",
    "Outcome",
    "PreflightOptions",
    "PreflightReport",
    "RecordingTransport",
    "Redactor",
    "render_text",
    "run_preflight",
    "write_recording",
]
