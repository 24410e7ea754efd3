"""Contract tests: the product's requests and the stand-ins' replies judged by Microsoft's own material.

Helpers, for any service: `documents` reads contracts/ (JSON files, a reference page's examples and tables);
`openapi.OpenApi` / `schema_problems` judge by a spec or a documented schema; `recording` keeps every exchange the
product has at its transport, `flows` drives whole conversations; `replay.replaying()` serves published or
recorded replies to a client over loopback and keeps its requests; `cassettes.interactions()` reads the azure-cli
and .NET SDK recordings; a stand-in that calls `sandbox.exchanges.record` from its `finish` hook keeps whole
exchanges when `record_exchanges` is on.
"""
