"""`/fixes`: the officer's open rectification items (paged buttons), one item's detail, and the way
into submitting a fix (bot/flows/fixes_submit.py); supervisors' Verify / Return buttons on a
"fix submitted" notice are answered in bot/flows/fixes_review.py.
"""

from __future__ import annotations

from datetime import date

from bot import ledger_text, store_ledger
from bot.flows import fixes_photos, fixes_review, fixes_submit
from bot.flows.callbacks import Act, Action
from bot.flows.core import Flow, Kind, Turn
from bot.flows.fixes_common import (
    AMOUNT,
    CODE,
    CONFIRM,
    NAME,
    NOTE,
    OUTCOME,
    PHOTOS,
    REASON,
    mask,
    refusal,
    store_user,
)
from bot.flows.start import NOT_LINKED
from bot.flows.view import Prompt
from bot.i18n import t
from bot.store_client import StoreError, StoreUnavailable
from contracts.ledger import OPEN_STATES, LedgerItemDetail, LedgerItemOut, LedgerState

PAGE = 5


def _line(lang: str, item: LedgerItemOut, today: date) -> str:
    late = " ⚠" + t(lang, "overdue") if item.overdue else ""
    return (
        t(
            lang,
            "No. {number} · {head_name} · {category} · by {deadline}",
            number=item.number,
            head_name=mask(item.head_name),
            category=ledger_text.category(lang, item.category.value),
            deadline=item.deadline.isoformat(),
        )
        + late
    )


def page_prompt(lang: str, items: list[LedgerItemOut], page: int) -> Prompt:
    """One page of the list: a line and a button per item, Previous / Next below."""
    if not items:
        return Prompt(t(lang, "You have no open rectification items."))
    last = (len(items) - 1) // PAGE
    page = max(0, min(page, last))
    shown = items[page * PAGE : (page + 1) * PAGE]
    today = date.today()
    lines = [t(lang, "Your open rectification items ({count}):", count=len(items))]
    lines += [_line(lang, i, today) for i in shown]
    if last:
        lines.append(t(lang, "Page {page} of {pages}", page=page + 1, pages=last + 1))
    buttons = [[(t(lang, "No. {number}", number=i.number), Action(Act.FIX_OPEN, str(i.id)))] for i in shown]
    nav = []
    if page > 0:
        nav.append((t(lang, "Previous"), Action(Act.FIX_PAGE, str(page - 1))))
    if page < last:
        nav.append((t(lang, "Next"), Action(Act.FIX_PAGE, str(page + 1))))
    if nav:
        buttons.append(nav)
    return Prompt("\n".join(lines), buttons)


async def _items(turn: Turn) -> list[LedgerItemOut] | str:
    """The user's open items, or the reply saying why not."""
    me = store_user(turn)
    if me is None:
        return t(turn.lang, NOT_LINKED)
    try:
        return await store_ledger.my_open_items(turn.rt.store, turn.uid, me)
    except (StoreError, StoreUnavailable) as exc:
        return refusal(turn.lang, exc)


async def fixes(turn: Turn) -> None:
    """Lists the items this officer answers for."""
    items = await _items(turn)
    await turn.reply(items if isinstance(items, str) else page_prompt(turn.lang, items, 0))


async def page(turn: Turn) -> None:
    """Previous / Next: the list rewritten in place."""
    items = await _items(turn)
    await turn.answer()
    if isinstance(items, str):
        await turn.reply(items)
        return
    prompt = page_prompt(turn.lang, items, int(turn.action.arg) if turn.action.arg.isdigit() else 0)
    query = turn.update.callback_query
    assert query is not None
    try:
        await query.edit_message_text(prompt.text, reply_markup=turn.markup(prompt, "-"))
    except Exception:  # "message is not modified"
        return


def detail_prompt(lang: str, item: LedgerItemDetail) -> Prompt:
    """An item's detail, with "Submit a fix" while the officer still has work in it."""
    lines = [
        t(lang, "Item No. {number}", number=item.number),
        t(lang, "Household: {head_name} ({register_no}) · {village}", head_name=mask(item.head_name),
          register_no=item.register_no, village=item.village_code),
        t(lang, "Problem: {category}", category=ledger_text.category(lang, item.category.value)),
        t(lang, "State: {state}", state=ledger_text.state(lang, item.state.value)),
        t(lang, "Deadline: {deadline}", deadline=item.deadline.isoformat())
        + (" ⚠" + t(lang, "overdue") if item.overdue else ""),
        t(lang, "Measures: {measures}", measures=item.measures or t(lang, "not set yet")),
    ]  # fmt: skip
    returned = [e for e in item.history if e.action == "return"]
    if item.state is LedgerState.returned and returned:
        lines.append(t(lang, "Returned: {reason}", reason=returned[-1].note or "—"))
    if item.state not in OPEN_STATES:
        return Prompt("\n".join(lines))
    return Prompt("\n".join(lines), [[(t(lang, "Submit a fix"), Action(Act.FIX_START, str(item.id)))]])


async def open_item(turn: Turn) -> None:
    """An item's button: its detail."""
    await turn.answer()
    try:
        item = await store_ledger.item(turn.rt.store, turn.uid, turn.action.arg)
    except (StoreError, StoreUnavailable) as exc:
        await turn.reply(refusal(turn.lang, exc))
        return
    await turn.reply(detail_prompt(turn.lang, item))


def _hint(turn: Turn) -> str:
    state = turn.conv.state if turn.conv is not None else ""
    return t(turn.lang, fixes_submit.HINTS.get(state, "Send /cancel to stop."))


FLOW = Flow(
    name=NAME,
    code=CODE,
    commands={"fixes": fixes},
    buttons={
        Act.FIX_OPEN: open_item,
        Act.FIX_PAGE: page,
        Act.FIX_START: fixes_submit.begin,
        Act.VERIFY: fixes_review.verify,
        Act.RETURN: fixes_review.ask_reason,
    },
    states={
        NOTE: {Kind.TEXT: fixes_submit.note},
        PHOTOS: {
            Kind.PHOTO: fixes_photos.photo,
            Kind.DOCUMENT: fixes_photos.photo,
            Kind.TEXT: fixes_submit.photos_text,
            Kind.COMMAND: fixes_submit.photos_text,
            Kind.CALLBACK: fixes_submit.photos_done,
        },
        OUTCOME: {Kind.CALLBACK: fixes_submit.outcome},
        AMOUNT: {Kind.TEXT: fixes_submit.amount},
        CONFIRM: {Kind.CALLBACK: fixes_submit.confirm},
        REASON: {Kind.TEXT: fixes_review.reason},
    },
    hint=_hint,
    # commands that keep their meaning at the photo step (whose /done is its own)
    passes=frozenset({"start", "help", "cancel", "lang", "fixes", "tasks", "visit", "status"}),
)
