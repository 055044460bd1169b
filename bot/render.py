"""Turns store data and notices into chat text in the user's language (no Telegram calls here)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from bot import ledger_text
from bot.i18n import t
from contracts.rounds import AssignmentStatus, MyAssignment
from media.geo import distance_m, to_wgs84

STATUS: dict[AssignmentStatus, str] = {
    AssignmentStatus.released: "to visit",
    AssignmentStatus.in_progress: "in progress",
    AssignmentStatus.done: "done",
    AssignmentStatus.revisit: "revisit",
    AssignmentStatus.pending: "not released",
}


def assignment_label(a: MyAssignment) -> str:
    """How an assignment is named to its inspector: the masked head's name, village and address."""
    who = a.head_name or a.register_no
    where = a.village_name or a.village_code
    return f"{who} · {where}" + (f" · {a.address}" if a.address else "")


def visit_day(lang: str, a: MyAssignment, today: date) -> str:
    """An assignment's visit date: "today", or the ISO date."""
    return t(lang, "today") if a.visit_date == today else a.visit_date.isoformat()


def route_key(a: MyAssignment) -> tuple[date, int]:
    """The order assignments are shown in: by visit date, then along the day's route."""
    return (a.visit_date, a.route_order)


def distance_text(lang: str, a: MyAssignment, here: tuple[float, float] | None) -> str | None:
    """How far the household is from the inspector's last shared location."""
    if here is None or a.lat is None or a.lon is None:
        return None
    try:
        there = to_wgs84(a.lat, a.lon, a.datum)
    except (ValueError, KeyError):
        there = (a.lat, a.lon)
    d = distance_m(here, there)
    if d < 1000:
        return t(lang, "{m} m away", m=round(d))
    return t(lang, "{km} km away", km=f"{d / 1000:.1f}")


def tasks(lang: str, items: list[MyAssignment], here: tuple[float, float] | None, today: date) -> str:
    """The /tasks list: masked name, village, address, date, status, distance."""
    if not items:
        return t(lang, "No assignments have been released to you.")
    lines = [t(lang, "Your assignments ({count}):", count=len(items))]
    for n, a in enumerate(sorted(items, key=route_key), 1):
        when = visit_day(lang, a, today)
        status = t(lang, STATUS.get(a.status, str(a.status)))
        head = f"{n}. {a.head_name or a.register_no} · {a.village_name or a.village_code}"
        lines.append(head)
        lines.append(f"   {a.address or t(lang, 'no address')}")
        extra = [when, status]
        dist = distance_text(lang, a, here)
        if dist:
            extra.append(dist)
        lines.append("   " + " · ".join(extra))
    if here is None:
        lines.append("")
        lines.append(t(lang, "Share your location (📎 → Location) to see how far each household is."))
    return "\n".join(lines)


NOTICE_TEXTS = {
    "case_answered": "Your case {number} has been answered:\n{answer}\n\nSend /mycases to see your cases.",
    "case_rate": (
        "Your case {number} is closed. How satisfied are you with how it was handled? "
        "1 = very unhappy, 5 = very satisfied."
    ),
    "assignments_released": (
        "New assignments in round {round}: {count} households, {first_date} to {last_date}. "
        "Send /tasks to see them."
    ),
    "team_not_started": "Team {team} has not started any of today's {count} visits in round {round}.",
    "user_unreachable": "{name} ({login}) has blocked the bot and no longer receives notices.",
    "review_due": (
        "Household {register_no} ({head_name}, village {village_code}, {subsidy_type}) "
        "is due for review by {due_on}."
    ),
}


def _serious(lang: str, params: Mapping[str, Any]) -> str:
    """A supervisor's alert: the household and each serious finding in the reader's language."""
    lines = [t(lang, "Serious findings in the visit to household {register_no} ({village}):", **params)]
    for f in params.get("findings") or []:
        text = f.get("en") if lang == "en" else f.get("zh")
        lines.append(f"• {text or f.get('category', '')}")
    return "\n".join(lines)


def notice(lang: str, kind: str, params: Mapping[str, Any]) -> str:
    """A notice's text; an unknown kind still tells the user something arrived."""
    ledger = ledger_text.notice(lang, kind, params)
    if ledger is not None:
        return ledger
    if kind == "serious_findings":
        try:
            return _serious(lang, params)
        except (KeyError, IndexError, AttributeError):
            return t(lang, "You have a new notice ({kind}).", kind=kind)
    msgid = NOTICE_TEXTS.get(kind)
    if msgid is None:
        return t(lang, "You have a new notice ({kind}).", kind=kind)
    try:
        return t(lang, msgid, **params)
    except (KeyError, IndexError):
        return t(lang, "You have a new notice ({kind}).", kind=kind)


def waiting(lang: str, count: int) -> str:
    """The "waiting to sync" line."""
    return t(
        lang,
        "{count} change(s) waiting to sync with the server; they will be sent automatically.",
        count=count,
    )
