"""`/lang`: choose zh-CN or English; remembered by the bot and synced to the store via the outbox."""

from __future__ import annotations

from bot.flows.callbacks import Act, Action
from bot.flows.core import Flow, Turn
from bot.flows.view import Prompt
from bot.i18n import LANG_NAMES, LANGS, t
from bot.outbox import Job

CHOICES = {"en": "en", "english": "en", "zh": "zh-CN", "zh-cn": "zh-CN", "中文": "zh-CN"}


def _set(turn: Turn, choice: str) -> str:
    """Stores the choice and queues it for the store, in one transaction; returns the reply."""
    job = Job("language", f"lang:{turn.uid}:{turn.update.update_id}", {"language": choice})
    with turn.tx() as conn:
        turn.rt.db.save_user(conn, turn.uid, turn.chat, language=choice)
        if turn.bound:
            turn.queue(conn, job)
    text = t(choice, "Language set to {name}.", name=LANG_NAMES[choice])
    turn.wake()
    outbox = turn.rt.outbox
    waiting = outbox.waiting_text(turn.uid, choice) if outbox is not None else None
    return f"{text}\n{waiting}" if waiting else text


async def lang(turn: Turn) -> None:
    """`/lang` shows the choice; `/lang en` sets it directly."""
    choice = CHOICES.get((turn.args or [""])[0].lower())
    if choice:
        await turn.reply(_set(turn, choice))
        return
    buttons = [[(LANG_NAMES[code], Action(Act.SET_LANG, code)) for code in LANGS]]
    await turn.reply(Prompt(t(turn.lang, "Choose your language:"), buttons))


async def pressed(turn: Turn) -> None:
    """A language button: the keyboard is replaced by the confirmation."""
    choice = turn.action.arg
    if choice not in LANGS:
        await turn.answer(t(turn.lang, "This button has expired."))
        return
    text = _set(turn, choice)
    await turn.answer()
    await turn.ack(text)


FLOW = Flow(name="lang", code="lang", commands={"lang": lang}, buttons={Act.SET_LANG: pressed})
