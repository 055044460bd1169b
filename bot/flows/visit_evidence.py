"""Photos during a visit: fetched from Telegram, uploaded to the store (or queued), the verdict shown.

Three separate steps, each failing in its own way: the file could not be fetched (send it again);
the store is unreachable (the photo is queued in the outbox and checked later) or refuses it (its
reason is shown); then the verdict moves the step on.
"""

from __future__ import annotations

import hashlib
from typing import Any

from telegram.error import TelegramError

import checklists
from bot import store_calls
from bot.flows import visit_data as vd
from bot.flows import visit_view as vv
from bot.flows.callbacks import Act, new_nonce
from bot.flows.core import Kind, Turn
from bot.flows.gate import refuse
from bot.flows.view import Prompt
from bot.flows.visit_common import advance, data_of, hint_for, store_call
from bot.flows.visit_data import Photo, VisitData
from bot.i18n import t
from bot.outbox import Job
from bot.store_calls import UPLOAD_OP
from bot.store_client import StoreError, StoreUnavailable
from checklists import ChecklistError, StepKind

ALREADY = "This photo was already received for this visit; it counts only once."
KEPT = "This step takes no photo; the photo is kept with the visit for the next photo step ({count} kept)."
USED = "{count} photo(s) sent earlier used for this step."
FILE_TIP = (
    "Tip: send photos as a file (📎 → File) to keep their time and location data; "
    "Telegram strips it from ordinary photos."
)


def file_problem(turn: Turn) -> str | None:
    """Why a sent file cannot be a photo (not an image, too large), or None."""
    doc = turn.msg.document
    if doc is None:
        return None
    if not vd.is_photo_document(doc.mime_type, doc.file_name):
        kind = doc.mime_type or doc.file_name or "?"
        return t(
            turn.lang,
            "This file is not a photo ({kind}). Send a photo, or an image file (JPEG, PNG, HEIC).",
            kind=kind,
        )
    if doc.file_size and doc.file_size > vd.MAX_PHOTO_BYTES:
        size = f"{doc.file_size / 1024 / 1024:.0f}"
        return t(turn.lang, "This file is too large ({size} MB); photos up to 20 MB are accepted.", size=size)
    return None


def _takes_photo(state: str, data: VisitData) -> bool:
    step = data.current()
    return state in (vd.EVIDENCE, vd.HELPER) or (
        state == vd.STEP and step is not None and step.kind is StepKind.PHOTO
    )


def _upload_body(turn: Turn, data: VisitData, state: str, ref: str) -> dict[str, Any]:
    """What the store needs of this photo: its Telegram file and where it belongs."""
    msg = turn.msg
    if msg.document is not None:
        doc = msg.document
        file_id, name, mime = doc.file_id, doc.file_name or "photo.jpg", doc.mime_type or "image/jpeg"
        source = "telegram_document"
    else:
        file_id, name, mime, source = msg.photo[-1].file_id, "photo.jpg", "image/jpeg", "telegram_photo"
    step = data.current()
    step_id = (
        data.pending["step_id"]
        if data.pending
        else (step.id if step is not None and state == vd.STEP else None)
    )
    forwarded = msg.forward_origin is not None
    return {
        "file_id": file_id, "file_name": name, "mime": mime, "source": source,
        "step_id": step_id, "forwarded": forwarded, "ref": ref, "sent_at": turn.at,
    }  # fmt: skip


