"""The conversation framework the guided visit (issue 8) builds on.

A conversation's state lives in the bot's `conversation` table, written in the handler's own
transaction together with the update id (see handlers/base.py), so a restart resumes at the same step.
Every rendered step carries a fresh nonce in its buttons' callback data; a press whose nonce is not
the conversation's current one comes from an old message and answers nothing (stale button).

Rendering is messenger-neutral until the last step: `step_view` turns a checklist step into a
`StepView` (text, options, input kind); `keyboard` turns that into Telegram's inline keyboard.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from checklists.schema import Step, StepKind

SEP = "|"
MAX_CALLBACK_BYTES = 64


def new_nonce() -> str:
    """A short random token identifying one rendering of one step."""
    return secrets.token_urlsafe(6)


def pack(flow: str, nonce: str, value: str) -> str:
    """Callback data `flow|nonce|value` (Telegram allows 64 bytes)."""
    data = SEP.join((flow, nonce, value))
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data too long: {data!r}")
    return data


def unpack(data: str | None) -> tuple[str, str, str] | None:
    """(flow, nonce, value) or None when the data is not ours."""
    if not data or data.count(SEP) < 2:
        return None
    flow, nonce, value = data.split(SEP, 2)
    return flow, nonce, value


@dataclass(frozen=True)
class Option:
    """One button: what it shows and the answer value it stands for."""

    label: str
    value: str


@dataclass(frozen=True)
class StepView:
    """A step as any messenger would show it."""

    step_id: str
    text: str
    kind: str
    options: list[Option] = field(default_factory=list)
    help: str | None = None


YES_NO = {"zh-CN": ("是", "否"), "en": ("Yes", "No")}


def step_view(step: Step, lang: str) -> StepView:
    """What to show for a checklist step: its label, help, and buttons for yes/no and choices."""
    text = step.label.get(lang)
    hint = step.help.get(lang) if step.help else None
    options: list[Option] = []
    if step.kind == StepKind.YES_NO:
        yes, no = YES_NO.get(lang, YES_NO["zh-CN"])
        options = [Option(yes, "yes"), Option(no, "no")]
    elif step.kind in (StepKind.CHOICE, StepKind.MULTI_CHOICE):
        options = [Option(c.label.get(lang), c.id) for c in step.choices]
    return StepView(step.id, text, step.kind.value, options, hint)


def keyboard(view: StepView, flow: str, nonce: str, per_row: int = 2) -> InlineKeyboardMarkup | None:
    """Inline buttons for a step's options (None for typed, photo and location steps)."""
    if not view.options:
        return None
    buttons = [InlineKeyboardButton(o.label, callback_data=pack(flow, nonce, o.value)) for o in view.options]
    rows = [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]
    return InlineKeyboardMarkup(rows)


@dataclass
class Conversation:
    """Where a user's named conversation stands."""

    name: str
    state: str
    data: dict[str, Any]
    nonce: str

    @classmethod
    def of(cls, row: dict[str, Any] | None) -> Conversation | None:
        """From a `conversation` row."""
        if row is None:
            return None
        return cls(row["name"], row["state"], dict(row["data"] or {}), row["nonce"])

    def is_current(self, nonce: str) -> bool:
        """Whether a button press belongs to the step now shown."""
        return secrets.compare_digest(self.nonce, nonce)
