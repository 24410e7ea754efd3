"""The commands a finding recommends; one place, so every finding names the same way to repair."""

from __future__ import annotations

from shared.diagnosis._state import ComponentTarget


def reconcile(environment_id: str) -> str:
    """Re-running the convergent plan repairs identities, FICs, rows, bindings and grants alike."""
    return f"ppmi publish ppmi.environment.reconcile --environment-id {environment_id} --wait"


def register(environment_id: str, component: ComponentTarget) -> str:
    kind = "package" if component.table == "pluginpackage" else "assembly"
    return (
        f"ppmi publish ppmi.plugin{kind}.registered --environment-id {environment_id} "
        f"--plugin-{kind}-id {component.component_id} --certificate <signing certificate> --wait"
    )


def upgrade(environment_id: str) -> str:
    return f"ppmi upgrade --environment-id {environment_id}"


def upgrade_or_reconcile(environment_id: str, row_version: int | None, format_version: int) -> str:
    """An old row is moved forward by the upgrade, anything else by a reconcile."""
    if (row_version or 0) < format_version:
        return f"run `{upgrade(environment_id)}` (adds the current FIC, then flips the row's version)"
    return f"run `{reconcile(environment_id)}`"
