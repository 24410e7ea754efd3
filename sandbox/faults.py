"""Fault profiles: latency, injected errors, connection resets, hangs and throttling, per service.

A profile is data; `FaultInjector` draws from a seeded generator so a failing run can be replayed.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

SERVICES = ("arm", "graph", "dataverse", "environments", "bap", "ingestion", "token")

Outcome = Literal["pass", "server_error", "service_unavailable", "reset", "hang", "throttle"]


@dataclass
class ServiceFaults:
    """What to do to one service's requests; rates are probabilities in [0, 1]."""

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    spike_rate: float = 0.0
    spike_ms: float = 0.0
    error_rate: float = 0.0
    reset_rate: float = 0.0
    hang_rate: float = 0.0
    throttle_rate: float = 0.0
    retry_after_seconds: float = 1.0


@dataclass
class FaultProfile:
    """Named per-service faults; `rate_limits` turns on the documented throttles, scaled by `time_scale`."""

    name: str = "none"
    seed: int = 0
    rate_limits: bool = False
    time_scale: float = 1.0
    hang_seconds: float = 30.0
    services: dict[str, ServiceFaults] = field(default_factory=dict)

    def for_service(self, service: str) -> ServiceFaults:
        return self.services.get(service) or ServiceFaults()

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> FaultProfile:
        """Build from a control-API body: a `profile` name as the base, then any overrides."""
        base = named_profile(
            str(body.get("profile", body.get("name", "none"))),
            seed=int(body.get("seed", 0)),
            time_scale=float(body.get("time_scale", 1.0)),
        )
        for key in ("rate_limits", "hang_seconds"):
            if key in body:
                setattr(base, key, type(getattr(base, key))(body[key]))
        for service, overrides in dict(body.get("services", {})).items():
            if service not in SERVICES:
                raise ValueError(f"unknown service {service!r}; known: {', '.join(SERVICES)}")
            current = asdict(base.for_service(service))
            unknown = set(overrides) - set(current)
            if unknown:
                raise ValueError(f"unknown fault settings for {service}: {sorted(unknown)}")
            current.update(overrides)
            base.services[service] = ServiceFaults(**current)
        return base


def named_profile(name: str, *, seed: int = 0, time_scale: float = 1.0) -> FaultProfile:
    """`none` (no faults), `chaos` (5 % 5xx, 5 % 429, 2 % resets, spikes), `azure` (latencies and limits)."""
    if name == "none":
        return FaultProfile(name="none", seed=seed, time_scale=time_scale)
    if name == "chaos":
        chaos = ServiceFaults(
            latency_ms=5,
            jitter_ms=10,
            spike_rate=0.05,
            spike_ms=300,
            error_rate=0.05,
            reset_rate=0.02,
            throttle_rate=0.05,
        )
        services = {service: ServiceFaults(**asdict(chaos)) for service in SERVICES if service != "token"}
        return FaultProfile(name="chaos", seed=seed, time_scale=time_scale, services=services)
    if name == "azure":
        latencies = {
            "arm": 120,
            "graph": 90,
            "dataverse": 60,
            "environments": 150,
            "bap": 150,
            "ingestion": 30,
            "token": 5,
        }
        services = {
            service: ServiceFaults(latency_ms=ms / time_scale, jitter_ms=ms / 4 / time_scale)
            for service, ms in latencies.items()
        }
        return FaultProfile(
            name="azure", seed=seed, rate_limits=True, time_scale=time_scale, services=services
        )
    raise ValueError(f"unknown fault profile {name!r}; choose none, chaos or azure")


class FaultInjector:
    """Decides, per request, the added latency and whether to fail it."""

    def __init__(self, profile: FaultProfile) -> None:
        self.profile = profile
        self._rng = random.Random(profile.seed)

    def latency_seconds(self, service: str) -> float:
        faults = self.profile.for_service(service)
        millis = faults.latency_ms + (self._rng.uniform(0, faults.jitter_ms) if faults.jitter_ms else 0.0)
        if faults.spike_rate and self._rng.random() < faults.spike_rate:
            millis += faults.spike_ms
        return millis / 1000.0

    def outcome(self, service: str) -> Outcome:
        faults = self.profile.for_service(service)
        draw = self._rng.random()
        for rate, outcome in (
            (faults.reset_rate, "reset"),
            (faults.hang_rate, "hang"),
            (faults.throttle_rate, "throttle"),
            (faults.error_rate / 2, "server_error"),
            (faults.error_rate / 2, "service_unavailable"),
        ):
            if draw < rate:
                return outcome  # type: ignore[return-value]
            draw -= rate
        return "pass"
