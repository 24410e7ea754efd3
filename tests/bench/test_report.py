"""Targets judged from the numbers, and the README section that shows them."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from bench.report import judge, markdown, write_readme_section

BOUND = {"seconds": 100.0, "binding": "managed identity writes per subscription", "terms": {"x": 100.0}}


def scenario(key: str, **changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "key": key,
        "title": f"scenario {key}",
        "strategy": "per-environment",
        "events": 8,
        "environments": 2,
        "done": 8,
        "complete": True,
        "outcomes": {"succeeded": 8},
        "makespan_seconds": 110.0,
        "projected_makespan_seconds": 110.0,
        "lower_bound": BOUND,
        "makespan_over_lower_bound": 1.1,
        "latency_p50_seconds": 50.0,
        "latency_p95_seconds": 90.0,
        "requests": 1000,
        "requests_per_event": 9.0,
        "calls_per_event_by_kind": {"arm PUT userAssignedIdentities/{name}": 0.25},
        "writes": 0 if key == "3" else 40,
        "first_identity_write_seconds": 2.0,
        "last_identity_write_seconds": 100.0,
        "identity_writes": 4,
        "identity_writes_per_second_while_writing": 1.9,
        "answered_429": 5,
        "answered_429_share": 0.005,
        "answered_429_by_kind": {},
        "answered_409": 0,
        "failed_on_409": 0,
        "redelivered": 0,
        "lock_expiries": 0,
        "worker_cpu_seconds": 3.0,
        "worker_peak_rss_mb": 150.0,
        "budget_seconds": 60.0,
    }
    return item | changes


def results(*scenarios: dict[str, Any]) -> dict[str, Any]:
    baseline = {
        "environments_measured": 1,
        "measured_seconds": 5.0,
        "projected_makespan_seconds": 10.0,
        "lower_bound": BOUND,
        "answered_429": 1,
        "answered_429_share": 0.1,
    }
    document = {
        "started": "2026-11-27T12:00:00+00:00",
        "time_scale": 10.0,
        "environments": 2,
        "packages": 3,
        "worker": "24 sessions",
        "scenarios": list(scenarios),
        "baseline": baseline,
    }
    document["targets"] = judge(document)
    return document


def healthy() -> dict[str, Any]:
    return results(scenario("1"), scenario("2"), scenario("3"), scenario("4"))


def test_a_run_within_every_target_meets_them_all() -> None:
    assert all(target["met"] for target in healthy()["targets"])


def functions_rows(changes_by_key: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The Functions path at 1, 4 and 16 instances for scenarios 1 and 2, each row changed as asked."""
    keys = [f"{number}f{instances}" for number in ("1", "2") for instances in (1, 4, 16)]
    return [scenario(key, **(changes_by_key or {}).get(key, {})) for key in keys]


def test_the_functions_path_at_four_instances_has_its_own_ratio_target_and_keeps_every_lock() -> None:
    document = results(scenario("1"), scenario("2"), scenario("3"), scenario("4"), *functions_rows())

    functions = [t for t in document["targets"] if "Functions" in t["target"]]
    assert [(t["target"], t["met"]) for t in functions] == [
        ("scenario 1 through Functions x 4: makespan / lower bound <= 1.3", True),
        ("scenario 2 through Functions x 4: makespan / lower bound <= 1.3", True),
        (
            "Functions path: no message redelivered because a lock expired (1f1, 1f4, 1f16, 2f1, 2f4, 2f16)",
            True,
        ),
    ]


def test_a_slow_functions_row_and_a_lock_that_ran_out_are_misses_that_say_where() -> None:
    rows = functions_rows({"2f4": {"makespan_over_lower_bound": 1.4}, "1f16": {"lock_expiries": 3}})

    document = results(scenario("1"), scenario("2"), scenario("3"), scenario("4"), *rows)

    missed = {t["target"]: t["why"] for t in document["targets"] if not t["met"]}
    assert set(missed) == {
        "scenario 2 through Functions x 4: makespan / lower bound <= 1.3",
        "Functions path: no message redelivered because a lock expired (1f1, 1f4, 1f16, 2f1, 2f4, 2f16)",
    }
    assert "locks ran out in 1f16 x3" in missed.values()


