"""What every handler shares: ids, language, the duplicate guard and the handler's transaction.

The rule (design.md): state that matters is written in the handler's own transaction, with the
update id under a unique key, and committed BEFORE the reply is sent. PTB confirms updates to
Telegram before handlers run and flushes its persistence only every `update_interval`, so this
transaction is what makes a `kill -9` right after a reply safe and a redelivered update harmless.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

from sqlalchemy import Connection
from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.db import DuplicateUpdate
from bot.i18n import normalize
from bot.runtime import Runtime, runtime_of

Context = ContextTypes.DEFAULT_TYPE
Handler = Callable[[Update, Context], Coroutine[Any, Any, Any]]


def ids(update: Update) -> tuple[int, int]:
    """(Telegram user id, chat id) of an update from a person."""
    user = update.effective_user
    chat = update.effective_chat
    uid = user.id if user else (chat.id if chat else 0)
    return uid, chat.id if chat else uid


def language(rt: Runtime, update: Update, known: dict[str, Any] | None = None) -> str:
    """The user's chosen language, else their Telegram language, else zh-CN."""
    uid, _ = ids(update)
    known = known if known is not None else rt.db.user(uid)
    if known and known.get("language"):
        return str(known["language"])
    user = update.effective_user
    return normalize(user.language_code if user else None)


async def guard(update: object, context: Context) -> None:
    """Group -1: an update handled before (redelivered by Telegram) stops here."""
    if isinstance(update, Update) and runtime_of(context).db.seen(update.update_id):
        raise ApplicationHandlerStop


@contextmanager
def handled(rt: Runtime, update: Update) -> Iterator[Connection]:
    """The handler's transaction, recording the update id; DuplicateUpdate when it was handled."""
    uid, _ = ids(update)
    with rt.db.tx() as conn:
        rt.db.record_update(conn, update.update_id, uid)
        yield conn


def once(fn: Handler) -> Handler:
    """A duplicate detected inside the handler's transaction ends the handler silently."""

    @wraps(fn)
    async def wrapper(update: Update, context: Context) -> Any:
        try:
            return await fn(update, context)
        except DuplicateUpdate:
            return None

    return wrapper


def private_only(update: Update) -> bool:
    """The bot talks to inspectors one to one."""
    chat = update.effective_chat
    return chat is not None and chat.type == "private"
