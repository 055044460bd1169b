"""Offline bursts: an inspector works without signal and the phone sends everything later.

The sandbox holds the inspector's updates while offline and releases them in one burst with their
original Telegram dates; the bot must record when the inspector acted, not when the burst arrived.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlmodel import select

from models.visit import Visit
from tests.bot.conftest import World
from tests.bot.visit_driver import ALL_FINE, HOME, MONEY_OK, Inspector, bind, run_to
from tests.visit_helpers import jpeg_with_gps


def _until(what: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = what()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s")
        time.sleep(0.05)


def _visit_track(world: World, visit_id: str) -> Visit | None:
    with world.session() as s:
        v = s.exec(select(Visit).where(Visit.id == uuid.UUID(visit_id))).first()
        if v is None or not v.track:
            return None
        s.expunge(v)
        return v


def _when(iso: str) -> int:
    return int(datetime.fromisoformat(iso).astimezone(UTC).timestamp())


def test_a_burst_keeps_the_times_the_inspector_acted(world: World) -> None:
    with world.bot() as bot:
        staff, uid = bind(world, "off_dates", "赵离线")
        world.release(staff, ["LB7201"])
        ins = Inspector(world, uid)
        ins.start()
        t0 = int(time.time()) - 30 * 60  # the signal went away half an hour ago
        world.client.go_offline(uid)
        world.client.live_location(uid, *HOME, horizontal_accuracy=12, date=t0)
        world.client.send_text(uid, "2", date=t0 + 90)
        assert len(world.client.held(uid)) == 2
        world.client.go_online(uid)
        ins.wait(lambda m: ins.button("a:home", m) is not None)

        row = bot.runtime.db.conversation(uid, "visit")
        assert row is not None
        data = row["data"]
        # the check-in and the typed answer carry their message dates, not the burst's arrival
        assert _when(data["checkin"]["at"]) == t0
        assert 90.0 in data["step_seconds"].values(), data["step_seconds"]
        assert _when(data["step_shown_at"]) == t0 + 90
        v = _until(lambda: _visit_track(world, data["visit_id"]))
        assert _when(v.track[0]["at"]) == t0
        assert _when(v.checkin["at"]) == t0


def test_the_same_photo_sent_twice_counts_once(world: World) -> None:
    with world.bot() as bot:
        staff, uid = bind(world, "off_twice", "钱重发")
        world.release(staff, ["LB7202"])
        ins = Inspector(world, uid)
        ins.start()
        ins.live()
        # up to the last step, which takes several photos (the signed check form)
        last = run_to(ins, [*ALL_FINE, ("press", "a:household"), *MONEY_OK[:-2], ("press", "a:yes")])
        assert "签字的核查表" in last.text, last.text
        blob = jpeg_with_gps(*HOME, seed=7202)
        first = ins.photo(blob, as_file=True)
        assert "已收 1 张" in first.text, first.text
        # a client retry: the same photo again, also in the next burst after a short signal loss
        world.client.send_photo(uid, blob, as_file=True, file_name="photo.jpg", mime_type="image/jpeg")
        again = ins.wait(lambda m: "只计一次" in m.text or "已收 2 张" in m.text)
        assert "只计一次" in again.text and "已收 2 张" not in again.text, again.text
        row = bot.runtime.db.conversation(uid, "visit")
        assert row is not None
        assert len(row["data"]["pending_photos"]) == 1
        assert len(row["data"]["photos"]) == 5  # four earlier evidence photos and this one
        summary = ins.press("pd")
        assert "照片（5 张）" in summary.text or "5 张" in summary.text, summary.text
