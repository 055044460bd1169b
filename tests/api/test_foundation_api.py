from __future__ import annotations

from sqlmodel import Session, select

from models.audit import AuditEvent
from models.user import Role
from tests.conftest import auth_headers
from tests.factories import make_household, make_user


def test_login_and_problem_json_errors(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    make_user(session, "sup1", Role.supervisor)
    bad = client.post("/api/v1/auth/token", json={"login": "sup1", "password": "wrong"})
    assert bad.status_code == 401
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["type"].endswith("/bad_credentials")
    failed = session.exec(select(AuditEvent).where(AuditEvent.action == "auth.login_failed")).all()
    assert len(failed) == 1 and failed[0].actor == "anonymous:sup1"
    assert client.get("/api/v1/households").status_code == 401
    garbage = client.post(
        "/api/v1/auth/token", content=b"\xff\xfe{", headers={"content-type": "application/json"}
    )
    assert garbage.status_code == 422
    form = client.post("/api/v1/auth/token", data={"username": "sup1", "password": "secret-pass-1"})
    assert form.status_code == 200


def test_households_are_masked_scoped_and_audited(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    h = make_household(session, "LB0001", id_number="11010519491231002X")
    make_household(session, "LB0002", village="150423100201")
    make_user(session, "sup", Role.supervisor, scope_code="150422")
    headers = auth_headers(client, "sup")
    page = client.get("/api/v1/households", headers=headers).json()
    assert [i["register_no"] for i in page["items"]] == ["LB0001"]
    item = page["items"][0]
    assert item["head_id_number"] == "110105********002X"
    assert item["phone"] == "138****5678"
    detail = client.get(f"/api/v1/households/{h.id}", headers=headers)
    assert detail.status_code == 200 and detail.json()["members"][0]["id_number"].count("*") == 8
    reads = session.exec(select(AuditEvent).where(AuditEvent.action == "household.read")).all()
    assert len(reads) == 1 and reads[0].entity_id == str(h.id)
    other = session.exec(select(AuditEvent).where(AuditEvent.action == "household.list")).all()
    assert other


def test_keyset_pagination(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    for i in range(5):
        make_household(session, f"LB{i:04d}")
    make_user(session, "adm", Role.admin)
    headers = auth_headers(client, "adm")
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        body = client.get("/api/v1/households", params=params, headers=headers).json()
        seen += [i["register_no"] for i in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == [f"LB{i:04d}" for i in range(5)]
    assert client.get("/api/v1/households", params={"cursor": "%%%"}, headers=headers).status_code == 422


def test_inspector_cannot_list_households(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    make_user(session, "insp", Role.inspector)
    r = client.get("/api/v1/households", headers=auth_headers(client, "insp"))
    assert r.status_code == 403 and r.json()["code"] == "forbidden"


def test_admin_creates_user_and_bad_input_is_4xx(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    make_user(session, "adm", Role.admin)
    headers = auth_headers(client, "adm")
    ok = client.post(
        "/api/v1/users",
        headers=headers,
        json={
            "login": "insp9",
            "name": "李四",
            "role": "inspector",
            "password": "long-enough-pw",
            "home_township_code": "150422100",
            "relative_id_numbers": ["11010519491231002X"],
        },
    )
    assert ok.status_code == 201 and ok.json()["declared_relatives"] == 1
    assert (
        client.post(
            "/api/v1/users", headers=headers, json={"login": "insp9", "name": "x", "role": "inspector"}
        ).status_code
        == 409
    )
    bad = client.post(
        "/api/v1/users",
        headers=headers,
        json={"login": "x2", "name": "x", "role": "inspector", "relative_id_numbers": ["110105194912310021"]},
    )
    assert bad.status_code == 422
    assert (
        client.post(
            "/api/v1/users", headers=headers, json={"login": "' OR 1=1 --", "name": "x", "role": "god"}
        ).status_code
        == 422
    )
    assert client.get("/api/v1/users/not-a-uuid", headers=headers).status_code == 422
    assert client.get("/readyz").json()["status"] == "ok"
