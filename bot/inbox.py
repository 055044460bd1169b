"""The bot's own inbox: raw updates are stored before Telegram is told they arrived, then handled.

Polling: `Inbox.poll` calls getUpdates itself (raw JSON, so an update this version of
python-telegram-bot cannot parse never raises inside the library), stores the batch, and only the
next call's offset confirms it. Webhook: the endpoint stores the raw update, then answers 200.
`Inbox.work` feeds stored updates to the Application; the dispatcher marks a row done in the
handler's own transaction, so a `kill -9` at any moment leaves each update either handled or still
pending (handled after the restart). An update that cannot be parsed, or whose handler fails
MAX_ATTEMPTS times, becomes a dead letter: one log line, "请重试" to its chat, the others go on.
"""

from __future__ import annotations

import asyncio
import logging
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telegram import Update

from bot.db import BotDB
from bot.flows import digest
from bot.i18n import t
from bot.runtime import runtime_of

if TYPE_CHECKING:
    from bot.app import AnyApp

log = logging.getLogger("feijian.bot.inbox")
MAX_ATTEMPTS = 3
RETRY_DELAY = 0.5  # seconds before the next attempt, times the attempt number
RESCAN = 1.0  # seconds between looks for rows freed elsewhere (other processes, `dead-letters --replay`)
PAGE = 200  # inbox rows read at a time
RETRY = "Your last message could not be processed. Please try again."


@dataclass
class InboxTurn:
    """The inbox row an update being handled came from, and whether its handler failed."""

    row_id: int
    error: BaseException | None = None
    done: bool = False  # marked done by the handler's own transaction


#: Set while an inbox row is being handled (handlers run in the task that sets it).
CURRENT: ContextVar[InboxTurn | None] = ContextVar("feijian_inbox_turn", default=None)


def current_row() -> int | None:
    """The inbox row of the update being handled (None outside the inbox)."""
    turn = CURRENT.get()
    return turn.row_id if turn is not None else None


def marked_done() -> None:
    """Notes that the handler's transaction marked the current row done."""
    turn = CURRENT.get()
    if turn is not None:
        turn.done = True


def handler_failed(exc: BaseException) -> None:
    """Notes that the current update's handler raised (it is retried, then dead-lettered)."""
    turn = CURRENT.get()
    if turn is not None:
        turn.error = exc


class Inbox:
    """Fetches into the inbox (polling) and handles what it holds, per chat in order."""

    def __init__(self, app: AnyApp, db: BotDB, poll_timeout: int = 10) -> None:
        self.app = app
        self.db = db
        self.poll_timeout = poll_timeout
        self._wake = asyncio.Event()
        self._busy: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.dead = 0

    def wake(self) -> None:
        """Look at the inbox now (something was stored)."""
        self._wake.set()

    def store(self, raws: list[Any]) -> list[int]:
        """Stores raw updates and wakes the worker; returns the new rows' ids."""
        rows = self.db.inbox_store(raws)
        if rows:
            self._wake.set()
        return rows

    async def poll(self) -> None:
        """getUpdates until cancelled; a batch is stored before the next offset confirms it."""
        offset = self.db.inbox_offset()
        failures = 0
        while True:
            data: dict[str, Any] = {"timeout": self.poll_timeout, "allowed_updates": Update.ALL_TYPES}
            if offset is not None:
                data["offset"] = offset
            try:
                # The raw result: Bot.get_updates would parse (and could fail on) every update.
                raws = await self.app.bot._post("getUpdates", data, read_timeout=self.poll_timeout + 10)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                if failures == 1 or failures % 30 == 0:
                    log.warning("getUpdates failed (%d in a row): %r", failures, exc)
                await asyncio.sleep(min(30.0, 0.5 * failures))
                continue
            failures = 0
            if not isinstance(raws, list) or not raws:
                continue
            self.store(raws)
            ids = [
                r["update_id"] for r in raws if isinstance(r, dict) and isinstance(r.get("update_id"), int)
            ]
            if ids:
                offset = ids[-1] + 1

    async def work(self) -> None:
        """Handles stored updates until cancelled (those left pending by a crash first).

        Rows are claimed (`BotDB.inbox_claim`): a chat's next update only once its earlier ones are
        handled or dead-lettered, whichever bot process handles them, so several bot processes can
        share one bot database (PostgreSQL) and one webhook."""
        limit = int(getattr(self.app.update_processor, "max_concurrent_updates", PAGE) or PAGE)
        try:
            while True:
                try:
                    for row in self.db.inbox_claim(min(PAGE, limit - len(self._busy)), self._busy):
                        self._busy.add(row["id"])
                        task = asyncio.create_task(self._handle(row))
                        self._tasks.add(task)
                        task.add_done_callback(self._tasks.discard)
                except Exception:
                    log.exception("reading the inbox failed")
                try:  # woken by a stored update or a finished one; other processes' work by the rescan
                    await asyncio.wait_for(self._wake.wait(), timeout=RESCAN)
                except TimeoutError:
                    pass
                self._wake.clear()
        finally:
            for task in list(self._tasks):
                task.cancel()

    async def _handle(self, row: dict[str, Any]) -> None:
        try:
            try:
                update = Update.de_json(row["raw"], self.app.bot)
            except Exception as exc:
                await self._dead(row, f"unparseable update: {exc!r}")
                return
            processor = self.app.update_processor
            while True:
                attempts = self.db.inbox_attempt(row["id"])
                if attempts > MAX_ATTEMPTS:
                    await self._dead(row, f"handler failed {MAX_ATTEMPTS} times")
                    return
                turn = InboxTurn(row["id"])
                token = CURRENT.set(turn)
                try:
                    # The chat's lock and the concurrency limit; the handlers run in this task.
                    await processor.process_update(update, self.app.process_update(update))
                finally:
                    CURRENT.reset(token)
                if turn.error is None:
                    if not turn.done:
                        self.db.inbox_finish(row["id"])  # the handler wrote nothing
                    return
                if attempts >= MAX_ATTEMPTS:
                    await self._dead(row, f"handler failed {attempts} times: {turn.error!r}")
                    return
                await asyncio.sleep(RETRY_DELAY * attempts)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("inbox row %s could not be handled; it stays pending", row["id"])
            await asyncio.sleep(RESCAN)  # then this worker (or another) takes it up again
        finally:
            self._busy.discard(row["id"])
            self._wake.set()  # the chat's next update may be claimed now

    async def _dead(self, row: dict[str, Any], error: str) -> None:
        letter = self.db.inbox_dead(row["id"], error)
        if letter is None:
            return
        self.dead += 1
        chat = row.get("chat_id")
        log.error("update %s -> dead letter %s (chat %s): %s", row["update_id"], letter, chat, error)
        if chat is None:
            return
        try:  # the chat's burst ends here when this was its last queued update
            await digest.flush(runtime_of(self.app), self.app.bot, int(chat), row["id"])
        except Exception as exc:
            log.warning("could not send chat %s its digest: %r", chat, exc)
        try:
            user = self.db.user(int(chat))
            await self.app.bot.send_message(
                chat_id=chat, text=t(user.get("language") if user else None, RETRY)
            )
        except Exception as exc:  # the chat may be gone; the dead letter is what matters
            log.warning("could not tell chat %s to retry: %r", chat, exc)
