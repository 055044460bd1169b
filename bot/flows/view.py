"""What a flow shows, messenger-neutral: text and rows of buttons, each an (label, Action).

Only the Telegram edge (`Turn.reply` in bot/flows/core.py) turns a Prompt into messages and an
inline keyboard; a second messenger would render the same Prompt its own way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.flows.callbacks import Action

# Telegram allows 4096 characters per message; longer texts are split below that.
MAX_TEXT = 3900

Buttons = list[list[tuple[str, Action]]]


@dataclass(frozen=True)
class Prompt:
    """A message to show: text and rows of (label, action) buttons."""

    text: str
    buttons: Buttons = field(default_factory=list)


def rows(items: list[tuple[str, Action]], per_row: int) -> Buttons:
    """Buttons laid out `per_row` to a row."""
    return [items[i : i + per_row] for i in range(0, len(items), per_row)]


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Splits at line ends into messages Telegram accepts."""
    chunks: list[str] = []
    cur = ""
    for line in text.split("\n"):
        while len(line) > limit:
            chunks.append(line[:limit])
            line = line[limit:]
        if len(cur) + len(line) + 1 > limit:
            chunks.append(cur)
            cur = line
        else:
            cur = f"{cur}\n{line}" if cur else line
    if cur:
        chunks.append(cur)
    return chunks
