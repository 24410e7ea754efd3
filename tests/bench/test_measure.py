"""Figures from the sandbox's request log: call kinds, throttling share, writes, percentiles."""

from __future__ import annotations

from bench.measure import call_kind, conflict_failures, percentile, request_figures
from sandbox import RequestRecord

IDENTITY = (
    "/subscriptions/3b1f0c2e-5d4a-4e8b-9c7d-2a1b0c9d8e7f/resourceGroups/rg/providers/"
    "Microsoft.ManagedIdentity/userAssignedIdentities/ppmi-7efcc31a-c410-e20e-9b95-dd448cedf653"
)


def record(service: str, method: str, path: str, status: int = 200) -> RequestRecord:
    return RequestRecord(
        service=service,
        method=method,
        host="example",
        path=path,
        query="",
        status=status,
        error_code="",
        write=method not in ("GET", "HEAD"),
        started=0.0,
        finished=0.0,
        caller="",
    )


def test_call_kinds_name_the_operation_without_names_or_ids() -> None:
    fic = record("arm", "PUT", IDENTITY + "/federatedIdentityCredentials/ppmi-x-0011")
    row = record("dataverse", "PATCH", "/api/data/v9.2/pluginpackages(5d41402a-bc4b-2a76-b971-9d911017c592)")
    function = record("dataverse", "GET", "/api/data/v9.2/GetComponentManagedIdentityFIC(ComponentId=1)")

    assert call_kind(fic) == "arm PUT federatedIdentityCredentials/{name}"
    assert call_kind(record("arm", "GET", IDENTITY)) == "arm GET userAssignedIdentities/{name}"
    assert call_kind(row) == "dataverse PATCH v9.2/pluginpackages({id})"
    assert call_kind(function) == "dataverse GET v9.2/GetComponentManagedIdentityFIC({id})"


def test_throttling_share_and_writes_count_cloud_calls_only() -> None:
    records = [
        record("arm", "PUT", IDENTITY, 201),
        record("arm", "PUT", IDENTITY, 429),
        record("arm", "GET", IDENTITY, 409),
        record("dataverse", "GET", "/api/data/v9.2/managedidentities"),
        record("token", "GET", "/msi/token"),
    ]

    figures = request_figures(records)

    assert figures.total == 4
    assert figures.throttled == 1
    assert figures.throttled_share == 0.25
    assert figures.conflicts == 1
    assert figures.writes == 2
    assert figures.throttled_by_kind == {"arm PUT userAssignedIdentities/{name}": 1}


def test_percentiles_interpolate_and_survive_tiny_samples() -> None:
    values = [float(value) for value in range(1, 101)]

    assert percentile(values, 0.5) == 50.5
    assert percentile(values, 0.95) == 95.05
    assert percentile([3.0], 0.95) == 3.0
    assert percentile([], 0.5) == 0.0


def test_only_failures_caused_by_a_conflict_count_as_surfaced_409s() -> None:
    reasons = [
        "PUT federatedIdentityCredentials: 409 ConcurrentFederatedIdentityCredentialsWritesFor...",
        "403 the caller lacks prvWritepluginpackage",
    ]

    assert conflict_failures(reasons) == 1
