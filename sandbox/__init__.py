"""Loopback stand-ins for every cloud API ppmi calls (development and tests; never deployed)."""

from sandbox.config import ArmBuckets, DataverseLimits, ManagedIdentityRates, SandboxConfig
from sandbox.control import ApplicationInfo, EnvironmentInfo, SandboxControl
from sandbox.faults import FaultProfile, ServiceFaults, named_profile
from sandbox.requestlog import RequestRecord
from sandbox.server import Sandbox

__all__ = [
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
