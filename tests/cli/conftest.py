"""Fixtures of the engine's and messaging's tests (a policy for the sandbox, a broker), for the commands."""

from __future__ import annotations

from tests.engine.conftest import signers, write_policy
from tests.messaging.conftest import broker, platform, servicebus

__all__ = ["broker", "platform", "servicebus", "signers", "write_policy"]
