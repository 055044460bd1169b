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
from tests.bot.visit_driver import HOME, Inspector, bind


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
