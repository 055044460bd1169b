"""The one outbox: every write for the store (JSON calls and photo uploads), drained by one task.

Handlers queue a `Job` in their own transaction, before they reply. The drainer sends each row with
its idempotency key, in order per user (a user's later writes wait while an earlier one cannot be
sent), with exponential backoff while the store is unreachable. A photo's file is fetched from
Telegram at send time. A visit's finish names its photos by their refs and waits behind them (same
user, earlier rows); at send time the refs become the store's evidence ids, and a photo the store
refused is left out rather than blocking the visit. The inspector is told once when something
waits, and again when everything is synced.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from telegram import Bot
from telegram.error import BadRequest, TelegramError

from bot import render
from bot.db import BotDB, utcnow
from bot.flows.visit_data import finish_answers, without_refs
from bot.i18n import t
from bot.store_calls import UPLOAD_OP, call, upload_evidence
from bot.store_client import StoreClient, StoreError, StoreUnavailable

log = logging.getLogger("feijian.bot.outbox")
Notify = Callable[[int, str], Awaitable[None]]
# The text for a photo synced later: (language, the store's verdict or None when refused, refusal).
PhotoText = Callable[[str, dict[str, Any] | None, str], str]


@dataclass(frozen=True)
class Job:
    """One write for the store: an operation, its resource and body, under an idempotency key."""

    op: str
    key: str
    body: Any = None
    target: str | None = None
    user: int | None = None  # None: the turn's user
    anonymous: bool = False  # sent without a user (the store acts for the bot itself)


# Telegram answering 400 for a photo's file_id (gone, too big) this many times in a row is final: the
# upload is refused and the inspector asked to send the photo again, instead of blocking every later
# write of that inspector (the visit's finish among them) for ever.
FILE_GONE_ATTEMPTS = 5
FILE_GONE = "This photo can no longer be fetched from Telegram; please send it again."


class Unresolved(Exception):
    """A finish still names a photo the store has no id for."""


class OutboxDrainer:
    """The one drainer of the one outbox (one background task per bot process)."""

    def __init__(
        self,
        db: BotDB,
        store: StoreClient,
        bot: Bot,
        notify: Notify,
        photo_text: PhotoText,
        interval: float = 2.0,
        max_backoff: float = 300.0,
    ) -> None:
        self.db = db
        self.store = store
        self.bot = bot
        self.notify = notify
        self.photo_text = photo_text
        self.interval = interval
        self.max_backoff = max_backoff
        self._wake = asyncio.Event()
        self._delayed: set[int] = set()  # users told that something is waiting
        self.sent = 0

    def wake(self) -> None:
        """Drain now (a handler just queued something)."""
        self._wake.set()

    async def run(self) -> None:
        """Drains until cancelled."""
        rounds = 0
        while True:
            try:
                await self.drain_once()
                rounds += 1
                if rounds % 500 == 0:
                    self.db.prune_updates()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox drain failed")
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            except TimeoutError:
                pass
            self._wake.clear()

    async def drain_once(self) -> int:
        """One pass over due rows; returns how many reached the store. One bot process drains at a
        time (several share a PostgreSQL bot database): each user's writes stay in order."""
        before = self.sent
        blocked: set[int | None] = set()
        now = utcnow()
        with self.db.exclusive("outbox") as mine:
            if not mine:
                return 0
            for row in self.db.outbox_due():
                user = row["telegram_user_id"]
                if user in blocked:
                    continue
                if row["next_attempt_at"] > now:
                    blocked.add(user)  # keep the user's order: later writes wait for this one
                    continue
                if not await self._send(row):
                    blocked.add(user)
        return self.sent - before

    async def _send(self, row: dict[str, Any]) -> bool:
        """One row; False when the user's later rows must wait."""
        user = row["telegram_user_id"]
        try:
            response = await self._call(row)
        except BadRequest as exc:
            if row["op"] == UPLOAD_OP and row["attempts"] + 1 >= FILE_GONE_ATTEMPTS:
                lang = self._lang(user) if user is not None else "zh-CN"
                return await self._refuse(row, "file_gone", t(lang, FILE_GONE), exc)
            return await self._retry(row, exc)
        except (StoreUnavailable, TelegramError) as exc:
            return await self._retry(row, exc)
        except (StoreError, Unresolved) as exc:
            detail = exc.detail if isinstance(exc, StoreError) else str(exc)
            code = exc.code if isinstance(exc, StoreError) else "unresolved"
            return await self._refuse(row, code, detail, exc)
        self.db.outbox_finish(row["id"], "done", response=response)
        self.sent += 1
        if user is not None and row["op"] == UPLOAD_OP:
            await self._say(user, self.photo_text(self._lang(user), response, ""))
        if user is not None and user in self._delayed and self.db.outbox_waiting(user) == 0:
            self._delayed.discard(user)
            await self._say(user, t(self._lang(user), "All your changes are synced with the server."))
        return True

    async def _retry(self, row: dict[str, Any], exc: Exception) -> bool:
        """A failure that may pass: try again later; the user's later rows wait."""
        user = row["telegram_user_id"]
        self.db.outbox_retry(row["id"], row["attempts"], self.interval, self.max_backoff, str(exc))
        if user is not None and user not in self._delayed:
            # First failed attempt for this user: say what waits; "all synced" follows later.
            self._delayed.add(user)
            await self._say(user, render.waiting(self._lang(user), self.db.outbox_waiting(user)))
        return False

    async def _refuse(self, row: dict[str, Any], code: str, detail: str, exc: Exception) -> bool:
        """A final failure: the row is failed, the user told why; the user's later rows go on."""
        user = row["telegram_user_id"]
        self.db.outbox_finish(row["id"], "failed", error=f"{code}: {detail}")
        log.warning("outbox item %s refused: %s", row["key"], exc)
        if user is not None:
            await self._say(user, self._refused(row, detail))
        return True

    async def _call(self, row: dict[str, Any]) -> Any:
        user, key, body = row["telegram_user_id"], row["key"], row["body"]
        if row["op"] == UPLOAD_OP:
            tg_file = await self.bot.get_file(body["file_id"])
            blob = bytes(await tg_file.download_as_bytearray())
            return await upload_evidence(self.store, row["target"], body, blob, user, key)
        if row["op"] == "visit_finish" and body and "refs" in body:
            body = self._resolve(row["target"], body)
        return await call(self.store, row["op"], row["target"], body, user or None, key)

    def _resolve(self, visit_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """A finish's photo refs as the store's evidence ids (refused photos left out)."""
        ids = dict(body.get("known") or {})
        failed: set[str] = set()
        for upload in self.db.outbox_uploads(visit_id):
            ref = (upload["body"] or {}).get("ref")
            if upload["status"] == "done" and upload["response"]:
                ids[ref] = str(upload["response"]["id"])
            elif upload["status"] == "failed" and ref:
                failed.add(ref)
        refs = set(body.get("refs") or [])
        answers = finish_answers(without_refs(body["answers"], failed), refs - failed, ids)
        if answers is None:
            raise Unresolved("a photo of this visit never reached the store")
        return {
            "answers": answers,
            "client_findings": body.get("client_findings") or [],
            "finished_at": body.get("finished_at"),
        }

    def _refused(self, row: dict[str, Any], detail: str) -> str:
        lang = self._lang(row["telegram_user_id"])
        if row["op"] == UPLOAD_OP:
            return self.photo_text(lang, None, detail)
        return t(lang, "A change could not be saved on the server: {detail}", detail=detail)

    def _lang(self, user: int) -> str:
        return str((self.db.user(user) or {}).get("language") or "zh-CN")

    def waiting_text(self, telegram_user_id: int, lang: str) -> str | None:
        """ "N changes waiting to sync" for a reply, or None when nothing waits."""
        if telegram_user_id not in self._delayed:
            return None  # nothing has failed to sync: no need to worry the inspector
        n = self.db.outbox_waiting(telegram_user_id)
        return render.waiting(lang, n) if n else None

    async def _say(self, user: int, text: str) -> None:
        try:
            await self.notify(user, text)
        except Exception:  # the sync itself succeeded; a lost courtesy message is not worth a retry
            log.warning("could not tell user %s about sync", user, exc_info=True)
