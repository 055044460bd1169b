"""Sign-up: `/start CODE` binds this Telegram account through the store; `/start` alone greets."""

from __future__ import annotations

from telegram import Update

from bot.handlers.base import Context, handled, ids, language, once
from bot.i18n import t
from bot.runtime import runtime_of
from bot.store_client import Profile, StoreError, StoreUnavailable

NOT_LINKED = (
    "This Telegram account is not linked to Feijian yet. Ask your supervisor for an invite code, "
    "then send /start followed by the code."
)
UNREACHABLE = "The Feijian server cannot be reached right now. Please try again in a few minutes."
BIND_ERRORS = {
    "bind_throttled": "Too many attempts. Try again in 15 minutes.",
    "telegram_already_bound": "This Telegram account is already linked to another Feijian account.",
}


def welcome(lang: str, profile: Profile) -> str:
    """The greeting after binding, by role."""
    if profile.role in ("supervisor", "admin"):
        return t(
            lang,
            "Welcome, {name}! Your Feijian account is linked; alerts for your teams will arrive here.",
            name=profile.name,
        )
    return t(
        lang,
        "Welcome, {name}! Your Feijian account is linked. Send /tasks to see your assignments.",
        name=profile.name,
    )


@once
async def start(update: Update, context: Context) -> None:
    """Binds with the invite code, or greets a known user, or explains how to get an invite."""
    rt = runtime_of(context)
    uid, chat = ids(update)
    known = rt.db.user(uid)
    lang = language(rt, update, known)
    msg = update.effective_message
    assert msg is not None
    code = "".join(context.args or [])[:40]
    if not code:
        if known and known.get("bound"):
            with handled(rt, update):
                pass
            await msg.reply_text(
                t(lang, "Hello again, {name}. Send /tasks to see your assignments.", name=known["name"])
            )
            return
        try:
            profile = await rt.store.profile(uid)
        except (StoreUnavailable, StoreError):
            profile = None
        with handled(rt, update) as conn:
            if profile:
                rt.db.save_user(
                    conn,
                    uid,
                    chat,
                    bound=True,
                    store_user_id=profile.user_id,
                    role=profile.role,
                    name=profile.name,
                )
            else:
                rt.db.save_user(conn, uid, chat, bound=False)
        if profile:
            await msg.reply_text(
                t(lang, "Hello again, {name}. Send /tasks to see your assignments.", name=profile.name)
            )
        else:
            await msg.reply_text(t(lang, NOT_LINKED))
        return
    try:
        profile = await rt.store.bind(code, uid, idempotency_key=f"bind:{uid}:{update.update_id}")
    except StoreUnavailable:
        # Not recorded: if Telegram redelivers this update, binding is simply tried again.
        await msg.reply_text(t(lang, UNREACHABLE))
        return
    except StoreError as exc:
        with handled(rt, update) as conn:
            rt.db.save_user(conn, uid, chat, bound=bool(known and known.get("bound")))
        await msg.reply_text(
            t(
                lang,
                BIND_ERRORS.get(
                    exc.code, "This invite code is not valid. Ask your supervisor for a new one."
                ),
            )
        )
        return
    if not (known and known.get("language")):
        lang = profile.language
    with handled(rt, update) as conn:
        rt.db.save_user(
            conn,
            uid,
            chat,
            bound=True,
            store_user_id=profile.user_id,
            role=profile.role,
            name=profile.name,
            language=lang,
            unreachable_at=None,
        )
    await msg.reply_text(welcome(lang, profile))
