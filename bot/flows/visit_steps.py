"""The checklist step by step: typed answers, answer buttons, multi-choice toggles, /back."""

from __future__ import annotations

import asyncio
from typing import Any

import checklists
from bot.flows import visit_data as vd
from bot.flows import visit_view as vv
from bot.flows.callbacks import Act
from bot.flows.core import Turn
from bot.flows.gate import refuse
from bot.flows.view import Prompt
from bot.flows.visit_common import advance, data_of, prompt_of
from bot.flows.visit_data import VisitData
from bot.flows.visit_evidence import use_spare
from bot.i18n import t
from checklists import AmbiguousNumber, ChecklistError, Step, StepKind, canonical_number

TYPED = (StepKind.NUMBER, StepKind.TEXT)
FITS_NUMBER = (Act.NUMBER_YES, Act.NUMBER_NO)
TYPE_AGAIN = "Please type the number again, with a point for decimals (e.g. 3.5)."
# Buttons that answer a step, by act: the step kinds they fit.
FITS: dict[Act, tuple[StepKind, ...]] = {
    Act.ANSWER: (StepKind.YES_NO, StepKind.CHOICE),
    Act.MULTI_DONE: (StepKind.MULTI_CHOICE,),
    Act.PHOTOS_DONE: (StepKind.PHOTO,),
    Act.OK: (StepKind.NOTE,),
}


def answer_step(
    data: VisitData, step: Step, raw: Any, lang: str, at: str | None = None
) -> tuple[str, Prompt, str]:
    """Validates an answer given at `at` (default now); records it (or waits for its photos);
    returns (state, prompt, answer shown)."""
    cl = data.checklist()
    state = data.state()
    value = checklists.parse_value(step, raw, checklists.current_values(cl, state), lang)
    need = checklists.required_evidence(cl, state, step.id, value)
    shown = vv.answer_label(step, value, lang)
    if need > 0:
        data.pending = {"step_id": step.id, "value": value, "need": need}
        data.pending_photos = []
        return vd.EVIDENCE, vv.evidence_prompt(data, step, lang), shown
    data.set_state(checklists.answer(cl, state, step.id, value, lang))
    data.time_step(step.id, at)
    new_state, prompt = advance(data, lang, at)
    return new_state, prompt, shown


async def typed(turn: Turn) -> None:
    """A typed answer to a number or text step (also typed instead of confirming a number)."""
    data = data_of(turn)
    step = data.current()
    if step is None or step.kind not in TYPED:
        await refuse(turn)
        return
    data.confirm = None
    try:
        new_state, prompt, shown = answer_step(data, step, turn.text, turn.lang, turn.at)
    except AmbiguousNumber as amb:
        await _ask_number(turn, data, step, amb)
        return
    except ChecklistError as err:
        await _refused(turn, step, err)
        return
    nonce = turn.save(new_state, data.to_json())
    await turn.reply(prompt, f"✔ {shown}", nonce)


async def _refused(turn: Turn, step: Step, err: ChecklistError) -> None:
    """A typed answer the step cannot take: why, and the question again; nothing is stored."""
    await turn.reply(f"⚠️ {err.message(turn.lang)}\n{step.label.get(turn.lang)}")


async def _ask_number(turn: Turn, data: VisitData, step: Step, amb: AmbiguousNumber) -> None:
    """Asks whether "3,5" means 3.5, if 3.5 is an answer the step would take (else says why not)."""
    value = canonical_number(amb.candidate)
    try:
        checklists.parse_value(
            step, value, checklists.current_values(data.checklist(), data.state()), turn.lang
        )
    except ChecklistError as err:
        await _refused(turn, step, err)
        return
    data.confirm = {"step_id": step.id, "typed": amb.typed, "value": value}
    nonce = turn.save(vd.CONFIRM_NUMBER, data.to_json())
    await turn.reply(vv.number_prompt(data.confirm, step, turn.lang), nonce=nonce)


