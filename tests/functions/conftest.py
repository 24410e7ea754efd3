"""The Functions tests run on the same platform fixtures as the messaging tests."""

from tests.messaging.conftest import broker, platform, servicebus

__all__ = ["broker", "platform", "servicebus"]
