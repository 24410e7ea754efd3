"""One process's messaging: the engine runtime, the Service Bus client and the outbox, opened once and shared.

The Functions app opens it lazily on the first invocation and keeps it for the life of the worker process;
`ppmi worker` and the tests open it as an async context manager.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TextIO

from azure.core.credentials import TokenCredential
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential
from azure.servicebus.aio import ServiceBusClient

from shared.engine import Runtime, environments_in_scope, open_runtime
from shared.http import Backoff
from shared.messaging import processing
from shared.messaging.config import MessagingSettings
from shared.messaging.connection import open_servicebus
from shared.messaging.disposition import Disposition
from shared.messaging.envelope import IncomingMessage
from shared.messaging.outbox import Outbox
from shared.messaging.publishing import event_message
from shared.messaging.sessions import HeldSession, SessionHolds
from shared.messaging.sweeps import discovery_events, reconcile_events
from shared.policy import load_policy
from shared.settings import Settings
from shared.telemetry import configure_telemetry, get_logger

APPLICATION_INSIGHTS_VARIABLE = "APPLICATIONINSIGHTS_CONNECTION_STRING"
LOG = get_logger("shared.messaging")
Clock = Callable[[], datetime]
Step = Callable[[IncomingMessage, Runtime, MessagingSettings, datetime], Awaitable[Disposition]]


def utc_now() -> datetime:
    return datetime.now(UTC)


def configure_process_telemetry(
    settings: Settings, environ: Mapping[str, str] | None = None, *, log_stream: TextIO | None = None
) -> None:
    """Logs always; export to Application Insights when configured, always with Entra authentication.

    The deployed Application Insights has local (key) authentication off, so export without a token is
    refused: the app's managed identity where the platform offers one, else `DefaultAzureCredential`
    (workload identity in Kubernetes, a developer's sign-in).
    """
    variables = os.environ if environ is None else environ
    credential: TokenCredential | None = None
    if settings.identity_endpoint:
        credential = ManagedIdentityCredential(client_id=settings.azure_client_id)
    elif variables.get(APPLICATION_INSIGHTS_VARIABLE):
        credential = DefaultAzureCredential(managed_identity_client_id=settings.azure_client_id)
    configure_telemetry(credential=credential, log_stream=log_stream)


@dataclass
class MessagingHost:
    """Everything a message handler needs; `handle_*` decide, send, and leave completion to the caller."""

    runtime: Runtime
    client: ServiceBusClient
    outbox: Outbox
    settings: MessagingSettings
    clock: Clock = utc_now
    holds: SessionHolds = field(init=False)

    def __post_init__(self) -> None:
        self.holds = SessionHolds(
            self.runtime,
            idle_seconds=self.settings.session_idle_seconds,
            renewal_seconds=self.settings.session_lock_renewal_seconds,
        )

    async def handle_route_event(self, message: IncomingMessage) -> Disposition:
        return await self._handle(processing.route_event, message, self.runtime)

    def order_key(self, message: IncomingMessage) -> str:
        return processing.order_key(message)

    async def handle_provision(self, message: IncomingMessage) -> Disposition:
        """A `ppmi-work` message handed over by the Functions session trigger, in the hold it belongs to.

        The host does not say which hold that is; `SessionHolds` infers it from the timing of the session's
        invocations, so messages of one hold share a view of ARM and one environment's events run in order.
        """
        async with self.holds.hold(message.session_id) as session:
            return await self.handle_in_session(session, message)

    def hold_session(self) -> HeldSession:
        """A view of ARM and an order of environments for one hold of a session that the caller knows it
        holds (`ppmi worker`'s receiver), for `handle_in_session`."""
        return HeldSession.of(self.runtime)

    async def handle_in_session(self, session: HeldSession, message: IncomingMessage) -> Disposition:
        """`message` once the session's earlier events of its environment are done, with the hold's view.

        Raises `NotHandledError` when an earlier event of its environment raised first (it comes back after
        that one), and whatever the handling raised, for the caller to abandon the message.
        """
        return await session.order.run(
            self.order_key(message),
            message.sequence_number or 0,
            lambda: self._handle(processing.provision, message, session.runtime),
        )

    async def handle_provision_batch(
        self, messages: Sequence[IncomingMessage]
    ) -> list[Disposition | BaseException]:
        """One session's messages held together, as the Functions batch trigger would hand them over; a
        message whose handling raised gets its exception back. A fresh view of ARM per batch."""

        async def send(disposition: Disposition) -> None:
            await self.outbox.send(disposition.messages)

        return await processing.provision_batch(
            messages, self.runtime, self.settings, self.clock(), decided=send
        )

    async def discover(self) -> int:
        """Publish `ppmi.environment.created` for environments created recently; returns how many."""
        environments = await environments_in_scope(self.runtime)
        events = discovery_events(environments, now=self.clock(), lookback=self.settings.discovery_lookback)
        await self.outbox.send(event_message(event) for event in events)
        return len(events)

    async def reconcile(self) -> int:
        """Publish `ppmi.environment.reconcile` for every environment in scope; returns how many."""
        events = reconcile_events(await environments_in_scope(self.runtime), now=self.clock())
        await self.outbox.send(event_message(event) for event in events)
        return len(events)

    async def _handle(self, step: Step, message: IncomingMessage, runtime: Runtime) -> Disposition:
        disposition = await step(message, runtime, self.settings, self.clock())
        await self.outbox.send(disposition.messages)
        return disposition


@asynccontextmanager
async def open_messaging_host(
    settings: Settings | None = None,
    messaging: MessagingSettings | None = None,
    *,
    backoff: Backoff | None = None,
) -> AsyncIterator[MessagingHost]:
    """Read settings and policy, open the runtime and the Service Bus client; close all on exit."""
    settings = settings or Settings.from_env()
    messaging = messaging or MessagingSettings.from_env()
    policy = load_policy(settings.require_policy_file())
    for warning in policy.warnings():  # allowed, but an operator should hear of it at every start
        LOG.warning("policy.warning", warning=warning)
    async with AsyncExitStack() as stack:
        runtime = await stack.enter_async_context(open_runtime(settings, policy, backoff=backoff))
        client = await stack.enter_async_context(open_servicebus(settings))
        outbox = Outbox(client)
        stack.push_async_callback(outbox.close)
        yield MessagingHost(runtime=runtime, client=client, outbox=outbox, settings=messaging)


class ProcessHost:
    """The Functions app's process-wide `MessagingHost`, opened on first use (no function body owns it)."""

    def __init__(self) -> None:
        self._stack: AsyncExitStack | None = None
        self._host: MessagingHost | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> MessagingHost:
        async with self._lock:
            if self._host is None:
                configure_process_telemetry(Settings.from_env())
                stack = AsyncExitStack()
                self._host = await stack.enter_async_context(open_messaging_host())
                self._stack = stack
            return self._host

    async def close(self) -> None:
        """Close the host (tests, and any host shutdown hook); the next `get` opens a fresh one."""
        async with self._lock:
            stack, self._stack, self._host = self._stack, None, None
            if stack is not None:
                await stack.aclose()
        self._lock = asyncio.Lock()  # a later event loop (tests) gets its own lock


process_host = ProcessHost()
