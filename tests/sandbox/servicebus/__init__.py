"""Tests of the sandbox Service Bus broker with the real azure-servicebus SDK."""
