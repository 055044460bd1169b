"""Probing: a record the caller may not see answers exactly like a missing one, and cursors are checked."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from sqlmodel import Session, select

from models.audit import AuditEvent
from models.user import Role
from tests.conftest import auth_headers
from tests.factories import make_household, make_user
from tests.visit_helpers import jpeg_with_gps, released_assignment

API = "/api/v1"


def _same_problem(hidden: Any, missing: Any) -> None:
    """Both answers are the same 404 problem; only the requested path differs."""
    assert hidden.status_code == missing.status_code == 404, (hidden.text, missing.text)
    assert hidden.headers["content-type"] == missing.headers["content-type"]
    a, b = hidden.json(), missing.json()
    a.pop("instance")
    b.pop("instance")
    assert a == b


def _denied(session: Session, action: str) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def test_hidden_visit_evidence_and_household_answer_like_missing_ones(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    ins = make_user(session, "insA", Role.inspector)
    make_user(session, "insB", Role.inspector)
    make_user(session, "far", Role.supervisor, scope_code="150423")
    h = make_household(session, "LB700")
    a = released_assignment(session, h, [ins])
    hdr = auth_headers(client, "insA")
    vid = client.post(f"{API}/visits", json={"assignment_id": str(a.id)}, headers=hdr).json()["id"]
    files = {"file": ("a.jpg", jpeg_with_gps(43.98, 119.38, seed=5), "image/jpeg")}
    up = client.post(
        f"{API}/visits/{vid}/evidence", files=files, data={"source": "telegram_document"}, headers=hdr
    )
    assert up.status_code == 201, up.text
    eid = up.json()["id"]
    unknown = str(uuid.uuid4())
    for who in ("far", "insB"):
        other = auth_headers(client, who)
        for lang in ("zh-CN", "en"):
            hd = other | {"Accept-Language": lang}
            _same_problem(
                client.get(f"{API}/visits/{vid}", headers=hd),
                client.get(f"{API}/visits/{unknown}", headers=hd),
            )
            _same_problem(
                client.get(f"{API}/evidence/{eid}", headers=hd),
                client.get(f"{API}/evidence/{unknown}", headers=hd),
            )
    far = auth_headers(client, "far")
    _same_problem(
        client.get(f"{API}/households/{h.id}", headers=far),
        client.get(f"{API}/households/{unknown}", headers=far),
    )
    # the denials are still audited (each denied read above, not the unknown ids)
    assert len(_denied(session, "visit.denied")) == 4
    assert len(_denied(session, "evidence.denied")) == 4
    household_denials = _denied(session, "household.denied")
    assert [e.entity_id for e in household_denials] == [str(h.id)]
    assert household_denials[0].actor == "supervisor:far"


def _cursor(register_no: str) -> str:
    return base64.urlsafe_b64encode(register_no.encode()).decode().rstrip("=")


def test_well_formed_but_unknown_cursor_is_a_bad_cursor(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    for i in range(3):
        make_household(session, f"LB{i:04d}")
    make_household(session, "LB9999", village="150423100201")
    make_user(session, "sup", Role.supervisor, scope_code="150422")
    headers = auth_headers(client, "sup")
    first = client.get(f"{API}/households", params={"limit": 1}, headers=headers)
    assert first.status_code == 200 and first.json()["next_cursor"]
    nxt = client.get(
        f"{API}/households", params={"limit": 1, "cursor": first.json()["next_cursor"]}, headers=headers
    )
    assert nxt.status_code == 200 and [i["register_no"] for i in nxt.json()["items"]] == ["LB0001"]
    malformed = client.get(f"{API}/households", params={"cursor": "%%%"}, headers=headers)
    assert malformed.status_code == 422 and malformed.json()["code"] == "bad_cursor"
    # a cursor naming no household, or one outside the caller's scope, is refused the same way
    for register_no in ("NO-SUCH-REGISTER", "LB9999"):
        r = client.get(f"{API}/households", params={"cursor": _cursor(register_no)}, headers=headers)
        assert r.status_code == malformed.status_code, r.text
        assert r.json()["code"] == "bad_cursor"
        assert r.headers["content-type"].startswith("application/problem+json")
