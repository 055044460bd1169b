"""Cadre relatives, reviews and estimates over HTTP: shapes, XLSX, problems for bad input."""

from __future__ import annotations

import io
import random

from openpyxl import load_workbook
from sqlmodel import Session

from models.user import Role
from tests.conftest import auth_headers
from tests.factories import VILLAGE, make_household, make_id, make_user
from tests.round_helpers import actor_of, drawn_round, populate

API = "/api/v1"


def _problem(r, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return r.json()


def test_declare_match_and_table_over_http(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(9)
    relative = make_id(rng)
    make_household(session, "LBA01", id_number=relative)
    make_user(session, "sup-api", Role.supervisor, scope_code=VILLAGE[:6])
    sup = auth_headers(client, "sup-api")
    body = {
        "name": "赵干部",
        "id_number": make_id(rng),
        "unit": "林东镇",
        "post": "村主任",
        "township_code": VILLAGE[:9],
        "relatives": [{"name": "赵兄", "id_number": relative, "relation": "兄"}],
    }
    r = client.post(f"{API}/cadres", json=body, headers=sup)
    assert r.status_code == 201, r.text
    assert r.json()["relatives"][0]["households"] == ["LBA01"] and "*" in r.json()["id_number"]
    r = client.post(f"{API}/cadres/match", headers=sup)
    assert r.status_code == 200 and r.json()["newly_registered"] == 1
    r = client.get(f"{API}/cadres/table.xlsx", headers=sup)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxml")
    ws = load_workbook(io.BytesIO(r.content)).active
    assert ws is not None and ws.max_row == 3
    assert client.get(f"{API}/cadres/table", headers=sup).json()[0]["relatives_on_dibao"] == 1
    _problem(client.post(f"{API}/cadres", json={**body, "id_number": "1" * 18}, headers=sup), 422)
    _problem(client.post(f"{API}/cadres", json={**body, "township_code": "150422999"}, headers=sup), 422)
    files = {"file": ("c.csv", b"\x00\x01garbage", "text/csv")}
    _problem(client.post(f"{API}/cadres/import", files=files, headers=sup), 422)
    make_user(session, "ins-api", Role.inspector)
    _problem(client.get(f"{API}/cadres", headers=auth_headers(client, "ins-api")), 403)


def test_reviews_due_and_record_over_http(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    h = make_household(session, "LBA02", last_review_date=None)
    make_user(session, "off-api", Role.officer, scope_code=VILLAGE[:9])
    off = auth_headers(client, "off-api")
    r = client.get(f"{API}/reviews/due", params={"as_of": "2026-06-15"}, headers=off)
    assert r.status_code == 200, r.text
    assert r.json()["townships"][0]["items"][0]["register_no"] == "LBA02"
    r = client.post(
        f"{API}/reviews", json={"household_id": str(h.id), "reviewed_on": "2026-01-02"}, headers=off
    )
    assert r.status_code == 201 and r.json()["last_review_date"] == "2026-01-02"
    _problem(client.get(f"{API}/reviews/due", params={"horizon_days": 5000}, headers=off), 422)
    _problem(
        client.post(f"{API}/reviews", json={"household_id": str(h.id), "reviewed_on": "x"}, headers=off), 422
    )


def test_estimates_of_an_open_round_are_a_conflict(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    populate(session, per_village=2)
    user = make_user(session, "sup-est", Role.supervisor, scope_code=VILLAGE[:6])
    r = drawn_round(session, actor_of(user))
    sup = auth_headers(client, "sup-est")
    p = _problem(client.get(f"{API}/rounds/{r.id}/estimates", headers=sup), 409)
    assert p["type"].endswith("estimates_round_not_closed")
