"""Ledger texts: the notices officers and supervisors get about rectification items, and item lines.

No Telegram calls here: texts in the reader's language and, for a submitted fix, the buttons the
notice carries (as messenger-neutral actions).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.flows.callbacks import Act, Action
from bot.i18n import t

CATEGORY: dict[str, str] = {
    "merged_split_household": "merged or split household",
    "favour": "benefit granted as a favour",
    "not_eligible": "not eligible",
    "missed": "eligible household missed",
    "funds_misuse": "funds misused",
    "paid_after_death": "paid after death",
    "household_size_changed": "household size changed",
    "not_noticed": "not publicly noticed",
    "procedure": "procedure not followed",
    "refused_not_seen": "refused or not seen",
    "dissatisfied": "household dissatisfied",
    "privacy": "privacy not protected",
    "other": "other problem",
}

STATE: dict[str, str] = {
    "open": "to fix",
    "in_progress": "being fixed",
    "fix_submitted": "fix submitted, awaiting verification",
    "closed": "verified and closed",
    "returned": "returned, fix again",
    "reopened": "reopened",
}

NEW_ITEM = (
    "New rectification item No. {number}: {head_name} ({register_no}) · {village}\n"
    "Problem: {category}\nDeadline: {deadline}\nMeasures: {measures}\nSend /fixes to see your items."
)
REOPENED = "Item No. {number} is open again: a recheck found the problem again."
DUE_SOON = (
    "Item No. {number} ({head_name} · {village}, {category}) is due soon, on {deadline}. "
    "Send /fixes to submit the fix."
)
OVERDUE = (
    "Item No. {number} ({head_name} · {village}, {category}) is overdue: the deadline was {deadline}. "
    "Send /fixes to submit the fix."
)
RETURNED = (
    "Your fix for item No. {number} ({head_name} · {village}) was returned: {reason}\n"
    "Please fix it again by {deadline}; send /fixes to submit a new fix."
)
SUBMITTED = (
    "A fix was submitted for item No. {number}: {head_name} ({register_no}) · {village}, {category}.\n"
    "What was done: {note}\nVerify it, or return it with a reason."
)
PHOTOS = "Photos with the fix: {count}"
TEXTS = {
    "ledger_new_item": NEW_ITEM,
    "ledger_deadline_soon": DUE_SOON,
    "ledger_overdue": OVERDUE,
    "ledger_returned": RETURNED,
    "ledger_fix_submitted": SUBMITTED,
}


def category(lang: str, value: str) -> str:
    """A problem category in the reader's language."""
    return t(lang, CATEGORY[value]) if value in CATEGORY else value


def state(lang: str, value: str) -> str:
    """An item's state in the reader's language."""
    return t(lang, STATE[value]) if value in STATE else value


def notice(lang: str, kind: str, params: Mapping[str, Any]) -> str | None:
    """A ledger notice's text (None for another kind, or params this text cannot fill)."""
    msgid = TEXTS.get(kind)
    if msgid is None:
        return None
    values = {"head_name": "", "village": "", "measures": "", "note": "", "reason": "", **params}
    values["category"] = category(lang, str(values.get("category", "")))
    values["measures"] = values["measures"] or t(lang, "not set yet")
    values["note"] = values["note"] or "—"
    try:
        text = t(lang, msgid, **values)
    except (KeyError, IndexError):
        return None
    if kind == "ledger_new_item" and params.get("reopened"):
        text = t(lang, REOPENED, **values) + "\n" + text
    if kind == "ledger_fix_submitted" and "photos" in params:
        text += "\n" + t(lang, PHOTOS, count=params["photos"])
    return text


def notice_buttons(lang: str, kind: str, params: Mapping[str, Any]) -> list[list[tuple[str, Action]]]:
    """The buttons a notice carries: Verify / Return on a submitted fix."""
    if kind != "ledger_fix_submitted" or not params.get("item_id"):
        return []
    arg = f"{params['item_id']}:{params.get('version', '')}"
    return [[(t(lang, "Verify"), Action(Act.VERIFY, arg)), (t(lang, "Return"), Action(Act.RETURN, arg))]]
