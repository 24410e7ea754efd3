"""Client tests reuse the engine's sandbox fixtures (policy, runtime) and the scripted HTTP server."""

from tests.engine.conftest import policy, runtime, signers, write_policy
from tests.http.conftest import clock, http, server

__all__ = ["clock", "http", "policy", "runtime", "server", "signers", "write_policy"]
