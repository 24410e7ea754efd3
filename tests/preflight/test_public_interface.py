"""The preflight package's public names are what `ppmi preflight` and other callers import."""

import shared.preflight


def test_the_public_interface_is_pinned() -> None:
    assert set(shared.preflight.__all__) == {
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
    }
    assert all(hasattr(shared.preflight, name) for name in shared.preflight.__all__)
