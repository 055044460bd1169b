"""The one gate every input passes first: forwards, edits and input no state expects.

A forwarded message of any kind is not the sender's own answer or evidence; an edit of an earlier
message cannot change an answer already recorded; input the current state does not expect is not
an answer. Each gets one clear reply in the user's language and changes nothing (the update is
recorded, so a redelivery is ignored). A live location's moves arrive as edits and pass: they are
the visit's track.
"""

from __future__ import annotations

from telegram import Message

from bot.flows.core import Kind, Turn
from bot.i18n import t

FORWARDED = "Forwarded messages are not accepted: send your own answer, photo or location."
FORWARDED_LOCATION = (
    "A forwarded location is not evidence of where you are, so it was not accepted. "
    "Share your own live location (📎 → Location)."
)
EDITED = "Editing a message you sent earlier changes nothing here; please send a new message instead."
NOT_UNDERSTOOD = "I did not understand that. Send /help to see what I can do."
EXPIRED = "This button has expired."


def kind_of(msg: Message) -> Kind:
    """What a message is, for the states table."""
    if msg.location is not None:
        return Kind.LOCATION
    if msg.photo:
        return Kind.PHOTO
    if msg.document is not None:
        return Kind.DOCUMENT
    if msg.contact is not None:
        return Kind.CONTACT
    if msg.text:
        return Kind.COMMAND if msg.text.startswith("/") else Kind.TEXT
    return Kind.OTHER


def _with_hint(turn: Turn, text: str) -> str:
    hint = turn.flow.hint(turn) if turn.flow is not None and turn.flow.hint is not None else ""
    return f"{text}\n{hint}" if hint else text


async def forwarded(turn: Turn) -> None:
    """Refuses a forwarded message of any kind (a flow may note it, e.g. on the visit's record)."""
    turn.refused = True  # noted on the visit, but not taken as the inspector's own input
    with turn.tx() as conn:
        if turn.flow is not None and turn.flow.on_forward is not None:
            turn.flow.on_forward(turn, conn)
    if turn.kind is Kind.LOCATION:
        text = t(turn.lang, FORWARDED_LOCATION)
    else:
        text = t(turn.lang, FORWARDED)
    await turn.reply(_with_hint(turn, text))
    if turn.jobs_queued:
        turn.wake()


async def edited(turn: Turn) -> None:
    """Refuses an edit of an earlier message."""
    await turn.reply(_with_hint(turn, t(turn.lang, EDITED)))


async def refuse(turn: Turn) -> None:
    """Input the current state does not expect: what it expects instead."""
    if turn.flow is not None and turn.flow.refuse is not None:
        await turn.flow.refuse(turn)
    elif turn.kind is Kind.CALLBACK:
        await turn.answer(t(turn.lang, EXPIRED))
    elif turn.flow is not None and turn.flow.hint is not None:
        await turn.reply(turn.flow.hint(turn))
    else:
        await turn.reply(t(turn.lang, NOT_UNDERSTOOD))
