"""Locations during a visit: the check-in at the location step, and every later fix as the track."""

from __future__ import annotations

from sqlalchemy import Connection

from bot.flows import visit_data as vd
from bot.flows import visit_view as vv
from bot.flows.core import Turn
from bot.flows.visit_common import data_of, events_job, hint_for
from bot.flows.visit_data import VisitData
from bot.flows.visit_steps import answer_step
from bot.i18n import t
from checklists import ChecklistError, StepKind


def _event(turn: Turn, data: VisitData) -> tuple[str, dict[str, object]]:
    """The fix as a visit event, under a key made from the update."""
    loc = turn.msg.location
    assert loc is not None
    live = bool(loc.live_period) or turn.edited
    venue, forwarded = turn.msg.venue is not None, turn.msg.forward_origin is not None
    event = vd.location_event(
        loc.latitude, loc.longitude, loc.horizontal_accuracy, live, venue, forwarded, turn.at
    )
    return f"loc:{data.visit_id}:{turn.update.update_id}", event


def note_forwarded(turn: Turn, conn: Connection) -> None:
    """A forwarded location is noted on the visit as a refused fix (the store flags it)."""
    if turn.msg.location is None or turn.conv is None:
        return
    data = data_of(turn)
    key, event = _event(turn, data)
    turn.queue(conn, events_job(data, key, [event]))


async def location(turn: Turn) -> None:
    """The check-in at the location step; anywhere else the fix joins the visit's track."""
    assert turn.conv is not None
    data = data_of(turn)
    step = data.current()
    at_checkin = turn.conv.state == vd.STEP and step is not None and step.kind is StepKind.LOCATION
    if at_checkin and not turn.edited:
        await _checkin(turn, data)
        return
    key, event = _event(turn, data)
    loc = turn.msg.location
    assert loc is not None
    with turn.tx() as conn:
        turn.queue(conn, events_job(data, key, [event]))
        turn.rt.db.save_user(conn, turn.uid, turn.chat, last_lat=loc.latitude, last_lon=loc.longitude)
    if not turn.edited:
        text = t(turn.lang, "Location added to the visit's track.")
        if turn.conv.state not in (vd.PAUSED, vd.HELPER, vd.CONFIRM_CANCEL):
            text += "\n" + hint_for(turn.conv.state, data, turn.lang)
        await turn.reply(text)
    turn.wake()


async def _checkin(turn: Turn, data: VisitData) -> None:
    """Answers the location step and says whether the inspector is on site."""
    loc = turn.msg.location
    assert loc is not None and turn.conv is not None
    step = data.current()
    assert step is not None
    lat, lon, acc = loc.latitude, loc.longitude, loc.horizontal_accuracy
    if not vd.usable_position(lat, lon):
        await turn.reply(
            t(turn.lang, "This location has no usable position. Share your live location again.")
        )
        return
    try:
        new_state, prompt, _shown = answer_step(data, step, {"lat": lat, "lon": lon}, turn.lang, turn.at)
    except ChecklistError as err:
        await turn.reply(err.message(turn.lang))
        return
    live = bool(loc.live_period)
    venue = turn.msg.venue is not None
    record, verdict = vv.checkin_verdict(data, lat, lon, acc, live, venue, turn.lang, at=turn.sent_at)
    if data.checkin is None or step.id == data.answers[0]["step_id"]:
        data.checkin = record
    key, event = _event(turn, data)
    jobs = (events_job(data, key, [event]),)
    nonce = turn.save(new_state, data.to_json(), jobs=jobs, user={"last_lat": lat, "last_lon": lon})
    await turn.reply(prompt, verdict, nonce)
    turn.wake()