async def photo(turn: Turn) -> None:
    """A photo or an image file at a step that takes one."""
    assert turn.conv is not None
    problem = file_problem(turn)
    if problem is not None:
        await turn.reply(problem)
        return
    data, state = data_of(turn), turn.conv.state
    takes = _takes_photo(state, data)
    step = data.current()
    limit = step.validation.max_items if takes and state == vd.STEP and step is not None else None
    if limit is not None and len(data.pending_photos) >= limit:
        await turn.reply(t(turn.lang, "This step takes at most {max} photos; tap Done.", max=limit))
        return
    ref = f"p{turn.update.update_id}"
    body = _upload_body(turn, data, state, ref)
    if not takes:
        body["step_id"] = None  # kept as a photo of the visit, offered at the next photo step
    unique = _unique_id(turn)
    known = data.known_photo(unique_id=unique)
    if known is not None:
        await _already(turn, data, state, known, takes)
        return
    try:
        blob = await _fetch(turn, body["file_id"])
    except TelegramError:
        await turn.reply(t(turn.lang, "The photo could not be received; please send it again."))
        return
    digest = hashlib.sha256(blob).hexdigest()
    known = data.known_photo(sha256=digest)
    if known is not None:
        # a resend (a client retry, or the same picture twice): the store keeps one, so does the count
        await _already(turn, data, state, known, takes)
        return
    shot = Photo(
        ref=ref,
        step_id=body["step_id"],
        source=body["source"],
        forwarded=body["forwarded"],
        sha256=digest,
        unique_id=unique,
    )
    key = f"ev:{data.visit_id}:{ref}"
    queued: Job | None = None
    try:
        shot.apply_verdict(await _upload(turn, data, body, blob, key))
    except StoreUnavailable:
        shot.status = "queued"
        queued = Job(UPLOAD_OP, key, body, target=data.visit_id)
    except StoreError as exc:
        await _refused(turn, exc)
        return
    if takes:
        await _verdict(turn, data, shot, queued)
    else:
        await _kept(turn, data, shot, queued)


def _unique_id(turn: Turn) -> str | None:
    """Telegram's file_unique_id of the sent photo or file."""
    msg = turn.msg
    if msg.document is not None:
        return msg.document.file_unique_id
    return msg.photo[-1].file_unique_id if msg.photo else None


async def _already(turn: Turn, data: VisitData, state: str, known: Photo, takes: bool) -> None:
    """A photo the visit already has: not counted again; the step as it stands. One kept while no
    step took it, sent again where a step takes it, counts for that step."""
    step = data.current()
    if takes and state != vd.HELPER and step is not None and known.ref in data.spare:
        data.spare.remove(known.ref)
        known.step_id = step.id
        lines = [vv.photo_verdict(known, turn.lang)]
        state, nonce, prompt = _after_photo(turn, data, known.ref, lines)
        turn.save(state, data.to_json(), nonce)
        if prompt is not None:
            await turn.reply(prompt, "\n".join(lines), nonce)
        else:
            await turn.reply("\n".join(lines))
        return
    await turn.reply(t(turn.lang, ALREADY) + "\n" + hint_for(state, data, turn.lang))


async def _fetch(turn: Turn, file_id: str) -> bytes:
    """The photo's bytes from Telegram."""
    tg_file = await turn.bot.get_file(file_id)
    return bytes(await tg_file.download_as_bytearray())


async def _upload(turn: Turn, data: VisitData, body: dict[str, Any], blob: bytes, key: str) -> Any:
    """The store's verdict on the photo (StoreUnavailable: queue it; StoreError: it was refused)."""
    timeout = min(turn.rt.settings.store_timeout, 15.0)
    return await store_call(
        turn.rt,
        lambda: store_calls.upload_evidence(turn.rt.store, data.visit_id, body, blob, turn.uid, key, timeout),
    )


async def _refused(turn: Turn, exc: StoreError) -> None:
    """The store refused the photo: its reason; a visit closed meanwhile ends here too."""
    if exc.code == "visit_not_in_progress":
        turn.end()
        await turn.reply(
            t(turn.lang, "This visit has been submitted or cancelled; nothing more can be added.")
        )
        return
    await turn.reply(t(turn.lang, "The photo was not accepted: {detail}", detail=exc.detail))


async def _verdict(turn: Turn, data: VisitData, shot: Photo, queued: Job | None) -> None:
    """Stores the photo on the visit, moves the step on when it has all its photos, shows the verdict."""
    assert turn.conv is not None
    data.photos[shot.ref] = shot
    lines = [vv.photo_verdict(shot, turn.lang)]
    lines += [f"  · {r}" for r in shot.reasons[:3] if shot.status == "stored" and not shot.proven]
    if turn.kind is Kind.PHOTO and not data.told_file_tip:
        data.told_file_tip = True
        lines.append(t(turn.lang, FILE_TIP))
    state, nonce, prompt = _after_photo(turn, data, shot.ref, lines)
    turn.save(state, data.to_json(), nonce, jobs=(queued,) if queued else ())
    if prompt is not None:
        await turn.reply(prompt, "\n".join(lines), nonce)
    else:
        await turn.reply("\n".join(lines))
    if queued is not None:
        turn.wake()


