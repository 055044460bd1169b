"""Malformed, oversized, hostile and out-of-order input: always a clear 4xx problem, never a 500."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlmodel import Session, select

from models.user import Role, User
from tests.conftest import auth_headers
from tests.factories import make_household, make_user


def _problem(r: Any, status: int) -> dict[str, Any]:
    """Asserts an RFC 9457 answer with the given status and returns its body."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body = r.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    return body


@pytest.fixture
def admin(client, session: Session) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Headers of a signed-in admin."""
    make_user(session, "adm", Role.admin)
    return auth_headers(client, "adm")


@pytest.mark.parametrize("body", ["[1, 2]", '"a string"', "null", "42", "true", "{", "{}garbage"])
def test_json_body_that_is_not_an_object(client, admin, body: str) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/users", content=body, headers=admin | {"content-type": "application/json"})
    _problem(r, 422)


def test_ten_megabyte_json_body_is_413(client, admin) -> None:  # type: ignore[no-untyped-def]
    big = json.dumps({"login": "x" * (10 << 20), "name": "n", "role": "inspector"})
    r = client.post("/api/v1/users", content=big, headers=admin | {"content-type": "application/json"})
    assert _problem(r, 413)["code"] == "too_large"

    def chunks() -> Any:  # no Content-Length: the cap is enforced on the bytes as they arrive
        for _ in range(10):
            yield b"[" + b"1," * (512 << 10) + b"1]"

    r = client.post("/api/v1/users", content=chunks(), headers=admin | {"content-type": "application/json"})
    _problem(r, 413)
    # a route with no body at all, sent a huge one: refused before the route runs
    r = client.post(
        "/api/v1/rounds/" + str(uuid.uuid4()) + "/commit", content=b"x" * (2 << 20), headers=admin
    )
    _problem(r, 413)


def test_bad_content_length_is_400(app) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/api/v1/auth/token", content=b"{}", headers={"content-length": "abc"})
    assert r.status_code in (400, 413, 422)


def test_unsupported_media_type_is_415(client, admin) -> None:  # type: ignore[no-untyped-def]
    payload = json.dumps({"login": "abc", "name": "n", "role": "inspector"})
    for ctype in ("text/plain", "application/xml", "application/x-www-form-urlencoded"):
        r = client.post("/api/v1/users", content=payload, headers=admin | {"content-type": ctype})
        assert _problem(r, 415)["code"] == "unsupported_media_type"
    r = client.post("/api/v1/auth/token", content=b"login=a", headers={"content-type": "text/plain"})
    _problem(r, 415)
    # +json media types are JSON
    r = client.post(
        "/api/v1/users", content=payload, headers=admin | {"content-type": "application/vnd.x+json"}
    )
    assert r.status_code == 201, r.text


def test_login_form_and_json_both_work_and_half_forms_are_422(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    make_user(session, "sup", Role.supervisor)
    assert (
        client.post("/api/v1/auth/token", data={"username": "sup", "password": "secret-pass-1"}).status_code
        == 200
    )
    assert (
        client.post("/api/v1/auth/token", json={"login": "sup", "password": "secret-pass-1"}).status_code
        == 200
    )
    _problem(client.post("/api/v1/auth/token", data={"username": "sup"}), 422)
    _problem(client.post("/api/v1/auth/token", json={"login": "sup", "password": "x" * 201}), 422)
    _problem(client.post("/api/v1/auth/token", json=["sup"]), 422)


@pytest.mark.parametrize(
    "query",
    [
        "register_no=%00",
        "register_no=LB%000001",
        "cursor=%00%00",
        "id_number=11010519491231002%00",
        "register_no=%FF%FE%FD",
        "cursor=%C3%28",
        "region=%00%00",
        "tier=%00",
        "limit=99999999999999999999999",
        "limit=-1",
        "cadre_relative=%00",
    ],
)
def test_query_strings_with_nul_and_invalid_utf8(client, admin, query: str) -> None:  # type: ignore[no-untyped-def]
    r = client.get(f"/api/v1/households?{query}", headers=admin)
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        _problem(r, r.status_code)


def test_nul_bytes_in_json_strings_are_refused_not_crashed(client, admin) -> None:  # type: ignore[no-untyped-def]
    r = client.post(
        "/api/v1/users", json={"login": "nul", "name": "a\u0000b", "role": "inspector"}, headers=admin
    )
    _problem(r, 422)
    r = client.post(
        "/api/v1/rounds",
        json={
            "name": "r\u0000",
            "scope_code": "150422",
            "window_start": "2025-01-01",
            "window_end": "2025-01-02",
        },
        headers=admin,
    )
    _problem(r, 422)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/households/not-a-uuid",
        "/api/v1/households/1",
        "/api/v1/households/%00",
        "/api/v1/households/" + "f" * 5000,
        "/api/v1/users/../../etc/passwd",
        "/api/v1/visits/%FF%FE",
        "/api/v1/rounds/00000000-0000-0000-0000-00000000000g",
        "/api/v1/evidence/" + str(uuid.uuid4()) + "/original",
        "/api/v1/regions/abc",
        "/api/v1/regions/1" + "5" * 20,
    ],
)
def test_path_ids_that_are_not_ids(client, admin, path: str) -> None:  # type: ignore[no-untyped-def]
    r = client.get(path, headers=admin)
    assert 400 <= r.status_code < 500, r.text
    _problem(r, r.status_code)


def test_unknown_region_is_404_in_both_languages(client, admin) -> None:  # type: ignore[no-untyped-def]
    # the message's own {code} parameter once collided with translate()'s first argument: a 500
    assert "99" in _problem(client.get("/api/v1/regions/99", headers=admin), 404)["detail"]
    r = client.get("/api/v1/regions/99", headers=admin | {"Accept-Language": "en"})
    assert _problem(r, 404)["detail"] == "Unknown region code 99."
    body = {"name": "r", "scope_code": "99", "window_start": "2025-01-01", "window_end": "2025-01-02"}
    assert _problem(client.post("/api/v1/rounds", json=body, headers=admin), 422)["code"] == "unknown_region"


def test_openapi_declares_problem_responses(client) -> None:  # type: ignore[no-untyped-def]
    spec = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for ops in spec["paths"].values():
        for op in ops.values():
            assert "application/problem+json" in op["responses"]["4XX"]["content"]


def test_unknown_route_and_method_are_problems(client, admin) -> None:  # type: ignore[no-untyped-def]
    _problem(client.get("/api/v1/nowhere", headers=admin), 404)
    _problem(client.put("/api/v1/households", headers=admin), 405)


def test_huge_integers_are_422(client, admin, session: Session) -> None:  # type: ignore[no-untyped-def]
    huge = 10**30
    for body in (
        {"assignment_id": str(uuid.uuid4()), "team_size": huge},
        {"team_size": 2, "visits_per_day": -(2**31) - 1},
    ):
        r = client.post(f"/api/v1/rounds/{uuid.uuid4()}/assign", json=body, headers=admin)
        _problem(r, 422)
    r = client.post("/api/v1/invites", json={"login": "adm", "ttl_hours": 2**31}, headers=admin)
    _problem(r, 422)
    r = client.get("/api/v1/visits", params={"limit": 2**63}, headers=admin)
    _problem(r, 422)


def _bot(client, session: Session) -> dict[str, str]:  # type: ignore[no-untyped-def]
    make_user(session, "feijian-bot-test", Role.bot)
    return auth_headers(client, "feijian-bot-test")


def test_idempotency_key_reused_with_another_body_is_409(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    make_user(session, "tg", Role.inspector, telegram_user_id=4242)
    bot = _bot(client, session)
    key = {"Idempotency-Key": "k-" + uuid.uuid4().hex}
    first = client.post("/api/v1/telegram/unreachable", json={"telegram_user_id": 4242}, headers=bot | key)
    assert first.status_code == 200, first.text
    again = client.post("/api/v1/telegram/unreachable", json={"telegram_user_id": 4242}, headers=bot | key)
    assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    other = client.post("/api/v1/telegram/unreachable", json={"telegram_user_id": 4243}, headers=bot | key)
    assert _problem(other, 409)["code"] == "idempotency_mismatch"
    # the accepted write is still there, unchanged
    user = session.exec(select(User).where(User.login == "tg")).one()
    assert user.telegram_user_id == 4242
    for bad in ("", "x" * 201):
        r = client.post(
            "/api/v1/telegram/unreachable",
            json={"telegram_user_id": 1},
            headers=bot | {"Idempotency-Key": bad},
        )
        _problem(r, 422)


def test_bot_header_with_garbage_telegram_ids(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    bot = _bot(client, session)
    for value in ("abc", "-1", "9" * 30, "1" * 5000, "0x10", " 7 "):
        r = client.get("/api/v1/me", headers=bot | {"X-Feijian-Telegram-User": value})
        assert 400 <= r.status_code < 500, (value, r.text)
        _problem(r, r.status_code)


def test_huge_telegram_ids_in_bodies(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    bot = _bot(client, session)
    for url, body in (
        ("/api/v1/telegram/unreachable", {"telegram_user_id": 10**30}),
        ("/api/v1/telegram/bind", {"code": "ABCD", "telegram_user_id": 10**30}),
    ):
        r = client.post(url, json=body, headers=bot)
        assert 400 <= r.status_code < 500, r.text
        _problem(r, r.status_code)


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("zh", "zh"),
        ("zh-CN,zh;q=0.9", "zh"),
        ("zh-TW", "zh"),
        ("en-US,en;q=0.9", "en"),
        ("EN", "en"),
        ("fr-FR, en;q=0.5", "en"),
        ("garbage", "zh"),
        (";;;,,,q=abc", "zh"),
        ("*", "zh"),
        ("x" * 4000, "zh"),
    ],
)
def test_accept_language_variants(client, session: Session, header: str, lang: str) -> None:  # type: ignore[no-untyped-def]
    make_user(session, "lang", Role.supervisor)
    r = client.post(
        "/api/v1/auth/token", json={"login": "lang", "password": "wrong"}, headers={"Accept-Language": header}
    )
    detail = _problem(r, 401)["detail"]
    assert ("Wrong login" in detail) == (lang == "en"), detail


def test_explicit_null_for_required_user_fields_is_422_and_changes_nothing(
    client, admin, session: Session
) -> None:  # type: ignore[no-untyped-def]
    user = make_user(session, "insp", Role.inspector)
    for field in ("name", "active", "password", "relative_id_numbers"):
        r = client.patch(f"/api/v1/users/{user.id}", json={field: None}, headers=admin)
        _problem(r, 422)
    r = client.get(f"/api/v1/users/{user.id}", headers=admin)
    assert r.json()["active"] is True and r.json()["name"] == "insp"
    # a nullable code may still be cleared
    r = client.patch(f"/api/v1/users/{user.id}", json={"home_township_code": None}, headers=admin)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "body",
    [
        {"login": "a b!", "name": "n", "role": "inspector"},
        {"login": "ok", "name": "n", "role": "inspector", "language": "klingon-and-more"},
        {"login": "ok", "name": "n", "role": "inspector", "home_township_code": "1504221000000"},
        {"login": "ok", "name": "n", "role": "inspector", "scope_code": "15x"},
        {"login": "ok", "name": "n", "role": "inspector", "scope_code": "١٥٠٤٢٢"},
    ],
)
def test_user_patterns_are_enforced(client, admin, body: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    _problem(client.post("/api/v1/users", json=body, headers=admin), 422)


def test_round_with_bad_scope_code_is_422(client, admin) -> None:  # type: ignore[no-untyped-def]
    body = {
        "name": "r",
        "scope_code": "1504" + "0" * 20,
        "window_start": "2025-01-01",
        "window_end": "2025-01-02",
    }
    _problem(client.post("/api/v1/rounds", json=body, headers=admin), 422)


def test_duplicate_login_is_409_and_first_account_survives(client, admin, session: Session) -> None:  # type: ignore[no-untyped-def]
    body = {"login": "twin", "name": "一", "role": "inspector", "password": "long-enough-pw"}
    assert client.post("/api/v1/users", json=body, headers=admin).status_code == 201
    r = client.post("/api/v1/users", json=body | {"name": "二"}, headers=admin)
    _problem(r, 409)
    assert session.exec(select(User).where(User.login == "twin")).one().name == "一"


def test_out_of_order_round_steps_are_4xx(client, admin, session: Session) -> None:  # type: ignore[no-untyped-def]
    make_household(session, "LB0001")
    body = {"name": "r", "scope_code": "150422", "window_start": "2025-01-01", "window_end": "2025-01-02"}
    r = client.post("/api/v1/rounds", json=body, headers=admin)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    for step, payload in (
        ("draw", {"witness": "1 2 3"}),
        ("assign", {}),
        ("dispatch", {}),
        ("reveal", None),
    ):
        r = client.post(f"/api/v1/rounds/{rid}/{step}", json=payload, headers=admin)
        assert 400 <= r.status_code < 500, (step, r.text)
        _problem(r, r.status_code)
    assert client.get(f"/api/v1/rounds/{rid}", headers=admin).json()["status"] == "draft"
