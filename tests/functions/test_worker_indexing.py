"""The Python worker's own library indexes and loads function_app.py, as it does before answering the host."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.functions.python_worker import AppRefusedError, index_app

ROOT = Path(__file__).resolve().parents[2]

BUILTIN_GENERIC_APP = """
import azure.functions as func

app = func.FunctionApp()


@app.service_bus_queue_trigger(
    arg_name="messages", queue_name="ppmi-work", connection="ServiceBusConnection",
    is_sessions_enabled=True, cardinality=func.Cardinality.MANY,
)
async def provision(messages: list[func.ServiceBusMessage]) -> None:
    return None
"""


async def test_the_worker_indexes_and_loads_every_function_of_the_app() -> None:
    app = await index_app(ROOT)

    assert set(app.functions) == {"route_event", "provision", "discovery", "reconcile", "intake"}
    bindings = {name: metadata.bindings for name, metadata in app.functions.items()}
    triggers = {
        name: {b.type for b in found.values() if b.direction == 0} for name, found in bindings.items()
    }
    assert triggers == {
        "route_event": {"serviceBusTrigger"},
        "provision": {"serviceBusTrigger"},
        "discovery": {"timerTrigger"},
        "reconcile": {"timerTrigger"},
        "intake": {"httpTrigger"},
    }
    assert all(metadata.properties == {"worker_indexed": "True"} for metadata in app.functions.values())


async def test_the_worker_refuses_a_batch_trigger_annotated_with_a_builtin_generic(tmp_path: Path) -> None:
    (tmp_path / "function_app.py").write_text(BUILTIN_GENERIC_APP, encoding="utf-8")

    with pytest.raises(AppRefusedError) as refused:
        await index_app(tmp_path)

    assert str(refused.value) == (
        "the worker refused the app at indexing: FunctionLoadError: cannot load the provision function: "
        "binding messages has invalid non-type annotation list[azure.functions._servicebus.ServiceBusMessage]"
    )


async def test_the_worker_indexes_the_same_trigger_annotated_with_typing_list(tmp_path: Path) -> None:
    fixed = BUILTIN_GENERIC_APP.replace(
        "import azure.functions as func", "import typing\n\nimport azure.functions as func"
    )
    fixed = fixed.replace("list[func.ServiceBusMessage]", "typing.List[func.ServiceBusMessage]")
    (tmp_path / "function_app.py").write_text(fixed, encoding="utf-8")

    app = await index_app(tmp_path)

    (binding,) = app.functions["provision"].bindings.values()
    assert (binding.type, binding.direction) == ("serviceBusTrigger", 0)
