"""The bot's Application factory, and running it by polling (default) or webhook."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import OperationalError
from telegram import BotCommand, Update
from telegram.error import NetworkError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, TypeHandler

from bot.db import BotDB
from bot.flows.dispatch import dispatch
from bot.flows.visit_evidence import photo_text
from bot.i18n import DEFAULT, LANGS, t
from bot.inbox import Inbox
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


def open_db(url: str, attempts: int | None = None) -> BotDB:
    """The bot's own database, waiting for it when it is not reachable yet (PostgreSQL restarting
    together with the bot); a schema of another version is raised at once. `attempts`: give up after
    that many (None: keep trying)."""
    failures = 0
    while True:
        try:
            return BotDB(url)
        except OperationalError as exc:
            failures += 1
            if attempts is not None and failures >= attempts:
                raise
            log.warning("the bot's database is not reachable (%d in a row): %s", failures, exc.orig)
            time.sleep(min(30.0, 0.5 * failures))


def build_application(
    settings: BotSettings | None = None, db: BotDB | None = None, store: StoreClient | None = None
) -> AnyApp:
    """The PTB Application with Feijian's handlers, persistence, rate limiter and background jobs."""
    settings = settings or get_bot_settings()
    db = db or open_db(settings.bot_database_url)
    store = store or StoreClient(settings.store_url, settings.store_token, settings.store_timeout)
    builder = ApplicationBuilder().token(settings.token).base_url(settings.base_url)
    builder = builder.base_file_url(settings.base_file_url)
    if settings.request_kind == "lean":
        builder = builder.request(
            LeanRequest(connection_pool_size=settings.telegram_pool_size, pool_timeout=10.0)
        ).get_updates_request(LeanRequest(connection_pool_size=1))
    else:
        # A small pool: httpcore scans every pooled connection on each request, so PTB's default of
        # 256 costs more CPU than it saves under load; waiting briefly for a free connection is cheaper.
        builder = builder.connection_pool_size(settings.telegram_pool_size).pool_timeout(10.0)
    # No PTB Updater: the bot's inbox (bot/inbox.py) fetches, stores, then confirms updates itself.
    app = (
        builder.updater(None)
        .persistence(SQLPersistence(db, settings.persistence_interval))
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


def register(app: AnyApp) -> None:
    """One handler for every update: the flows' dispatcher (duplicate guard, gate, states tables)."""
    app.add_handler(TypeHandler(Update, dispatch))


async def _notify(app: AnyApp, user: int, text: str) -> None:
    await app.bot.send_message(chat_id=user, text=text)


async def _post_init(app: AnyApp) -> None:
    rt = runtime_of(app)
    rt.outbox = OutboxDrainer(
        rt.db,
        rt.store,
        app.bot,
        lambda user, text: _notify(app, user, text),
        photo_text,
        interval=rt.settings.outbox_interval,
        max_backoff=rt.settings.outbox_max_backoff,
    )
    rt.notices = NoticeService(rt.db, rt.store, app.bot, poll_interval=rt.settings.notice_poll_interval)
    rt.notices.on_unreachable = lambda _user: rt.wake_outbox()
    try:
        for code in LANGS:
            await app.bot.set_my_commands(
                [BotCommand(c, t(code, d)) for c, d in COMMANDS],
                language_code=None if code == DEFAULT else code,
            )
    except Exception:  # a cosmetic call; never block start-up on it
        log.warning("setMyCommands failed", exc_info=True)
    rt.inbox = Inbox(app, rt.db)
    rt.background = [
        asyncio.create_task(rt.outbox.run()),
        asyncio.create_task(rt.notices.run()),
        asyncio.create_task(rt.inbox.work()),
    ]
    if not rt.settings.webhook_url:
        rt.background.append(asyncio.create_task(rt.inbox.poll()))


async def _post_stop(app: AnyApp) -> None:
    rt = runtime_of(app)
    for task in rt.background:
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, Exception):
            log.debug("background task ended", exc_info=True)
    rt.background = []


async def _post_shutdown(app: AnyApp) -> None:
    rt = runtime_of(app)
    await rt.store.aclose()


async def until_reachable(what: str, call: Callable[[], Awaitable[object]]) -> None:
    """Runs a start-up call to the Bot API until it goes through: the API (or the sandbox) may be
    restarting or briefly unreachable when the bot starts, and a bot that exits then answers nobody.
    A refused token is not a network problem and is raised at once."""
    failures = 0
    while True:
        try:
            await call()
            return
        except NetworkError as exc:
            failures += 1
            log.warning("%s: the Bot API is not reachable (%d in a row): %r", what, failures, exc)
            await asyncio.sleep(min(30.0, 0.5 * failures))


async def start(app: AnyApp) -> None:
    """Starts a built Application and its background work: outbox, notices, the inbox (and polling)."""
    await until_reachable("start-up", app.initialize)
    if app.post_init:
        await app.post_init(app)
    await app.start()


async def stop(app: AnyApp) -> None:
    """Stops what start() started (a graceful stop; pending inbox rows stay for the next start)."""
    if app.running:
        await app.stop()
    if app.post_stop:
        await app.post_stop(app)
    await app.shutdown()
    if app.post_shutdown:
        await app.post_shutdown(app)


async def _serve_polling(app: AnyApp) -> None:
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, done.set)
    starting = asyncio.ensure_future(start(app))
    stopping = asyncio.ensure_future(done.wait())
    await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not starting.done():  # stopped while still waiting for the Bot API
        starting.cancel()
        await asyncio.gather(starting, return_exceptions=True)
        return
    stopping.cancel()
    starting.result()
    try:
        await done.wait()
    finally:
        await stop(app)


def run(settings: BotSettings | None = None) -> None:
    """Runs the bot until interrupted: long polling, or a webhook when FEIJIAN_WEBHOOK_URL is set."""
    settings = settings or get_bot_settings()
    app = build_application(settings)
    if settings.webhook_url:
        from bot.webhook import run_webhook

        asyncio.run(run_webhook(app, settings))
    else:
        asyncio.run(_serve_polling(app))