async def number_confirmed(turn: Turn) -> None:
    """Yes stores the number offered for "3,5"; No asks the step again."""
    data = data_of(turn)
    step, confirm = data.current(), data.confirm
    act = turn.action.act
    if step is None or confirm is None or confirm["step_id"] != step.id or act not in FITS_NUMBER:
        await refuse(turn)
        return
    data.confirm = None
    if act is Act.NUMBER_NO:
        nonce = turn.save(vd.STEP, data.to_json())
        await turn.answer()
        await turn.ack(t(turn.lang, "{typed} — not stored.", typed=confirm["typed"]))
        await turn.reply(vv.step_prompt(data, step, turn.lang), t(turn.lang, TYPE_AGAIN), nonce)
        return
    try:
        new_state, prompt, shown = answer_step(data, step, confirm["value"], turn.lang, turn.at)
    except ChecklistError as err:
        await turn.answer(err.message(turn.lang), alert=True)
        return
    nonce = turn.save(new_state, data.to_json())
    asked = vv.step_prompt(data, step, turn.lang).text.splitlines()[0]
    await asyncio.gather(turn.answer(), turn.ack(f"{asked}\n→ {shown}"), turn.reply(prompt, nonce=nonce))


def _raw(turn: Turn, data: VisitData, step: Step) -> tuple[bool, Any]:
    """(fits, raw answer) of the pressed button for this step."""
    act, arg = turn.action.act, turn.action.arg
    if act in FITS:
        fits = step.kind in FITS[act]
        if act is Act.ANSWER and step.kind is StepKind.CHOICE:
            arg = vv.choice_of(step, arg) or arg
        raw = {Act.ANSWER: arg, Act.MULTI_DONE: list(data.multi), Act.PHOTOS_DONE: list(data.pending_photos)}
        return fits, raw.get(act)
    if act is Act.SKIP:
        return not step.required, None
    return False, None


async def pressed(turn: Turn) -> None:
    """An answer button of the current step."""
    data = data_of(turn)
    step = data.current()
    if step is None:
        await refuse(turn)
        return
    if turn.action.act is Act.TOGGLE and step.kind is StepKind.MULTI_CHOICE:
        await _toggle(turn, data, step)
        return
    if turn.action.act is Act.USE_SPARE:
        await use_spare(turn)
        return
    fits, raw = _raw(turn, data, step)
    if not fits:
        await refuse(turn)
        return
    # The question's line is taken before answering: its number counts the answers given so far.
    asked = vv.step_prompt(data, step, turn.lang).text.splitlines()[0]
    try:
        new_state, prompt, shown = answer_step(data, step, raw, turn.lang, turn.at)
    except ChecklistError as err:
        await turn.answer(err.message(turn.lang), alert=True)
        return
    nonce = turn.save(new_state, data.to_json())
    # The state is committed; the three calls are independent, so they go out together.
    await asyncio.gather(turn.answer(), turn.ack(f"{asked}\n→ {shown}"), turn.reply(prompt, nonce=nonce))


async def _toggle(turn: Turn, data: VisitData, step: Step) -> None:
    """Ticks or clears one choice of a multi-choice step; the keyboard is redrawn in place."""
    assert turn.conv is not None
    choice = vv.choice_of(step, turn.action.arg)
    if choice is None:
        await turn.answer(t(turn.lang, "This button has expired."))
        return
    data.multi = [c for c in data.multi if c != choice] if choice in data.multi else [*data.multi, choice]
    turn.save(turn.conv.state, data.to_json(), turn.conv.nonce)
    prompt = vv.step_prompt(data, step, turn.lang)
    query = turn.update.callback_query
    assert query is not None
    await asyncio.gather(
        turn.answer(), query.edit_message_reply_markup(reply_markup=turn.markup(prompt, turn.conv.nonce))
    )


async def go_back(turn: Turn) -> None:
    """Undoes the last answer (or the answer waiting for photos) and asks that step again."""
    assert turn.conv is not None
    data = data_of(turn)
    if turn.conv.state in (vd.EVIDENCE, vd.CONFIRM_NUMBER):
        # Back from a photo request or a "did you mean" question: the same step, asked again.
        data.pending = None
        data.pending_photos = []
        data.confirm = None
        new_state, prompt = vd.STEP, prompt_of(vd.STEP, data, turn.lang)
    else:
        try:
            data.set_state(checklists.back(data.checklist(), data.state()))
        except ChecklistError as err:
            await turn.say(err.message(turn.lang))
            return
        new_state, prompt = advance(data, turn.lang, turn.at)
    nonce = turn.save(new_state, data.to_json())
    if turn.update.callback_query is not None:
        await turn.answer()
        await turn.ack(t(turn.lang, "Going back a step."))
    await turn.reply(prompt, t(turn.lang, "Back one step."), nonce)
