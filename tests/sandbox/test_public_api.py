"""The sandbox's public surface, pinned: other suites and tools import these names."""

from __future__ import annotations

import pytest

import sandbox
from sandbox import Sandbox, SandboxConfig


def test_public_names_are_pinned() -> None:
    assert sorted(sandbox.__all__) == [
        "ApplicationInfo",
        "ArmBuckets",
        "DataverseLimits",
        "EnvironmentInfo",
        "FaultProfile",
        "ManagedIdentityRates",
        "RequestRecord",
        "Sandbox",
        "SandboxConfig",
        "SandboxControl",
        "ServiceFaults",
        "named_profile",
    ]


def test_sandbox_refuses_to_listen_beyond_loopback() -> None:
    with pytest.raises(ValueError, match="loopback only"):
        Sandbox(SandboxConfig(host="0.0.0.0"))  # noqa: S104 - the point of the test
