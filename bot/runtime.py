"""What every handler reaches: settings, the bot's database, the store client, the outbox.

One Runtime per Application, kept in the Application's `bot_data` (which the bot does not persist),
so nothing of it lives in module globals.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext

from bot.db import BotDB
from bot.settings import BotSettings
from bot.store_client import StoreClient

if TYPE_CHECKING:
    from bot.inbox import Inbox
    from bot.notices import NoticeService
    from bot.outbox import OutboxDrainer

RUNTIME_KEY = "feijian.runtime"
# At most this many direct store calls of handlers at once: fifty inspectors pressing at the same
# moment must not take all of the store's worker threads and connections (its audit chain
# serializes writers), so the rest wait here, in the bot, a few milliseconds each.
STORE_CONCURRENCY = 8


@dataclass
class Runtime:
    """The bot's collaborators and its background state, one set per Application."""

    settings: BotSettings
    db: BotDB
    store: StoreClient
    outbox: OutboxDrainer | None = None
    notices: NoticeService | None = None
    inbox: Inbox | None = None
    stats: dict[str, int] = field(default_factory=dict)
    # Open bursts by chat: the outcomes collected for one digest (bot.flows.digest).
    bursts: dict[int, Any] = field(default_factory=dict)
    background: list[asyncio.Task[None]] = field(default_factory=list)
    _slots: asyncio.Semaphore | None = None

    @property
    def store_slots(self) -> asyncio.Semaphore:
        """The limit on handlers' concurrent store calls (made on the running loop)."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(STORE_CONCURRENCY)
        return self._slots

    def wake_outbox(self) -> None:
        """Drain the outbox now (a handler just queued something)."""
        if self.outbox is not None:
            self.outbox.wake()


def attach(app: Application[Any, Any, Any, Any, Any, Any], runtime: Runtime) -> None:
    """Binds the runtime to an Application."""
    app.bot_data[RUNTIME_KEY] = runtime


def runtime_of(
    context: CallbackContext[Any, Any, Any, Any] | Application[Any, Any, Any, Any, Any, Any],
) -> Runtime:
    """The runtime of the Application handling this update."""
    app = context if isinstance(context, Application) else context.application
    runtime = app.bot_data[RUNTIME_KEY]
    assert isinstance(runtime, Runtime)
    return runtime
