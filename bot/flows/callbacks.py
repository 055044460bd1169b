"""Typed callback data, encoded and decoded in this one place.

A button carries `flow|nonce|action[:arg]` (Telegram allows 64 bytes). The nonce names one rendering
of one step: a press whose nonce is not the conversation's current one comes from an old message and
answers nothing. Buttons that belong to no conversation state (a task list, a language menu, the
assignment list) carry the nonce `-`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum

SEP = "|"
STATELESS = "-"
MAX_CALLBACK_BYTES = 64


class Act(StrEnum):
    """Every action a button can stand for."""

    ANSWER = "a"  # arg: the yes/no or choice id
    TOGGLE = "m"  # arg: a multi-choice id
    MULTI_DONE = "md"
    PHOTOS_DONE = "pd"
    USE_SPARE = "us"  # use the photos sent earlier, while no step took one
    SKIP = "sk"
    OK = "ok"
    SUBMIT = "sub"
    BACK = "bk"
    PICK = "go"  # arg: an assignment id
    RUN = "run"
    CANCEL_YES = "cy"
    CANCEL_NO = "cn"
    NUMBER_YES = "ny"  # "3,5 — did you mean 3.5?": yes
    NUMBER_NO = "nn"
    REFRESH = "refresh"
    SET_LANG = "set"  # arg: a language code
    FIX_OPEN = "fo"  # arg: a ledger item id
    FIX_PAGE = "fp"  # arg: a page number of /fixes
    FIX_START = "fs"  # arg: a ledger item id
    VERIFY = "vf"  # arg: `item id:version`
    RETURN = "rt"  # arg: `item id:version`
    RATE = "rate"  # arg: `case number:score` (the satisfaction question after a case closed)


@dataclass(frozen=True)
class Action:
    """What a button means: an act and its argument."""

    act: Act
    arg: str = ""

    def __str__(self) -> str:
        return f"{self.act.value}:{self.arg}" if self.arg else self.act.value

    @classmethod
    def parse(cls, value: str) -> Action | None:
        """`act[:arg]` back to an Action (None for anything this bot never sent)."""
        act, _, arg = value.partition(":")
        try:
            return cls(Act(act), arg)
        except ValueError:
            return None


@dataclass(frozen=True)
class Callback:
    """A decoded button press."""

    flow: str
    nonce: str
    action: Action

    @property
    def stateless(self) -> bool:
        """Whether the button belongs to no conversation state."""
        return self.nonce == STATELESS


def new_nonce() -> str:
    """A short random token identifying one rendering of one step."""
    return secrets.token_urlsafe(6)


def encode(flow: str, nonce: str, action: Action) -> str:
    """The callback data of a button."""
    data = SEP.join((flow, nonce, str(action)))
    if len(data.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data too long: {data!r}")
    return data


def decode(data: str | None) -> Callback | None:
    """A press's data as a Callback, or None when it is not ours."""
    if not data or data.count(SEP) < 2:
        return None
    flow, nonce, value = data.split(SEP, 2)
    action = Action.parse(value)
    return Callback(flow, nonce, action) if action is not None else None


def is_current(expected: str, given: str) -> bool:
    """Whether a press belongs to the step now shown (constant-time comparison)."""
    return secrets.compare_digest(expected, given)
