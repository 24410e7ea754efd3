"""Contract tests: the product's requests and the stand-ins' replies judged by Microsoft's own material.

Reusable for any service: `openapi.OpenApi` / `schema_problems` judge by a spec or a documented schema;
`replay.replaying()` serves published or recorded replies to a client over loopback and keeps its requests;
`recordings.interactions()` reads azure-cli and .NET SDK recordings; a stand-in that calls
`sandbox.exchanges.record` from its `finish` hook keeps whole exchanges when `record_exchanges` is on.
"""
