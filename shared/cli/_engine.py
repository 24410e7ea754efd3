"""The engine for one command: settings and policy read, connections opened, retries shown as progress."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from shared.cli._output import Output
from shared.engine import Runtime, open_runtime
from shared.policy import load_policy
from shared.settings import Settings


def with_runtime[T](out: Output, work: Callable[[Runtime], Awaitable[T]]) -> T:
    """Run `work` on a runtime opened from this process's settings; errors are the caller's to explain."""
    settings = Settings.from_env()
    policy = load_policy(settings.require_policy_file())

    async def main() -> T:
        async with open_runtime(settings, policy) as runtime:
            runtime.http.on_retry = out.retry
            return await work(runtime)

    return asyncio.run(main())
