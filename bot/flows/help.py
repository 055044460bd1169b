"""`/help`, `/cancel`, blocking the bot, and the idle table (a user with no conversation open)."""

from __future__ import annotations

from bot.db import utcnow
from bot.flows import residents
from bot.flows.core import Flow, Kind, States, Turn
from bot.i18n import t
from bot.outbox import Job

HELP = (
    "Feijian inspection assistant\n/tasks – your assignments\n/fixes – your rectification items\n"
    "/lang – language\n"
    "/cancel – stop the current action\n/help – this help"
)
IDLE_STATE = "idle"


async def help_(turn: Turn) -> None:
    """Lists the commands (a resident's menu for an account not linked to staff)."""
    await turn.reply(t(turn.lang, HELP) if turn.bound else residents.menu(turn.lang))


async def cancel(turn: Turn) -> None:
    """Ends whatever conversation is in progress."""
    with turn.tx() as conn:
        ended = turn.rt.db.end_conversation(conn, turn.uid)
    await turn.reply(t(turn.lang, "Cancelled." if ended else "Nothing to cancel."))


async def location(turn: Turn) -> None:
    """Stores the last shared location (for distances in /tasks), says so unless it is a live move."""
    loc = turn.msg.location
    assert loc is not None
    with turn.tx() as conn:
        turn.rt.db.save_user(
            conn,
            turn.uid,
            turn.chat,
            last_lat=loc.latitude,
            last_lon=loc.longitude,
            last_location_at=utcnow(),
        )
    if not turn.edited:
        await turn.reply(t(turn.lang, "Location saved; /tasks now shows distances."))


async def membership(turn: Turn) -> None:
    """Stores that the user blocked (or unblocked) the bot; the store tells their supervisor."""
    change = turn.update.my_chat_member
    assert change is not None
    blocked = change.new_chat_member.status in ("kicked", "left")
    now = utcnow()
    job = Job(
        "unreachable",
        f"unreachable:{turn.uid}:{now.date().isoformat()}",
        {"telegram_user_id": turn.uid},
        anonymous=True,
    )
    with turn.tx() as conn:
        turn.rt.db.save_user(conn, turn.uid, turn.chat, unreachable_at=now if blocked else None)
        if blocked:
            turn.queue(conn, job)
    if blocked:
        turn.wake()


IDLE: States = {IDLE_STATE: {Kind.LOCATION: location}}
FLOW = Flow(name="help", code="help", commands={"help": help_, "cancel": cancel})
