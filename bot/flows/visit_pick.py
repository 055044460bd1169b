"""Into a visit: `/visit` resumes one or lists the assignments; a press on one starts (or joins) it."""

from __future__ import annotations

import asyncio
from datetime import date

from bot import render
from bot.flows import visit_data as vd
from bot.flows.callbacks import Act, Action
from bot.flows.core import Turn
from bot.flows.start import NOT_LINKED, UNREACHABLE
from bot.flows.view import Buttons, Prompt
from bot.flows.visit_common import advance, data_of, helper_prompt, profile_role, prompt_of, store_call
from bot.flows.visit_data import VisitData
from bot.i18n import t
from bot.store_client import StoreError, StoreUnavailable
from contracts.rounds import AssignmentStatus, MyAssignment
from contracts.visits import VisitPublic

VISITABLE = (AssignmentStatus.released, AssignmentStatus.in_progress, AssignmentStatus.revisit)
MARKS = {AssignmentStatus.in_progress: "⏯", AssignmentStatus.revisit: "↻"}
NOT_INSPECTOR = "Visits are carried out by inspectors; this command is not available to your account."


def _open(turn: Turn) -> bool:
    return turn.conv is not None and turn.conv.name == vd.NAME


async def visit_cmd(turn: Turn) -> None:
    """Resumes the visit in progress, or lists the assignments to start one from."""
    if _open(turn):
        await _resume(turn)
        return
    role, _ = await profile_role(turn)
    if role is None:
        await turn.reply(t(turn.lang, NOT_LINKED))
        return
    if role != "inspector":
        await turn.reply(t(turn.lang, NOT_INSPECTOR))
        return
    await turn.reply(await assignment_list(turn))


async def _resume(turn: Turn) -> None:
    """Shows the step the visit stands at again (a pause or a cancel question ends here)."""
    assert turn.conv is not None
    data = data_of(turn)
    state = turn.conv.state
    if state in (vd.PAUSED, vd.CONFIRM_CANCEL):
        state = data.resume_state
    nonce = turn.save(state, data.to_json())
    prefix = t(turn.lang, "Resuming the visit to {label}.", label=data.label)
    await turn.reply(prompt_of(state, data, turn.lang), prefix, nonce)


async def assignment_list(turn: Turn) -> Prompt:
    """The open assignments as buttons (or why there are none)."""
    lang = turn.lang
    try:
        items = await store_call(turn.rt, lambda: turn.rt.store.list_my_assignments(turn.uid))
    except StoreUnavailable:
        return Prompt(t(lang, UNREACHABLE))
    except StoreError as exc:
        return Prompt(exc.detail)
    open_ = sorted((a for a in items if a.status in VISITABLE), key=render.route_key)
    if not open_:
        return Prompt(t(lang, "You have no assignment to visit."))
    today = date.today()
    buttons: Buttons = []
    for a in open_[:20]:
        when = render.visit_day(lang, a, today)
        mark = MARKS.get(a.status, "▶")
        buttons.append([(f"{mark} {render.assignment_label(a)} · {when}"[:60], Action(Act.PICK, str(a.id)))])
    return Prompt(t(lang, "Choose the household to visit:"), buttons)


async def after_tasks(turn: Turn) -> None:
    """After /tasks: the visit in progress or paused, or buttons to start one."""
    known = turn.user or {}
    if not known.get("bound") or known.get("role") != "inspector":
        return
    if _open(turn):
        assert turn.conv is not None
        label = str(turn.conv.data.get("label", ""))
        if turn.conv.state == vd.PAUSED:
            text = t(turn.lang, "⏸ Paused: the visit to {label}. Send /visit to resume it.", label=label)
        elif turn.conv.state == vd.HELPER:
            text = t(turn.lang, "👥 Helping on the visit to {label}. Send /visit to see it.", label=label)
        else:
            text = t(turn.lang, "▶ In progress: the visit to {label}. Send /visit to continue.", label=label)
        await turn.reply(text)
        return
    listing = await assignment_list(turn)
    if listing.buttons:
        await turn.reply(listing)


async def pick(turn: Turn) -> None:
    """Starts (or joins) the visit of the chosen assignment and asks for the check-in location."""
    lang = turn.lang
    if _open(turn):
        assert turn.conv is not None
        await turn.answer()
        label = turn.conv.data.get("label", "")
        await turn.reply(
            t(
                lang,
                "You already have a visit open ({label}). Send /visit to continue it, or /cancel it first.",
                label=label,
            )
        )
        return
    role, store_id = await profile_role(turn)
    if role != "inspector":
        await turn.answer(t(lang, NOT_INSPECTOR), alert=True)
        return
    aid = turn.action.arg
    try:
        a = await store_call(turn.rt, lambda: turn.rt.store.my_assignment(turn.uid, aid))
        key = f"vstart:{turn.uid}:{turn.update.update_id}"
        visit = await store_call(turn.rt, lambda: turn.rt.store.start_visit(turn.uid, aid, key))
    except StoreUnavailable:
        await turn.answer(record=False)  # not recorded: pressing again tries again
        await turn.reply(t(lang, UNREACHABLE), record=False)
        return
    except StoreError as exc:
        await turn.answer()
        await turn.reply(_refusal(lang, exc))
        return
    await _opened(turn, a, visit, store_id)


def _refusal(lang: str, exc: StoreError) -> str:
    if exc.code == "visit_already_done":
        return t(lang, "This household's visit has already been submitted.")
    if exc.status == 404:
        return t(lang, "This assignment is not yours, or it is no longer open.")
    return exc.detail


async def _opened(turn: Turn, a: MyAssignment, visit: VisitPublic, store_id: str | None) -> None:
    """Stores the new visit and shows its first step (or the teammate's view)."""
    data = VisitData(
        assignment_id=str(a.id),
        visit_id=str(visit.id),
        label=render.assignment_label(a),
        checklist_id=visit.checklist_id,
        version=visit.checklist_version,
        lat=a.lat,
        lon=a.lon,
        datum=a.datum.value if a.datum is not None else None,
    )
    data.joined = store_id is not None and str(visit.inspector_id) != str(store_id)
    if data.joined:
        state, prompt = vd.HELPER, helper_prompt(data, turn.lang)
    else:
        state, prompt = advance(data, turn.lang, turn.at)
    nonce = turn.save(state, data.to_json())
    await asyncio.gather(
        turn.answer(),
        turn.ack(t(turn.lang, "Visit opened: {label}", label=data.label)),
        turn.reply(prompt, nonce=nonce),
    )


async def no_visit(turn: Turn) -> None:
    """/back or /pause with no visit open."""
    await turn.reply(t(turn.lang, "No visit is open. Send /visit to start one."))