def test_the_table_shows_redeliveries_and_expired_locks_and_which_host_ran_each_row() -> None:
    worker = "ppmi worker: 64 sessions"
    document = results(
        *(scenario(key, host=worker) for key in ("1", "2", "3", "4")),
        scenario("2b", host="Functions batch trigger x 4", redelivered=12, lock_expiries=9),
    )

    table = markdown(document)

    assert "| 40 | 5 (0.5%) | 0 | 12 (9) | 3.0 | 150.0 |" in table
    assert f"Hosts: 1, 2, 3, 4: {worker}; 2b: Functions batch trigger x 4." in table


def test_a_slow_scenario_misses_its_ratio_and_names_the_binding_limit() -> None:
    slow = results(scenario("1", makespan_over_lower_bound=3.0), scenario("2"), scenario("3"), scenario("4"))

    (missed,) = [target for target in slow["targets"] if not target["met"]]
    assert missed["target"].startswith("scenario 1: makespan")
    assert "managed identity writes per subscription" in missed["why"]
    assert "2 s passed before the first write and 10.0 s after the last" in missed["why"]


def test_a_scenario_cut_short_by_its_budget_never_meets_its_ratio() -> None:
    cut = scenario("2", complete=False, done=4, makespan_over_lower_bound=1.0)

    document = results(scenario("1"), cut, scenario("3"), scenario("4"))

    target = next(t for t in document["targets"] if t["target"].startswith("scenario 2: makespan"))
    assert not target["met"]
    assert "only 4 of 8 events" in target["why"]


def test_throttling_above_one_percent_is_a_miss_that_lists_the_throttled_calls() -> None:
    noisy = scenario(
        "3", answered_429=20, answered_429_share=0.02, answered_429_by_kind={"arm GET x/{name}": 20}
    )

    document = results(scenario("1"), scenario("2"), noisy, scenario("4"))

    (missed,) = [target for target in document["targets"] if not target["met"]]
    assert "arm GET x/{name} x20" in missed["why"]


def test_writes_in_the_reconcile_and_unfinished_chaos_events_are_misses() -> None:
    document = results(
        scenario("1"),
        scenario("2"),
        scenario("3", writes=3),
        scenario("4", outcomes={"succeeded": 7, "failed": 1}),
    )

    missed = {target["target"] for target in document["targets"] if not target["met"]}
    assert missed == {
        "scenario 3: zero writes in the no-op reconcile",
        "scenario 4: every event done under chaos",
    }


def test_the_table_marks_a_cut_short_makespan_as_a_lower_limit() -> None:
    document = results(
        scenario("1"), scenario("2", complete=False, projected_makespan_seconds=400.0), scenario("3"),
        scenario("4"),
    )  # fmt: skip

    table = markdown(document)

    assert "| 2. scenario 2 | 8/8 | ≥ 110 (≈ 400) |" in table
    assert "**no**" in table


def test_the_readme_section_is_replaced_and_nothing_before_it_changes(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# ppmi\n\nIntro.\n\n## Usage\n\nRun it.\n", encoding="utf-8")
    first, second = healthy(), copy.deepcopy(healthy())
    second["started"] = "2026-11-28T08:00:00+00:00"

    write_readme_section(readme, markdown(first))
    write_readme_section(readme, markdown(second))

    text = readme.read_text(encoding="utf-8")
    assert text.startswith("# ppmi\n\nIntro.\n\n## Usage\n\nRun it.\n\n## Benchmarks\n")
    assert text.count("## Benchmarks") == 1
    assert "2026-11-28T08:00:00" in text
    assert "2026-11-27T12:00:00" not in text


def test_the_calls_table_shows_each_kind_per_scenario_and_leaves_absent_ones_blank() -> None:
    document = results(
        scenario("1"), scenario("2"), scenario("3", calls_per_event_by_kind={"arm GET x": 1.0}), scenario("4")
    )

    table = markdown(document)

    assert "| calls per event | 1. | 2. | 3. | 4. |" in table
    assert "| arm GET x |  |  | 1 |  |" in table
    assert "| arm PUT userAssignedIdentities/{name} | 0.25 | 0.25 |  | 0.25 |" in table
