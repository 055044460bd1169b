"""The flow layer: a conversation is a table of states, each mapping a kind of input to a handler.

A handler gets one `Turn`: the update, the sender's saved record and conversation (read once per
update), and helpers to save the new state and to reply. The rule of design.md holds for every
handler: state is written in one transaction together with the update id, and only then is the
reply sent (`reply` records the update itself when the handler wrote nothing), so a `kill -9` right
after a reply is safe and a redelivered update has no second effect.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot.flows.callbacks import Action, Callback, encode, new_nonce
from bot.flows.digest import Burst
from bot.flows.view import Prompt, split_text
from bot.i18n import normalize
from bot.inbox import current_row, marked_done
from bot.outbox import Job
from bot.runtime import Runtime

log = logging.getLogger("feijian.bot.flows")


class Kind(StrEnum):
    """The kinds of input a state can expect."""

    COMMAND = "command"
    TEXT = "text"
    CALLBACK = "callback"
    LOCATION = "location"
    PHOTO = "photo"
    DOCUMENT = "document"
    CONTACT = "contact"
    OTHER = "other"  # stickers, voice, polls...


Handler = Callable[["Turn"], Awaitable[None]]
States = dict[str, dict[Kind, Handler]]


@dataclass
class Conversation:
    """Where a user's named conversation stands (a `conversation` row)."""

    name: str
    state: str
    data: dict[str, Any]
    nonce: str

    @classmethod
    def of(cls, row: dict[str, Any] | None) -> Conversation | None:
        """From a `conversation` row."""
        if row is None:
            return None
        return cls(row["name"], row["state"], dict(row["data"] or {}), row["nonce"])


@dataclass
class Flow:
    """One conversation as data: its states table and the ways into it."""

    name: str  # the conversation's name in the bot's table
    code: str  # the first field of its buttons' callback data
    states: States = field(default_factory=dict)
    buttons: dict[str, Handler] = field(default_factory=dict)  # stateless buttons, by act
    commands: dict[str, Handler] = field(default_factory=dict)  # commands it answers anywhere
    passes: frozenset[str] = frozenset()  # commands that leave its states to the global table
    followups: dict[str, Handler] = field(default_factory=dict)  # after another flow's command
    # What the current state expects, said with any input it cannot use.
    hint: Callable[[Turn], str] | None = None
    # The reply to input the current state cannot use (None: the hint, or the generic reply).
    refuse: Handler | None = None
    # Forwarded input seen while this flow is open (e.g. a forwarded location noted on the visit).
    on_forward: Callable[[Turn, Connection], None] | None = None


