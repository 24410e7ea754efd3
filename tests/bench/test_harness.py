"""The harness end to end on one environment: events through a worker process, figures from the sandbox."""

from __future__ import annotations

from bench.baseline import run_baseline
from bench.model import Workload
from bench.profile import AzureModel
from bench.scenarios import BenchSettings, measure, open_bench
from bench.workload import creation_events, reconcile_events
from shared.messaging.publishing import unique_reply_session

SETTINGS = BenchSettings(
    model=AzureModel.default(time_scale=20.0),
    environments=1,
    packages=2,
    flags_sessions=2,
    flags_event_receivers=2,
    budgets=(("1", 30.0), ("3", 30.0)),
)


async def test_one_environment_is_provisioned_through_the_worker_and_a_reconcile_then_writes_nothing() -> (
    None
):
    bench = open_bench(SETTINGS, "per-environment", chaos=False, count=1)
    try:
        session = unique_reply_session()
        created = await measure(
            bench,
            SETTINGS,
            key="1",
            title="one environment",
            events=creation_events(bench.environments, bench.certificate, session),
            reply_session=session,
            workload=Workload(1, packages_per_environment=2),
        )
        session = unique_reply_session()
        reconciled = await measure(
            bench,
            SETTINGS,
            key="3",
            title="reconcile",
            events=reconcile_events(bench.environments, session),
            reply_session=session,
            workload=Workload(1, packages_per_environment=2, reconcile=True),
        )
        (package_row, other_row) = bench.sandbox.control.rows(bench.environments[0].id, "pluginpackages")
    finally:
        bench.sandbox.stop()

    assert created["complete"]
    assert created["outcomes"] == {"succeeded": 3}
    assert created["identity_writes"] == 2  # the identity and its FIC
    assert created["makespan_seconds"] >= created["lower_bound"]["seconds"]
    assert created["worker_cpu_seconds"] > 0
    assert created["worker_peak_rss_mb"] > 0
    assert package_row["_managedidentityid_value"] == other_row["_managedidentityid_value"] is not None
    assert reconciled["outcomes"] == {"succeeded": 1}
    assert reconciled["writes"] == 0


async def test_the_naive_baseline_does_the_whole_manual_procedure() -> None:
    bench = open_bench(SETTINGS, "per-environment", chaos=False, count=1)
    try:
        run = await run_baseline(bench.sandbox, bench.environments, bench.certificate, SETTINGS.model)
        state = bench.sandbox.control.dump()
        packages = bench.sandbox.control.rows(bench.environments[0].id, "pluginpackages")
        (row,) = bench.sandbox.control.rows(bench.environments[0].id, "managedidentities")
    finally:
        bench.sandbox.stop()

    (identity,) = state["identities"]
    assert len(identity["federatedIdentityCredentials"]) == 1
    assert row["applicationid"] == identity["properties"]["clientId"]
    assert {package["_managedidentityid_value"] for package in packages} == {row["managedidentityid"]}
    (grant,) = state["roleAssignments"]
    assert grant["properties"]["principalId"] == identity["properties"]["principalId"]
    # creating the identity and then its FIC waits for the identity's write bucket: 4 model seconds
    assert run.seconds * SETTINGS.model.time_scale >= 1 / SETTINGS.model.identity_rates.write_per_identity
