"""Leaving the steps: /pause, /cancel (and its question), a teammate running the checklist, commands."""

from __future__ import annotations

from bot.flows import visit_data as vd
from bot.flows.callbacks import Act
from bot.flows.core import Turn
from bot.flows.gate import refuse
from bot.flows.visit_common import advance, cancel_prompt, data_of, hint_for, prompt_of
from bot.flows.visit_steps import go_back
from bot.i18n import t
from bot.outbox import Job

LEFT = "You have left the visit; your teammate carries on."
NOT_NOW = "That command is not available during a visit. Use /back, /pause or /cancel."
ANSWERING = (vd.STEP, vd.EVIDENCE, vd.CONFIRM_NUMBER, vd.SUMMARY)


async def command(turn: Turn) -> None:
    """/back, /pause and /cancel where they apply; any other command is not for now."""
    assert turn.conv is not None
    state, cmd = turn.conv.state, turn.command
    if cmd == "back" and state in ANSWERING:
        await go_back(turn)
    elif cmd == "pause" and state in ANSWERING:
        await pause(turn)
    elif cmd == "cancel" and state != vd.CONFIRM_CANCEL:
        await ask_cancel(turn)
    else:
        hint = hint_for(state, data_of(turn), turn.lang)
        known = cmd in ("back", "pause", "cancel")
        await turn.reply(hint if known else t(turn.lang, NOT_NOW) + "\n" + hint)


async def pause(turn: Turn) -> None:
    """Pauses the visit; every answer so far is kept."""
    assert turn.conv is not None
    data = data_of(turn)
    data.resume_state = turn.conv.state
    turn.save(vd.PAUSED, data.to_json())
    text = "⏸ Visit paused; every answer so far is kept. /tasks shows it as paused; /visit resumes it."
    await turn.reply(t(turn.lang, text))


async def ask_cancel(turn: Turn) -> None:
    """Asks whether to cancel the visit (a teammate who joined just leaves it)."""
    assert turn.conv is not None
    data = data_of(turn)
    state = turn.conv.state
    if state == vd.HELPER:
        turn.end()
        await turn.reply(t(turn.lang, LEFT))
        return
    data.resume_state = (data.resume_state or vd.STEP) if state == vd.PAUSED else state
    nonce = turn.save(vd.CONFIRM_CANCEL, data.to_json())
    await turn.reply(cancel_prompt(turn.lang), nonce=nonce)


async def cancel_answer(turn: Turn) -> None:
    """The answer to "cancel this visit?"."""
    data = data_of(turn)
    if turn.action.act is Act.CANCEL_YES:
        leaving = data.resume_state == vd.HELPER or data.joined
        job = Job("visit_cancel", f"cancel:{data.visit_id}", None, target=data.visit_id)
        turn.end(() if leaving else (job,))
        await turn.answer()
        if leaving:
            await turn.ack(t(turn.lang, LEFT))
        else:
            await turn.ack(t(turn.lang, "Visit cancelled. The household is back on your list (/tasks)."))
        turn.wake()
    elif turn.action.act is Act.CANCEL_NO:
        state = data.resume_state
        nonce = turn.save(state, data.to_json())
        await turn.answer()
        await turn.ack(t(turn.lang, "The visit continues."))
        await turn.reply(prompt_of(state, data, turn.lang), nonce=nonce)
    else:
        await refuse(turn)


async def run_here(turn: Turn) -> None:
    """A teammate who joined takes over the checklist on this phone."""
    if turn.action.act is not Act.RUN:
        await refuse(turn)
        return
    data = data_of(turn)
    data.answers = []
    state, prompt = advance(data, turn.lang, turn.at)
    nonce = turn.save(state, data.to_json())
    await turn.answer()
    await turn.ack(t(turn.lang, "You are running the checklist on this phone now."))
    await turn.reply(prompt, nonce=nonce)
