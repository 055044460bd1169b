"""`/lang`: choose zh-CN or English; remembered by the bot and synced to the store via the outbox."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.conversation import pack, unpack
from bot.handlers.base import Context, handled, ids, language, once
from bot.i18n import LANG_NAMES, LANGS, t
from bot.runtime import Runtime, runtime_of

FLOW = "lang"


def _keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(LANG_NAMES[code], callback_data=pack(FLOW, "-", code)) for code in LANGS]]
    )


async def _set(rt: Runtime, update: Update, choice: str) -> str:
    """Stores the choice and queues it for the store, in one transaction; returns the reply."""
    uid, chat = ids(update)
    known = rt.db.user(uid)
    with handled(rt, update) as conn:
        rt.db.save_user(conn, uid, chat, language=choice)
        if known and known.get("bound"):
            rt.db.outbox_add(
                conn,
                f"lang:{uid}:{update.update_id}",
                uid,
                "PUT",
                "/telegram/me/language",
                {"language": choice},
                label="language",
            )
    text = t(choice, "Language set to {name}.", name=LANG_NAMES[choice])
    if rt.outbox is not None:
        rt.outbox.wake()
        waiting = rt.outbox.waiting_text(uid, choice)
        if waiting:
            text += "\n" + waiting
    return text


@once
async def lang(update: Update, context: Context) -> None:
    """`/lang` shows the choice; `/lang en` sets it directly."""
    rt = runtime_of(context)
    msg = update.effective_message
    assert msg is not None
    arg = (context.args or [""])[0].lower()
    choice = {"en": "en", "english": "en", "zh": "zh-CN", "zh-cn": "zh-CN", "中文": "zh-CN"}.get(arg)
    if choice:
        await msg.reply_text(await _set(rt, update, choice))
        return
    with handled(rt, update):
        pass
    await msg.reply_text(t(language(rt, update), "Choose your language:"), reply_markup=_keyboard())


@once
async def pressed(update: Update, context: Context) -> None:
    """A language button: the keyboard is replaced by the confirmation."""
    rt = runtime_of(context)
    query = update.callback_query
    assert query is not None
    parsed = unpack(query.data)
    if parsed is None or parsed[2] not in LANGS:
        await query.answer(t(language(rt, update), "This button has expired."))
        return
    text = await _set(rt, update, parsed[2])
    await query.answer()
    await query.edit_message_text(text)
