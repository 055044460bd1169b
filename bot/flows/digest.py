"""One digest per burst: a phone back online sends what the inspector did offline all at once.

When an update of a chat is handled while more of that chat's updates wait in the inbox, and it
was sent well before it arrived (`burst_age_s`), a burst opens for the chat. Its turns are quiet:
their replies, keyboards and popups are collected, not sent. When the chat's last queued update
has been handled, the inspector gets one message: what was recorded, what was not and why, what to
send again, and then where the conversation now stands (the last reply, with its keyboard).

The effects of every update are written as usual; only the replies wait. A burst lives in memory:
after a restart the updates still queued are handled (and digested) again from the inbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup

from bot.flows.view import split_text
from bot.i18n import t

if TYPE_CHECKING:
    from bot.flows.core import Turn
    from bot.runtime import Runtime

HEAD = "{count} messages sent while you were offline arrived together:"
RECORDED = "Recorded ({count}):"
NOT_RECORDED = "Not recorded ({count}):"
RESEND = "Please send again what was not recorded."
NOW = "Where the visit stands now:"
NOTE_MAX = 90  # characters of a reply kept on a digest line


@dataclass
class Outcome:
    """What one update of a burst came to."""

    at: datetime
    what: str
    recorded: bool
    note: str


@dataclass
class Burst:
    """The outcomes collected for a chat's digest, and the last reply (with its keyboard)."""

    outcomes: list[Outcome] = field(default_factory=list)
    lang: str | None = None
    last_text: str | None = None  # the last reply
    # the last reply with buttons: its text, keyboard, nonce and (user, conversation)
    prompt: tuple[str, InlineKeyboardMarkup, str, int, str] | None = None
    prompt_is_last: bool = False

    def hold(
        self, turn: Turn, prefix: str, question: str, markup: InlineKeyboardMarkup | None, nonce: str
    ) -> None:
        """Keeps a reply (``prefix`` and the ``question`` it asks) instead of sending it: what it
        says first is the turn's note; it is the last reply, the question the last one asked."""
        text = f"{prefix}\n\n{question}" if prefix and question else (prefix or question)
        first = next((line.strip() for line in text.splitlines() if line.strip()), "")
        if first:
            turn.notes.append(first)
        self.last_text = text
        self.prompt_is_last = markup is not None
        if markup is not None:
            self.prompt = (question or text, markup, nonce, turn.uid, turn.flow.name if turn.flow else "")

    def current(self, rt: Runtime) -> tuple[str, InlineKeyboardMarkup | None] | None:
        """Where the chat stands: the last reply, or the last question while its buttons still
        answer (later replies without buttons, e.g. a refusal, left it open)."""
        if self.prompt is not None:
            text, markup, nonce, uid, name = self.prompt
            if self.prompt_is_last:
                return text, markup
            row = rt.db.conversation(uid, name) if name else None
            if row is not None and row.get("nonce") == nonce:
                return text, markup
        return (self.last_text, None) if self.last_text else None


def open_for(rt: Runtime, chat: int, row: int | None, turn: Turn) -> Burst | None:
    """The chat's open burst; or a new one when this update was sent offline and more are queued."""
    if row is None:
        return None  # not from the inbox (tests calling handlers directly)
    burst: Burst | None = rt.bursts.get(chat)
    if burst is not None:
        return burst
    # a press carries no date of its own (its sent_at is its arrival): it never opens a burst
    if (turn.arrived - turn.sent_at).total_seconds() < rt.settings.burst_age_s:
        return None
    if rt.db.inbox_waiting(chat, row) == 0:
        return None
    burst = Burst()
    rt.bursts[chat] = burst
    return burst


def _what(turn: Turn) -> str:
    """The input, as the inspector would name it."""
    kind = turn.kind.value
    if kind in ("text", "command"):
        text = turn.text.strip().replace("\n", " ")
        return f"「{text[:24]}{'…' if len(text) > 24 else ''}」"
    lang = turn.lang
    names = {
        "location": t(lang, "Location"),
        "photo": t(lang, "Photo"),
        "document": t(lang, "File"),
        "callback": t(lang, "Button"),
        "contact": t(lang, "Contact"),
    }
    return names.get(kind) or t(lang, "Message")


def close_turn(turn: Turn) -> None:
    """Adds the handled turn's outcome to its burst."""
    burst = turn.burst
    if burst is None:
        return
    burst.lang = turn.lang
    recorded = turn.changed and not turn.refused
    note = " / ".join(turn.notes)
    if len(note) > NOTE_MAX:
        note = note[: NOTE_MAX - 1] + "…"
    burst.outcomes.append(Outcome(turn.sent_at, _what(turn), recorded, note))


def render(burst: Burst, zone: str) -> str:
    """The digest's text (without the last reply)."""
    tz = ZoneInfo(zone)
    lang = burst.lang
    done = [o for o in burst.outcomes if o.recorded]
    failed = [o for o in burst.outcomes if not o.recorded]
    lines = [t(lang, HEAD, count=len(burst.outcomes))]
    titles = (t(lang, RECORDED, count=len(done)), t(lang, NOT_RECORDED, count=len(failed)))
    for title, group in zip(titles, (done, failed), strict=True):
        if not group:
            continue
        lines.append(title)
        for o in group:
            note = f" — {o.note}" if o.note else ""
            lines.append(f"  · {o.at.astimezone(tz).strftime('%H:%M')} {o.what}{note}")
    if failed:
        lines.append(t(lang, RESEND))
    return "\n".join(lines)


async def flush(rt: Runtime, bot: Any, chat: int, row: int | None) -> None:
    """Sends the chat's digest once its last queued update has been handled."""
    burst: Burst | None = rt.bursts.get(chat)
    if burst is None or row is None or rt.db.inbox_waiting(chat, row) > 0:
        return
    del rt.bursts[chat]
    if not burst.outcomes:
        return
    text = render(burst, rt.settings.timezone)
    now = burst.current(rt)
    markup = None
    if now is not None:
        text = f"{text}\n\n{t(burst.lang, NOW)}\n{now[0]}"
        markup = now[1]
    chunks = split_text(text)
    for chunk in chunks[:-1]:
        await bot.send_message(chat_id=chat, text=chunk)
    await bot.send_message(chat_id=chat, text=chunks[-1], reply_markup=markup)
