from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from models.audit import AuditEvent
from models.user import Role
from services.rounds import local_today
from tests.conftest import auth_headers
from tests.factories import make_household, make_user
from tests.ledger_helpers import cast, evidence_of

API = "/api/v1"


def _problem(r, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return r.json()


def test_review_to_verified_close_over_http(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    c = cast(session, "LB800")
    sup = auth_headers(client, "sup1LB800")
    sup2 = auth_headers(client, "sup2LB800")
    off = auth_headers(client, "offLB800")
    body = {
        "household_id": str(c.household.id),
        "category": "not_eligible",
        "severity": "high",
        "text": "有车辆",
    }
    r = client.post(f"{API}/findings", json=body, headers=sup)
    assert r.status_code == 201, r.text
    fid = r.json()["id"]
    assert [f["id"] for f in client.get(f"{API}/findings", headers=sup).json()] == [fid]
    r = client.post(f"{API}/findings/{fid}/confirm", json={}, headers=sup)
    assert r.status_code == 200, r.text
    item = r.json()
    assert item["state"] == "open" and item["finding_ids"] == [fid] and not item["overdue"]
    iid = item["id"]
    past = (local_today() - timedelta(days=1)).isoformat()
    p = _problem(client.patch(f"{API}/ledger/{iid}", json={"deadline": past}, headers=sup), 422)
    assert p["type"].endswith("ledger_deadline_past")
    _problem(client.post(f"{API}/ledger/{iid}/verify", json={}, headers=sup), 409)
    ev = evidence_of(session, c.household)
    r = client.post(
        f"{API}/ledger/{iid}/submit-fix",
        json={"note": "已停发", "evidence_ids": [str(ev.id)], "outcome": {"change": "exit"}},
        headers=off,
    )
    assert r.status_code == 200 and r.json()["state"] == "fix_submitted", r.text
    _problem(client.post(f"{API}/ledger/{iid}/verify", json={}, headers=sup), 422)
    r = client.post(f"{API}/ledger/{iid}/verify", json={"evidence_ids": [str(ev.id)]}, headers=sup2)
    assert r.status_code == 200 and r.json()["state"] == "closed", r.text
    detail = client.get(f"{API}/ledger/{iid}", headers=sup).json()
    assert [h["action"] for h in detail["history"]] == ["open", "submit_fix", "verify"]
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "ledger.read")).first() is not None


def test_own_fix_and_illegal_moves_are_409(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    c = cast(session, "LB801")
    sup = auth_headers(client, "sup1LB801")
    body = {"household_id": str(c.household.id), "category": "favour", "severity": "high", "text": "人情保"}
    fid = client.post(f"{API}/findings", json=body, headers=sup).json()["id"]
    iid = client.post(f"{API}/findings/{fid}/confirm", json={}, headers=sup).json()["id"]
    _problem(client.post(f"{API}/ledger/{iid}/reopen", json={}, headers=sup), 409)
    assert client.post(f"{API}/ledger/{iid}/submit-fix", json={}, headers=sup).status_code == 200
    ev = evidence_of(session, c.household)
    p = _problem(
        client.post(f"{API}/ledger/{iid}/verify", json={"evidence_ids": [str(ev.id)]}, headers=sup), 409
    )
    assert p["type"].endswith("ledger_own_fix")
    other = evidence_of(session, make_household(session, "LB802"), n=7)
    sup2 = auth_headers(client, "sup2LB801")
    _problem(
        client.post(f"{API}/ledger/{iid}/verify", json={"evidence_ids": [str(other.id)]}, headers=sup2), 422
    )
    r = client.post(f"{API}/ledger/{iid}/return", json={"reason": "未追回", "version": 0}, headers=sup2)
    assert _problem(r, 409)["type"].endswith("ledger_changed")
    _problem(client.post(f"{API}/ledger/{iid}/return", json={"reason": ""}, headers=sup2), 422)


def test_list_filters_pagination_and_scope(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    c = cast(session, "LB810")
    sup = auth_headers(client, "sup1LB810")
    for i in range(3):
        h = make_household(session, f"LB81{i + 1}")
        body = {"household_id": str(h.id), "category": "not_noticed", "severity": "low", "text": "未公示"}
        fid = client.post(f"{API}/findings", json=body, headers=sup).json()["id"]
        client.post(f"{API}/findings/{fid}/confirm", json={}, headers=sup)
    page = client.get(f"{API}/ledger", params={"limit": 2, "region": "150422"}, headers=sup).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = client.get(f"{API}/ledger", params={"limit": 2, "cursor": page["next_cursor"]}, headers=sup).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert client.get(f"{API}/ledger", params={"overdue": True}, headers=sup).json()["items"] == []
    assert (
        len(
            client.get(
                f"{API}/ledger", params={"state": "open", "route": "fix_by_deadline"}, headers=sup
            ).json()["items"]
        )
        == 3
    )
    officer = client.get(f"{API}/ledger", headers=auth_headers(client, "offLB810")).json()
    assert len(officer["items"]) == 3  # the village's officer is responsible for all of them
    _problem(client.get(f"{API}/ledger", params={"state": "lost"}, headers=sup), 422)
    _problem(client.get(f"{API}/ledger", params={"cursor": "x"}, headers=sup), 422)
    _problem(client.get(f"{API}/ledger/{c.household.id}", headers=sup), 404)
    make_user(session, "ins-led", Role.inspector)
    _problem(client.get(f"{API}/ledger", headers=auth_headers(client, "ins-led")), 403)


def test_officer_reviews_leads_and_supervisor_reviews_visits(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    from models.visit import Visit, VisitStatus

    c = cast(session, "LB820")
    sup = auth_headers(client, "sup1LB820")
    off = auth_headers(client, "offLB820")
    lead = {
        "household_id": str(c.household.id),
        "category": "missed",
        "severity": "medium",
        "kind": "lead",
        "source": "call",
        "text": "电话反映疑似漏保",
    }
    fid = client.post(f"{API}/findings", json=lead, headers=sup).json()["id"]
    _problem(client.post(f"{API}/findings", json=lead, headers=off), 403)  # adding by hand is for supervisors
    assert [f["id"] for f in client.get(f"{API}/findings", headers=off).json()] == [fid]
    r = client.post(f"{API}/findings/{fid}/dismiss", json={"reason": "核实非漏保"}, headers=off)
    assert r.status_code == 200 and r.json()["review"] == "dismissed", r.text
    _problem(client.post(f"{API}/findings/{fid}/confirm", json={}, headers=off), 409)
    v = Visit(household_id=c.household.id, inspector_id=c.officer_user.id, status=VisitStatus.submitted)
    v.finished_at = v.started_at
    session.add(v)
    session.flush()
    _problem(client.post(f"{API}/visits/{v.id}/review", json={"review": "sent_back"}, headers=sup), 422)
    r = client.post(f"{API}/visits/{v.id}/review", json={"review": "accepted"}, headers=sup)
    assert r.status_code == 200 and r.json()["review"] == "accepted", r.text
