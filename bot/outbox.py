"""The outbox drainer: sends queued writes to the store with their idempotency keys, in order per user.

A write is in the outbox before the inspector sees "saved" (same transaction as the state change).
Transient failures (store down, 5xx, 429) are retried with exponential backoff and jitter; a user's
later writes wait behind an earlier one so the store sees them in order. A refusal (4xx) is final:
the item is marked failed and the inspector is told. When a user's backlog empties after a failure,
they are told everything is synced.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot import render
from bot.db import BotDB, utcnow
from bot.i18n import t
from bot.store_client import StoreClient, StoreError, StoreUnavailable

log = logging.getLogger("feijian.bot.outbox")
Notify = Callable[[int, str], Awaitable[None]]


class OutboxDrainer:
    """One background task per bot process."""

    def __init__(
        self, db: BotDB, store: StoreClient, notify: Notify, interval: float = 2.0, max_backoff: float = 300.0
    ) -> None:
        self.db = db
        self.store = store
        self.notify = notify
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
        """One pass over due items; returns how many reached the store."""
        done = 0
        blocked: set[int | None] = set()
        now = utcnow()
        for row in self.db.outbox_due():
            user = row["telegram_user_id"]
            if user in blocked:
                continue
            if row["next_attempt_at"] > now:
                blocked.add(user)  # keep the user's order: later writes wait for this one
                continue
            try:
                response = await self.store.request(
                    row["method"],
                    row["path"],
                    telegram_user_id=user,
                    json=row["body"],
                    idempotency_key=row["key"],
                )
            except StoreUnavailable as exc:
                blocked.add(user)
                self.db.outbox_retry(row["id"], row["attempts"], self.interval, self.max_backoff, str(exc))
                if user is not None and user not in self._delayed:
                    # First failed attempt for this user: say what waits; "all synced" follows later.
                    self._delayed.add(user)
                    lang = (self.db.user(user) or {}).get("language")
                    await self._say(user, render.waiting(lang or "zh-CN", self.db.outbox_waiting(user)))
                continue
            except StoreError as exc:
                self.db.outbox_finish(row["id"], "failed", error=f"{exc.code}: {exc.detail}")
                log.warning("outbox item %s refused: %s", row["key"], exc)
                if user is not None:
                    lang = (self.db.user(user) or {}).get("language")
                    await self._say(
                        user,
                        t(lang, "A change could not be saved on the server: {detail}", detail=exc.detail),
                    )
                continue
            self.db.outbox_finish(row["id"], "done", response=response)
            done += 1
            self.sent += 1
            if user is not None and user in self._delayed and self.db.outbox_waiting(user) == 0:
                self._delayed.discard(user)
                lang = (self.db.user(user) or {}).get("language")
                await self._say(user, t(lang, "All your changes are synced with the server."))
        return done

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
