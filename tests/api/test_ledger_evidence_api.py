"""Evidence of a ledger item over HTTP: a fix's photos without a visit, refusals, verify on them."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlmodel import Session, select

from contracts.ledger import ItemUpdateIn
from media.envelope import MAGIC
from media.storage import LocalBlobStore
from models.audit import AuditEvent
from models.evidence import Evidence
from models.household import Household, HouseholdStatus
from models.user import Role
from services import evidence, findings_review, ledger, ledger_evidence
from services.config import Settings, new_key
from tests.conftest import auth_headers
from tests.factories import make_household, make_user
from tests.ledger_helpers import Cast, cast, evidence_of, finding
from tests.visit_helpers import jpeg_with_gps

API = "/api/v1"
ON_SITE = (43.98, 119.38)  # the factory household's position
FAR = (39.9123, 116.4071)


def _problem(r, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return r.json()


def _item(session: Session, c: Cast) -> str:
    item = findings_review.confirm(session, c.sup, finding(session, c.sup, c.household).id)
    ledger.update_item(session, c.sup, item.id, ItemUpdateIn(responsible_user_id=c.officer_user.id))
    session.commit()
    return str(item.id)


def _upload(client, iid: str, data: bytes, hdr: dict[str, str], key: str, **form: str):  # type: ignore[no-untyped-def]
    files = {"file": ("fix.jpg", data, "image/jpeg")}
    return client.post(
        f"{API}/ledger/{iid}/evidence", files=files, data=form, headers=hdr | {"Idempotency-Key": key}
    )


def test_a_fix_with_photos_sent_for_the_item_is_verified_on_them(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    c = cast(session, "LBE1")
    iid = _item(session, c)
    off = auth_headers(client, "offLBE1")
    sup2 = auth_headers(client, "sup2LBE1")
    photo = jpeg_with_gps(*ON_SITE, seed=41)
    r = _upload(client, iid, photo, off, "e1", source="telegram_document")
    assert r.status_code == 201, r.text
    ev = r.json()
    assert ev["ledger_item_id"] == iid and ev["visit_id"] is None and ev["site"] == "on_site"
    # the same bytes again: the same evidence, stored once
    again = _upload(client, iid, photo, off, "e2", source="telegram_document")
    assert again.status_code == 201 and again.json()["id"] == ev["id"]
    row = session.get(Evidence, uuid.UUID(ev["id"]))
    assert row is not None and row.household_id == c.household.id and row.gps_lat is not None
    # the supervisor sees it in the item and may open its copies; an inspector may not
    detail = client.get(f"{API}/ledger/{iid}", headers=sup2).json()
    assert [e["id"] for e in detail["evidence"]] == [ev["id"]]
    assert client.get(f"{API}/evidence/{ev['id']}/thumbnail", headers=sup2).status_code == 200
    make_user(session, "insLBE1", Role.inspector)
    session.commit()
    _problem(client.get(f"{API}/evidence/{ev['id']}", headers=auth_headers(client, "insLBE1")), 404)
    # the fix names no photo: the ones sent for the item count; the submitter never verifies
    r = client.post(f"{API}/ledger/{iid}/submit-fix", json={"note": "已停发清退"}, headers=off)
    assert r.status_code == 200, r.text
    sub = client.get(f"{API}/ledger/{iid}", headers=sup2).json()["history"][-1]
    assert sub["action"] == "submit_fix" and sub["evidence_ids"] == [ev["id"]]
    p = _problem(client.post(f"{API}/ledger/{iid}/verify", json={}, headers=off), 403)
    assert p["status"] == 403
    r = client.post(f"{API}/ledger/{iid}/verify", json={}, headers=sup2)
    assert r.status_code == 200 and r.json()["state"] == "closed", r.text
    # a closed item takes no more photos
    _problem(_upload(client, iid, jpeg_with_gps(*ON_SITE, seed=42), off, "e3"), 409)
    added = session.exec(select(AuditEvent).where(AuditEvent.action == "evidence.add")).all()
    assert any(a.details.get("item") == iid for a in added)


def test_verify_is_refused_without_evidence_and_on_an_off_site_photo(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    c = cast(session, "LBE2")
    iid = _item(session, c)
    off = auth_headers(client, "offLBE2")
    sup2 = auth_headers(client, "sup2LBE2")
    assert (
        client.post(f"{API}/ledger/{iid}/submit-fix", json={"note": "已整改"}, headers=off).status_code == 200
    )
    p = _problem(client.post(f"{API}/ledger/{iid}/verify", json={}, headers=sup2), 422)
    assert p["type"].endswith("ledger_evidence_required")
    # a photo taken far from the household is kept and shown, but proves nothing
    r = client.post(f"{API}/ledger/{iid}/return", json={"reason": "缺照片"}, headers=sup2)
    assert r.status_code == 200, r.text
    far = _upload(client, iid, jpeg_with_gps(*FAR, seed=43), off, "f1", source="telegram_document")
    assert far.status_code == 201 and far.json()["site"] == "off_site", far.text
    assert (
        client.post(f"{API}/ledger/{iid}/submit-fix", json={"note": "补照片"}, headers=off).status_code == 200
    )
    p = _problem(client.post(f"{API}/ledger/{iid}/verify", json={}, headers=sup2), 422)
    assert p["type"].endswith("ledger_evidence_required")
    h = session.get(Household, c.household.id)
    assert h is not None and h.status is HouseholdStatus.active


def test_another_households_evidence_and_bad_files_are_refused(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    c = cast(session, "LBE3")
    iid = _item(session, c)
    other = make_household(session, "LBE3X")
    foreign_visit_ev = evidence_of(session, other, n=31)
    c2_item = findings_review.confirm(session, c.sup, finding(session, c.sup, other).id)
    session.commit()
    off = auth_headers(client, "offLBE3")
    sup2 = auth_headers(client, "sup2LBE3")
    r = _upload(client, str(c2_item.id), jpeg_with_gps(*ON_SITE, seed=44), off, "x1")
    assert r.status_code == 201, r.text
    foreign_item_ev = r.json()["id"]
    for foreign in (str(foreign_visit_ev.id), foreign_item_ev):
        body = {"note": "借用照片", "evidence_ids": [foreign]}
        p = _problem(client.post(f"{API}/ledger/{iid}/submit-fix", json=body, headers=off), 422)
        assert p["type"].endswith("ledger_evidence_foreign")
    assert (
        client.post(f"{API}/ledger/{iid}/submit-fix", json={"note": "整改"}, headers=off).status_code == 200
    )
    p = _problem(
        client.post(f"{API}/ledger/{iid}/verify", json={"evidence_ids": [foreign_item_ev]}, headers=sup2), 422
    )
    assert p["type"].endswith("ledger_evidence_foreign")
    # not an image, and too large: refused with a reason, nothing stored
    p = _problem(_upload(client, iid, b"%PDF-1.4 not a photo", off, "b1"), 422)
    assert p["type"].endswith("media_rejected")
    p = _problem(_upload(client, iid, b"\xff\xd8" + b"0" * (20 * 1024 * 1024 + 10), off, "b2"), 413)
    assert session.exec(select(Evidence).where(Evidence.ledger_item_id == uuid.UUID(iid))).all() == []
    # an item the caller may not see answers like a missing one
    stranger = make_user(session, "offLBE3Y", Role.officer, scope_code="999999999")
    session.commit()
    assert stranger.id is not None
    _problem(
        _upload(client, iid, jpeg_with_gps(*ON_SITE, seed=45), auth_headers(client, "offLBE3Y"), "s1"), 404
    )


@pytest.fixture
def keyed_settings(tmp_path: Path) -> Settings:
    return Settings(env="test", media_dir=tmp_path / "media", media_key=new_key(), release_every_s=0)


def test_a_fix_photo_is_encrypted_at_rest_when_a_media_key_is_set(
    session: Session, keyed_settings: Settings
) -> None:
    c = cast(session, "LBE4")
    iid = uuid.UUID(_item(session, c))
    photo = jpeg_with_gps(*ON_SITE, seed=46)
    ev = ledger_evidence.add_item_evidence(
        session, c.officer, keyed_settings, iid, photo, "telegram_document"
    )
    on_disk = LocalBlobStore(keyed_settings.media_dir).path_of(ev.sha256).read_bytes()
    assert on_disk.startswith(MAGIC) and b"Exif" not in on_disk
    assert evidence.blob_store(keyed_settings).open(ev.sha256, "original").read() == photo


def test_a_fix_photo_sent_before_the_item_existed_is_refused(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    c = cast(session, "LBE9")
    iid = _item(session, c)
    off = auth_headers(client, "offLBE9")
    photo = jpeg_with_gps(*ON_SITE, seed=49)
    for when in ("0001-01-01T00:00:00Z", "1970-01-01T00:00:00+14:00"):
        p = _problem(_upload(client, iid, photo, off, "old" + when[:4], sent_at=when), 422)
        assert p["code"] == "ledger_evidence_before_item" and "{" not in p["detail"]
    assert session.exec(select(Evidence).where(Evidence.ledger_item_id == uuid.UUID(iid))).all() == []
    r = _upload(client, iid, photo, off, "now")
    assert r.status_code == 201, r.text
