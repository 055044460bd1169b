"""The guided visit end to end: the real PTB Application, the sandbox and the store API.

Each path of the home-visit checklist is played as an inspector would (buttons, typing, a live
location, photos as photos and as files), then the store is read to check what it recorded.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlmodel import col, func, select

from bot import tables as T
from models.audit import AuditEvent
from models.evidence import Evidence
from models.round import Assignment, TeamMember
from models.visit import Finding, Visit
from tests.bot.conftest import World
from tests.bot.visit_driver import (
    ALL_FINE,
    HOME,
    MONEY_OK,
    Inspector,
    bind,
    is_prompt,
    run_to,
    shared_photo,
)
from tests.factories import make_id

FAR = (43.998, 119.38)  # about 2 km north of every test household


def _visit(world: World, assignment_id: uuid.UUID) -> Visit | None:
    with world.session() as s:
        v = s.exec(select(Visit).where(Visit.assignment_id == assignment_id)).first()
        if v is not None:
            s.expunge(v)
        return v


def _until(what: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = what()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s")
        time.sleep(0.05)


def _submitted(world: World, assignment_id: uuid.UUID) -> Visit:
    return _until(
        lambda: (v := _visit(world, assignment_id)) is not None and v.status == "submitted" and v,
    )


def _findings(world: World, visit_id: uuid.UUID) -> list[str]:
    with world.session() as s:
        return sorted(f.rule_id for f in s.exec(select(Finding).where(Finding.visit_id == visit_id)).all())


def _tasks(ins: Inspector) -> Any:
    """/tasks, asked again if the (SQLite) store answered 5xx under concurrent writes."""
    for _ in range(3):
        m = ins.say("/tasks", lambda m: "您的任务" in m.text or "无法连接" in m.text)
        if "您的任务" in m.text:
            return m
        time.sleep(0.2)
    raise AssertionError("the store kept failing /tasks")


def _assignment_status(world: World, assignment_id: uuid.UUID) -> str:
    with world.session() as s:
        a = s.get(Assignment, assignment_id)
        assert a is not None
        return str(a.status.value if hasattr(a.status, "value") else a.status)


def test_all_fine_with_live_track_and_proven_core_steps(world: World) -> None:
    with world.bot():
        staff, uid = bind(world, "visit_ok", "王一")
        (aid,) = world.release(staff, ["LB7001"])
        ins = Inspector(world, uid)
        first = ins.start()
        assert "实时位置" in first.text and "📎" in first.text  # how to share one
        checkin = ins.live()
        assert "已到现场" in checkin.text and "米" in checkin.text
        world.client.move_live_location(uid, HOME[0] + 0.0002, HOME[1])  # the track moves
        world.client.move_live_location(uid, HOME[0] + 0.0003, HOME[1] + 0.0001)
        last4 = make_id(random.Random("LB7001"))[-4:]  # the register's head ID, as make_household made it
        summary = run_to(ins, [*ALL_FINE[:8], ("type", last4), *ALL_FINE[9:], *MONEY_OK])
        assert "走访小结" in summary.text
        assert summary.text.count("✅ 已证实") == 2 and "未证实" not in summary.text
        assert "☑️ 已登记，由系统与名册比对" in summary.text  # the documents: the ID's last four
        assert "提交后，系统会将以上记录与低保名册比对" in summary.text
        assert "未发现问题" in summary.text and "结果：已完成" in summary.text
        assert "以文件方式发送照片" in "\n".join(ins.seen)  # the tip, said once
        assert "\n".join(ins.seen).count("以文件方式发送照片") == 1
        ins.press("sub", pred=lambda m: "已提交" in m.text)
        v = _submitted(world, aid)
        assert v.outcome == "completed"
        assert {k: p["status"] for k, p in v.core_proof.items()} == {
            "entered": "proven",
            "seen_person": "proven",
            "seen_documents": "declared",
        }
        assert v.checkin["status"] == "on_site"
        assert _until(lambda: len((_visit(world, aid) or v).track) >= 3)
        assert v.step_seconds and "inspectors_count" in v.step_seconds
        assert _findings(world, v.id) == []
        assert _assignment_status(world, aid) == "done"
        with world.session() as s:
            assert (
                s.exec(select(func.count()).select_from(Evidence).where(Evidence.visit_id == v.id)).one() == 4
            )


def test_not_home_is_a_revisit_and_goes_back_on_the_list(world: World) -> None:
    with world.bot():
        staff, uid = bind(world, "visit_nh", "王二")
        (aid,) = world.release(staff, ["LB7002"])
        ins = Inspector(world, uid)
        ins.start()
        off = ins.live(*FAR)
        assert "不在现场" in off.text and "公里" in off.text  # off site, with the distance
        run_to(ins, [("type", "2"), ("press", "a:not_home")])
        assert "门口" in ins.last.text if ins.last else False  # the engine's evidence message
        # The door photo from the shared test photos, sent as a file (EXIF kept).
        door = ins.photo(shared_photo("exifsamples_DSCN0010_gps.jpg"), as_file=True, name="door.jpg")
        assert "向邻居或村民了解" in door.text  # nobody home: the neighbours are asked before leaving
        summary = ins.press("a:lives_here")
        assert "走访小结" in summary.text and "结果：需再次走访" in summary.text
        ins.press("sub", pred=lambda m: "已提交" in m.text)
        v = _submitted(world, aid)
        assert v.outcome == "revisit"
        assert {f["code"] for f in v.flags} >= set() and v.checkin["status"] == "off_site"
        assert _assignment_status(world, aid) == "revisit"
        assert "需回访" in _tasks(ins).text


def test_entry_refused_with_a_static_location(world: World) -> None:
    with world.bot():
        staff, uid = bind(world, "visit_ref", "王三")
        (aid,) = world.release(staff, ["LB7003"])
        ins = Inspector(world, uid)
        ins.start()
        world.client.send_location(uid, *HOME)
        weak = ins.wait()
        assert "静态位置" in weak.text and "弱证据" in weak.text
        run_to(ins, [("type", "1"), ("press", "a:home"), ("press", "a:no")])
        short = ins.say("拒", pred=lambda m: "至少输入 2 个字" in m.text)  # the engine's validation message
        assert "拒绝入户的原因" in short.text
        summary = ins.say("户主拒绝开门，称不需要检查")
        assert "走访小结" in summary.text and "结果：拒绝入户" in summary.text
        assert "拒绝入户：户主拒绝开门" in summary.text and "检查组不足2人" in summary.text
        ins.press("sub", pred=lambda m: "已提交" in m.text)
        v = _submitted(world, aid)
        assert v.outcome == "refused" and v.checkin["status"] == "weak"
        assert _findings(world, v.id) == ["entry_refused"]  # a lead against the household
        assert [f["code"] for f in v.flags if f.get("source") == "checklist"] == ["team_too_small"]


def test_extra_member_found(world: World) -> None:
    with world.bot():
        staff, uid = bind(world, "visit_mem", "王四")
        (aid,) = world.release(staff, ["LB7004"])
        ins = Inspector(world, uid)
        ins.start()
        ins.live()
        script = [
            ("type", "2"),
            ("press", "a:home"),
            ("press", "a:yes"),
            ("photo", False),
            ("multi", ["head", "family"]),
            ("press", "a:yes"),
            ("photo", True),
            ("press", "a:yes"),
            ("type", "1234"),
            ("type", "３"),  # full-width digits from a Chinese keyboard
            ("type", "1"),
            ("press", "a:yes"),  # someone lives here off the register
            ("press", "a:other"),
            ("press", "a:extra_unknown"),
            ("press", "a:no"),  # nobody else
        ]
        m = run_to(ins, script)
        assert "有劳动能力" in m.text
        summary = run_to(
            ins,
            [("type", "1"), ("type", "1"), ("type", "2000"), *ALL_FINE[13:], *MONEY_OK],
        )
        assert "疑点待核" in summary.text and "名册外人员同住且关系不明" in summary.text
        ins.press("sub", pred=lambda m: "已提交" in m.text)
        v = _submitted(world, aid)
        assert _findings(world, v.id) == ["id_mismatch", "unexplained_co_resident"]


def test_cadre_holds_the_bank_card_with_shared_photos(world: World) -> None:
    """The shared camera photos (old, taken elsewhere) leave the core steps unproven; the summary says so."""
    with world.bot():
        staff, uid = bind(world, "visit_card", "王五")
        (aid,) = world.release(staff, ["LB7005"])
        ins = Inspector(world, uid)
        ins.start()
        ins.live()
        gps = shared_photo("exifsamples_DSCN0010_gps.jpg")
        other = shared_photo("exiftool_GPS_decimal_minutes.jpg")
        script = [
            ("type", "2"),
            ("press", "a:home"),
            ("press", "a:yes"),
            ("photo_bytes", (gps, True)),  # entered: a shared photo as a file (EXIF GPS elsewhere, old)
            ("multi", ["head"]),
            ("press", "a:yes"),
            ("photo_bytes", (other, False)),  # seen: a shared photo as a photo (EXIF stripped)
            ("press", "a:yes"),
            *ALL_FINE[8:],
            *MONEY_OK[:4],
            ("press", "a:cadre"),
            ("type", "村会计张某代管，说是怕丢"),
            *MONEY_OK[5:],
        ]
        summary = run_to(ins, script)
        assert "由干部代管：村会计张某代管" in summary.text
        assert "⚠️ 未证实" in summary.text and "调查必入户" in summary.text
        assert "不在现场" in summary.text or "非本次走访中拍摄" in summary.text
        ins.press("sub", pred=lambda m: "已提交" in m.text)
        v = _submitted(world, aid)
        assert "card_held_by_cadre" in _findings(world, v.id)
        assert v.core_proof["entered"]["status"] == "unproven"
        assert v.core_proof["seen_documents"]["status"] == "declared"


def test_restart_mid_visit_resumes_at_the_same_step(world: World) -> None:
    with world.bot():
        staff, uid = bind(world, "visit_rs", "王六")
        (aid,) = world.release(staff, ["LB7006"])
        ins = Inspector(world, uid)
        ins.start()
        ins.live()
        run_to(ins, ALL_FINE[:5])  # up to who_present answered; now "seen the head of household?"
        assert "是否见到户主（申请人）本人" in (ins.last.text if ins.last else "")
    with world.bot():  # a new process on the same bot database
        resumed = ins.say("/visit")
        assert "继续" in resumed.text and "是否见到户主（申请人）本人" in resumed.text
        summary = run_to(ins, [*ALL_FINE[5:], *MONEY_OK])
        assert "户主（申请人）本人" in summary.text and "本次入户检查组共几人？: 2" in summary.text
        assert summary.text.count("✅ 已证实") == 2
        ins.press("sub", pred=lambda m: "已提交" in m.text)
        assert _submitted(world, aid).outcome == "completed"


def test_store_down_photo_and_submit_sync_later_exactly_once(world: World) -> None:
    with world.bot() as bot:
        staff, uid = bind(world, "visit_down", "王七")
        (aid,) = world.release(staff, ["LB7007"])
        ins = Inspector(world, uid)
        ins.start()
        ins.live()
        run_to(ins, [("type", "2"), ("press", "a:not_home")])
        world.store.stop()
        try:
            saved = ins.photo(as_file=True, pred=lambda m: "已保存" in m.text and is_prompt(m))
            assert "服务器可连接后将进行核验" in saved.text and "向邻居或村民了解" in saved.text
            summary = ins.press("a:lives_here")
            assert "走访小结" in summary.text
            assert "照片等待同步" not in summary.text  # not a core step
            done = ins.press("sub", pred=lambda m: "已提交" in m.text)
            assert "同步" in done.text
            db = bot.runtime.db
            with db.engine.connect() as conn:
                # the photo and the finish waiting behind it, in the one outbox
                waiting = (
                    select(func.count())
                    .select_from(T.outbox)
                    .where(
                        T.outbox.c.op.in_(["evidence_upload", "visit_finish"]), T.outbox.c.status == "pending"
                    )
                )
                assert conn.execute(waiting).scalar() == 2
            time.sleep(1.0)  # the sync job and the drainer try, and fail
            assert _visit(world, aid) is not None and _visit(world, aid).status == "in_progress"  # type: ignore[union-attr]
        finally:
            world.store.start()
        v = _submitted(world, aid)
        assert v.outcome == "revisit"
        world.client.wait_for_message(uid, lambda m: "已上传到服务器" in m.text, timeout=10)
        time.sleep(1.0)  # give a duplicate every chance to appear
        with world.session() as s:
            finishes = s.exec(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "visit.finish", AuditEvent.entity_id == str(v.id))
            ).one()
            assert finishes == 1
            assert (
                s.exec(select(func.count()).select_from(Evidence).where(Evidence.visit_id == v.id)).one() == 1
            )
        with bot.runtime.db.engine.connect() as conn:
            rows = conn.execute(select(T.outbox.c.key, T.outbox.c.status)).all()
        assert [s for k, s in rows if k.startswith("finish:")] == ["done"]


def test_two_inspectors_one_visit(world: World) -> None:
    with world.bot():
        staff_a, uid_a = bind(world, "visit_ta", "王八")
        staff_b, uid_b = bind(world, "visit_tb", "李九")
        (aid,) = world.release(staff_a, ["LB7008"])
        with world.session() as s:
            team_id = s.get(Assignment, aid).team_id  # type: ignore[union-attr]
            s.add(TeamMember(team_id=team_id, user_id=staff_b.id))
        a, b = Inspector(world, uid_a), Inspector(world, uid_b)
        a.start()
        a.live()
        run_to(a, [("type", "2"), ("press", "a:home")])
        assert "走访中" in _tasks(b).text  # the teammate sees it in progress
        joined = b.start(pred=lambda m: "同组队员" in m.text)
        assert "同组队员正在进行" in joined.text
        verdict = b.photo(as_file=True, pred=lambda m: "照片已核验" in m.text)
        assert "在现场" in verdict.text
        b.last = joined
        assert "实时位置" in b.press("run").text  # either of them can run the checklist
        ask = b.say("/cancel", pred=lambda m: m.reply_markup is not None)
        b.last = ask
        b.press("cy", pred=lambda m: "您已退出" in m.text)  # leaving does not cancel the teammate's visit
        run_to(a, [("press", "a:no"), ("type", "家中老人不让进门，说儿子不在")])
        a.press("sub", pred=lambda m: "已提交" in m.text)
        v = _submitted(world, aid)
        assert len(v.participants) == 2 and v.outcome == "refused"
        with world.session() as s:
            assert (
                s.exec(select(func.count()).select_from(Visit).where(Visit.assignment_id == aid)).one() == 1
            )
            by = s.exec(select(Evidence.uploaded_by).where(Evidence.visit_id == v.id)).all()
            assert any("visit_tb" in str(x) for x in by)


def test_back_pause_and_cancel(world: World) -> None:
    with world.bot():
        staff, uid = bind(world, "visit_bp", "王十")
        (aid,) = world.release(staff, ["LB7009"])
        ins = Inspector(world, uid)
        ins.start()
        ins.live()
        run_to(ins, [("type", "3"), ("press", "a:home"), ("press", "a:yes")])
        assert "室内照片" in (ins.last.text if ins.last else "")
        back = ins.say("/back")
        assert "是否已进入家中" in back.text  # the answer waiting for its photo is undone
        back = ins.say("/back")
        assert "该户情况" in back.text
        ins.say("/pause", pred=lambda m: "已暂停" in m.text)
        paused = ins.say("再来", pred=lambda m: "已暂停" in m.text)
        assert "/visit" in paused.text
        ins.client.send_text(uid, "/tasks")
        assert "⏸" in ins.wait(lambda m: "⏸" in m.text).text
        resumed = ins.say("/visit")
        assert "该户情况" in resumed.text
        ask = ins.say("/cancel", pred=lambda m: m.reply_markup is not None)
        assert "取消本次走访" in ask.text
        ins.last = ask
        cont = ins.press("cn")
        assert "该户情况" in cont.text
        ask = ins.say("/cancel", pred=lambda m: m.reply_markup is not None)
        ins.last = ask
        ins.press("cy", pred=lambda m: "走访已取消" in m.text)
        v = _until(lambda: (x := _visit(world, aid)) is not None and x.status == "cancelled" and x)
        assert v.status == "cancelled"
        assert _assignment_status(world, aid) == "revisit"
        with world.session() as s:
            assert (
                s.exec(select(func.count()).select_from(Finding).where(col(Finding.visit_id) == v.id)).one()
                == 0
            )


def test_an_answered_question_keeps_its_own_number(world: World) -> None:
    """Pressing an answer edits that question to show the answer, under the question's own number."""
    with world.bot():
        staff, uid = bind(world, "visit_num", "王五")
        world.release(staff, ["LB7010"])
        ins = Inspector(world, uid)
        ins.start()
        ins.live()
        asked = ins.say("2")  # the number of inspectors; the household's status is asked next
        line = next(x for x in asked.text.splitlines() if x[:1].isdigit())
        assert line.startswith("3. ") and asked.reply_markup is not None
        following = ins.press("a:home")
        assert "\n4. " in following.text or following.text.startswith("4. ")
        answered = next(m for m in world.client.messages(uid) if m.message_id == asked.message_id)
        question, shown = answered.text.split("\n→ ")
        assert question == line  # not the next question's number
        assert shown and answered.reply_markup is None
