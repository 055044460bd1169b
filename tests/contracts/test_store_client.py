"""The bot's typed store client: one method per endpoint, paths from one table, outbox replay by name."""

from __future__ import annotations

import ast
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.store_client import StoreClient, StoreError
from bot.store_endpoints import ENDPOINTS, OPS
from contracts.rounds import AssignmentStatus, MyAssignment
from contracts.telegram import NoticeOut, TelegramProfile
from contracts.visits import VisitPublic

ROOT = Path(__file__).resolve().parents[2]
VISIT_ID = str(uuid.uuid4())
USER_ID = str(uuid.uuid4())


def _visit() -> dict[str, Any]:
    return {
        "id": VISIT_ID,
        "household_id": str(uuid.uuid4()),
        "inspector_id": USER_ID,
        "assignment_id": None,
        "round_id": None,
        "checklist_id": "home_visit",
        "checklist_version": 1,
        "status": "in_progress",
        "outcome": None,
        "participants": [],
        "answers": [],
        "step_seconds": {},
        "track_points": 0,
        "checkin": {},
        "flags": [],
        "core_proof": {},
        "started_at": "2025-05-01T08:00:00Z",
        "finished_at": None,
        "duration_s": None,
        "findings": [],
    }


def _profile() -> dict[str, Any]:
    return {"user_id": USER_ID, "login": "insp01", "name": "王", "role": "inspector", "language": "en"}


