"""Results as JSON, a markdown table, a PNG chart and the README's `## Benchmarks` section.

Targets are judged here, from the numbers alone; a missed target says which limit held the product back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RATIO_TARGET = 1.25
FUNCTIONS_RATIO_TARGET = 1.3  # the deployed path at 4 instances
FUNCTIONS_TARGET_INSTANCES = 4
THROTTLED_SHARE_TARGET = 0.01
README_HEADING = "## Benchmarks"


def scenario(results: dict[str, Any], key: str) -> dict[str, Any]:
    return next(item for item in results["scenarios"] if item["key"] == key)


def judge(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Every target with its value, whether it is met, and for a miss what held the product back."""
    targets = [_ratio_target(scenario(results, key), f"scenario {key}", RATIO_TARGET) for key in ("1", "2")]
    for key in ("1", "2"):
        functions = f"{key}f{FUNCTIONS_TARGET_INSTANCES}"
        if any(item["key"] == functions for item in results["scenarios"]):
            name = f"scenario {key} through Functions x {FUNCTIONS_TARGET_INSTANCES}"
            targets.append(_ratio_target(scenario(results, functions), name, FUNCTIONS_RATIO_TARGET))
    targets.append(_lock_target(results))
    reconcile = scenario(results, "3")
    targets.append(
        {
            "target": "scenario 3: zero writes in the no-op reconcile",
            "value": reconcile["writes"],
            "met": reconcile["writes"] == 0 and reconcile["complete"],
            "why": "" if reconcile["writes"] == 0 else "the reconcile rewrote state that already matched",
        }
    )
    for key in ("1", "2", "3"):
        item = scenario(results, key)
        share = item["answered_429_share"]
        targets.append(
            {
                "target": f"scenario {key}: at most 1 % of requests answered 429",
                "value": f"{share:.2%} ({item['answered_429']} of {item['requests']})",
                "met": share <= THROTTLED_SHARE_TARGET,
                "why": "" if share <= THROTTLED_SHARE_TARGET else _throttle_why(item),
            }
        )
    failed_on_409 = sum(item["failed_on_409"] for item in results["scenarios"])
    targets.append(
        {
            "target": "no 409 surfaced as a failure (all scenarios)",
            "value": failed_on_409,
            "met": failed_on_409 == 0,
            "why": "" if failed_on_409 == 0 else "a conflict reached an event's result as its failure reason",
        }
    )
    chaos = scenario(results, "4")
    succeeded = chaos["outcomes"].get("succeeded", 0)
    targets.append(
        {
            "target": "scenario 4: every event done under chaos",
            "value": f"{succeeded} of {chaos['events']} succeeded",
            "met": succeeded == chaos["events"],
            "why": "" if succeeded == chaos["events"] else _incomplete_why(chaos),
        }
    )
    return targets


def _ratio_target(item: dict[str, Any], name: str, limit: float) -> dict[str, Any]:
    ratio = item["makespan_over_lower_bound"]
    met = item["complete"] and ratio is not None and ratio <= limit
    return {
        "target": f"{name}: makespan / lower bound <= {limit}",
        "value": ratio,
        "met": met,
        "why": "" if met else _ratio_why(item),
    }


def _lock_target(results: dict[str, Any]) -> dict[str, Any]:
    """The deployed trigger keeps its locks: no message of the Functions rows came back for a lost one."""
    rows = [item for item in results["scenarios"] if "f" in item["key"]]
    expired = {item["key"]: item["lock_expiries"] for item in rows if item["lock_expiries"]}
    return {
        "target": "Functions path: no message redelivered because a lock expired ("
        + ", ".join(item["key"] for item in rows)
        + ")",
        "value": sum(expired.values()),
        "met": not expired,
        "why": ""
        if not expired
        else "locks ran out in " + ", ".join(f"{k} x{n}" for k, n in expired.items()),
    }


def _ratio_why(item: dict[str, Any]) -> str:
    if not item["complete"]:
        return (
            f"only {item['done']} of {item['events']} events finished within the "
            f"{item['budget_seconds']:g} s budget; the projection assumes the same pace. {_pace(item)}"
        )
    return _pace(item)


