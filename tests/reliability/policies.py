"""The demo policy with its identity strategy switched, for the strategy tests and `make soak --strategy`."""

from __future__ import annotations

from pathlib import Path

from sandbox.server import Sandbox
from shared.policy import Policy, load_policy

STRATEGIES = ("per-environment", "shared-pool", "app-registration")

POOL = "  strategy: shared-pool\n  poolName: ppmi-pool\n  shardCapacity: 3\n  headroom: 1\n"


def policy_with_strategy(sandbox: Sandbox, policy_file: Path, strategy: str) -> Policy:
    """The demo policy with its identity strategy switched (pool shards hold two environments each)."""
    text = policy_file.read_text(encoding="utf-8")
    if strategy == "shared-pool":
        text = text.replace("  strategy: per-environment\n", POOL)
    elif strategy == "app-registration":
        application = sandbox.control.create_application("ppmi plug-ins")
        text = text.replace(
            "  strategy: per-environment\n",
            "  strategy: app-registration\n"
            f"  applicationObjectId: {application.object_id}\n  applicationId: {application.app_id}\n",
        )
    policy_file.write_text(text, encoding="utf-8")
    return load_policy(policy_file)
