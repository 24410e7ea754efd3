"""Client tests reuse the engine's sandbox fixtures (policy, runtime)."""

from tests.engine.conftest import policy, runtime, signers, write_policy

__all__ = ["policy", "runtime", "signers", "write_policy"]
