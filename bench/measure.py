"""Figures of one scenario from what the sandbox saw (its request log) and what the worker answered."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from sandbox import RequestRecord

CLOUD_SERVICES = frozenset({"arm", "graph", "dataverse", "environments", "bap"})
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_NAMED = re.compile(
    r"/(userAssignedIdentities|federatedIdentityCredentials|roleAssignments|environments)/[^/]+"
)
_FUNCTION_ARGS = re.compile(r"\([^)]*\)")
CONFLICT_WORDS = ("409", "Concurrent", "Conflict")


def call_kind(record: RequestRecord) -> str:
    """`service METHOD last/segments` with placeholders: `arm PUT federatedIdentityCredentials/{name}`."""
    path = _NAMED.sub(lambda match: f"/{match.group(1)}/{{name}}", record.path)
    path = _FUNCTION_ARGS.sub("({id})", _GUID.sub("{id}", path))
    segments = [segment for segment in path.split("/") if segment]
    return f"{record.service} {record.method} {'/'.join(segments[-2:]) if segments else '/'}"


def percentile(values: list[float], fraction: float) -> float:
    """The `fraction` quantile by linear interpolation (0.0 for no values)."""
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    index = round(fraction * 100)
    return cuts[index - 1] if 1 <= index <= 99 else (min(values) if index < 1 else max(values))


@dataclass(frozen=True)
class RequestFigures:
    total: int
    throttled: int  # answered 429
    conflicts: int  # answered 409
    writes: int  # anything but GET/HEAD to a cloud API
    by_kind: dict[str, int]
    throttled_by_kind: dict[str, int]

    @property
    def throttled_share(self) -> float:
        return self.throttled / self.total if self.total else 0.0


def request_figures(records: Iterable[RequestRecord]) -> RequestFigures:
    cloud = [record for record in records if record.service in CLOUD_SERVICES]
    return RequestFigures(
        total=len(cloud),
        throttled=sum(1 for record in cloud if record.status == 429),
        conflicts=sum(1 for record in cloud if record.status == 409),
        writes=sum(1 for record in cloud if record.write),
        by_kind=dict(Counter(call_kind(record) for record in cloud).most_common()),
        throttled_by_kind=dict(
            Counter(call_kind(record) for record in cloud if record.status == 429).most_common()
        ),
    )


def conflict_failures(reasons: Iterable[str]) -> int:
    """Failed events whose reason is a 409: the product let a conflict through to the user."""
    return sum(1 for reason in reasons if any(word in reason for word in CONFLICT_WORDS))
