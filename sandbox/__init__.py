"""Loopback stand-ins for every cloud API ppmi calls (development and tests; never deployed).

`server.Sandbox` runs them; one module per stand-in: `tokens` (managed-identity endpoint and JWTs),
`arm` and `roles`, `graph`, `dataverse` (+ `dataverse_tables`, `odata`, `plugin_subjects`), `environments`
(Power Platform API and BAP), `ingestion`; around them `faults`, `throttle`, `control` / `control_api`,
`state`, `config`.
"""

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
