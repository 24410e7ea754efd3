"""Drive `azure-functions-runtime` (the Python 3.13+ worker library) the way the proxy worker does.

The host starts the worker, sends `WorkerInitRequest` (the runtime indexes `function_app.py` there: it imports
the module, collects the `FunctionApp`'s functions with `loader.index_function_app` and validates every one
with `functions.Registry` through `loader.process_indexed_function`), then `FunctionsMetadataRequest` (the
runtime answers with what it indexed), `FunctionLoadRequest` per function, and `InvocationRequest`s, whose
inputs the runtime turns into Python objects with the `azure-functions` converters
(`azure_functions_runtime/handle_event.py`, `bindings/meta.py`). Every call below is the runtime's own entry
point; only the host protocol's message classes are stand-ins (`host_protocol`).
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from azure_functions_runtime import (
    function_load_request,
    functions_metadata_request,
    invocation_request,
    worker_init_request,
)

from tests.functions import host_protocol as protos

APP_MODULE = "function_app"  # the runtime imports the script by its stem (PYTHON_SCRIPT_FILE_NAME's default)


class AppRefusedError(AssertionError):
    """The worker would not index or load the app; the message is the worker's own."""


def host_request(name: str, message: protos.Message) -> protos.StreamingMessage:
    return protos.StreamingMessage(
        request=protos.StreamingMessage(**{name: message}),
        properties={"host": "127.0.0.1", "protos": protos},
    )


@contextmanager
def importable_from(directory: Path) -> Iterator[None]:
    """`function_app` resolves to `directory`'s, imported afresh as a starting worker would, then restored."""
    previous = sys.modules.pop(APP_MODULE, None)
    sys.path.insert(0, str(directory))
    try:
        yield
    finally:
        sys.path.remove(str(directory))
        sys.modules.pop(APP_MODULE, None)
        if previous is not None:
            sys.modules[APP_MODULE] = previous


@dataclass(frozen=True)
class IndexedApp:
    """What the worker told the host: each function's metadata, by name."""

    functions: Mapping[str, protos.RpcFunctionMetadata]

    def function_id(self, name: str) -> str:
        return str(self.functions[name].function_id)


def _refused(what: str, result: protos.StatusResult) -> AppRefusedError:
    exception = result.exception
    return AppRefusedError(f"the worker refused the app at {what}: {exception.message}")


async def index_app(directory: Path) -> IndexedApp:
    """Init, metadata and load requests for the app in `directory`; raises `AppRefusedError` on failure."""
    with importable_from(directory):
        init = await worker_init_request(
            host_request(
                "worker_init_request",
                protos.WorkerInitRequest(function_app_directory=str(directory), capabilities={}),
            )
        )
    if init.result.status != protos.StatusResult.Success:
        raise _refused("indexing", init.result)
    listed = await functions_metadata_request(
        host_request("functions_metadata_request", protos.FunctionsMetadataRequest(function_app_directory=""))
    )
    functions = {str(metadata.name): metadata for metadata in listed.function_metadata_results or []}
    for metadata in functions.values():
        loaded = await function_load_request(
            host_request(
                "function_load_request",
                protos.FunctionLoadRequest(function_id=metadata.function_id, metadata=metadata),
            )
        )
        if loaded.result.status != protos.StatusResult.Success:
            raise _refused(f"loading {metadata.name}", loaded.result)
    return IndexedApp(functions)


async def invoke(
    app: IndexedApp,
    name: str,
    inputs: Mapping[str, protos.TypedData],
    trigger_metadata: Mapping[str, protos.TypedData] | None = None,
    *,
    may_fail: bool = False,
) -> protos.InvocationResponse:
    """One `InvocationRequest`; unless `may_fail`, a failed one raises `AppRefusedError` with its message."""
    request = protos.InvocationRequest(
        invocation_id=str(uuid.uuid4()),
        function_id=app.function_id(name),
        input_data=[protos.ParameterBinding(name=key, data=value) for key, value in inputs.items()],
        trigger_metadata=dict(trigger_metadata or {}),
        trace_context=protos.RpcTraceContext(trace_parent="", trace_state="", attributes={}),
        retry_context=protos.RetryContext(retry_count=0, max_retry_count=0, exception=None),
    )
    response: protos.InvocationResponse = await invocation_request(
        host_request("invocation_request", request)
    )
    if response.result.status != protos.StatusResult.Success and not may_fail:
        raise _refused(f"invoking {name}", response.result)
    return response
