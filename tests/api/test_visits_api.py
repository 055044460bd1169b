from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta

from pypdf import PdfReader
from sqlmodel import Session, func, select

import checklists
from models.evidence import Evidence
from models.user import Role
from tests.checklists.checklists_testkit import walk
from tests.conftest import auth_headers
from tests.factories import make_household, make_user
from tests.visit_helpers import jpeg_with_gps, released_assignment


def test_visit_flow_over_http(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    ins = make_user(session, "insA", Role.inspector)
    h = make_household(session, "LB300")
    a = released_assignment(session, h, [ins])
    make_user(session, "sup", Role.supervisor, scope_code="150422")
    hdr = auth_headers(client, "insA")
    r = client.post(
        "/api/v1/visits", json={"assignment_id": str(a.id)}, headers=hdr | {"Idempotency-Key": "s1"}
    )
    assert r.status_code == 201, r.text
    vid = r.json()["id"]
    again = client.post(
        "/api/v1/visits", json={"assignment_id": str(a.id)}, headers=hdr | {"Idempotency-Key": "s1"}
    )
    assert again.json()["id"] == vid and again.headers.get("Idempotent-Replayed") == "true"
    photo = jpeg_with_gps(43.98, 119.38, seed=3)
    up = {"Idempotency-Key": "p1"}
    files = {"file": ("a.jpg", photo, "image/jpeg")}
    e1 = client.post(
        f"/api/v1/visits/{vid}/evidence", files=files, data={"source": "telegram_document"}, headers=hdr | up
    )
    assert e1.status_code == 201, e1.text
    e2 = client.post(
        f"/api/v1/visits/{vid}/evidence", files=files, data={"source": "telegram_document"}, headers=hdr | up
    )
    assert e2.json()["id"] == e1.json()["id"]
    assert session.exec(select(func.count()).select_from(Evidence)).one() == 1
    assert e1.json()["site"] == "on_site" and "gps_lat" not in e1.json()
    bad = client.post(
        f"/api/v1/visits/{vid}/evidence",
        files={"file": ("x.jpg", b"not an image", "image/jpeg")},
        headers=hdr,
    )
    assert bad.status_code == 422 and bad.json()["type"].endswith("/media_rejected")
    thumb = client.get(f"/api/v1/evidence/{e1.json()['id']}/thumbnail", headers=hdr)
    assert (
        thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8" and b"Exif" not in thumb.content[:200]
    )
    state = walk(checklists.load_checklist("home_visit"))
    answers = [
        {"step_id": x.step_id, "value": x.value, "evidence": [e1.json()["id"]] if x.evidence else []}
        for x in state.answers
    ]
    fin = client.post(
        f"/api/v1/visits/{vid}/finish", json={"answers": answers}, headers=hdr | {"Idempotency-Key": "f1"}
    )
    assert fin.status_code == 200, fin.text
    assert fin.json()["status"] == "submitted"
    rep = client.post(
        f"/api/v1/visits/{vid}/finish", json={"answers": answers}, headers=hdr | {"Idempotency-Key": "f1"}
    )
    assert rep.status_code == 200 and rep.json()["id"] == vid
    late = client.post(f"/api/v1/visits/{vid}/finish", json={"answers": answers}, headers=hdr)
    assert late.status_code == 409
    sup = auth_headers(client, "sup")
    seen = client.get(f"/api/v1/visits/{vid}", headers=sup)
    assert seen.status_code == 200 and seen.json()["outcome"] == "completed"
    # the structured conclusion is stored with the visit; each finding says whether it is a lead
    assert seen.json()["conclusion"]["decision"] == state.values()["conclusion"]
    assert {f["kind"] for f in seen.json()["findings"]} <= {"lead", "finding"}
    assert seen.json()["findings"], "the walk's default answers raise leads"
    form = client.get(f"/api/v1/visits/{vid}/form.pdf", headers=sup)
    assert form.status_code == 200 and form.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(form.content)).pages)
    assert "最低生活保障入户调查表" in text and "被调查人（签字或按手印）" in text
    assert "本次入户检查组共几人？" in text and "结论：符合" in text
    assert "张*" in text and "张三" not in text  # the head's name masked, no ID number printed
    en = client.get(f"/api/v1/visits/{vid}/form.pdf", headers=sup | {"Accept-Language": "en"})
    en_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(en.content)).pages)
    assert "Person interviewed (signature or thumbprint)" in en_text
    missing = client.get(f"/api/v1/visits/{uuid.uuid4()}/form.pdf", headers=sup)
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    junk = client.post(
        f"/api/v1/visits/{vid}/events", json={"events": [{"kind": "location", "lat": 999}]}, headers=hdr
    )
    assert junk.status_code == 422


