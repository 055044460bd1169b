"""The guided visit as data: its states, what each takes, and the ways into it.

pick (`/visit`, an assignment button) -> check-in (the location step) -> steps (buttons, typed
answers) -> evidence (photos an answer needs) -> summary (Submit / Back); a teammate who joined is
in `helper`; `/pause` and `/cancel` leave the steps (visit_team.py). A location is taken in every
state: after the check-in it joins the visit's track.
"""

from __future__ import annotations

from bot.flows import visit_checkin as checkin
from bot.flows import visit_data as vd
from bot.flows import visit_evidence as evidence
from bot.flows import visit_pick as pick
from bot.flows import visit_steps as steps
from bot.flows import visit_summary as summary
from bot.flows import visit_team as team
from bot.flows.callbacks import Act
from bot.flows.core import Flow, Kind, States, Turn
from bot.flows.visit_common import data_of, hint, hint_for, prompt_of
from bot.i18n import t

__all__ = ["FLOW"]

OTHER = "Stickers and other messages are not an answer."
ALWAYS = {Kind.LOCATION: checkin.location, Kind.COMMAND: team.command}
MEDIA = {Kind.PHOTO: evidence.photo, Kind.DOCUMENT: evidence.photo}

STATES: States = {
    vd.STEP: {**ALWAYS, **MEDIA, Kind.TEXT: steps.typed, Kind.CALLBACK: steps.pressed},
    vd.EVIDENCE: {**ALWAYS, **MEDIA, Kind.CALLBACK: evidence.use_spare},
    # Photos sent where no step takes one are kept with the visit (an offline burst arrives late).
    vd.CONFIRM_NUMBER: {
        **ALWAYS,
        **MEDIA,
        Kind.TEXT: steps.typed,
        Kind.CALLBACK: steps.number_confirmed,
    },
    vd.SUMMARY: {**ALWAYS, **MEDIA, Kind.CALLBACK: summary.pressed},
    vd.CONFIRM_CANCEL: {**ALWAYS, **MEDIA, Kind.CALLBACK: team.cancel_answer},
    vd.HELPER: {**ALWAYS, **MEDIA, Kind.CALLBACK: team.run_here},
    vd.PAUSED: {**ALWAYS, **MEDIA},
}


async def refuse(turn: Turn) -> None:
    """Input the visit's state cannot use: what it expects, with the buttons shown again."""
    assert turn.conv is not None
    state = turn.conv.state
    data = data_of(turn)
    said = hint_for(state, data, turn.lang)
    if turn.kind is Kind.CALLBACK:
        await turn.answer(said, alert=True)
    elif turn.kind in (Kind.PHOTO, Kind.DOCUMENT):
        await turn.reply(await evidence.refuse_media(turn))
    elif turn.kind is not Kind.TEXT:
        await turn.reply(f"{t(turn.lang, OTHER)}\n{said}")
    elif state == vd.PAUSED:
        await turn.reply(said)
    else:
        # Typing where a button is expected: the question again, under the hint, its buttons live.
        prompt = prompt_of(state, data, turn.lang)
        if prompt.buttons:
            await turn.reply(prompt, said, turn.conv.nonce)
        else:
            await turn.reply(said)


FLOW = Flow(
    name=vd.NAME,
    code=vd.FLOW,
    states=STATES,
    buttons={Act.PICK: pick.pick},
    commands={"visit": pick.visit_cmd, "back": pick.no_visit, "pause": pick.no_visit},
    passes=frozenset({"tasks", "help", "lang", "start", "visit"}),
    followups={"tasks": pick.after_tasks},
    hint=hint,
    refuse=refuse,
    on_forward=checkin.note_forwarded,
)
