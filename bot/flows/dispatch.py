"""The one dispatcher: every update goes duplicate guard -> gate -> the flow's states table -> handler.

One read per update (handled before?, the user, their conversation) and, in the handler, one write
transaction. Commands a flow does not keep for itself go to the global commands table; a user with
no conversation is in the idle table (a shared location is remembered, anything else is not
understood).
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ContextTypes

from bot.db import DuplicateUpdate
from bot.flows import complain, digest, fixes, gate, help, lang, residents, start, tasks, visits
from bot.flows.callbacks import decode, is_current
from bot.flows.core import Conversation, Flow, Kind, Turn
from bot.i18n import t
from bot.inbox import current_row, handler_failed
from bot.runtime import runtime_of

log = logging.getLogger("feijian.bot.flows")
FLOWS: list[Flow] = [
    start.FLOW,
    tasks.FLOW,
    lang.FLOW,
    help.FLOW,
    visits.FLOW,
    fixes.FLOW,
    residents.FLOW,
    complain.FLOW,
]
BY_CODE = {f.code: f for f in FLOWS}
BY_NAME = {f.name: f for f in FLOWS}
COMMANDS = {cmd: (f, h) for f in FLOWS for cmd, h in f.commands.items()}
STALE = "This button belongs to an earlier question; it no longer answers anything."


def _ids(update: Update) -> tuple[int, int]:
    user, chat = update.effective_user, update.effective_chat
    uid = user.id if user else (chat.id if chat else 0)
    return uid, chat.id if chat else uid


async def dispatch(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Routes one update; a duplicate (redelivered) update has no effect."""
    if not isinstance(update, Update):
        return
    chat = update.effective_chat
    private = chat is not None and chat.type == "private"
    if update.my_chat_member is None and update.callback_query is None and not private:
        return  # the bot talks to inspectors one to one
    rt = runtime_of(context)
    uid, chat_id = _ids(update)
    row = current_row()
    try:
        seen, user, rows = rt.db.turn_state(update.update_id, uid, row)
        if not seen:
            conv = next((c for c in map(Conversation.of, rows) if c is not None and c.name in BY_NAME), None)
            turn = Turn(update, rt, context.bot, Kind.OTHER, uid, chat_id, user, conv)
            turn.flow = BY_NAME[conv.name] if conv is not None else None
            turn.burst = digest.open_for(rt, chat_id, row, turn)
            await _route(turn)
            digest.close_turn(turn)
    except DuplicateUpdate:
        pass
    except Exception as exc:
        handler_failed(exc)  # retried from the inbox, then a dead letter
        raise
    await digest.flush(rt, context.bot, chat_id, row)


async def _route(turn: Turn) -> None:
    update = turn.update
    if update.my_chat_member is not None:
        await help.membership(turn)
        return
    if update.callback_query is not None:
        turn.kind = Kind.CALLBACK
        await _press(turn)
        return
    msg = update.effective_message
    if msg is None:
        return
    turn.kind = gate.kind_of(msg)
    if msg.forward_origin is not None:
        await gate.forwarded(turn)
        return
    turn.edited = update.edited_message is not None
    if turn.edited and turn.kind is not Kind.LOCATION:
        await gate.edited(turn)
        return
    if turn.kind is Kind.COMMAND and (turn.flow is None or turn.command in turn.flow.passes):
        await _command(turn)
        return
    await _state(turn)


async def _state(turn: Turn) -> None:
    """The current state's handler for this kind of input, or the gate's reply."""
    flow = turn.flow
    table = flow.states if flow is not None and turn.conv is not None else help.IDLE
    state = turn.conv.state if turn.conv is not None else help.IDLE_STATE
    handler = table.get(state, {}).get(turn.kind)
    if handler is None and turn.kind is Kind.COMMAND:
        await _command(turn)
        return
    if handler is None:
        await gate.refuse(turn)
        return
    await handler(turn)


async def _command(turn: Turn) -> None:
    found = COMMANDS.get(turn.command)
    if found is None:
        turn.flow = None
        await gate.refuse(turn)
        return
    turn.flow, handler = found
    await handler(turn)
    for flow in FLOWS:
        follow = flow.followups.get(turn.command)
        if follow is not None:
            turn.flow = flow
            await follow(turn)


async def _press(turn: Turn) -> None:
    """A button: a stateless one to its flow, else to the state it was shown in (when current)."""
    query = turn.update.callback_query
    assert query is not None
    turn.callback = decode(query.data)
    flow = BY_CODE.get(turn.callback.flow) if turn.callback is not None else None
    if turn.callback is None or flow is None:
        turn.flow = None
        await gate.refuse(turn)
        return
    if turn.callback.stateless:
        handler = flow.buttons.get(turn.callback.action.act)
        turn.flow = flow
        if handler is None:
            await turn.answer(t(turn.lang, gate.EXPIRED))
            return
        await handler(turn)
        return
    if turn.conv is None or turn.conv.name != flow.name:
        await turn.answer(t(turn.lang, gate.EXPIRED))
        return
    if not is_current(turn.conv.nonce, turn.callback.nonce):
        await turn.answer(t(turn.lang, STALE), alert=True)
        return
    await _state(turn)