class Recorder:
    """A fake store: records each request and answers with a shape that fits the path."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, dict[str, str], Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.seen.append((request.method, request.url.path, dict(request.headers), body))
        if request.url.path.startswith("/api/v1/telegram/me") or request.url.path.endswith("/bind"):
            return httpx.Response(200, json=_profile())
        if request.url.path.endswith("/unreachable"):
            return httpx.Response(200, json={"user_id": USER_ID, "marked_at": None})
        return httpx.Response(200, json=_visit())


@pytest.fixture
def fake() -> tuple[StoreClient, Recorder]:
    rec = Recorder()
    return StoreClient("http://store", "tok", transport=httpx.MockTransport(rec)), rec


async def test_typed_methods_use_the_endpoint_table(fake: tuple[StoreClient, Recorder]) -> None:
    client, rec = fake
    profile = await client.telegram_bind("ABCD", 42, idempotency_key="bind:42:1")
    assert isinstance(profile, TelegramProfile) and str(profile.user_id) == USER_ID
    visit = await client.cancel_visit(42, VISIT_ID, idempotency_key="cancel:1")
    assert isinstance(visit, VisitPublic)
    known = await client.telegram_profile(42)
    assert known is not None and str(known.user_id) == USER_ID and known.role == "inspector"
    assert [(m, p) for m, p, _, _ in rec.seen] == [
        ("POST", "/api/v1/telegram/bind"),
        ("POST", f"/api/v1/visits/{VISIT_ID}/cancel"),
        ("GET", "/api/v1/telegram/me"),
    ]
    assert rec.seen[0][2]["idempotency-key"] == "bind:42:1"
    assert rec.seen[1][2]["x-feijian-telegram-user"] == "42"


def _assignment() -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "round_id": str(uuid.uuid4()),
        "round_name": "飞检",
        "round_type": "flying",
        "checklist_ids": ["home_visit"],
        "household_id": str(uuid.uuid4()),
        "register_no": "LB1",
        "head_name": "王**",
        "village_code": "150422100200",
        "village_name": "村",
        "address": None,
        "lat": 43.98,
        "lon": 119.38,
        "datum": "gcj02",
        "visit_date": "2025-05-01",
        "route_order": 2,
        "leg_m": None,
        "status": "released",
        "released_at": None,
        "team_number": 1,
        "teammates": [],
    }


def _notice() -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "kind": "assignments_released",
        "recipient_id": USER_ID,
        "telegram_user_id": 42,
        "language": "zh-CN",
        "params": {"round": "飞检", "count": 1},
        "due_at": "2025-05-01T08:00:00Z",
    }


async def test_lists_come_back_as_contract_models() -> None:
    seen: list[tuple[str, str, str]] = []
    notice = _notice()

    def store(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path, request.url.query.decode()))
        if request.url.path.endswith("/me/assignments"):
            return httpx.Response(200, json=[_assignment()])
        if request.url.path.endswith("/ack"):
            return httpx.Response(200, json={"acknowledged": len(json.loads(request.content)["ids"])})
        return httpx.Response(200, json=[notice])

    client = StoreClient("http://store", "tok", transport=httpx.MockTransport(store))
    [mine] = await client.list_my_assignments(42)
    assert isinstance(mine, MyAssignment) and mine.status == AssignmentStatus.released
    [due] = await client.notices_due(limit=5)
    assert isinstance(due, NoticeOut) and str(due.id) == notice["id"]
    assert (await client.notices_ack([due.id])).acknowledged == 1
    # Nothing to acknowledge is no round trip at all.
    assert (await client.notices_ack([])).acknowledged == 0
    assert seen == [
        ("GET", "/api/v1/me/assignments", ""),
        ("GET", "/api/v1/telegram/notices", "limit=5"),
        ("POST", "/api/v1/telegram/notices/ack", ""),
    ]
    for legacy in ("request", "upload", "bind", "profile", "my_assignments", "due_notices", "ack_notices"):
        assert not hasattr(client, legacy), legacy


async def test_outbox_replay_by_operation_name(fake: tuple[StoreClient, Recorder]) -> None:
    client, rec = fake
    await client.call("language", {"language": "en"}, "lang:1", telegram_user_id=7)
    await client.call("unreachable", {"telegram_user_id": 7}, "unreachable:7")
    events = [{"kind": "step_time", "step_id": "s1", "seconds": 3.5}]
    await client.call("visit_events", {"events": events}, "steps:1", telegram_user_id=7, visit_id=VISIT_ID)
    await client.call("visit_cancel", None, "cancel:1", telegram_user_id=7, visit_id=VISIT_ID)
    finish = {"visit_id": VISIT_ID, "answers": [{"step_id": "s1", "value": True}], "client_findings": []}
    await client.call("visit_finish", finish, "finish:1", telegram_user_id=7)
    assert [(m, p) for m, p, _, _ in rec.seen] == [
        ("PUT", "/api/v1/telegram/me/language"),
        ("POST", "/api/v1/telegram/unreachable"),
        ("POST", f"/api/v1/visits/{VISIT_ID}/events"),
        ("POST", f"/api/v1/visits/{VISIT_ID}/cancel"),
        ("POST", f"/api/v1/visits/{VISIT_ID}/finish"),
    ]
    assert rec.seen[4][3]["answers"][0]["step_id"] == "s1" and "visit_id" not in rec.seen[4][3]
    with pytest.raises(StoreError):
        await client.call("nonsense", {}, "k")
    with pytest.raises(StoreError) as refused:
        await client.call("language", {"language": "fr"}, "lang:2", telegram_user_id=7)
    assert refused.value.status == 422
    assert {"language", "unreachable", "visit_events", "visit_cancel", "visit_finish"} <= OPS


def test_every_endpoint_exists_in_the_store() -> None:
    from sqlalchemy import create_engine

    from api.app import API_PREFIX, create_app
    from services.config import Settings

    app = create_app(Settings(database_url="sqlite://"), create_engine("sqlite://"))
    paths = app.openapi()["paths"]
    for method, path in ENDPOINTS.values():
        assert method.lower() in paths[API_PREFIX + path], path


def test_contracts_import_nothing_of_the_project() -> None:
    project = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()} - {"contracts"}
    for file in (ROOT / "contracts").glob("*.py"):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in project, f"{file.name} imports {name}"
