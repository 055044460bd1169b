"""Telegram gets only what the step needs: the bot never sends stored photos back to a chat."""

from __future__ import annotations

import re
from pathlib import Path

from bot.store_endpoints import ENDPOINTS

BOT = Path(__file__).resolve().parents[2] / "bot"
_SENDS_MEDIA = re.compile(
    r"\b(send|reply)_(photo|document|media_group|animation|video)\b|InputMedia|InputFile|copy_message|forward_message"
)


def test_bot_never_sends_photos_or_documents() -> None:
    offenders = [
        f"{path.relative_to(BOT.parent)}:{n}"
        for path in sorted(BOT.rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _SENDS_MEDIA.search(line)
    ]
    assert offenders == []


def test_bot_never_fetches_display_copies_or_thumbnails() -> None:
    paths = [path for _method, path in ENDPOINTS.values()]
    assert "/evidence/{evidence_id}" in paths  # the verdict only
    assert not [p for p in paths if p.endswith(("/display", "/thumbnail", "/{kind}"))]
