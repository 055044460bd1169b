"""`/tasks`: the inspector's released assignments, with distance from their last shared location."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot import render
from bot.flows.callbacks import Act, Action
from bot.flows.core import Flow, Turn
from bot.flows.start import NOT_LINKED, UNREACHABLE
from bot.flows.view import Prompt
from bot.i18n import t
from bot.store_client import StoreError, StoreUnavailable
from bot.store_endpoints import NOT_BOUND_CODES

TZ = ZoneInfo("Asia/Shanghai")


async def _list(turn: Turn) -> tuple[str, bool]:
    """The text of the task list and whether the user is bound."""
    lang = turn.lang
    try:
        items = await turn.rt.store.list_my_assignments(turn.uid)
    except StoreUnavailable:
        return t(lang, UNREACHABLE), True
    except StoreError as exc:
        if exc.code in NOT_BOUND_CODES:
            return t(lang, NOT_LINKED), False
        if exc.status != 404:
            return exc.detail, True
        items = []
    known = turn.user or {}
    here = (known["last_lat"], known["last_lon"]) if known.get("last_lat") is not None else None
    text = render.tasks(lang, items, here, datetime.now(TZ).date())
    extra = turn.rt.outbox.waiting_text(turn.uid, lang) if turn.rt.outbox is not None else None
    return (f"{text}\n\n{extra}" if extra else text), True


def _prompt(turn: Turn, text: str, bound: bool) -> Prompt:
    return Prompt(text, [[(t(turn.lang, "Refresh"), Action(Act.REFRESH))]] if bound else [])


async def tasks(turn: Turn) -> None:
    """Lists the assignments released to this inspector."""
    text, bound = await _list(turn)
    with turn.tx() as conn:
        if not bound:
            turn.rt.db.save_user(conn, turn.uid, turn.chat, bound=False)
    await turn.reply(_prompt(turn, text, bound))


async def refresh(turn: Turn) -> None:
    """The Refresh button: the list is rewritten in place."""
    text, bound = await _list(turn)
    await turn.answer()
    query = turn.update.callback_query
    assert query is not None
    try:
        await query.edit_message_text(text, reply_markup=turn.markup(_prompt(turn, text, bound), "-"))
    except Exception:  # "message is not modified" when nothing changed
        return


FLOW = Flow(name="tasks", code="tasks", commands={"tasks": tasks}, buttons={Act.REFRESH: refresh})