def test_event_times_far_in_the_future_are_a_clear_problem(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    ins = make_user(session, "insF", Role.inspector)
    a = released_assignment(session, make_household(session, "LB301"), [ins])
    hdr = auth_headers(client, "insF")
    vid = client.post("/api/v1/visits", json={"assignment_id": str(a.id)}, headers=hdr).json()["id"]
    ahead = (datetime.now(UTC) + timedelta(minutes=36)).isoformat()
    fix = {"kind": "location", "lat": 43.98, "lon": 119.38, "at": ahead, "live": True}
    r = client.post(f"/api/v1/visits/{vid}/events", json={"events": [fix]}, headers=hdr)
    assert r.status_code == 422 and r.json()["type"].endswith("/event_in_future"), r.text
    assert "120" in r.json()["detail"]
    fix["at"] = (datetime.now(UTC) + timedelta(seconds=30)).isoformat()  # within the clock skew
    assert client.post(f"/api/v1/visits/{vid}/events", json={"events": [fix]}, headers=hdr).status_code < 300


def test_a_photos_sent_time_is_taken_bounded_and_refused_in_the_future(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    ins = make_user(session, "insS", Role.inspector)
    a = released_assignment(session, make_household(session, "LB302"), [ins])
    hdr = auth_headers(client, "insS")
    vid = client.post("/api/v1/visits", json={"assignment_id": str(a.id)}, headers=hdr).json()["id"]
    sent = datetime.now(UTC) - timedelta(minutes=36)  # sent offline, arriving in a burst now
    files = {"file": ("a.jpg", jpeg_with_gps(43.98, 119.38, when=sent, seed=31), "image/jpeg")}
    r = client.post(
        f"/api/v1/visits/{vid}/evidence",
        files=files,
        data={"source": "telegram_document", "sent_at": sent.isoformat()},
        headers=hdr,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert abs((datetime.fromisoformat(body["sent_at"]) - sent).total_seconds()) < 1
    assert datetime.fromisoformat(body["received_at"]) > datetime.fromisoformat(body["sent_at"])
    ahead = (datetime.now(UTC) + timedelta(minutes=36)).isoformat()
    files = {"file": ("b.jpg", jpeg_with_gps(43.98, 119.38, seed=32), "image/jpeg")}
    r = client.post(
        f"/api/v1/visits/{vid}/evidence",
        files=files,
        data={"source": "telegram_document", "sent_at": ahead},
        headers=hdr,
    )
    assert r.status_code == 422 and r.json()["type"].endswith("/event_in_future"), r.text
    junk = client.post(
        f"/api/v1/visits/{vid}/evidence", files=files, data={"sent_at": "yesterday"}, headers=hdr
    )
    assert junk.status_code == 422
    # a multipart form cannot carry JSON null: "null" or an empty field means no sent time
    for absent in ("null", ""):
        files = {"file": ("c.jpg", jpeg_with_gps(43.98, 119.38, seed=40 + len(absent)), "image/jpeg")}
        plain = client.post(
            f"/api/v1/visits/{vid}/evidence",
            files=files,
            data={"sent_at": absent, "purpose": absent},
            headers=hdr,
        )
        assert plain.status_code == 201 and plain.json()["sent_at"] is None, plain.text
