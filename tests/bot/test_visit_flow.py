"""The visit's pure parts: state round trip, rendering, answers for the store, and the catalogs."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from telegram import Update

import checklists
from bot.flows import view
from bot.flows import visit_data as vd
from bot.flows import visit_view as vf
from bot.flows.visit_data import Photo, VisitData
from bot.i18n import t

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "bot" / "flows").glob("*.py"))


def _constants(tree: ast.Module) -> dict[str, Any]:
    return {
        t.id: n.value.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant)
        for t in n.targets
        if isinstance(t, ast.Name)
    }


def _table_texts(tree: ast.Module) -> set[str]:
    """Texts kept in module-level tables of msgids (`REFUSALS = {code: msgid}`), looked up at run time."""
    found: set[str] = set()
    for n in tree.body:
        targets = (
            n.targets if isinstance(n, ast.Assign) else [n.target] if isinstance(n, ast.AnnAssign) else []
        )
        value = n.value if isinstance(n, ast.Assign | ast.AnnAssign) else None
        if isinstance(value, ast.Dict) and any(isinstance(x, ast.Name) and x.id.isupper() for x in targets):
            found |= {
                v.value for v in value.values if isinstance(v, ast.Constant) and isinstance(v.value, str)
            }
    return found


def _msgids() -> set[str]:
    found: set[str] = set()
    trees = {path: ast.parse(path.read_text()) for path in SOURCES}
    # A flow may pass a text defined in another flow (`from bot.flows.start import UNREACHABLE`).
    shared: dict[str, Any] = {}
    for tree in trees.values():
        shared.update(_constants(tree))
    for tree in trees.values():
        consts = {**shared, **_constants(tree)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "t" and len(node.args) >= 2:
                arg = node.args[1]
                if isinstance(arg, ast.Constant):
                    found.add(arg.value)
                elif isinstance(arg, ast.Name) and arg.id in consts:
                    found.add(consts[arg.id])
                elif isinstance(arg, ast.Name):  # a msgid looked up in a table: the table's texts count
                    found |= _table_texts(tree)
    return found


def test_every_visit_text_is_translated_to_chinese() -> None:
    ids = _msgids()
    assert len(ids) > 80
    missing = [m for m in ids if t("zh-CN", m) == m and m not in ("OK",)]
    assert missing == []
    assert t("en", "Visit opened: {label}", label="x") == "Visit opened: x"


def _data() -> VisitData:
    return VisitData("a1", "v1", "王** · 村", "home_visit", 1, lat=43.98, lon=119.38, datum="wgs84")


def test_state_round_trips_through_json() -> None:
    d = _data()
    d.photos["p1"] = Photo("p1", "entered", "telegram_document", evidence_id="e1", site="on_site", fresh=True)
    d.multi = ["spouse"]
    back = VisitData.of(d.to_json())
    assert back == d and back.photos["p1"].proven


def test_steps_render_as_buttons_and_text() -> None:
    d = _data()
    cl = d.checklist()
    first = d.current()
    assert first is not None and first.id == "arrival_location"
    assert "📎" in vf.step_prompt(d, first, "en").text
    state = checklists.answer(cl, d.state(), "arrival_location", {"lat": 43.98, "lon": 119.38})
    state = checklists.answer(cl, state, "inspectors_count", 2)
    d.set_state(state)
    step = d.current()
    assert step is not None and step.id == "household_status"
    prompt = vf.step_prompt(d, step, "zh-CN")
    assert [str(row[0][1]) for row in prompt.buttons] == ["a:home", "a:not_home", "a:moved", "a:not_found"]


def test_checkin_verdicts() -> None:
    d = _data()
    rec, text = vf.checkin_verdict(d, 43.98, 119.38, 10, live=True, venue=False, lang="en")
    assert rec["site"] == "on_site" and "On site" in text
    rec, text = vf.checkin_verdict(d, 44.0, 119.38, 10, live=True, venue=False, lang="en")
    assert rec["site"] == "off_site" and "2.2 km" in text
    rec, text = vf.checkin_verdict(d, 43.98, 119.38, None, live=False, venue=False, lang="en")
    assert rec["weak"] and "weak evidence" in text


def test_finish_answers_map_refs_to_store_ids() -> None:
    answers = [
        {"step_id": "entered", "value": "yes", "evidence": ["p1"]},
        {"step_id": "signed_form_photo", "value": ["p2", "p3"], "evidence": []},
        {"step_id": "remarks", "value": "p9 is not a photo", "evidence": []},
    ]
    refs = {"p1", "p2", "p3"}
    assert vd.finish_answers(answers, refs, {"p1": "E1", "p2": "E2"}) is None
    out = vd.finish_answers(answers, refs, {"p1": "E1", "p2": "E2", "p3": "E3"})
    assert out is not None
    assert (
        out[0]["evidence"] == ["E1"] and out[1]["value"] == ["E2", "E3"] and out[2]["value"].startswith("p9")
    )


def test_long_summaries_are_split_for_telegram() -> None:
    chunks = view.split_text("\n".join(["x" * 100] * 100))
    assert len(chunks) == 3 and all(len(c) <= view.MAX_TEXT for c in chunks)


def test_photo_documents() -> None:
    assert vd.is_photo_document("image/jpeg", "a.jpg")
    assert vd.is_photo_document(None, "IMG_1.HEIC")
    assert not vd.is_photo_document("application/pdf", "scan.pdf")
    assert not vd.is_photo_document("application/octet-stream", "scan.pdf")


def _turn_of(update: dict[str, Any], arrived: datetime) -> Any:
    from bot.flows.core import Kind, Turn

    return Turn(Update.de_json(update, None), None, None, Kind.TEXT, 1, 1, None, None, arrived=arrived)  # type: ignore[arg-type]


def test_turn_time_is_the_message_date_never_later_than_arrival() -> None:
    arrived = datetime(2026, 5, 1, 8, 0, 0, tzinfo=UTC)
    sender = {"id": 1, "is_bot": False, "first_name": "王"}
    msg = {"message_id": 1, "chat": {"id": 1, "type": "private"}, "from": sender, "text": "2"}
    sent = int((arrived - timedelta(minutes=36)).timestamp())
    offline = _turn_of({"update_id": 1, "message": {**msg, "date": sent}}, arrived)
    assert offline.sent_at == arrived - timedelta(minutes=36)
    assert offline.at == (arrived - timedelta(minutes=36)).isoformat()
    ahead = int((arrived + timedelta(minutes=36)).timestamp())  # a phone clock ahead: arrival caps it
    assert _turn_of({"update_id": 2, "message": {**msg, "date": ahead}}, arrived).sent_at == arrived
    press = {"id": "q", "from": sender, "chat_instance": "c", "data": "x", "message": {**msg, "date": sent}}
    assert _turn_of({"update_id": 3, "callback_query": press}, arrived).sent_at == arrived
    d = _data()
    d.step_shown_at = (arrived - timedelta(minutes=40)).isoformat()
    d.time_step("entered", offline.at)
    assert d.step_seconds["entered"] == 240.0 and d.step_shown_at == offline.at
    event = vd.location_event(43.98, 119.38, 10, True, False, False, offline.at)
    assert event["at"] == offline.at
