"""What the /fixes flows share: the conversation's states, the store's refusals as chat replies."""

from __future__ import annotations

from bot.flows.core import Turn
from bot.flows.start import NOT_LINKED, UNREACHABLE
from bot.i18n import t
from bot.store_client import StoreError, StoreUnavailable
from bot.store_endpoints import NOT_BOUND_CODES

NAME = "fixes"
CODE = "fx"  # bot/notices.py spells it too, for the buttons of a "fix submitted" notice
NOTE, OUTCOME, AMOUNT, CONFIRM, REASON = "fix_note", "fix_outcome", "fix_amount", "fix_confirm", "reason"
PHOTOS = "fix_photos"

REFUSALS: dict[str, str] = {
    "ledger_own_fix": "You submitted this fix yourself; another supervisor has to verify it (four eyes).",
    "ledger_evidence_required": (
        "This fix cannot be verified yet: verifying needs evidence of the household (photos) or a "
        "finished recheck visit ordered from the item. Order a recheck, or return the fix with a reason."
    ),
    "ledger_changed": (
        "This item has changed since this message was sent (someone verified or returned it). "
        "Send /fixes to see where it stands."
    ),
    "ledger_bad_transition": (
        "This cannot be done in the item's present state (it may already be verified, returned or "
        "submitted). Send /fixes to see where it stands."
    ),
    "ledger_evidence_foreign": "A photo belongs to another household; it cannot count for this item.",
    "forbidden": "Your role cannot do this here; only supervisors verify or return fixes.",
    "not_found": "This item does not exist or is not yours to see.",
}


def refusal(lang: str, exc: StoreError | StoreUnavailable) -> str:
    """The friendly reply for a store refusal (problem+json) or an unreachable store."""
    if isinstance(exc, StoreUnavailable):
        return t(lang, UNREACHABLE)
    if exc.code in NOT_BOUND_CODES:
        return t(lang, NOT_LINKED)
    msgid = REFUSALS.get(exc.code)
    if msgid is None and exc.status == 404:
        msgid = REFUSALS["not_found"]
    if msgid is not None:
        return t(lang, msgid)
    return t(lang, "The server did not accept this: {detail}", detail=exc.detail)


def store_user(turn: Turn) -> str | None:
    """The store id of the bound user (None when the bot does not know it)."""
    value = (turn.user or {}).get("store_user_id")
    return str(value) if value else None


def mask(name: str) -> str:
    """A personal name as shown in chat: its first character, the rest starred."""
    return name[0] + "*" * (len(name) - 1) if len(name) > 1 else name


def split_arg(arg: str) -> tuple[str, int | None]:
    """`item id:version` of a notice's button (the version may be missing)."""
    item_id, _, version = arg.partition(":")
    return item_id, int(version) if version.isdigit() else None
