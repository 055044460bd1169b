"""What the visit's stages share: the visit's data, prompts by state, hints, store calls, jobs."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from bot.flows import visit_data as vd
from bot.flows import visit_view as vv
from bot.flows.callbacks import Act, Action
from bot.flows.core import Turn
from bot.flows.view import Prompt
from bot.flows.visit_data import VisitData
from bot.i18n import t
from bot.outbox import Job
from bot.runtime import Runtime
from bot.store_client import StoreError, StoreUnavailable
from checklists import StepKind

T = TypeVar("T")


async def store_call(rt: Runtime, call: Callable[[], Awaitable[T]], tries: int = 4) -> T:
    """A direct store call, retried briefly when the store answered 5xx (a busy SQLite store);
    an unreachable store is reported at once so the handler can fall back to the outbox."""
    for n in range(tries):
        try:
            async with rt.store_slots:
                return await call()
        except StoreUnavailable as exc:
            if n == tries - 1 or not str(exc).startswith("HTTP 5"):
                raise
            await asyncio.sleep(random.uniform(0.05, 0.15) * (n + 1))
    raise AssertionError("unreachable")


def data_of(turn: Turn) -> VisitData:
    """The visit of this turn's conversation, with verdicts of photos synced since."""
    assert turn.conv is not None
    data = VisitData.of(turn.conv.data)
    queued = [ref for ref, p in data.photos.items() if p.status == "queued"]
    if queued:
        for row in turn.rt.db.outbox_uploads(data.visit_id, status="done"):
            ref = (row["body"] or {}).get("ref")
            if ref in data.photos and row["response"]:
                data.photos[ref].apply_verdict(row["response"])
    return data


def events_job(data: VisitData, key: str, events: list[dict[str, Any]]) -> Job:
    """An events batch for the store (location fixes, step timings)."""
    return Job("visit_events", key, {"events": events}, target=data.visit_id)


def advance(data: VisitData, lang: str, at: str | None = None) -> tuple[str, Prompt]:
    """The state and prompt after an answer (given at `at`, default now): the engine's next step,
    or the summary."""
    data.multi = []
    data.confirm = None
    data.pending = None
    data.pending_photos = []
    data.step_shown_at = at or vd.now_iso()
    step = data.current()
    if step is None:
        return vd.SUMMARY, summary_prompt(data, lang)
    return vd.STEP, vv.step_prompt(data, step, lang)


def summary_prompt(data: VisitData, lang: str) -> Prompt:
    """The summary with Submit and Back."""
    return Prompt("\n".join(vv.summary_texts(data, lang)), vv.summary_buttons(lang))


def prompt_of(state: str, data: VisitData, lang: str) -> Prompt:
    """The prompt of a state as it stands (resume, re-ask)."""
    if state == vd.HELPER:
        return helper_prompt(data, lang)
    if state == vd.CONFIRM_CANCEL:
        return cancel_prompt(lang)
    step = data.current()
    if state == vd.SUMMARY or step is None:
        return summary_prompt(data, lang)
    if state == vd.EVIDENCE and data.pending is not None:
        return vv.evidence_prompt(data, step, lang)
    if state == vd.CONFIRM_NUMBER and data.confirm is not None:
        return vv.number_prompt(data.confirm, step, lang)
    return vv.step_prompt(data, step, lang)


def helper_prompt(data: VisitData, lang: str) -> Prompt:
    """What a teammate who joined the visit sees."""
    return Prompt(
        t(
            lang,
            "A teammate is running the visit to {label}; you have joined it. Send photos to add them "
            "to the visit. /cancel leaves the visit (your teammate carries on).",
            label=data.label,
        ),
        [[(t(lang, "Run the checklist on this phone"), Action(Act.RUN))]],
    )


def cancel_prompt(lang: str) -> Prompt:
    """Cancel the visit, or continue?"""
    return Prompt(
        t(lang, "Cancel this visit? Its answers are discarded and the household goes back on your list."),
        [
            [
                (t(lang, "Yes, cancel the visit"), Action(Act.CANCEL_YES)),
                (t(lang, "No, continue"), Action(Act.CANCEL_NO)),
            ]
        ],
    )


STEP_HINTS = {
    StepKind.LOCATION: "Please share your location (📎 → Location); a typed position is not evidence.",
    StepKind.PHOTO: "Please send a photo (or an image file) for this step.",
    StepKind.NUMBER: "Please type the answer to the question.",
    StepKind.TEXT: "Please type the answer to the question.",
}
STATE_HINTS = {
    vd.SUMMARY: "Please use the buttons under the summary: Submit or Back.",
    vd.CONFIRM_CANCEL: "Please answer the question with the buttons: cancel the visit or continue.",
    vd.CONFIRM_NUMBER: "Please answer with the buttons (Yes or No), or type the number again.",
    vd.HELPER: "You are helping on this visit: send photos, or use the button to run the checklist.",
    vd.EVIDENCE: "This answer needs a photo: send a photo (or an image file), or /back to change the answer.",
}


def hint_for(state: str, data: VisitData, lang: str) -> str:
    """What the visit expects now, for a reply it cannot use."""
    if state == vd.PAUSED:
        return t(lang, "The visit to {label} is paused. Send /visit to resume it.", label=data.label)
    if state in STATE_HINTS:
        return t(lang, STATE_HINTS[state])
    step = data.current()
    if step is None:
        return t(lang, STATE_HINTS[vd.SUMMARY])
    return t(lang, STEP_HINTS.get(step.kind, "Please answer with the buttons under the question."))


def hint(turn: Turn) -> str:
    """The hint of the turn's visit state."""
    assert turn.conv is not None
    return hint_for(turn.conv.state, data_of(turn), turn.lang)


async def profile_role(turn: Turn) -> tuple[str | None, str | None]:
    """(role, store user id) of a bound user, from the bot's table or the store."""
    known = turn.user or {}
    if known.get("bound") and known.get("role"):
        return str(known["role"]), known.get("store_user_id")
    try:
        profile = await turn.rt.store.telegram_profile(turn.uid)
    except (StoreUnavailable, StoreError):
        return None, None
    if profile is None:
        return None, None
    return profile.role.value, str(profile.user_id)
