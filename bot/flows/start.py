"""Sign-up: `/start CODE` binds this Telegram account through the store; `/start` alone greets."""

from __future__ import annotations

from bot.flows import residents
from bot.flows.core import Flow, Turn
from bot.i18n import t
from bot.store_client import StoreError, StoreUnavailable
from contracts.telegram import TelegramProfile
from contracts.users import Role

NOT_LINKED = (
    "This Telegram account is not linked to Feijian yet. Ask your supervisor for an invite code, "
    "then send /start followed by the code."
)
UNREACHABLE = "The Feijian server cannot be reached right now. Please try again in a few minutes."
BIND_ERRORS = {
    "bind_throttled": "Too many attempts. Try again in 15 minutes.",
    "telegram_already_bound": "This Telegram account is already linked to another Feijian account.",
}
INVALID = "This invite code is not valid. Ask your supervisor for a new one."


def welcome(lang: str, profile: TelegramProfile) -> str:
    """The greeting after binding, by role."""
    if profile.role in (Role.supervisor, Role.admin):
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


def _bound_fields(profile: TelegramProfile) -> dict[str, object]:
    """The bot's record of a bound user: plain strings, as its table keeps them."""
    return {
        "bound": True,
        "store_user_id": str(profile.user_id),
        "role": profile.role.value,
        "name": profile.name,
    }


async def start(turn: Turn) -> None:
    """Binds with the invite code, or greets a known user."""
    code = "".join(turn.args)[:40]
    if code:
        await _bind(turn, code)
        return
    if turn.bound and turn.user is not None:
        await turn.reply(
            t(turn.lang, "Hello again, {name}. Send /tasks to see your assignments.", name=turn.user["name"])
        )
        return
    try:
        profile = await turn.rt.store.telegram_profile(turn.uid)
    except (StoreUnavailable, StoreError):
        profile = None
    with turn.tx() as conn:
        fields = _bound_fields(profile) if profile else {"bound": False}
        turn.rt.db.save_user(conn, turn.uid, turn.chat, **fields)
    if profile:
        await turn.reply(
            t(turn.lang, "Hello again, {name}. Send /tasks to see your assignments.", name=profile.name)
        )
    else:
        # a stranger is most likely a resident: their menu, with the staff sign-up in its last line
        await turn.reply(residents.menu(turn.lang))


async def _bind(turn: Turn, code: str) -> None:
    """Stores the binding the store made with the code, and greets by role."""
    try:
        profile = await turn.rt.store.telegram_bind(
            code, turn.uid, idempotency_key=f"bind:{turn.uid}:{turn.update.update_id}"
        )
    except StoreUnavailable:
        # Not recorded: if Telegram redelivers this update, binding is simply tried again.
        await turn.reply(t(turn.lang, UNREACHABLE), record=False)
        return
    except StoreError as exc:
        with turn.tx() as conn:
            turn.rt.db.save_user(conn, turn.uid, turn.chat, bound=turn.bound)
        await turn.reply(t(turn.lang, BIND_ERRORS.get(exc.code, INVALID)))
        return
    lang = turn.lang if turn.user and turn.user.get("language") else profile.language
    with turn.tx() as conn:
        turn.rt.db.save_user(
            conn, turn.uid, turn.chat, language=lang, unreachable_at=None, **_bound_fields(profile)
        )
    await turn.reply(welcome(lang, profile))


FLOW = Flow(name="start", code="start", commands={"start": start})