async def _kept(turn: Turn, data: VisitData, shot: Photo, queued: Job | None) -> None:
    """A photo sent while no step takes one: kept with the visit, offered at the next photo step."""
    assert turn.conv is not None
    state = turn.conv.state
    data.photos[shot.ref] = shot
    data.spare.append(shot.ref)
    lines = [vv.photo_verdict(shot, turn.lang), t(turn.lang, KEPT, count=len(data.spare))]
    # the same nonce: the buttons of the question shown stay live
    turn.save(state, data.to_json(), turn.conv.nonce, jobs=(queued,) if queued else ())
    lines.append(hint_for(state, data, turn.lang))
    await turn.reply("\n".join(lines))
    if queued is not None:
        turn.wake()


async def use_spare(turn: Turn) -> None:
    """The offer pressed: the photos sent earlier count for this step, as many as it takes."""
    assert turn.conv is not None
    data, state = data_of(turn), turn.conv.state
    step = data.current()
    if (
        turn.action.act is not Act.USE_SPARE
        or step is None
        or not data.spare
        or state == vd.HELPER
        or not _takes_photo(state, data)
    ):
        await refuse(turn)
        return
    if state == vd.EVIDENCE:
        assert data.pending is not None
        room = int(data.pending["need"]) - len(data.pending_photos)
    else:
        limit = step.validation.max_items
        room = (limit - len(data.pending_photos)) if limit is not None else len(data.spare)
    use, data.spare = data.spare[: max(room, 0)], data.spare[max(room, 0) :]
    lines = [t(turn.lang, USED, count=len(use))]
    nonce, prompt = turn.conv.nonce, None
    for ref in use:
        data.photos[ref].step_id = step.id
        state, nonce, prompt = _after_photo(turn, data, ref, lines)
    turn.save(state, data.to_json(), nonce)
    await turn.answer()
    if prompt is not None:
        await turn.reply(prompt, "\n".join(lines), nonce)
    else:
        await turn.reply("\n".join(lines))


def _after_photo(turn: Turn, data: VisitData, ref: str, lines: list[str]) -> tuple[str, str, Prompt | None]:
    """(state, nonce, prompt) once the photo counts: the evidence complete, or the step's count."""
    assert turn.conv is not None
    state, nonce = turn.conv.state, turn.conv.nonce
    step = data.current()
    if step is None or state == vd.HELPER:
        return state, nonce, None
    data.pending_photos.append(ref)
    if state == vd.STEP:
        return state, new_nonce(), vv.step_prompt(data, step, turn.lang)
    assert data.pending is not None
    if len(data.pending_photos) >= int(data.pending["need"]):
        cl, value = data.checklist(), data.pending["value"]
        try:
            new = checklists.answer(cl, data.state(), step.id, value, turn.lang, evidence=data.pending_photos)
        except ChecklistError as err:
            lines.append(err.message(turn.lang))
        else:
            data.set_state(new)
            data.time_step(step.id, turn.at)
            new_state, prompt = advance(data, turn.lang, turn.at)
            return new_state, new_nonce(), prompt
    return state, nonce, vv.evidence_prompt(data, step, turn.lang)


async def refuse_media(turn: Turn) -> str:
    """The reply to a photo or file where the visit takes none."""
    assert turn.conv is not None
    problem = file_problem(turn)
    if problem is not None:
        return problem
    return (
        t(turn.lang, "This step does not take a photo.")
        + "\n"
        + hint_for(turn.conv.state, data_of(turn), turn.lang)
    )


def photo_text(lang: str, evidence: dict[str, Any] | None, refusal: str) -> str:
    """What the inspector is told when a queued photo reaches the store (or is refused) later."""
    if evidence is None:
        return t(lang, "A photo saved earlier was not accepted: {detail}", detail=refusal)
    shot = Photo(ref="", step_id=None, source="")
    shot.apply_verdict(evidence)
    return t(lang, "A photo saved earlier is now on the server.") + "\n" + vv.photo_verdict(shot, lang)
