"""`/tasks`: the inspector's released assignments, with distance from their last shared location."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import render
from bot.conversation import pack, unpack
from bot.handlers.base import Context, handled, ids, language, once
from bot.handlers.start import NOT_LINKED, UNREACHABLE
from bot.i18n import t
from bot.runtime import Runtime, runtime_of
from bot.store_client import StoreError, StoreUnavailable

FLOW = "tasks"
TZ = ZoneInfo("Asia/Shanghai")


def _keyboard(lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(t(lang, "Refresh"), callback_data=pack(FLOW, "-", "refresh"))]]
    )


async def _list(rt: Runtime, update: Update, uid: int, lang: str) -> tuple[str, bool]:
    """The text of the task list and whether the user is bound."""
    try:
        items = await rt.store.my_assignments(uid)
    except StoreUnavailable:
        return t(lang, UNREACHABLE), True
    except StoreError as exc:
        if exc.code in ("telegram_not_bound", "unauthorized", "token_invalid"):
            return t(lang, NOT_LINKED), False
        if exc.status == 404:
            items = []
        else:
            return exc.detail, True
    known = rt.db.user(uid) or {}
    here = (known["last_lat"], known["last_lon"]) if known.get("last_lat") is not None else None
    text = render.tasks(lang, items, here, datetime.now(TZ).date())
    if rt.outbox is not None:
        extra = rt.outbox.waiting_text(uid, lang)
        if extra:
            text += "\n\n" + extra
    return text, True


@once
async def tasks(update: Update, context: Context) -> None:
    """Lists the assignments released to this inspector."""
    rt = runtime_of(context)
    uid, chat = ids(update)
    lang = language(rt, update)
    text, bound = await _list(rt, update, uid, lang)
    with handled(rt, update) as conn:
        if not bound:
            rt.db.save_user(conn, uid, chat, bound=False)
    assert update.effective_message is not None
    await update.effective_message.reply_text(text, reply_markup=_keyboard(lang) if bound else None)


@once
async def refresh(update: Update, context: Context) -> None:
    """The Refresh button: the list is rewritten in place."""
    rt = runtime_of(context)
    query = update.callback_query
    assert query is not None
    parsed = unpack(query.data)
    uid, _ = ids(update)
    lang = language(rt, update)
    text, bound = await _list(rt, update, uid, lang)
    with handled(rt, update):
        pass
    await query.answer()
    if parsed and query.message is not None:
        try:
            await query.edit_message_text(text, reply_markup=_keyboard(lang) if bound else None)
        except Exception:  # "message is not modified" when nothing changed
            return
