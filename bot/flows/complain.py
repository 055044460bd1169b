"""`/complain` in the bot: the text, up to four photos, anonymous or not → a case number (and code).

Photos are kept as Telegram file ids while the conversation runs and downloaded only when the
complaint is sent; the store runs the evidence checks and answers a refused photo with its reason.
"""

from __future__ import annotations

from bot.flows.callbacks import Act, Action
from bot.flows.core import Flow, Kind, States, Turn
from bot.flows.view import Prompt
from bot.i18n import t
from bot.store_client import StoreError, StoreUnavailable

MAX_PHOTOS = 4
MAX_TEXT = 2000
ASK_TEXT = "Describe the problem in one message: who, where, what happened. You may stay anonymous."
ASK_PHOTOS = "Add photos if you have any (up to {max}), then press Send."
ASK_ANON = "Should your name stay hidden from the office handling it?"
ANON = "Stay anonymous"
NAMED = "Reply to me here"
SEND = "Send"
PHOTO_KEPT = "Photo {n} added."
TOO_MANY = "That is the most photos one complaint can take; press Send."
AS_PHOTO = "Please send pictures as photos."
CREATED = (
    "Received. Case number: {number}\nFollow-up code: {code}\nTime limit: {due}\n"
    "Keep them: /mycases shows the answer, and the web page /case needs both."
)
REFUSED = "The complaint was not accepted: {detail}"
UNREACHABLE = (
    "The Feijian server cannot be reached right now. Please press the button again in a few minutes."
)


def _photos_prompt(lang: str) -> Prompt:
    return Prompt(t(lang, ASK_PHOTOS, max=MAX_PHOTOS), [[(t(lang, SEND), Action(Act.PHOTOS_DONE))]])


async def complain(turn: Turn) -> None:
    """Starts a complaint: asks for the text."""
    turn.save("text", {})
    await turn.msg.reply_text(t(turn.lang, ASK_TEXT))


async def text(turn: Turn) -> None:
    """Keeps the text; asks for photos."""
    body = turn.text.strip()[:MAX_TEXT]
    nonce = turn.save("photos", {"text": body, "photos": []})
    await turn.reply(_photos_prompt(turn.lang), nonce=nonce)


async def photo(turn: Turn) -> None:
    """Keeps one photo's file id (the largest size)."""
    assert turn.conv is not None
    data = turn.conv.data
    kept: list[str] = list(data.get("photos", []))
    if len(kept) >= MAX_PHOTOS:
        await turn.reply(_photos_prompt(turn.lang), prefix=t(turn.lang, TOO_MANY), nonce=turn.conv.nonce)
        return
    kept.append(turn.msg.photo[-1].file_id)
    nonce = turn.save("photos", {**data, "photos": kept})
    await turn.reply(_photos_prompt(turn.lang), prefix=t(turn.lang, PHOTO_KEPT, n=len(kept)), nonce=nonce)


async def not_a_photo(turn: Turn) -> None:
    """A file instead of a photo: ask for a photo."""
    assert turn.conv is not None
    await turn.reply(_photos_prompt(turn.lang), prefix=t(turn.lang, AS_PHOTO), nonce=turn.conv.nonce)


async def photos_done(turn: Turn) -> None:
    """Asks whether to stay anonymous."""
    assert turn.conv is not None
    nonce = turn.save("anon", turn.conv.data)
    buttons = [
        [(t(turn.lang, ANON), Action(Act.ANSWER, "anon")), (t(turn.lang, NAMED), Action(Act.ANSWER, "named"))]
    ]
    await turn.answer(record=False)
    await turn.reply(Prompt(t(turn.lang, ASK_ANON), buttons), nonce=nonce)


async def _download(turn: Turn, file_ids: list[str]) -> list[bytes]:
    blobs = []
    for file_id in file_ids:
        tg_file = await turn.bot.get_file(file_id)
        blobs.append(bytes(await tg_file.download_as_bytearray()))
    return blobs


async def send(turn: Turn) -> None:
    """Sends the complaint to the store; the case number and code are shown once."""
    assert turn.conv is not None
    data = turn.conv.data
    try:
        created = await turn.rt.store.resident_complain(
            turn.uid,
            str(data.get("text", "")),
            turn.action.arg != "named",
            await _download(turn, list(data.get("photos", []))),
            turn.lang,
            idempotency_key=f"complain:{turn.uid}:{turn.conv.nonce}",
        )
    except StoreUnavailable:
        await turn.answer(t(turn.lang, UNREACHABLE), alert=True, record=False)
        return
    except StoreError as exc:
        turn.end()
        await turn.answer(record=False)
        await turn.reply(t(turn.lang, REFUSED, detail=exc.detail))
        return
    turn.end()
    await turn.answer(record=False)
    await turn.ack(t(turn.lang, ASK_ANON))
    due = created.due_on.isoformat()
    await turn.reply(t(turn.lang, CREATED, number=created.number, code=created.code, due=due))


STATES: States = {
    "text": {Kind.TEXT: text},
    "photos": {
        Kind.PHOTO: photo,
        Kind.DOCUMENT: not_a_photo,
        Kind.CALLBACK: photos_done,
        Kind.TEXT: not_a_photo,
    },
    "anon": {Kind.CALLBACK: send},
}
FLOW = Flow(
    name="complain",
    code="cp",
    states=STATES,
    commands={"complain": complain},
    passes=frozenset({"start", "help", "cancel", "lang", "status", "complain", "mycases"}),
)
