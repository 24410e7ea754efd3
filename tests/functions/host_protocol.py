"""A test-only stand-in for the Functions host protocol messages that the worker library builds and reads.

`azure-functions-runtime` does not import the host protocol: its caller (the Python proxy worker) passes the
generated protobuf module in as `protos` with the init request (`handle_event.worker_init_request` reads
`request.properties["protos"]`). The messages and field names here are those of the host's `FunctionRpc.proto`
(Azure/azure-functions-python-worker, `azure_functions_worker/protos/_src/src/proto/FunctionRpc.proto`); the
`ParameterBinding` one-of is called `rpc_data`, as the runtime asks for it (`bindings/meta.py`). Only what the
runtime touches is modelled: plain attribute bags with protobuf's `WhichOneof`.
"""

from __future__ import annotations

from typing import Any, ClassVar


class Message:
    """A protobuf message as the runtime uses it: keyword construction, attributes, `WhichOneof`."""

    ONE_OFS: ClassVar[dict[str, tuple[str, ...]]] = {}

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)

    def __getattr__(self, name: str) -> Any:  # a field the message was not built with
        raise AttributeError(name)

    def WhichOneof(self, group: str) -> str | None:
        return next((name for name in self.ONE_OFS[group] if self.__dict__.get(name) is not None), None)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.__dict__!r})"


class TypedData(Message):
    ONE_OFS: ClassVar[dict[str, tuple[str, ...]]] = {
        "data": (
            "string",
            "json",
            "bytes",
            "stream",
            "http",
            "int",
            "double",
            "collection_bytes",
            "collection_string",
            "collection_double",
            "collection_sint64",
            "model_binding_data",
            "collection_model_binding_data",
        )
    }


class ParameterBinding(Message):
    ONE_OFS: ClassVar[dict[str, tuple[str, ...]]] = {"rpc_data": ("data", "rpc_shared_memory")}


class CollectionString(Message):
    pass


class CollectionBytes(Message):
    pass


class CollectionSInt64(Message):
    pass


class RpcHttp(Message):
    pass


class BindingInfo(Message):
    # enum Direction { in = 0; out = 1; inout = 2; }  enum DataType { undefined = 0; string = 1; ... }
    out = 1
    inout = 2
    undefined = 0
    string = 1
    binary = 2
    stream = 3


class StatusResult(Message):
    # enum Status { Failure = 0; Success = 1; Cancelled = 2; }
    Failure = 0
    Success = 1
    Cancelled = 2


class RpcException(Message):
    pass


class RpcFunctionMetadata(Message):
    pass


class RpcRetryOptions(Message):
    pass


class WorkerMetadata(Message):
    pass


class WorkerInitRequest(Message):
    pass


class WorkerInitResponse(Message):
    pass


class FunctionsMetadataRequest(Message):
    pass


class FunctionMetadataResponse(Message):
    pass


class FunctionLoadRequest(Message):
    pass


class FunctionLoadResponse(Message):
    pass


class RpcTraceContext(Message):
    pass


class RetryContext(Message):
    pass


class InvocationRequest(Message):
    pass


class InvocationResponse(Message):
    pass


class StreamingMessage(Message):
    """What the proxy worker hands the runtime: the host's message and, in `properties`, host and protos."""
