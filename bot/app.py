"""The bot's Application factory, and running it by polling (default) or webhook."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import sys
from typing import Any

from sqlalchemy import func, select
from telegram import BotCommand, Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import tables as T
from bot.db import BotDB
from bot.handlers import base, help, lang, start, tasks, visits
from bot.i18n import t
from bot.notices import NoticeService
from bot.outbox import OutboxDrainer
from bot.persistence import SQLPersistence
from bot.processor import PerChatUpdateProcessor
from bot.request import LeanRequest
from bot.runtime import Runtime, attach, runtime_of
from bot.settings import BotSettings, get_bot_settings
from bot.store_client import StoreClient

log = logging.getLogger("feijian.bot")

# httpcore runs `import sniffio` on every request; when it is not installed each miss searches
# sys.path again (~0.3 ms of CPU per Bot API call). A cached miss makes that import fail at once.
if importlib.util.find_spec("sniffio") is None:
    sys.modules["sniffio"] = None  # type: ignore[assignment]
AnyApp = Application[Any, Any, Any, Any, Any, Any]

# The command menu; descriptions are catalog message ids (English), translated per language at start.
COMMANDS = [
    ("tasks", "Your assignments"),
    ("visit", "Start or resume a visit"),
    ("back", "Go back one step"),
    ("pause", "Pause the visit"),
    ("lang", "Language"),
    ("cancel", "Stop the current action"),
    ("help", "Help"),
]
MENU_LANGUAGES = ("zh-CN", "en")


def build_application(
    settings: BotSettings | None = None, db: BotDB | None = None, store: StoreClient | None = None
) -> AnyApp:
    """The PTB Application with Feijian's handlers, persistence, rate limiter and background jobs."""
    settings = settings or get_bot_settings()
    db = db or BotDB(settings.bot_database_url)
    store = store or StoreClient(settings.store_url, settings.store_token, settings.store_timeout)
    builder = ApplicationBuilder().token(settings.token).base_url(settings.base_url)
    builder = builder.base_file_url(settings.base_file_url)
    if settings.telegram_request == "lean":
        builder = builder.request(
            LeanRequest(connection_pool_size=settings.telegram_pool_size, pool_timeout=10.0)
        ).get_updates_request(LeanRequest(connection_pool_size=1))
    else:
        # A small pool: httpcore scans every pooled connection on each request, so PTB's default of
        # 256 costs more CPU than it saves under load; waiting briefly for a free connection is cheaper.
        builder = builder.connection_pool_size(settings.telegram_pool_size).pool_timeout(10.0)
    app = (
        builder.persistence(SQLPersistence(db, settings.persistence_interval))
        .concurrent_updates(PerChatUpdateProcessor(settings.concurrent_updates))
        .rate_limiter(AIORateLimiter(overall_max_rate=settings.telegram_rate, max_retries=3))
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
        .build()
    )
    attach(app, Runtime(settings, db, store))
    register(app)
    return app


class DuplicateGuard:
    """base.guard's answer without a query for updates no earlier process could have handled.

    The bot's database has a single writer, this process. An update newer than every update recorded
    before this process started, and not delivered before in this process, cannot be in the table:
    only the others (Telegram redelivering, ids at or below that mark) ask the database. Saves one
    query per update.
    """

    KEEP = 10_000  # ids remembered before the floor is raised past them (then they are queried)

    def __init__(self, db: BotDB) -> None:
        self.db = db
        self.floor: int | None = None
        self.delivered: set[int] = set()

    def _start(self) -> int:
        with self.db.engine.connect() as conn:
            return int(conn.execute(select(func.max(T.processed_update.c.update_id))).scalar() or 0)

    def fresh(self, update_id: int) -> bool:
        """True when this update certainly was not handled before."""
        if self.floor is None:
            self.floor = self._start()
        if update_id <= self.floor or update_id in self.delivered:
            return False
        self.delivered.add(update_id)
        if len(self.delivered) > self.KEEP:
            self.floor = max(self.delivered)
            self.delivered.clear()
        return True

    async def __call__(self, update: object, context: base.Context) -> None:
        """Group -1: a fresh update goes on; any other goes through base.guard (the database)."""
        if isinstance(update, Update) and self.fresh(update.update_id):
            return
        await base.guard(update, context)


def register(app: AnyApp) -> None:
    """Adds every handler (group -1: the duplicate guard)."""
    app.add_handler(TypeHandler(Update, DuplicateGuard(runtime_of(app).db)), group=-1)
    visits.register(app)  # the guided visit (issue 8): before the catch-alls below
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("start", start.start, filters=private))
    app.add_handler(CommandHandler("tasks", tasks.tasks, filters=private))
    app.add_handler(CommandHandler("lang", lang.lang, filters=private))
    app.add_handler(CommandHandler("help", help.help_, filters=private))
    app.add_handler(CommandHandler("cancel", help.cancel, filters=private))
    app.add_handler(CallbackQueryHandler(tasks.refresh, pattern=rf"^{tasks.FLOW}\|"))
    app.add_handler(CallbackQueryHandler(lang.pressed, pattern=rf"^{lang.FLOW}\|"))
    app.add_handler(MessageHandler(private & filters.LOCATION & ~filters.FORWARDED, help.location))
    app.add_handler(ChatMemberHandler(help.membership, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(CallbackQueryHandler(help.stale_button))
    app.add_handler(MessageHandler(private & ~filters.UpdateType.EDITED, help.unknown))


async def _notify(app: AnyApp, user: int, text: str) -> None:
    await app.bot.send_message(chat_id=user, text=text)


async def _post_init(app: AnyApp) -> None:
    rt = runtime_of(app)
    rt.outbox = OutboxDrainer(
        rt.db,
        rt.store,
        lambda user, text: _notify(app, user, text),
        interval=rt.settings.outbox_interval,
        max_backoff=rt.settings.outbox_max_backoff,
    )
    rt.notices = NoticeService(rt.db, rt.store, app.bot, poll_interval=rt.settings.notice_poll_interval)
    rt.notices.on_unreachable = lambda _user: rt.outbox.wake() if rt.outbox else None
    try:
        for code in MENU_LANGUAGES:
            await app.bot.set_my_commands(
                [BotCommand(c, t(code, d)) for c, d in COMMANDS],
                language_code=None if code == "zh-CN" else code,
            )
    except Exception:  # a cosmetic call; never block start-up on it
        log.warning("setMyCommands failed", exc_info=True)
    tasks_ = [asyncio.create_task(rt.outbox.run()), asyncio.create_task(rt.notices.run())]
    app.bot_data.setdefault("_", None)
    _BACKGROUND[id(app)] = tasks_


_BACKGROUND: dict[int, list[asyncio.Task[None]]] = {}


async def _post_stop(app: AnyApp) -> None:
    for task in _BACKGROUND.pop(id(app), []):
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, Exception):
            log.debug("background task ended", exc_info=True)


async def _post_shutdown(app: AnyApp) -> None:
    rt = runtime_of(app)
    await rt.store.aclose()


def run(settings: BotSettings | None = None) -> None:
    """Runs the bot until interrupted: long polling, or a webhook when FEIJIAN_WEBHOOK_URL is set."""
    settings = settings or get_bot_settings()
    app = build_application(settings)
    if settings.webhook_url:
        from bot.webhook import run_webhook

        asyncio.run(run_webhook(app, settings))
    else:
        app.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
