"""What every handler reaches through its context: settings, the bot's database, the store client."""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext

from bot.db import BotDB
from bot.settings import BotSettings
from bot.store_client import StoreClient

if TYPE_CHECKING:
    from bot.notices import NoticeService
    from bot.outbox import OutboxDrainer


@dataclass
class Runtime:
    """The bot's collaborators, one set per Application."""

    settings: BotSettings
    db: BotDB
    store: StoreClient
    outbox: OutboxDrainer | None = None
    notices: NoticeService | None = None
    stats: dict[str, int] = field(default_factory=dict)


_RUNTIMES: weakref.WeakKeyDictionary[Application[Any, Any, Any, Any, Any, Any], Runtime] = (
    weakref.WeakKeyDictionary()
)


def attach(app: Application[Any, Any, Any, Any, Any, Any], runtime: Runtime) -> None:
    """Binds the runtime to an Application."""
    _RUNTIMES[app] = runtime


def runtime_of(
    context: CallbackContext[Any, Any, Any, Any] | Application[Any, Any, Any, Any, Any, Any],
) -> Runtime:
    """The runtime of the Application handling this update."""
    app = context if isinstance(context, Application) else context.application
    return _RUNTIMES[app]
