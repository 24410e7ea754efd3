"""The provisioning engine: desired state from the policy, observed state from the services, idempotent steps.

`process(event, runtime)` is what the Service Bus handlers call; `plan` and `apply` are its two halves.
"""

from shared.clients.environments import EnvironmentInfo
from shared.engine._apply import Change, apply, describe
from shared.engine._desired import grants_for, row_id_for
from shared.engine._grants import listing_scopes
from shared.engine._model import Action, Desired, Enrichment, Observed
from shared.engine._naming import identity_key
from shared.engine._placement import Placement, find_existing
from shared.engine._plan import plan
from shared.engine._preview import WRITES, Preview, preview
from shared.engine._process import Report, enrich, process
from shared.engine._runtime import Runtime, open_runtime
from shared.engine._scope import environments_in_scope
from shared.engine._vault_access import wanted_vaults
from shared.events import StepResult

__all__ = [
    "WRITES",
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
]
