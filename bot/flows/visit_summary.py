"""The end of a visit: the summary's Submit (the finish goes to the outbox) and Back."""

from __future__ import annotations

import logging

from bot.flows import visit_data as vd
from bot.flows.callbacks import Act
from bot.flows.core import Turn
from bot.flows.gate import refuse
from bot.flows.visit_common import data_of, events_job
from bot.flows.visit_data import VisitData
from bot.flows.visit_steps import go_back
from bot.i18n import t
from bot.outbox import Job

log = logging.getLogger("feijian.bot.visits")


async def pressed(turn: Turn) -> None:
    """Submit or Back under the summary."""
    if turn.action.act is Act.SUBMIT:
        await submit(turn)
    elif turn.action.act is Act.BACK:
        await go_back(turn)
    else:
        await refuse(turn)


def finish_jobs(data: VisitData, at: str | None = None) -> tuple[tuple[Job, ...], bool]:
    """The step timings and the finish (at `at`, default now) for the outbox; whether the finish
    waits for photos.

    The finish names its photos by ref; the outbox turns refs into the store's evidence ids when
    it sends it, after the photos queued before it."""
    refs = set(data.photos)
    known = vd.known_ids(data)
    waits = vd.finish_answers(data.answers, refs, known) is None
    body = {
        "answers": data.answers,
        "refs": sorted(refs),
        "known": known,
        "client_findings": vd.client_findings(data),
        "finished_at": at or vd.now_iso(),
    }
    jobs: list[Job] = []
    if data.step_seconds:
        timings = [
            {"kind": "step_time", "step_id": s, "seconds": secs} for s, secs in data.step_seconds.items()
        ]
        jobs.append(events_job(data, f"steps:{data.visit_id}", timings))
    jobs.append(Job("visit_finish", f"finish:{data.visit_id}", body, target=data.visit_id))
    return tuple(jobs), waits


async def submit(turn: Turn) -> None:
    """Queues the finish (with the step timings before it) and closes the conversation."""
    data = data_of(turn)
    jobs, waits = finish_jobs(data, turn.at)
    turn.end(jobs)
    await turn.answer()
    query = turn.update.callback_query
    assert query is not None
    try:
        await query.edit_message_reply_markup(reply_markup=None)
    except Exception:  # an old message: the ended conversation makes its buttons inert anyway
        log.debug("could not remove the summary keyboard", exc_info=True)
    text = t(turn.lang, "✅ Visit submitted. It is being sent to the server; /tasks shows your list.")
    outbox = turn.rt.outbox
    waiting = outbox.waiting_text(turn.uid, turn.lang) if outbox is not None else None
    if waits:
        text += "\n" + t(
            turn.lang, "Some photos are still waiting to sync; the visit is sent right after them."
        )
    elif waiting:
        text += "\n" + waiting
    await turn.reply(text)
    turn.wake()
