"""`/help`, `/cancel`, a shared location, blocking, and anything the bot does not understand."""

from __future__ import annotations

from telegram import Update

from bot.db import utcnow
from bot.handlers.base import Context, handled, ids, language, once
from bot.i18n import t
from bot.runtime import runtime_of

HELP = (
    "Feijian inspection assistant\n/tasks – your assignments\n/lang – language\n"
    "/cancel – stop the current action\n/help – this help"
)


@once
async def help_(update: Update, context: Context) -> None:
    """Lists the commands."""
    rt = runtime_of(context)
    with handled(rt, update):
        pass
    assert update.effective_message is not None
    await update.effective_message.reply_text(t(language(rt, update), HELP))


@once
async def cancel(update: Update, context: Context) -> None:
    """Ends whatever conversation is in progress."""
    rt = runtime_of(context)
    uid, _ = ids(update)
    with handled(rt, update) as conn:
        ended = rt.db.end_conversation(conn, uid)
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        t(language(rt, update), "Cancelled." if ended else "Nothing to cancel.")
    )


@once
async def location(update: Update, context: Context) -> None:
    """Remembers the last shared location (for distances in /tasks)."""
    rt = runtime_of(context)
    uid, chat = ids(update)
    msg = update.effective_message
    assert msg is not None and msg.location is not None
    with handled(rt, update) as conn:
        rt.db.save_user(
            conn,
            uid,
            chat,
            last_lat=msg.location.latitude,
            last_lon=msg.location.longitude,
            last_location_at=utcnow(),
        )
    if update.edited_message is None:
        await msg.reply_text(t(language(rt, update), "Location saved; /tasks now shows distances."))


@once
async def unknown(update: Update, context: Context) -> None:
    """Anything else."""
    rt = runtime_of(context)
    with handled(rt, update):
        pass
    if update.effective_message is not None:
        await update.effective_message.reply_text(
            t(language(rt, update), "I did not understand that. Send /help to see what I can do.")
        )


@once
async def stale_button(update: Update, context: Context) -> None:
    """A button nobody handles any more."""
    rt = runtime_of(context)
    with handled(rt, update):
        pass
    if update.callback_query is not None:
        await update.callback_query.answer(t(language(rt, update), "This button has expired."))


@once
async def membership(update: Update, context: Context) -> None:
    """The user blocked (or unblocked) the bot."""
    rt = runtime_of(context)
    change = update.my_chat_member
    if change is None:
        return
    uid, chat = ids(update)
    blocked = change.new_chat_member.status in ("kicked", "left")
    now = utcnow()
    with handled(rt, update) as conn:
        rt.db.save_user(conn, uid, chat, unreachable_at=now if blocked else None)
        if blocked:  # the store tells their supervisor
            rt.db.outbox_add(
                conn,
                f"unreachable:{uid}:{now.date().isoformat()}",
                None,
                "POST",
                "/telegram/unreachable",
                {"telegram_user_id": uid},
                label="unreachable",
            )
    if blocked and rt.outbox is not None:
        rt.outbox.wake()
