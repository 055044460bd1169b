"""Notices: polled from the store into the bot's table, then sent by one drainer under Telegram's limits.

- Poll: `GET /telegram/notices` → insert (unique per notice and recipient) → commit → ack. A crash
  between insert and ack re-fetches the same notices, which the unique key ignores.
- Send: oldest due first, through PTB's rate limiter (which waits out RetryAfter and retries). A row
  is marked `sending` before the call and `sent` after it; a row found `sending` at start may have
  arrived, so it becomes `uncertain` and is not sent again: never twice. `Forbidden` (the user blocked
  the bot) marks the user unreachable and queues `POST /telegram/unreachable` in the outbox, from
  which the store tells their supervisor. Nothing is kept only in memory: after a restart the loop
  carries on from the table.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot import ledger_text, render
from bot.db import BotDB, utcnow
from bot.flows.callbacks import STATELESS, Act, Action, encode
from bot.outbox import Job
from bot.store_client import StoreClient, StoreError, StoreUnavailable

log = logging.getLogger("feijian.bot.notices")
MAX_ATTEMPTS = 8


class NoticeService:
    """The poller and the sender."""

    def __init__(
        self,
        db: BotDB,
        store: StoreClient,
        bot: Bot,
        poll_interval: float = 15.0,
        on_unreachable: Callable[[int], None] | None = None,
    ) -> None:
        self.db = db
        self.store = store
        self.bot = bot
        self.poll_interval = poll_interval
        self.on_unreachable = on_unreachable
        self._wake = asyncio.Event()
        self.sent = 0

    def wake(self) -> None:
        """Poll and send now."""
        self._wake.set()

    async def run(self) -> None:
        """Polls and sends until cancelled."""
        while True:
            try:
                await self.poll_once()
            except (StoreUnavailable, StoreError) as exc:
                log.info("notice poll failed: %s", exc)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("notice poll failed")
            try:
                await self.send_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("notice send failed")
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)
            except TimeoutError:
                pass
            self._wake.clear()

    async def poll_once(self) -> int:
        """Takes over the store's due notices; returns how many."""
        due = await self.store.notices_due()
        rows: list[dict[str, Any]] = [
            {
                "notice_id": str(n.id),
                "recipient": n.telegram_user_id,
                "kind": n.kind,
                "params": dict(n.params),
                "language": n.language,
            }
            for n in due
        ]
        self.db.notices_add(rows)
        await self.store.notices_ack([n.id for n in due])
        return len(rows)

    async def send_due(self) -> int:
        """Sends every due notice; returns how many were sent. One bot process sends at a time (several
        may share a PostgreSQL bot database), so a notice is never picked up twice."""
        sent = 0
        with self.db.exclusive("notices") as mine:
            if not mine:
                return 0
            # Under the lock nobody is mid-send: a notice marked so was caught by a stop or a crash.
            recovered = self.db.notices_recover()
            if recovered:
                log.warning("%d notices were mid-send at a stop; not sending them again", recovered)
            while True:
                rows = self.db.notices_due()
                if not rows:
                    return sent
                for row in rows:
                    sent += await self._send(row)

    async def _send(self, row: dict[str, Any]) -> int:
        user = self.db.user(row["recipient"])
        if user is not None and user.get("unreachable_at") is not None:
            self.db.notice_set(row["id"], status="unreachable", error="user blocked the bot")
            return 0
        lang = (user or {}).get("language") or row["language"]
        text = render.notice(lang, row["kind"], row["params"])
        markup = _markup(lang, row["kind"], row["params"])
        self.db.notice_set(row["id"], status="sending", attempts=row["attempts"] + 1)
        try:
            await self.bot.send_message(chat_id=row["recipient"], text=text, reply_markup=markup)
        except RetryAfter as exc:
            # The rate limiter already waited and retried; give Telegram the time it asked for.
            wait = (
                exc.retry_after
                if isinstance(exc.retry_after, int | float)
                else exc.retry_after.total_seconds()
            )
            self.db.notice_set(row["id"], status="pending", not_before=utcnow() + timedelta(seconds=wait))
            await asyncio.sleep(float(wait))
            return 0
        except Forbidden as exc:
            self.db.notice_set(row["id"], status="unreachable", error=str(exc)[:300])
            self._mark_unreachable(row["recipient"])
            return 0
        except BadRequest as exc:
            self.db.notice_set(row["id"], status="failed", error=str(exc)[:300])
            return 0
        except NetworkError as exc:
            status = "failed" if row["attempts"] + 1 >= MAX_ATTEMPTS else "pending"
            delay = min(300.0, 2.0 ** (row["attempts"] + 1))
            self.db.notice_set(
                row["id"], status=status, error=str(exc)[:300], not_before=utcnow() + timedelta(seconds=delay)
            )
            return 0
        self.db.notice_set(row["id"], status="sent", sent_at=utcnow())
        self.sent += 1
        return 1

    def _mark_unreachable(self, telegram_user_id: int) -> None:
        now = utcnow()
        with self.db.tx() as conn:
            self.db.save_user(conn, telegram_user_id, telegram_user_id, unreachable_at=now)
            key = f"unreachable:{telegram_user_id}:{now.date().isoformat()}"
            job = Job("unreachable", key, {"telegram_user_id": telegram_user_id}, anonymous=True)
            self.db.outbox_add(conn, None, job)
        if self.on_unreachable:
            self.on_unreachable(telegram_user_id)


# The flow code the ledger buttons of a notice answer to (bot/flows/fixes.py).
FIXES_CODE = "fx"
# The flow code the rating buttons of a closed case answer to (bot/flows/residents.py).
RESIDENT_CODE = "rs"


def _markup(lang: str, kind: str, params: dict[str, Any]) -> InlineKeyboardMarkup | None:
    """A notice's buttons (Verify / Return on a submitted fix), stateless: the item's version in
    their data makes a press after the item moved on answer "changed" instead of acting."""
    if kind == "case_rate" and params.get("number"):
        number = str(params["number"])
        return InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        str(n),
                        callback_data=encode(RESIDENT_CODE, STATELESS, Action(Act.RATE, f"{number}:{n}")),
                    )
                    for n in range(1, 6)
                ]
            ]
        )
    rows = ledger_text.notice_buttons(lang, kind, params)
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(label, callback_data=encode(FIXES_CODE, STATELESS, act))
                for label, act in row
            ]
            for row in rows
        ]
    )
