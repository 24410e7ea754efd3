"""The engine's public names are what the Functions wiring and the CLI import; changing them breaks them."""

import shared.engine


def test_the_public_interface_is_pinned() -> None:
    assert set(shared.engine.__all__) == {
        "Action",
        "Change",
        "Desired",
        "Enrichment",
        "EnvironmentInfo",
        "Observed",
        "Placement",
        "Preview",
        "Report",
        "Runtime",
        "StepResult",
        "WRITES",
        "apply",
        "describe",
        "enrich",
        "environments_in_scope",
        "find_existing",
        "grants_for",
        "identity_key",
        "listing_scopes",
        "open_runtime",
        "plan",
        "preview",
        "process",
        "row_id_for",
        "wanted_vaults",
    }
