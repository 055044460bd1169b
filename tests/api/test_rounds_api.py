from __future__ import annotations

from sqlmodel import Session, select

from models.audit import AuditEvent
from models.user import Role
from services import rounds
from tests.conftest import auth_headers
from tests.factories import make_user
from tests.round_helpers import COUNTY, inspectors, populate, supervisor

API = "/api/v1"


def _events(session: Session, action: str) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def test_full_round_through_the_api(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    populate(session)
    make_user(session, "sup", Role.supervisor, scope_code=COUNTY)
    make_user(session, "far", Role.supervisor, scope_code="150423")
    insp = inspectors(session, 6, with_password=2)
    sup = auth_headers(client, "sup")
    a_h, b_h = auth_headers(client, "insp0"), auth_headers(client, "insp1")
    body = {
        "name": "春季飞行检查",
        "type": "flying",
        "scope_code": COUNTY,
        "window_start": str(rounds.local_today()),
        "window_end": str(rounds.local_today()),
        "params": {"sample_ratio": 0.3, "min_per_stratum": 1},
    }
    r = client.post(f"{API}/rounds", json=body, headers=sup)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert r.json()["type_label"] == "飞行式抽查" and r.json()["coverage_target"] == 0.2
    c = client.post(f"{API}/rounds/{rid}/commit", headers=sup).json()
    assert len(c["commitment"]["seed_hash"]) == 64 and c["commitment"]["secret_seed"] is None
    assert (
        client.post(f"{API}/rounds/{rid}/draw", json={"witness": "4 2 6 6 1"}, headers=sup).status_code == 200
    )

    # sealed: inspectors and out-of-scope supervisors are refused, and the refusal is audited
    assert client.get(f"{API}/rounds/{rid}/sample", headers=a_h).status_code == 403
    assert client.get(f"{API}/rounds/{rid}/sample", headers=auth_headers(client, "far")).status_code == 404
    assert len(_events(session, "round.denied")) == 2
    sample = client.get(f"{API}/rounds/{rid}/sample", headers=sup).json()
    assert sample and all(0 < s["inclusion_prob"] <= 1 for s in sample)
    assert _events(session, "round.sample.view")

    assigned = client.post(f"{API}/rounds/{rid}/assign", json={}, headers=sup)
    assert assigned.status_code == 200, assigned.text
    assert len(assigned.json()["teams"]) == 3
    rows = client.get(f"{API}/rounds/{rid}/assignments", headers=sup).json()
    assert client.get(f"{API}/me/assignments", headers=a_h).json() == []  # not dispatched: nothing visible
    assert client.get(f"{API}/me/assignments/{rows[0]['id']}", headers=a_h).status_code == 404
    assert _events(session, "assignment.denied")

    d = client.post(f"{API}/rounds/{rid}/dispatch", json={}, headers=sup)
    assert d.status_code == 200, d.text
    assert d.json()["released"] == len(rows)
    released_to = {x["inspector_login"] for x in d.json()["releases"]}
    assert {"insp0", "insp1"} <= released_to
    mine = client.get(f"{API}/me/assignments", headers=a_h).json()
    assert mine and all(m["head_name"].endswith("*") for m in mine)
    assert {"lat", "lon", "datum", "village_name", "address", "visit_date", "status"} <= set(mine[0])
    others = {x["id"] for x in client.get(f"{API}/me/assignments", headers=b_h).json()}
    assert others and not others & {m["id"] for m in mine}
    assert client.get(f"{API}/me/assignments/{next(iter(others))}", headers=a_h).status_code == 404
    assert client.get(f"{API}/me/assignments/{mine[0]['id']}", headers=a_h).status_code == 200
    feed = client.get(
        f"{API}/assignment-releases", params={"since": "2000-01-01T00:00:00Z"}, headers=sup
    ).json()
    assert {x["inspector_login"] for x in feed} == released_to
    mark = client.post(
        f"{API}/me/assignments/{mine[0]['id']}/status", json={"status": "in_progress"}, headers=a_h
    )
    assert mark.status_code == 200 and mark.json()["status"] == "in_progress"
    assert client.get(f"{API}/rounds/{rid}", headers=sup).json()["status"] == "in_field"

    pub = client.get(f"{API}/public/rounds/{rid}/verify").json()
    assert pub["revealed"] is False and pub["verification"] is None
    assert pub["commitment"]["secret_seed"] is None
    assert client.post(f"{API}/rounds/{rid}/reveal", headers=sup).status_code == 409  # not closed yet
    assert client.post(f"{API}/rounds/{rid}/close", headers=sup).json()["status"] == "closed"
    revealed = client.post(f"{API}/rounds/{rid}/reveal", headers=sup).json()
    assert len(revealed["commitment"]["secret_seed"]) == 64
    pub = client.get(f"{API}/public/rounds/{rid}/verify").json()
    assert pub["revealed"] and pub["verification"]["ok"], pub
    assert pub["message"] == "verified"
    assert len(insp) == 6


def test_inspector_cannot_create_or_dispatch(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    populate(session, per_village=1)
    supervisor(session)
    inspectors(session, 1, with_password=1)
    h = auth_headers(client, "insp0")
    body = {"name": "x", "scope_code": COUNTY, "window_start": "2026-01-01", "window_end": "2026-01-02"}
    assert client.post(f"{API}/rounds", json=body, headers=h).status_code == 403
    bad = {**body, "window_end": "2025-12-01"}
    assert client.post(f"{API}/rounds", json=bad, headers=h).status_code == 422
    assert client.get(f"{API}/public/rounds/00000000-0000-0000-0000-000000000000/verify").status_code == 404
