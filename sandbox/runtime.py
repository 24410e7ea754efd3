"""The running sandbox's mutable core: config, state, faults, throttles and the request log, reset as one."""

from __future__ import annotations

import threading
from collections import deque

from sandbox.config import SandboxConfig
from sandbox.faults import FaultInjector, FaultProfile
from sandbox.requestlog import RequestRecord
from sandbox.state import SandboxState
from sandbox.throttle import ArmThrottle, DataverseProtection
from sandbox.tokens import PROCESS_AUTHORITY

REQUEST_LOG_SIZE = 20_000


def startup_profile(config: SandboxConfig) -> FaultProfile:
    """The fault profile a sandbox starts with and returns to on reset."""
    return FaultProfile.from_json(
        {
            "profile": config.profile,
            "seed": config.seed,
            "time_scale": config.time_scale,
            **config.fault_overrides,
        }
    )


class Runtime:
    def __init__(self, config: SandboxConfig) -> None:
        self.initial_config = config.copy()
        self.authority = PROCESS_AUTHORITY
        self.requests: deque[RequestRecord] = deque(maxlen=REQUEST_LOG_SIZE)
        self.lock = threading.Lock()
        self.config = config.copy()
        self.state = SandboxState(self.config)
        self.faults = FaultInjector(startup_profile(config))
        self.arm_throttle = ArmThrottle(self.config.arm_buckets, self.config.identity_rates)
        self.protection = DataverseProtection(self.config.dataverse_limits)

    def reset(self) -> None:
        """Back to the start-up state: same seed, same IDs, start-up fault profile, empty log."""
        self.config = self.initial_config.copy()
        self.state = SandboxState(self.config)
        self.set_faults(startup_profile(self.config))
        self.arm_throttle = ArmThrottle(self.config.arm_buckets, self.config.identity_rates)
        self.protection = DataverseProtection(self.config.dataverse_limits)
        with self.lock:
            self.requests.clear()

    def set_faults(self, profile: FaultProfile) -> None:
        self.faults = FaultInjector(profile)
        self.arm_throttle = ArmThrottle(self.config.arm_buckets, self.config.identity_rates)

    def record(self, record: RequestRecord) -> None:
        with self.lock:
            self.requests.append(record)
