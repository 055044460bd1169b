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
from zoneinfo import ZoneInfo

from sqlmodel import select

from models.evidence import Evidence
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
        last = run_to(ins, [*ALL_FINE, *MONEY_OK[:-4], ("press", "a:yes")])
        assert "签字的调查表" in last.text, last.text
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
        assert len(row["data"]["photos"]) == 4  # three earlier evidence photos and this one
        ins.press("pd")
        summary = ins.press("a:eligible")
        assert "照片（4 张）" in summary.text or "4 张" in summary.text, summary.text


def test_a_photo_sent_where_no_step_takes_one_is_kept_and_offered_later(world: World) -> None:
    with world.bot() as bot:
        staff, uid = bind(world, "off_spare", "孙补拍")
        world.release(staff, ["LB7203"])
        ins = Inspector(world, uid)
        ins.start()
        ins.live()  # now at a typed number step, which takes no photo
        blob = jpeg_with_gps(*HOME, seed=7203)
        world.client.send_photo(uid, blob, as_file=True, file_name="door.jpg", mime_type="image/jpeg")
        kept = ins.wait(lambda m: "已保存到本次走访" in m.text or "不需要照片" in m.text)
        assert "已保存到本次走访" in kept.text and "已保存 1 张" in kept.text, kept.text
        row = bot.runtime.db.conversation(uid, "visit")
        assert row is not None and len(row["data"]["spare"]) == 1
        (ref,) = row["data"]["spare"]
        ins.say("2")
        ins.press("a:home")
        evidence = ins.press("a:yes")  # "entered: yes" needs a photo: the kept one is offered
        labels = [b.text for b in evidence.iter_buttons()]
        assert "使用之前发送的 1 张照片" in labels, (evidence.text, labels)
        after = ins.press("us", pred=lambda m: "在场人员" in m.text)
        assert "已将之前发送的 1 张照片用于此步骤" in after.text, after.text
        row = bot.runtime.db.conversation(uid, "visit")
        assert row is not None
        data = row["data"]
        assert data["spare"] == []
        entered = next(a for a in data["answers"] if a["step_id"] == "entered")
        assert entered["evidence"] == [ref]
        with world.session() as s:
            kept_ev = s.exec(select(Evidence).where(Evidence.visit_id == uuid.UUID(data["visit_id"]))).all()
            assert len(kept_ev) == 1 and kept_ev[0].step_id is None  # uploaded as a photo of the visit


def test_a_kept_photo_sent_again_at_a_photo_step_counts_there(world: World) -> None:
    with world.bot() as bot:
        staff, uid = bind(world, "off_resend", "李再发")
        world.release(staff, ["LB7204"])
        ins = Inspector(world, uid)
        ins.start()
        ins.live()
        blob = jpeg_with_gps(*HOME, seed=7204)
        world.client.send_photo(uid, blob, as_file=True, file_name="door.jpg", mime_type="image/jpeg")
        ins.wait(lambda m: "已保存到本次走访" in m.text)
        ins.say("2")
        ins.press("a:home")
        ins.press("a:yes")  # "entered: yes" needs a photo; the inspector sends the kept one again
        world.client.send_photo(uid, blob, as_file=True, file_name="door.jpg", mime_type="image/jpeg")
        nxt = ins.wait(lambda m: "在场人员" in m.text or "只计一次" in m.text)
        assert "在场人员" in nxt.text, nxt.text
        row = bot.runtime.db.conversation(uid, "visit")
        assert row is not None and row["data"]["spare"] == [] and len(row["data"]["photos"]) == 1


def _evidence_of(world: World, visit_id: str) -> list[Evidence]:
    with world.session() as s:
        rows = list(s.exec(select(Evidence).where(Evidence.visit_id == uuid.UUID(visit_id))).all())
        for r in rows:
            s.expunge(r)
        return rows


def test_a_photo_taken_offline_carries_its_sent_time_and_is_captured_offline(world: World) -> None:
    with world.bot() as bot:
        staff, uid = bind(world, "off_photo", "周离线拍")
        world.release(staff, ["LB7205"])
        ins = Inspector(world, uid)
        ins.start()
        ins.live()  # at a typed number step, which takes no photo: the photo is kept
        sent = int(time.time()) - 50 * 60  # taken and sent 50 minutes ago, without signal
        blob = jpeg_with_gps(*HOME, when=datetime.fromtimestamp(sent - 20, UTC), seed=7205)
        world.client.go_offline(uid)
        world.client.send_photo(
            uid, blob, as_file=True, file_name="door.jpg", mime_type="image/jpeg", date=sent
        )
        world.client.go_online(uid)
        ins.wait(lambda m: "已保存到本次走访" in m.text)
        row = bot.runtime.db.conversation(uid, "visit")
        assert row is not None
        (ev,) = _until(lambda: _evidence_of(world, row["data"]["visit_id"]))
        assert ev.sent_at is not None and int(ev.sent_at.timestamp()) == sent
        assert ev.received_at > ev.sent_at
        codes = [r["code"] for r in ev.verdict["reasons"]]
        assert "stale" not in codes and ev.fresh is True and ev.accepted, codes
        shanghai = ZoneInfo("Asia/Shanghai")
        if ev.captured_at and ev.captured_at.astimezone(shanghai).date() == datetime.now(shanghai).date():
            assert "captured_offline" in codes, codes


def test_a_burst_gets_one_digest_instead_of_a_reply_per_update(world: World) -> None:
    with world.bot() as bot:
        staff, uid = bind(world, "off_digest", "吴汇总")
        world.release(staff, ["LB7206"])
        ins = Inspector(world, uid)
        ins.start()
        t0 = int(time.time()) - 40 * 60
        world.client.go_offline(uid)
        world.client.live_location(uid, *HOME, horizontal_accuracy=12, date=t0)  # check-in
        world.client.send_text(uid, "2", date=t0 + 60)  # the typed number: recorded
        world.client.send_text(uid, "随便写写", date=t0 + 90)  # a choice step takes no text: refused
        blob = jpeg_with_gps(*HOME, when=datetime.fromtimestamp(t0 + 100, UTC), seed=7206)
        world.client.send_photo(
            uid, blob, as_file=True, file_name="door.jpg", mime_type="image/jpeg", date=t0 + 120
        )  # kept with the visit for the next photo step: recorded
        cursor = world.client.chat(uid).cursor
        world.client.go_online(uid)
        digest = ins.wait(lambda m: "离线期间发送的" in m.text, timeout=20)
        assert "离线期间发送的 4 条消息" in digest.text, digest.text
        assert "已记录（3 条）" in digest.text and "未记录（1 条）" in digest.text, digest.text
        assert "「随便写写」" in digest.text and "请重新发送" in digest.text, digest.text
        assert ins.button("a:home", digest) is not None  # the question now asked, with its keyboard
        # the chat is handled in order: a reply to a later message comes after anything of the burst
        after = ins.press("a:home", message=digest)
        # (the store's notices, e.g. of the released task, come on their own schedule: not replies)
        sent = [
            m for m in world.client.messages(uid, since=cursor) if not m.deleted and "新任务" not in m.text
        ]
        assert [m.message_id for m in sent] == [digest.message_id, after.message_id], [m.text for m in sent]
        row = bot.runtime.db.conversation(uid, "visit")
        assert row is not None and len(row["data"]["spare"]) == 1 and row["data"]["checkin"]
