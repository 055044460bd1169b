"""The console's ledger board, item actions (four eyes), downloads, visit review actions, dashboard blocks."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from sqlmodel import Session, select

from contracts.ledger import FixIn, ItemUpdateIn, LedgerState
from contracts.residents import CaseCategory, CaseSource, CaseState
from models.application import Case
from models.audit import AuditEvent
from models.ledger import LedgerEvent, LedgerItem
from models.round import Assignment
from models.types import utcnow
from models.user import ApiToken, Role
from models.visit import Visit, VisitStatus
from services import findings_review, ledger
from services.context import Actor
from services.rounds import local_today
from tests.console.test_console_pages import C, _csrf, _key, login
from tests.factories import make_household, make_user
from tests.ledger_helpers import Cast, cast, evidence_of, finding


def _submitted(session: Session, c: Cast, register_no: str = "LB700") -> LedgerItem:
    """An item whose fix the first supervisor submitted (so he may not verify it)."""
    f = finding(session, c.sup, c.household)
    item = findings_review.confirm(session, c.sup, f.id)
    ev = evidence_of(session, c.household)
    ledger.submit_fix(session, c.sup, item.id, FixIn(note="已整改", evidence_ids=[ev.id]))
    session.commit()
    return item


def _item_form(client, item_id: uuid.UUID) -> tuple[str, str, str]:  # type: ignore[no-untyped-def]
    page = client.get(f"{C}/ledger/{item_id}")
    assert page.status_code == 200, page.text[:300]
    version = re.search(r'name="version" value="(\d+)"', page.text)
    return _csrf(page.text), _key(page.text), version.group(1) if version else "0"


def _evidence(page: str) -> list[str]:
    return re.findall(r'name="evidence" value="([^"]+)"', page)


def test_board_lists_the_scope_with_filters_masked_and_audited(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    c = cast(session)
    item = _submitted(session, c)
    admin = Actor.of(make_user(session, "adm", Role.admin))
    far = make_household(session, "LB999", village="150423100200")
    far_item = findings_review.confirm(session, admin, finding(session, admin, far).id)
    session.commit()
    login(client, "sup1LB700")
    page = client.get(f"{C}/ledger")
    assert page.status_code == 200 and f"{C}/ledger/{item.id}" in page.text
    assert f"{C}/ledger/{far_item.id}" not in page.text
    assert c.household.head_name not in page.text  # names are masked
    assert "已提交整改" in page.text and "export.xlsx" in page.text and "notice.pdf" in page.text
    only = client.get(f"{C}/ledger", params={"state": "closed"})
    assert f"{C}/ledger/{item.id}" not in only.text and "没有符合条件" in only.text
    late = client.get(f"{C}/ledger", params={"overdue": "1", "severity": "high", "region": "150422"})
    assert late.status_code == 200
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "ledger.list")).first()
    for bad in ({"state": "nonsense"}, {"overdue": "x"}, {"region": "ab"}, {"cursor": "%%%"}):
        r = client.get(f"{C}/ledger", params=bad)
        assert r.status_code == 422 and "text/html" in r.headers["content-type"], bad


def test_the_submitter_is_refused_and_another_supervisor_verifies_once(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    c = cast(session)
    item = _submitted(session, c)
    login(client, "sup1LB700")
    page = client.get(f"{C}/ledger/{item.id}")
    csrf, key, version = _item_form(client, item.id)
    data = {"csrf_token": csrf, "key": key, "version": version, "evidence": _evidence(page.text)}
    refused = client.post(f"{C}/ledger/{item.id}/verify", data=data)
    assert refused.status_code == 409 and 'id="refusal"' in refused.text
    session.expire_all()
    assert session.get(LedgerItem, item.id).state is LedgerState.fix_submitted  # type: ignore[union-attr]
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "ledger.own_fix")).first()

    client.cookies.clear()
    login(client, "sup2LB700")
    page = client.get(f"{C}/ledger/{item.id}")
    csrf, key, version = _item_form(client, item.id)
    data = {"csrf_token": csrf, "key": key, "version": version, "evidence": _evidence(page.text)}
    for _ in range(2):  # a double submit acts once
        r = client.post(f"{C}/ledger/{item.id}/verify", data=data, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"{C}/ledger/{item.id}"
    session.expire_all()
    assert session.get(LedgerItem, item.id).state is LedgerState.closed  # type: ignore[union-attr]
    verifies = session.exec(
        select(LedgerEvent).where(LedgerEvent.item_id == item.id, LedgerEvent.action == "verify")
    ).all()
    assert len(verifies) == 1
    closed = client.get(f"{C}/ledger/{item.id}")
    assert "已销号" in closed.text and 'id="reopen-form"' in closed.text
    csrf, key, _ = _item_form(client, item.id)
    r = client.post(
        f"{C}/ledger/{item.id}/reopen", data={"csrf_token": csrf, "key": key}, follow_redirects=False
    )
    assert r.status_code == 303
    session.expire_all()
    assert session.get(LedgerItem, item.id).state is LedgerState.reopened  # type: ignore[union-attr]


def test_return_needs_a_reason_and_the_csrf_token(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    c = cast(session)
    item = _submitted(session, c)
    login(client, "sup2LB700")
    csrf, key, version = _item_form(client, item.id)
    no_csrf = client.post(
        f"{C}/ledger/{item.id}/return", data={"key": key, "version": version, "reason": "x"}
    )
    assert no_csrf.status_code == 403
    empty = client.post(
        f"{C}/ledger/{item.id}/return",
        data={"csrf_token": csrf, "key": key, "version": version, "reason": " "},
    )
    assert empty.status_code == 422 and "text/html" in empty.headers["content-type"]
    ok = client.post(
        f"{C}/ledger/{item.id}/return",
        data={"csrf_token": csrf, "key": key, "version": version, "reason": "照片看不清"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    session.expire_all()
    assert session.get(LedgerItem, item.id).state is LedgerState.returned  # type: ignore[union-attr]
    assert "照片看不清" in client.get(f"{C}/ledger/{item.id}").text


def test_assignment_and_deadline_through_the_service(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    c = cast(session)
    item = findings_review.confirm(session, c.sup, finding(session, c.sup, c.household).id)
    session.commit()
    login(client, "sup1LB700")
    csrf, key, _ = _item_form(client, item.id)
    later = (local_today() + timedelta(days=40)).isoformat()
    form = {
        "csrf_token": csrf,
        "key": key,
        "responsible": str(c.officer_user.id),
        "deadline": later,
        "measures": "<script>alert(1)</script>",
    }
    r = client.post(f"{C}/ledger/{item.id}/update", data=form, follow_redirects=False)
    assert r.status_code == 303
    session.expire_all()
    got = session.get(LedgerItem, item.id)
    assert (
        got is not None and got.deadline.isoformat() == later and got.responsible_user_id == c.officer_user.id
    )
    page = client.get(f"{C}/ledger/{item.id}").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    csrf, key, _ = _item_form(client, item.id)
    past = {"csrf_token": csrf, "key": key, "deadline": (local_today() - timedelta(days=3)).isoformat()}
    refused = client.post(f"{C}/ledger/{item.id}/update", data=past)
    assert refused.status_code == 422 and 'id="refusal"' in refused.text


def test_another_regions_item_expired_session_and_downloads(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    c = cast(session)
    item = _submitted(session, c)
    make_user(session, "farsup", Role.supervisor, scope_code="150423")
    session.commit()
    login(client, "farsup")
    assert client.get(f"{C}/ledger/{item.id}").status_code == 404
    csrf = _csrf(client.get(f"{C}/ledger").text)
    r = client.post(
        f"{C}/ledger/{item.id}/return", data={"csrf_token": csrf, "key": "k1", "version": "1", "reason": "x"}
    )
    assert r.status_code == 404
    assert f"{C}/ledger/{item.id}" not in client.get(f"{C}/ledger").text
    client.cookies.clear()
    login(client, "sup2LB700")
    xlsx = client.get(f"{C}/ledger/export.xlsx", params={"state": "fix_submitted"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    pdf = client.get(f"{C}/ledger/notice.pdf", params={"unit": c.household.village_code})
    assert pdf.status_code == 200 and pdf.content[:4] == b"%PDF"
    assert client.get(f"{C}/ledger/notice.exe", params={"unit": "150422"}).status_code == 422
    for t in session.exec(select(ApiToken).where(ApiToken.name == "console")).all():
        t.expires_at = utcnow() - timedelta(minutes=1)
        session.add(t)
    session.commit()
    r = client.get(f"{C}/ledger", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"{C}/login"


def _finished_visit(session: Session, c: Cast) -> Visit:
    insp = make_user(session, "insp-rv", Role.inspector)
    v = Visit(
        household_id=c.household.id,
        inspector_id=insp.id,
        status=VisitStatus.submitted,
        finished_at=utcnow(),
    )
    session.add(v)
    session.commit()
    return v


def test_visit_review_accept_and_send_back(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    c = cast(session)
    v = _finished_visit(session, c)
    login(client, "sup1LB700")
    page = client.get(f"{C}/visits/{v.id}")
    assert 'id="send-back-form"' in page.text and "未审核" in page.text
    csrf, key = _csrf(page.text), _key(page.text)
    empty = client.post(
        f"{C}/visits/{v.id}/review", data={"csrf_token": csrf, "key": key, "review": "sent_back"}
    )
    assert empty.status_code == 422
    assert (
        client.post(f"{C}/visits/{v.id}/review", data={"key": key, "review": "accepted"}).status_code == 403
    )
    form = {"csrf_token": csrf, "key": key, "review": "sent_back", "reason": "<img src=x onerror=alert(1)>"}
    for _ in range(2):
        r = client.post(f"{C}/visits/{v.id}/review", data=form, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"{C}/visits/{v.id}"
    reviews = session.exec(
        select(AuditEvent).where(AuditEvent.action == "visit.review", AuditEvent.entity_id == str(v.id))
    ).all()
    assert len(reviews) == 1
    shown = client.get(f"{C}/visits/{v.id}").text
    assert "已退回补访" in shown and "<img src=x" not in shown and "&lt;img" in shown
    page = client.get(f"{C}/visits/{v.id}")
    r = client.post(
        f"{C}/visits/{v.id}/review",
        data={"csrf_token": _csrf(page.text), "key": _key(page.text), "review": "accepted"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    session.expire_all()
    got = session.get(Visit, v.id)
    assert got is not None and got.review is not None and got.review.value == "accepted"
    assert (
        client.post(
            f"{C}/visits/{v.id}/review", data={"csrf_token": csrf, "key": "k9", "review": "bogus"}
        ).status_code
        == 422
    )


def test_visit_review_of_another_region_is_not_found(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    c = cast(session)
    v = _finished_visit(session, c)
    make_user(session, "farsup", Role.supervisor, scope_code="150423")
    session.commit()
    login(client, "farsup")
    csrf = _csrf(client.get(f"{C}/ledger").text)
    r = client.post(f"{C}/visits/{v.id}/review", data={"csrf_token": csrf, "key": "k2", "review": "accepted"})
    assert r.status_code == 404
    session.expire_all()
    assert session.get(Visit, v.id).review is None  # type: ignore[union-attr]
    assert session.exec(select(Assignment)).first() is None


def test_dashboard_shows_the_ledger_by_state_and_age_and_cases_against_limits(
    client, session: Session
) -> None:  # type: ignore[no-untyped-def]
    c = cast(session)
    item = _submitted(session, c)
    other = findings_review.confirm(
        session, c.sup, finding(session, c.sup, make_household(session, "LB701")).id
    )
    ledger.update_item(session, c.sup, other.id, ItemUpdateIn(measures="x"))
    session.exec(select(LedgerItem)).all()
    row = session.get(LedgerItem, other.id)
    assert row is not None
    row.deadline = local_today() - timedelta(days=2)
    row.created_at = utcnow() - timedelta(days=40)
    session.add(row)
    today = local_today()
    for n, (due, state) in enumerate(
        [
            (today - timedelta(days=1), CaseState.received),
            (today + timedelta(days=2), CaseState.assigned),
            (today - timedelta(days=5), CaseState.closed),
        ]
    ):
        session.add(
            Case(
                number=f"TS{n}",
                source=CaseSource.web,
                category=CaseCategory.other,
                text="t",
                village_code=c.household.village_code,
                state=state,
                due_on=due,
            )
        )
    session.commit()
    login(client, "sup1LB700")
    page = client.get(f"{C}/").text
    block = page[page.index('id="dash-ledger"') : page.index('id="dash-cases"')]
    assert "共 2 项" in block and "逾期 1 项" in block and "已提交整改" in block
    assert item.id and "31–90 天" in block
    cases = page[page.index('id="dash-cases"') :]
    assert "在办 2 件" in cases and "3 日内到期 1 件" in cases and "超期 1 件" in cases


def test_board_pages_by_keyset_and_keeps_the_filters(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    from contracts.ledger import LedgerRoute
    from contracts.vocab import FindingCategory, Severity

    c = cast(session)
    today = local_today()
    for n in range(55):
        session.add(
            LedgerItem(
                number=1000 + n,
                household_id=c.household.id,
                village_code=c.household.village_code,
                category=FindingCategory.NOT_ELIGIBLE,
                severity=Severity.medium,
                route=LedgerRoute.fix_by_deadline,
                state=LedgerState.open,
                responsible_region_code=c.household.village_code[:9],
                deadline=today + timedelta(days=n % 7),
            )
        )
    session.commit()
    login(client, "sup1LB700")
    first = client.get(f"{C}/ledger", params={"state": "open"})
    rows = re.findall(r'href="/console/ledger/([0-9a-f-]{36})"', first.text)
    assert len(rows) == 50
    more = re.search(r'href="/console/ledger\?([^"]+)"', first.text)
    assert more and "state=open" in more.group(1) and "cursor=" in more.group(1)
    second = client.get(f"{C}/ledger?" + more.group(1).replace("&amp;", "&"))
    rest = re.findall(r'href="/console/ledger/([0-9a-f-]{36})"', second.text)
    assert len(rest) == 5 and not set(rest) & set(rows)
    assert 'id="pager"></p>' in second.text.replace("\n", "")