def _pace(item: dict[str, Any]) -> str:
    binding = item["lower_bound"]["binding"]
    if "identity_writes" not in item:
        return f"The bound is set by {binding}; the product wrote no managed identity."
    first, last = item["first_identity_write_seconds"], item["last_identity_write_seconds"]
    window = (
        f"The bound is set by {binding}. The product's {item['identity_writes']} managed identity "
        f"writes ran at {item['identity_writes_per_second_while_writing']}/s between {first:g} s and "
        f"{last:g} s; {first:g} s passed before the first write"
    )
    if not item["complete"]:
        return window + "."
    return f"{window} and {item['makespan_seconds'] - last:.1f} s after the last."


def _throttle_why(item: dict[str, Any]) -> str:
    throttled = {kind: count for kind, count in item["answered_429_by_kind"].items() if count} or {
        "unknown": item["answered_429"]
    }
    return "429s by call: " + ", ".join(f"{kind} x{count}" for kind, count in throttled.items())


def _incomplete_why(item: dict[str, Any]) -> str:
    outcomes = ", ".join(f"{name} {count}" for name, count in sorted(item["outcomes"].items()))
    return (
        f"outcomes: {outcomes or 'none'}; {item['events'] - item['done']} without a result within the budget"
    )


def markdown(results: dict[str, Any]) -> str:
    """The table of scenarios, the baseline and the targets."""
    baseline = results["baseline"]
    lines = [
        f"Run {results['started']} · time scale {results['time_scale']:g} (all times in model seconds: "
        f"sandbox wall clock x {results['time_scale']:g}) · machine load (1 min) at the end of each "
        "scenario: " + ", ".join(f"{item.get('load_average_1min', '?')}" for item in results["scenarios"]),
        "",
        "| scenario | events done | makespan s | lower bound s | ÷ bound | p50 / p95 s | ÷ naive | "
        "req/event | writes | 429 | 409 | redelivered (lock expired) | worker CPU s | peak MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for item in results["scenarios"]:
        makespan = f"{item['makespan_seconds']:g}"
        if not item["complete"]:
            makespan = f"≥ {item['makespan_seconds']:g} (≈ {item['projected_makespan_seconds']:g})"
        versus_naive = item.get("over_naive")
        lines.append(
            f"| {item['key']}. {item['title']} | {item['done']}/{item['events']} | {makespan} | "
            f"{item['lower_bound']['seconds']:g} | {item['makespan_over_lower_bound']} | "
            f"{item['latency_p50_seconds']:g} / {item['latency_p95_seconds']:g} | "
            f"{versus_naive if versus_naive is not None else '—'} | {item['requests_per_event']} | "
            f"{item['writes']} | {item['answered_429']} ({item['answered_429_share']:.1%}) | "
            f"{item['answered_409']} | {item['redelivered']} ({item['lock_expiries']}) | "
            f"{item['worker_cpu_seconds']} | {item['worker_peak_rss_mb']} |"
        )
    lines += [
        f"| naive baseline (sequential, {baseline['environments_measured']} environments measured) | — | "
        f"{baseline['measured_seconds']:g} (≈ {baseline['projected_makespan_seconds']:g} for "
        f"{results['environments']}) | {baseline['lower_bound']['seconds']:g} | "
        f"{round(baseline['projected_makespan_seconds'] / baseline['lower_bound']['seconds'], 2)} | — | 1 | "
        "— | — | "
        f"{baseline['answered_429']} ({baseline['answered_429_share']:.1%}) | — | — | — | — |",
        "",
        "Hosts: "
        + "; ".join(f"{', '.join(keys)}: {host}" for host, keys in _hosts(results["scenarios"]).items())
        + ".",
        "",
        "| target | value | met | why not |",
        "|---|---|---|---|",
    ]
    for target in results["targets"]:
        lines.append(
            f"| {target['target']} | {target['value']} | {'yes' if target['met'] else '**no**'} | "
            f"{target['why']} |"
        )
    lines += ["", *calls_table(results["scenarios"])]
    lines += ["", "Lower bounds (model seconds; the largest term binds):", ""]
    for item in results["scenarios"]:
        terms = ", ".join(f"{name}: {seconds:g}" for name, seconds in item["lower_bound"]["terms"].items())
        lines.append(f"- {item['key']}. {terms}")
    return "\n".join(lines) + "\n"


def _hosts(scenarios: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Which scenarios ran on which host, in the table's order."""
    hosts: dict[str, list[str]] = {}
    for item in scenarios:
        hosts.setdefault(item.get("host", "ppmi worker"), []).append(item["key"])
    return hosts


def calls_table(scenarios: list[dict[str, Any]]) -> list[str]:
    """HTTP calls per finished event, by kind of call, one column per scenario."""
    kinds = sorted({kind for item in scenarios for kind in item["calls_per_event_by_kind"]})
    header = "| calls per event | " + " | ".join(f"{item['key']}." for item in scenarios) + " |"
    rows = [header, "|---" * (len(scenarios) + 1) + "|"]
    for kind in kinds:
        counts = (item["calls_per_event_by_kind"].get(kind) for item in scenarios)
        rows.append(f"| {kind} | " + " | ".join("" if c is None else f"{c:g}" for c in counts) + " |")
    if not all(item["complete"] for item in scenarios):
        rows += [
            "",
            "Calls are per finished event: a scenario cut short routed more events than it finished.",
        ]
    return rows


def chart(results: dict[str, Any], path: Path) -> None:
    """Makespan, projection and lower bound per scenario, with the naive baseline, on one bar chart."""
    import matplotlib  # noqa: PLC0415 - heavy, needed only here

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    items = results["scenarios"]
    labels = [f"{item['key']}. {item['title']}" for item in items] + ["naive baseline"]
    product = [item["projected_makespan_seconds"] for item in items] + [
        results["baseline"]["projected_makespan_seconds"]
    ]
    bounds = [item["lower_bound"]["seconds"] for item in items] + [
        results["baseline"]["lower_bound"]["seconds"]
    ]
    figure, axes = plt.subplots(figsize=(10, 4.8))
    positions = range(len(labels))
    axes.bar([p - 0.2 for p in positions], product, width=0.4, label="makespan (projected where cut short)")
    axes.bar([p + 0.2 for p in positions], bounds, width=0.4, label="lower bound from the Azure limits")
    axes.set_xticks(list(positions), labels, rotation=15, ha="right", fontsize=8)
    axes.set_ylabel("model seconds")
    axes.set_yscale("log")
    axes.set_title(f"ppmi: {results['environments']} environments x {results['packages']} packages")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_readme_section(readme: Path, table: str) -> None:
    """Replace everything from `## Benchmarks` to the end of README.md (or append the section)."""
    text = readme.read_text(encoding="utf-8")
    head = text.split(f"\n{README_HEADING}\n", 1)[0].rstrip("\n")
    section = (
        f"{README_HEADING}\n\n"
        "`make bench` drives the scenarios through the real path (events → `ppmi-events` → worker → "
        "engine → sandbox) against a sandbox that models Azure's latencies and documented limits, "
        "time-scaled, beside the naive manual procedure: rows 1-4 through `ppmi worker`, rows `1f`/`2f` "
        "through the deployed Functions app's semantics at 1, 4 and 16 instances, `1b`/`2b` through the "
        "batch trigger it no longer uses. `bench/README.md` explains the model, the lower bound, the two "
        "hosts and what limits the product. Latest run (`bench/results/latest.md`, `.json`, `.png`):\n\n"
        f"{table}"
    )
    readme.write_text(f"{head}\n\n{section}", encoding="utf-8")


def write_all(results: dict[str, Any], directory: Path, readme: Path | None) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "latest.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    table = markdown(results)
    (directory / "latest.md").write_text("# Benchmarks: latest run\n\n" + table, encoding="utf-8")
    chart(results, directory / "latest.png")
    if readme is not None:
        write_readme_section(readme, table)
