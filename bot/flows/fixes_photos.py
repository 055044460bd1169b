"""Photos of a fix, asked for after the measures: 0..N photos or image files, each uploaded to the
item through the store at once (its evidence pipeline judges it), then Done (the button, /done, or
the word) goes on to the outcome.

A file that is not an image or is too large, a photo Telegram could not hand over, a store that is
down or refuses the photo: a friendly reply, and the conversation with the photos already sent
stays where it was.
"""

from __future__ import annotations

import hashlib
from typing import Any

from telegram.error import TelegramError

from bot import store_ledger
from bot.flows.callbacks import Act, Action
from bot.flows.core import Turn
from bot.flows.fixes_common import PHOTOS
from bot.flows.view import Prompt
from bot.flows.visit_evidence import file_problem
from bot.i18n import t
from bot.store_client import StoreError, StoreUnavailable
from contracts.evidence import EvidenceSource

MAX_PHOTOS = 20
DONE_WORDS = frozenset({"done", "/done", "完成", "好了", "没有", "无"})
ASK = (
    "Send photos of the fix (photos or image files, up to {max}); "
    "tap Done when finished, or when there are none."
)
GOT = "Photo {count} received. Send more, or tap Done."


def done_prompt(lang: str, text: str) -> Prompt:
    """A text with the Done button of the photo step."""
    return Prompt(text, [[(t(lang, "Done ✔"), Action(Act.PHOTOS_DONE))]])


async def ask(turn: Turn, data: dict[str, Any]) -> None:
    """Starts the photo step."""
    nonce = turn.save(PHOTOS, {**data, "photos": []})
    await turn.reply(done_prompt(turn.lang, t(turn.lang, ASK, max=MAX_PHOTOS)), nonce=nonce)


def _file(turn: Turn) -> tuple[str, str, str, EvidenceSource]:
    """(file id, name, media type, source) of the sent photo or image file."""
    doc = turn.msg.document
    if doc is not None:
        name, mime = doc.file_name or "photo.jpg", doc.mime_type or "image/jpeg"
        return doc.file_id, name, mime, EvidenceSource.TELEGRAM_DOCUMENT
    return turn.msg.photo[-1].file_id, "photo.jpg", "image/jpeg", EvidenceSource.TELEGRAM_PHOTO


async def photo(turn: Turn) -> None:
    """One photo: fetched, uploaded to the item, counted."""
    assert turn.conv is not None
    data = turn.conv.data
    photos: list[dict[str, str]] = list(data.get("photos", []))
    problem = file_problem(turn)
    if problem is None and len(photos) >= MAX_PHOTOS:
        problem = t(turn.lang, "At most {max} photos; tap Done.", max=MAX_PHOTOS)
    if problem is not None:
        await turn.reply(done_prompt(turn.lang, problem), nonce=turn.conv.nonce)
        return
    file_id, name, mime, source = _file(turn)
    try:
        tg_file = await turn.bot.get_file(file_id)
        blob = bytes(await tg_file.download_as_bytearray())
    except TelegramError:
        await turn.reply(t(turn.lang, "The photo could not be received; please send it again."))
        return
    digest = hashlib.sha256(blob).hexdigest()
    if any(p["sha256"] == digest for p in photos):
        await turn.reply(t(turn.lang, "This photo was already received; it counts only once."))
        return
    try:
        ev = await store_ledger.upload_evidence(
            turn.rt.store, turn.uid, data["item_id"], blob,
            idempotency_key=f"ledger-ev:{data['item_id']}:{digest}", file_name=name, mime=mime,
            source=source, sent_at=turn.at, timeout=min(turn.rt.settings.store_timeout, 15.0),
        )  # fmt: skip
    except StoreUnavailable:
        await turn.reply(t(turn.lang, "The server cannot be reached just now; please send the photo again."))
        return
    except StoreError as exc:
        await turn.reply(t(turn.lang, "The photo was not accepted: {detail}", detail=exc.detail))
        return
    photos.append({"sha256": digest, "id": str(ev.id)})
    nonce = turn.save(PHOTOS, {**data, "photos": photos})
    await turn.reply(done_prompt(turn.lang, t(turn.lang, GOT, count=len(photos))), nonce=nonce)


def is_done(turn: Turn) -> bool:
    """Whether a message ends the photo step: "done", 完成 or /done."""
    return turn.command == "done" or turn.text.strip().lower() in DONE_WORDS


async def hint(turn: Turn) -> None:
    """Anything else at the photo step: what it expects, with the Done button."""
    assert turn.conv is not None
    await turn.reply(done_prompt(turn.lang, t(turn.lang, ASK, max=MAX_PHOTOS)), nonce=turn.conv.nonce)
