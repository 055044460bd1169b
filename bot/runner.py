"""Run the bot in a background thread with its own event loop (tests, bench, `feijian demo`)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar

from bot.app import AnyApp, build_application, start, stop
from bot.db import BotDB
from bot.runtime import Runtime, runtime_of
from bot.settings import BotSettings

T = TypeVar("T")


class BotThread:
    """The real PTB Application, polling into its inbox, in a daemon thread; start() returns once it runs."""

    def __init__(self, settings: BotSettings, db: BotDB | None = None) -> None:
        self.settings = settings
        self._db = db
        self.app: AnyApp | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def runtime(self) -> Runtime:
        """The running bot's runtime (db, store client, outbox, notices)."""
        assert self.app is not None
        return runtime_of(self.app)

    def _main(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._start())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()
        self.loop.close()

    async def _start(self) -> None:
        self.app = build_application(self.settings, db=self._db)
        await start(self.app)

    async def _stop(self) -> None:
        assert self.app is not None
        await stop(self.app)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        """Runs a coroutine on the bot's loop and waits for its result."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self, timeout: float = 20) -> BotThread:
        """Starts the bot and waits until it is polling."""
        self._thread = threading.Thread(target=self._main, name="feijian-bot", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("bot did not start")
        if self._error is not None:
            raise RuntimeError(f"bot failed to start: {self._error!r}") from self._error
        return self

    def stop(self, timeout: float = 20) -> None:
        """Stops polling, the background jobs and the Application (a graceful stop)."""
        if self.loop is None or self._thread is None:
            return
        try:
            self.call(self._stop(), timeout)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> BotThread:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
