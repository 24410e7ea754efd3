"""One entry of the sandbox's request log, as tests and the control API read it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RequestRecord:
    """One request as the sandbox saw it; `started`/`finished` are `time.monotonic()` seconds."""

    service: str
    method: str
    host: str
    path: str
    query: str
    status: int
    error_code: str
    write: bool
    started: float
    finished: float
    caller: str