@dataclass
class Turn:
    """One update as a handler sees it."""

    update: Update
    rt: Runtime
    bot: Any
    kind: Kind
    uid: int
    chat: int
    user: dict[str, Any] | None
    conv: Conversation | None
    flow: Flow | None = None
    callback: Callback | None = None
    edited: bool = False
    written: bool = False
    jobs_queued: bool = False
    arrived: datetime = field(default_factory=lambda: datetime.now(UTC))
    # In a burst (bot.flows.digest) replies are collected for one digest instead of being sent.
    burst: Burst | None = None
    notes: list[str] = field(default_factory=list)
    changed: bool = False  # something beyond "handled" was written
    refused: bool = False  # the input was refused even though something was noted

    # ---- what arrived
    @property
    def sent_at(self) -> datetime:
        """When the user acted: the message's Telegram `date` (`edit_date` for an edit), never
        later than its arrival; a button press carries no date of its own, so it is its arrival."""
        if self.update.callback_query is None:
            msg = self.update.effective_message
            if msg is not None:
                when = (msg.edit_date if self.edited else None) or msg.date
                if when is not None:
                    # a message sent offline arrives later; its date says when the inspector acted
                    return min(when.astimezone(UTC), self.arrived)
        return self.arrived

    @property
    def at(self) -> str:
        """`sent_at` as ISO text, for the visit's JSON state and store events."""
        return self.sent_at.isoformat()

    @property
    def lang(self) -> str:
        """The user's chosen language, else their Telegram language, else zh-CN."""
        if self.user and self.user.get("language"):
            return str(self.user["language"])
        sender = self.update.effective_user
        return normalize(sender.language_code if sender else None)

    @property
    def msg(self) -> Message:
        """The message sent, or the message whose button was pressed."""
        query = self.update.callback_query
        msg = query.message if query is not None else self.update.effective_message
        assert isinstance(msg, Message)
        return msg

    @property
    def text(self) -> str:
        """The text sent (empty for anything else)."""
        msg = self.update.effective_message
        return (msg.text or "") if msg is not None else ""

    @property
    def command(self) -> str:
        """`name` of a `/name@bot args` message."""
        return self.text.split()[0][1:].split("@")[0].lower() if self.text.startswith("/") else ""

    @property
    def args(self) -> list[str]:
        """The words after a command."""
        return self.text.split()[1:]

    @property
    def action(self) -> Action:
        """The pressed button's action."""
        assert self.callback is not None
        return self.callback.action

    @property
    def bound(self) -> bool:
        """Whether the bot knows this user as linked to a store account."""
        return bool(self.user and self.user.get("bound"))

    # ---- writes (before any reply)
    @contextmanager
    def tx(self, change: bool = True) -> Iterator[Connection]:
        """The turn's one transaction, marking the update handled (DuplicateUpdate when it was)."""
        self.changed = self.changed or change
        row = current_row()
        with self.rt.db.tx() as conn:
            if row is not None:
                self.rt.db.inbox_done(conn, row)  # done with its effects, or not at all
            else:
                self.rt.db.record_update(conn, self.update.update_id, self.uid)
            yield conn
        self.written = True
        if row is not None:
            marked_done()

    def queue(self, conn: Connection, *jobs: Job) -> None:
        """Adds store writes to the outbox inside the turn's transaction."""
        for job in jobs:
            self.rt.db.outbox_add(conn, None if job.anonymous else (job.user or self.uid), job)
        self.jobs_queued = self.jobs_queued or bool(jobs)

    def save(
        self,
        state: str,
        data: dict[str, Any],
        nonce: str | None = None,
        jobs: tuple[Job, ...] = (),
        user: dict[str, Any] | None = None,
    ) -> str:
        """Writes where this flow's conversation stands, its store writes and changes to the user's
        record, in the turn's one transaction; returns the nonce of the step now shown."""
        assert self.flow is not None
        nonce = nonce or new_nonce()
        with self.tx() as conn:
            self.rt.db.save_conversation(conn, self.uid, self.flow.name, state, data, nonce)
            self.queue(conn, *jobs)
            if user:
                self.rt.db.save_user(conn, self.uid, self.chat, **user)
        return nonce

    def end(self, jobs: tuple[Job, ...] = ()) -> None:
        """Ends this flow's conversation (and queues its last store writes)."""
        assert self.flow is not None
        with self.tx() as conn:
            self.rt.db.end_conversation(conn, self.uid, self.flow.name)
            self.queue(conn, *jobs)

    def record(self) -> None:
        """Records the update and changes nothing else."""
        if not self.written:
            with self.tx(change=False):
                pass

    # ---- replies (after the writes)
    def markup(self, prompt: Prompt, nonce: str) -> InlineKeyboardMarkup | None:
        """The Telegram edge of a Prompt's buttons."""
        if not prompt.buttons:
            return None
        code = self.flow.code if self.flow is not None else "-"
        return InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(label, callback_data=encode(code, nonce, act)) for label, act in row]
                for row in prompt.buttons
            ]
        )

    async def reply(
        self, what: str | Prompt, prefix: str = "", nonce: str = "-", record: bool = True
    ) -> None:
        """Sends text or a prompt (split to fit); records the update first unless told not to."""
        if record:
            self.record()
        prompt = what if isinstance(what, Prompt) else Prompt(what)
        if self.burst is not None:
            self.burst.hold(self, prefix, prompt.text, self.markup(prompt, nonce), nonce)
            return
        text = f"{prefix}\n\n{prompt.text}" if prefix and prompt.text else (prefix or prompt.text)
        chunks = split_text(text)
        for chunk in chunks[:-1]:
            await self.msg.reply_text(chunk)
        await self.msg.reply_text(chunks[-1], reply_markup=self.markup(prompt, nonce))

    async def answer(self, text: str | None = None, alert: bool = False, record: bool = True) -> None:
        """Answers a pressed button (a toast, or an alert); records the update first unless told not to."""
        if record:
            self.record()
        query = self.update.callback_query
        if query is not None and self.burst is not None:
            if text:
                self.notes.append(text.splitlines()[0])
            await query.answer()  # no popup in a burst: the digest says it
        elif query is not None:
            await query.answer(text[:190] if text else None, show_alert=alert and bool(text))

    async def ack(self, text: str) -> None:
        """Replaces the pressed message's text (and its keyboard), so old buttons are gone."""
        query = self.update.callback_query
        if query is None:
            return
        if self.burst is not None:
            self.notes.append(text.splitlines()[-1])
        try:
            await query.edit_message_text(text[:4000])
        except Exception:  # e.g. the message is too old to edit: the nonce still makes its buttons inert
            log.debug("could not edit the pressed message", exc_info=True)

    async def say(self, text: str) -> None:
        """A short reply that suits the input: an alert for a press, else a message."""
        if self.update.callback_query is not None:
            await self.answer(text, alert=True)
        else:
            await self.reply(text)

    def wake(self) -> None:
        """Tells the outbox that something was queued."""
        self.rt.wake_outbox()
